#pragma once
// kiln's error type. Fallible functions return Status or Result<T>; our code never throws.
// Codes are numbered as gRPC's so they cross the gRPC edge unchanged (docs/dev/errors.md).
// Thread-compatible value types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "util/check.h"

namespace kiln {

enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

std::string_view CodeName(Code code);

// Where in a source file (a Dockerfile) an error is: BuildKit's errdefs.Source. The client
// shows the lines around the ranges (error_details.h).
struct SourceLocation {
  std::string filename;
  std::string data;                         // the whole file
  std::vector<std::pair<int, int>> ranges;  // 1-based lines, start and end inclusive
};

// Typed details that travel with an error to the client (vertex, exit code, source lines).
struct ErrorDetails {
  std::string vertex;             // digest of the failing vertex, if any
  std::optional<int> exit_code;   // exit code of a failed process, if any
  std::vector<SourceLocation> sources;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const ErrorDetails& details() const { return details_; }
  ErrorDetails& mutable_details() { return details_; }

  // Returns a copy whose message is "prefix: message" (context where the meaning changes).
  Status Annotate(std::string_view prefix) const;
  Status WithVertex(std::string vertex) const;
  Status WithExitCode(int code) const;
  Status WithSource(SourceLocation src) const;

  std::string ToString() const;
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
  ErrorDetails details_;
};

// Convenience constructors, printf-free: build the message with fmt::format at the call site.
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }

// Status from errno: "what: strerror(errno)" with a code chosen from the errno.
Status ErrnoStatus(int err, std::string_view what);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    KILN_CHECK(!std::get<Status>(v_).ok());
  }

  bool ok() const { return v_.index() == 0; }
  const Status& status() const& {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  // On a temporary, the Status is returned by value: `KILN_RETURN_IF_ERROR(F().status())` must
  // not bind a reference into a Result that dies at the end of the full expression.
  Status status() && {
    if (ok()) return Status();
    return std::get<Status>(std::move(v_));
  }
  T& value() & {
    KILN_CHECK(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    KILN_CHECK(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    KILN_CHECK(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace kiln

#define KILN_CONCAT_INNER(a, b) a##b
#define KILN_CONCAT(a, b) KILN_CONCAT_INNER(a, b)

// KILN_RETURN_IF_ERROR(expr): returns the Status of a failed Status/Result expression.
#define KILN_RETURN_IF_ERROR(expr)                                        \
  do {                                                                    \
    auto&& kiln_status_or_ = (expr);                                      \
    if (!kiln_status_or_.ok()) return ::kiln::internal::AsStatus(kiln_status_or_); \
  } while (0)

// KILN_ASSIGN_OR_RETURN(lhs, expr): lhs = value of expr, or return its Status.
#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL(KILN_CONCAT(kiln_result_, __LINE__), lhs, expr)
#define KILN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
