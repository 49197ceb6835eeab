#include "util/thread_cache.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace kiln {
namespace {

class ThreadCache {
 public:
  void Run(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!idle_.empty()) {
        Worker* w = idle_.back();
        idle_.pop_back();
        w->task = std::move(fn);
        w->cv.notify_one();
        return;
      }
    }
    std::thread([this, fn = std::move(fn)]() mutable {
      fn();
      fn = nullptr;  // drop what it holds before waiting for more
      Worker w;
      Serve(&w);
    }).detach();
  }

  int Idle() {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(idle_.size());
  }

 private:
  // Lives on its thread's stack; in idle_ only while the thread waits in Serve.
  struct Worker {
    std::condition_variable cv;
    std::function<void()> task;
  };

  void Serve(Worker* w) {
    std::unique_lock<std::mutex> l(mu_);
    while (static_cast<int>(idle_.size()) < kThreadCacheMaxIdle) {
      idle_.push_back(w);
      if (!w->cv.wait_for(l, kThreadCacheIdleTimeout, [w] { return w->task != nullptr; })) {
        idle_.erase(std::find(idle_.begin(), idle_.end(), w));
        return;
      }
      std::function<void()> task = std::move(w->task);
      w->task = nullptr;
      l.unlock();
      task();
      task = nullptr;
      l.lock();
    }
  }

  std::mutex mu_;
  std::vector<Worker*> idle_;  // guarded by mu_
};

// Never destroyed: idle threads may still wait on it while the process exits.
ThreadCache& Cache() {
  static ThreadCache* cache = new ThreadCache();
  return *cache;
}

}  // namespace

void RunOnThread(std::function<void()> fn) { Cache().Run(std::move(fn)); }

int IdleCachedThreads() { return Cache().Idle(); }

struct CachedThread::Done {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
};

CachedThread::CachedThread(std::function<void()> fn) : done_(std::make_shared<Done>()) {
  RunOnThread([d = done_, fn = std::move(fn)]() mutable {
    fn();
    fn = nullptr;  // what it holds goes before join() returns
    std::lock_guard<std::mutex> l(d->mu);
    d->done = true;
    d->cv.notify_all();
  });
}

CachedThread& CachedThread::operator=(CachedThread&& o) noexcept {
  if (this != &o) {
    if (joinable()) join();
    done_ = std::move(o.done_);
  }
  return *this;
}

CachedThread::~CachedThread() {
  if (joinable()) join();
}

void CachedThread::join() {
  {
    std::unique_lock<std::mutex> l(done_->mu);
    done_->cv.wait(l, [this] { return done_->done; });
  }
  done_.reset();
}

}  // namespace kiln
