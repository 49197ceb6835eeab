#pragma once
// gRPC's framing over HTTP/2, as the gRPC protocol spec (PROTOCOL-HTTP2.md) sets it: each
// message is a 1-byte compressed flag and a 4-byte big-endian length before its bytes; the
// status travels in the trailers as grpc-status, a percent-encoded grpc-message and, for typed
// details, grpc-status-details-bin (a serialized google.rpc.Status, base64 without padding).
// Stateless functions and a per-stream MessageReader (thread-compatible).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace kiln::rpc {

// The status of a call as it crosses the wire. `details` is the raw (decoded) value of
// grpc-status-details-bin, "" when there was none.
struct RpcStatus {
  int code = 0;  // grpc-status: the canonical codes, numbered as kiln::StatusCode
  std::string message;
  std::string details;
  bool ok() const { return code == 0; }
};

inline constexpr size_t kMessagePrefix = 5;

// Appends `message` with its prefix to `out`.
void AppendMessage(std::string& out, std::string_view message);
// Appends only the prefix of a message of `size` bytes (its bytes follow).
void AppendMessagePrefix(std::string& out, size_t size);

// Splits the bytes of one direction of a stream into messages. Feed returns false (and sets
// error()) for a compressed message (kiln announces no grpc-encoding) or one over `max_size`.
class MessageReader {
 public:
  explicit MessageReader(size_t max_size) : max_size_(max_size) {}
  bool Feed(const uint8_t* data, size_t len, std::deque<std::string>& out);
  const std::string& error() const { return error_; }
  bool mid_message() const { return have_ > 0; }

 private:
  size_t max_size_;
  uint8_t prefix_[kMessagePrefix] = {};
  size_t have_ = 0;  // bytes of the prefix (< 5) or of the whole frame read so far
  size_t length_ = 0;
  std::string current_;
  std::string error_;
};

// grpc-message: bytes outside printable ASCII and '%' become %XX; Decode undoes it and leaves
// malformed escapes as they are.
std::string PercentEncode(std::string_view s);
std::string PercentDecode(std::string_view s);

// Binary (-bin) header values: base64, emitted without padding, read with or without it.
std::string EncodeBinaryHeader(std::string_view raw);
bool DecodeBinaryHeader(std::string_view text, std::string* raw);

// The canonical code for an HTTP status of a response that carried no grpc-status.
int CodeForHttpStatus(int http_status);

// grpc-timeout for a duration in milliseconds (the spec allows at most 8 digits).
std::string TimeoutHeader(int64_t millis);
// A grpc-timeout value in milliseconds (rounded up); -1 when malformed.
int64_t ParseTimeoutHeader(std::string_view value);

}  // namespace kiln::rpc
