#pragma once
// RunOnThread: runs a function on a thread of its own, as a detached std::thread would, but
// reuses threads that finished earlier functions. A cached rebuild of a large graph starts a
// thread per shared computation (Flight) and per input (ParallelFor), about a thousand for 400
// vertices, and creating and tearing down each one (stack mapping, TLB shootdowns) was a large
// part of its time. Every call still gets its own thread at once, so functions that wait on one
// another cannot deadlock, whatever their number. A thread idle for kIdleTimeout ends, and at
// most kMaxIdle wait at any time, so a quiet process goes back to the threads it had.
// Thread-safe.

#include <chrono>
#include <functional>
#include <memory>

namespace kiln {

inline constexpr auto kThreadCacheIdleTimeout = std::chrono::seconds(3);
inline constexpr int kThreadCacheMaxIdle = 32;

void RunOnThread(std::function<void()> fn);

// A function run on a cached thread (RunOnThread) with a std::thread-like join: join() waits
// for the function to return (its thread then goes back to the cache), and the destructor joins
// a function that was not joined. For per-call helper threads (stream writers, tunnel pumps,
// cancellation watchers) that used to be created and torn down for every build. join() is for
// the owner only.
class CachedThread {
 public:
  CachedThread() = default;
  explicit CachedThread(std::function<void()> fn);
  CachedThread(CachedThread&& o) noexcept = default;
  CachedThread& operator=(CachedThread&& o) noexcept;
  CachedThread(const CachedThread&) = delete;
  CachedThread& operator=(const CachedThread&) = delete;
  ~CachedThread();

  bool joinable() const { return done_ != nullptr; }
  void join();

 private:
  struct Done;
  std::shared_ptr<Done> done_;
};

// Threads waiting for work now (for tests).
int IdleCachedThreads();

}  // namespace kiln
