#pragma once
// KILN_CHECK(cond): our own invariants only. Aborts with file:line; never for bad input.

namespace kiln::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond);
}  // namespace kiln::internal

#define KILN_CHECK(cond)                                              \
  do {                                                                \
    if (!(cond)) ::kiln::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)
