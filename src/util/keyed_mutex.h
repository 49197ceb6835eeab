#pragma once
// One holder per key at a time, waited for with a Context (a cancelled wait returns the
// context's cause instead of blocking on). E.g. one fetch into a git remote's cache at a time.
// Thread-safe.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "util/context.h"

namespace kiln {

class KeyedMutex {
 public:
  // Holds `key` until the returned guard is destroyed. The KeyedMutex must outlive the guard.
  Result<std::shared_ptr<void>> Lock(const Context& ctx, const std::string& key) {
    auto wake = ctx.OnCancel([this](const Status&) {
      std::lock_guard<std::mutex> l(mu_);
      cv_.notify_all();
    });
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !held_.count(key) || ctx.cancelled(); });
    if (ctx.cancelled()) return ctx.Err();
    held_.insert(key);
    return std::shared_ptr<void>(nullptr, [this, key](void*) {
      std::lock_guard<std::mutex> g(mu_);
      held_.erase(key);
      cv_.notify_all();
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> held_;  // guarded by mu_
};

}  // namespace kiln
