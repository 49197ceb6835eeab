#include "rpc/wire.h"

#include <fmt/format.h>

#include "util/base64.h"

namespace kiln::rpc {

void AppendMessagePrefix(std::string& out, size_t size) {
  const auto n = static_cast<uint32_t>(size);
  const char prefix[kMessagePrefix] = {0, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(prefix, kMessagePrefix);
}

void AppendMessage(std::string& out, std::string_view message) {
  AppendMessagePrefix(out, message.size());
  out.append(message);
}

bool MessageReader::Feed(const uint8_t* data, size_t len, std::deque<std::string>& out) {
  if (!error_.empty()) return false;
  while (len > 0) {
    if (have_ < kMessagePrefix) {
      size_t take = std::min(len, kMessagePrefix - have_);
      for (size_t i = 0; i < take; ++i) prefix_[have_ + i] = data[i];
      have_ += take;
      data += take;
      len -= take;
      if (have_ < kMessagePrefix) return true;
      if (prefix_[0] != 0) {
        error_ = prefix_[0] == 1 ? "compressed message without a negotiated grpc-encoding"
                                 : fmt::format("invalid message flags {:#x}", prefix_[0]);
        return false;
      }
      length_ = (size_t{prefix_[1]} << 24) | (size_t{prefix_[2]} << 16) |
                (size_t{prefix_[3]} << 8) | size_t{prefix_[4]};
      if (length_ > max_size_) {
        error_ = fmt::format("received message larger than max ({} vs. {})", length_, max_size_);
        return false;
      }
      current_.clear();
      current_.reserve(length_);
    }
    size_t take = std::min(len, length_ - current_.size());
    current_.append(reinterpret_cast<const char*>(data), take);
    data += take;
    len -= take;
    if (current_.size() == length_) {
      out.push_back(std::move(current_));
      current_ = std::string();
      have_ = 0;
    }
  }
  return true;
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '%') {
      out += fmt::format("%{:02X}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string EncodeBinaryHeader(std::string_view raw) {
  std::string text = Base64Encode(raw);
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

bool DecodeBinaryHeader(std::string_view text, std::string* raw) {
  std::string padded(text);
  while (padded.size() % 4 != 0) padded.push_back('=');
  auto decoded = Base64Decode(padded);
  if (!decoded) return false;
  *raw = std::move(*decoded);
  return true;
}

int CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return 13;  // INTERNAL
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;  // UNAVAILABLE
    default:
      return 2;  // UNKNOWN
  }
}

std::string TimeoutHeader(int64_t millis) {
  if (millis < 1) millis = 1;
  if (millis < 100000000) return fmt::format("{}m", millis);
  int64_t secs = millis / 1000;
  if (secs < 100000000) return fmt::format("{}S", secs);
  return fmt::format("{}H", std::min<int64_t>(secs / 3600, 99999999));
}

int64_t ParseTimeoutHeader(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return -1;
  int64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  switch (value.back()) {
    case 'H':
      return n * 3600 * 1000;
    case 'M':
      return n * 60 * 1000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return (n + 999) / 1000;
    case 'n':
      return (n + 999999) / 1000000;
    default:
      return -1;
  }
}

}  // namespace kiln::rpc
