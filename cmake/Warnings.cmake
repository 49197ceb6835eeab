# Warnings are errors for our own code; generated protobuf code gets its own, quieter flags.
set(KILN_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter -Wnon-virtual-dtor
    -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND KILN_WARNINGS -Wthread-safety)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives from libstdc++'s std::string/std::function internals at -O2
  # (-Wrestrict, -Wmaybe-uninitialized); clang builds keep both checks.
  list(APPEND KILN_WARNINGS -Wno-restrict -Wno-maybe-uninitialized)
endif()
