#pragma once
// Background<T>: one function run on its own thread with the caller's context, for work that can
// overlap the caller's (two independent session round trips, say). Wait() joins it and returns
// its result; destroying it joins too, so the work never outlives the objects it captured (it
// is not cancelled: cancel the parent context to stop it). Wait() and the destructor are for the
// owning thread only.

#include <functional>
#include <optional>
#include <utility>

#include "util/context.h"
#include "util/status.h"
#include "util/thread_cache.h"

namespace kiln {

template <typename T>
class Background {
 public:
  Background(const Context& parent, std::function<Result<T>(const Context&)> fn) : ctx_(parent) {
    thread_ = CachedThread([this, fn = std::move(fn)] { result_.emplace(fn(ctx_)); });
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }

  const Result<T>& Wait() {
    if (thread_.joinable()) thread_.join();
    return *result_;
  }

 private:
  Context ctx_;
  std::optional<Result<T>> result_;
  CachedThread thread_;
};

}  // namespace kiln
