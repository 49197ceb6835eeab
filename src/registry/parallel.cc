#include "registry/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::registry {

Status ForEachParallel(const Context& ctx, size_t n, int workers, const std::string& cancel_cause,
                       const std::function<Status(const Context& work, size_t i)>& fn) {
  if (n == 0) return ctx.Err();
  Context work = ctx.Child();
  std::atomic<size_t> next = 0;
  std::mutex mu;
  Status first;  // guarded by mu
  auto worker = [&] {
    for (size_t i; (i = next++) < n;) {
      Status s = fn(work, i);
      if (s.ok()) continue;
      std::lock_guard<std::mutex> l(mu);
      if (first.ok()) {
        first = s;
        work.Cancel(Cancelled(cancel_cause));
      }
      return;
    }
  };
  size_t threads_wanted = std::min<size_t>(std::max(1, workers), n);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < threads_wanted; i++) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first.ok()) return first;
  return ctx.Err();
}

}  // namespace kiln::registry
