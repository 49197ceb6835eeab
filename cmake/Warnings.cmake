# Warnings are errors for our own code; generated protobuf code gets its own, quieter flags.
set(KILN_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter -Wnon-virtual-dtor
    -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND KILN_WARNINGS -Wthread-safety)
endif()
