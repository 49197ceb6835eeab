#pragma once
// Line splitting as Go's bufio.Scanner does it for the Dockerfile parser: lines end at '\n'
// (kept in the line, so CRLF and heredoc content stay byte-exact), the last line may lack one,
// and a line longer than bufio.MaxScanTokenSize - 1 bytes stops the scan with an error.
// Internal to kiln::dockerfile. A thread-compatible cursor over a caller-owned buffer.

#include <cstddef>
#include <string_view>

namespace kiln::dockerfile::internal {

inline constexpr size_t kMaxLineSize = 65535;

class LineScanner {
 public:
  explicit LineScanner(std::string_view text) : text_(text) {}

  // The next line including its '\n', or false at the end or at an over-long line (too_long()).
  bool Next(std::string_view* line) {
    if (pos_ >= text_.size() || too_long_) return false;
    size_t nl = text_.find('\n', pos_);
    size_t end = nl == std::string_view::npos ? text_.size() : nl + 1;
    size_t content = (nl == std::string_view::npos ? text_.size() : nl) - pos_;
    if (content > kMaxLineSize) {
      too_long_ = true;
      return false;
    }
    *line = text_.substr(pos_, end - pos_);
    pos_ = end;
    return true;
  }

  bool too_long() const { return too_long_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  bool too_long_ = false;
};

// bytes.TrimRight(line, "\r\n").
inline std::string_view TrimNewline(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

}  // namespace kiln::dockerfile::internal
