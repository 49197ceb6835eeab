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
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# fmt: only its headers. Its compiled part is built from them into kiln_util
# (src/util/fmt_compiled.cc), so no binary needs libfmt.so (Debian has no static libfmt).
if(NOT fmt_VERSION VERSION_GREATER_EQUAL 9 OR fmt_VERSION VERSION_GREATER_EQUAL 10)
  message(FATAL_ERROR "src/util/fmt_compiled.cc is written for fmt 9 (Debian 12), found ${fmt_VERSION}")
endif()

# KILN_STATIC_LINK (on in the release preset): gRPC, protobuf, abseil, c-ares and re2 linked from
# Debian's static archives instead of their shared libraries; kilnctl also links zlib and OpenSSL
# statically, libstdc++ statically and without PIE, so that it needs only libc and libm. kilnctl's
# start-up was mostly the dynamic loader mapping those libraries, relocating and binding their
# symbols (kilnctl --version: 6-8 ms of CPU with them shared, ~3.5 ms without), and it is part of
# every cached rebuild measured end to end. kilnd keeps zlib, OpenSSL and libstdc++ shared:
# libcurl and libarchive load the shared ones, and a static copy beside them would have those
# libraries bind to some of its symbols.
option(KILN_STATIC_LINK "Link dependencies from their static archives" OFF)
if(KILN_STATIC_LINK)
  get_property(_kiln_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
  foreach(_t IN LISTS _kiln_imported)
    foreach(_prop IMPORTED_LOCATION IMPORTED_LOCATION_NONE IMPORTED_LOCATION_NOCONFIG
                  IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_RELWITHDEBINFO)
      get_target_property(_loc ${_t} ${_prop})
      if(_loc MATCHES "/lib(grpc\\+\\+|grpc|gpr|upb|address_sorting|absl_[a-z0-9_]+|protobuf|cares|re2)\\.so")
        string(REGEX REPLACE "\\.so[.0-9]*$" ".a" _static "${_loc}")
        if(EXISTS "${_static}")
          set_target_properties(${_t} PROPERTIES ${_prop} "${_static}")
        endif()
      endif()
    endforeach()
  endforeach()
  # gRPC's Findre2 makes re2::re2 from pkg-config's flags (-lre2).
  find_library(_kiln_re2_static NAMES libre2.a)
  if(TARGET re2::re2 AND _kiln_re2_static)
    set_property(TARGET re2::re2 PROPERTY INTERFACE_LINK_LIBRARIES "${_kiln_re2_static}")
  endif()
endif()

# zlib and OpenSSL through kiln_zlib, kiln_ssl and kiln_crypto: static archives for a binary
# whose KILN_STATIC_C_LIBS property is on (kilnctl with KILN_STATIC_LINK), else the shared
# libraries. gRPC's targets are pointed at them too.
find_library(_kiln_z_static NAMES libz.a)
find_library(_kiln_ssl_static NAMES libssl.a)
find_library(_kiln_crypto_static NAMES libcrypto.a)
set(_kiln_static_c "$<BOOL:$<TARGET_PROPERTY:KILN_STATIC_C_LIBS>>")
foreach(_pair "kiln_zlib|ZLIB::ZLIB|${_kiln_z_static}" "kiln_crypto|OpenSSL::Crypto|${_kiln_crypto_static}"
              "kiln_ssl|OpenSSL::SSL|${_kiln_ssl_static}")
  string(REPLACE "|" ";" _pair "${_pair}")
  list(GET _pair 0 _name)
  list(GET _pair 1 _shared)
  list(GET _pair 2 _static)
  add_library(${_name} INTERFACE)
  if(KILN_STATIC_LINK AND _static)
    target_link_libraries(${_name} INTERFACE "$<IF:${_kiln_static_c},${_static},${_shared}>")
  else()
    target_link_libraries(${_name} INTERFACE ${_shared})
  endif()
endforeach()
# libssl.a needs libcrypto.a after it on the link line.
target_link_libraries(kiln_ssl INTERFACE "$<${_kiln_static_c}:${_kiln_crypto_static}>" kiln_crypto)
target_link_libraries(kiln_crypto INTERFACE ${CMAKE_DL_LIBS} Threads::Threads)
foreach(_t gRPC::grpc gRPC::grpc_unsecure)
  if(TARGET ${_t})
    get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
    list(TRANSFORM _libs REPLACE "^ZLIB::ZLIB$" kiln_zlib)
    list(TRANSFORM _libs REPLACE "^OpenSSL::SSL$" kiln_ssl)
    list(TRANSFORM _libs REPLACE "^OpenSSL::Crypto$" kiln_crypto)
    set_target_properties(${_t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_libs}")
  endif()
endforeach()

# nghttp2 (kiln's own gRPC client transport, src/rpc): its static archive with KILN_STATIC_LINK.
find_library(_kiln_nghttp2_static NAMES libnghttp2.a)
add_library(kiln_nghttp2 INTERFACE)
if(KILN_STATIC_LINK AND _kiln_nghttp2_static)
  target_include_directories(kiln_nghttp2 INTERFACE ${NGHTTP2_INCLUDE_DIRS})
  target_link_libraries(kiln_nghttp2 INTERFACE "${_kiln_nghttp2_static}")
else()
  target_link_libraries(kiln_nghttp2 INTERFACE PkgConfig::NGHTTP2)
endif()
