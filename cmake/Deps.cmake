# Every dependency comes from a Debian 12 package (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(GTest REQUIRED)
find_package(CURL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# KILN_STATIC_GRPC (on in the release preset): gRPC, protobuf and abseil linked from Debian's
# static archives instead of their ~50 shared libraries. kilnctl starts in about half the time
# (mapping and binding those libraries was most of its start-up), which matters for cached
# rebuilds measured end to end.
option(KILN_STATIC_GRPC "Link gRPC, protobuf and abseil statically" OFF)
if(KILN_STATIC_GRPC)
  get_property(_kiln_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
  foreach(_t IN LISTS _kiln_imported)
    foreach(_prop IMPORTED_LOCATION IMPORTED_LOCATION_NONE IMPORTED_LOCATION_NOCONFIG
                  IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO)
      get_target_property(_loc ${_t} ${_prop})
      if(_loc MATCHES "/lib(grpc\\+\\+|grpc|gpr|upb|address_sorting|absl_[a-z0-9_]+|protobuf|cares)\\.so")
        string(REGEX REPLACE "\\.so[.0-9]*$" ".a" _static "${_loc}")
        if(EXISTS "${_static}")
          set_target_properties(${_t} PROPERTIES ${_prop} "${_static}")
        endif()
      endif()
    endforeach()
  endforeach()
endif()
