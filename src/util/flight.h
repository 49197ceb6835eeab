#pragma once
// Flight<T>: one computation shared by every caller that asks for it (BuildKit's flightcontrol).
// The function runs once, on a thread of its own (util/thread_cache.h), under a context that is cancelled only when every
// caller waiting for it has gone away; each caller waits with its own Context and leaves as soon
// as that is cancelled. A successful result (or a non-cancellation error) is kept for later
// callers; a computation that ended cancelled is started again by the next caller.
// Thread-safe.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "util/context.h"
#include "util/status.h"
#include "util/thread_cache.h"

namespace kiln {

template <typename T>
class Flight {
 public:
  using Fn = std::function<Result<T>(const Context&)>;

  Flight() : s_(std::make_shared<State>()) {}
  Flight(const Flight&) = delete;
  Flight& operator=(const Flight&) = delete;

  Result<T> Get(const Context& caller, Fn fn) {
    std::shared_ptr<State> s = s_;
    // Registered before taking the lock: the callback may run inline if already cancelled.
    auto woke = std::make_shared<bool>(false);
    auto h = caller.OnCancel([s, woke](const Status&) {
      std::lock_guard<std::mutex> g(s->mu);
      *woke = true;
      s->cv.notify_all();
    });
    std::unique_lock<std::mutex> l(s->mu);
    for (;;) {
      if (s->result) {
        if (!IsCancel(*s->result) || *woke) return *s->result;
        s->result.reset();  // cancelled because earlier callers left; run it again for us
      }
      if (*woke) return caller.Err();
      if (!s->running) Start(s, fn);
      s->waiters++;
      s->cv.wait(l, [&] { return s->result.has_value() || *woke; });
      s->waiters--;
      if (!s->result) {
        // Our caller left; cancel the work if nobody else waits for it.
        if (s->waiters == 0 && s->ctx) s->ctx->Cancel(Cancelled("no build wants this any more"));
        return caller.Err();
      }
    }
  }

  // The kept result, if any.
  std::optional<Result<T>> Peek() const {
    std::lock_guard<std::mutex> l(s_->mu);
    return s_->result;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool running = false;
    int waiters = 0;
    std::optional<Context> ctx;
    std::optional<Result<T>> result;
  };

  static bool IsCancel(const Result<T>& r) {
    return !r.ok() && (r.status().code() == Code::kCancelled ||
                       r.status().code() == Code::kDeadlineExceeded);
  }

  // Called with s->mu held.
  static void Start(const std::shared_ptr<State>& s, Fn fn) {
    s->running = true;
    s->result.reset();
    Context ctx = Context::Background().Child();
    s->ctx = ctx;
    RunOnThread([s, ctx, fn = std::move(fn)]() mutable {
      Result<T> r = fn(ctx);
      fn = nullptr;  // drop what the function holds before any caller sees the result
      std::lock_guard<std::mutex> l(s->mu);
      s->result = std::move(r);
      s->running = false;
      s->ctx.reset();
      s->cv.notify_all();
    });
  }

  std::shared_ptr<State> s_;
};

}  // namespace kiln
