// fmt's compiled part, built into our binaries from the system's headers: Debian ships fmt only
// as a shared library, and a shared library that needs libstdc++.so would keep kilnctl from
// linking libstdc++ statically (see cmake/Deps.cmake, KILN_STATIC_LINK). format-inl.h holds the
// definitions libfmt.so exports (vformat, vprint, format_error, ...); the templates below are
// the ones format.h declares but leaves to the library to instantiate for char.
#include <fmt/format-inl.h>

namespace fmt {
inline namespace v9 {
namespace detail {

template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;

}  // namespace detail
}  // namespace v9
}  // namespace fmt
