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

namespace kiln {

inline constexpr auto kThreadCacheIdleTimeout = std::chrono::seconds(3);
inline constexpr int kThreadCacheMaxIdle = 32;

void RunOnThread(std::function<void()> fn);

// Threads waiting for work now (for tests).
int IdleCachedThreads();

}  // namespace kiln
