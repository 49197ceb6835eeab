#pragma once
// Minimal leveled logging to stderr: KILN_LOG(INFO) << "..." style is avoided; use fmt.
// Thread-safe (one write per line).

#include <fmt/format.h>

#include <string_view>

namespace kiln::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level l);
Level GetLevel();
void Write(Level l, std::string_view msg);

template <typename... A>
void Debug(fmt::format_string<A...> f, A&&... a) {
  if (GetLevel() <= Level::kDebug) Write(Level::kDebug, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Info(fmt::format_string<A...> f, A&&... a) {
  if (GetLevel() <= Level::kInfo) Write(Level::kInfo, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Warn(fmt::format_string<A...> f, A&&... a) {
  Write(Level::kWarn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Error(fmt::format_string<A...> f, A&&... a) {
  Write(Level::kError, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace kiln::log
