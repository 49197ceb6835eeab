#pragma once
// Context: cancellation with a cause, and an optional deadline, passed as the first argument of
// every long or blocking call. A Context is a cheap copyable handle; copies share state.
// Cancelling a context cancels all its children. Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "util/status.h"

namespace kiln {

class Context {
 public:
  using Clock = std::chrono::steady_clock;
  class State;

  // RAII registration of a cancel callback; unregisters on destruction. Move-only.
  class CallbackHandle {
   public:
    CallbackHandle() = default;
    CallbackHandle(std::weak_ptr<State> state, uint64_t id) : state_(std::move(state)), id_(id) {}
    CallbackHandle(CallbackHandle&& o) noexcept { *this = std::move(o); }
    CallbackHandle& operator=(CallbackHandle&& o) noexcept;
    CallbackHandle(const CallbackHandle&) = delete;
    CallbackHandle& operator=(const CallbackHandle&) = delete;
    ~CallbackHandle() { Reset(); }
    void Reset();

   private:
    std::weak_ptr<State> state_;
    uint64_t id_ = 0;
  };

  // A root context that is never cancelled by itself.
  static Context Background();

  // A child: cancelled when this one is, or by its own Cancel().
  Context Child() const;
  // A child that is cancelled with DeadlineExceeded at `deadline`.
  Context WithDeadline(Clock::time_point deadline) const;
  Context WithTimeout(Clock::duration d) const { return WithDeadline(Clock::now() + d); }

  // Cancels this context and its children with `cause` (the first cause wins).
  void Cancel(Status cause) const;

  bool cancelled() const;
  // OK while not cancelled; the cause afterwards.
  Status Err() const;
  std::optional<Clock::time_point> deadline() const;

  // Runs `fn(cause)` once when cancelled (immediately, on this thread, if already cancelled).
  // The callback must not block and must not call back into this context's OnCancel.
  [[nodiscard]] CallbackHandle OnCancel(std::function<void(const Status&)> fn) const;

  // Sleeps for `d` or until cancelled; returns Err().
  Status Sleep(Clock::duration d) const;

 private:
  explicit Context(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

}  // namespace kiln
