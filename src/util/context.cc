#include "util/context.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class Context::State : public std::enable_shared_from_this<Context::State> {
 public:
  std::mutex mu;
  std::recursive_mutex run_mu;  // held while callbacks run, so Reset() can wait for them
  bool cancelled = false;
  Status cause;
  std::optional<Clock::time_point> deadline;
  uint64_t next_id = 1;
  std::map<uint64_t, std::function<void(const Status&)>> callbacks;
  std::shared_ptr<State> parent;  // keeps the chain alive while children exist
  CallbackHandle parent_link;     // our registration with the parent

  void Cancel(const Status& why) {
    std::map<uint64_t, std::function<void(const Status&)>> cbs;
    {
      std::lock_guard<std::mutex> l(mu);
      if (cancelled) return;
      cancelled = true;
      cause = why;
      cbs.swap(callbacks);
    }
    std::lock_guard<std::recursive_mutex> rl(run_mu);
    for (auto& [id, fn] : cbs) fn(why);
  }
};

namespace {

// One timer thread for all deadlines. Entries hold weak references so expired contexts go away.
class DeadlineTimer {
 public:
  static DeadlineTimer& Get() {
    static DeadlineTimer* t = new DeadlineTimer();  // never destroyed: lives until exit
    return *t;
  }
  void Add(Context::Clock::time_point when, std::weak_ptr<Context::State> s) {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_) {
      started_ = true;
      std::thread([this] { Run(); }).detach();
    }
    q_.emplace(when, std::move(s));
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      if (q_.empty()) {
        cv_.wait(l);
        continue;
      }
      auto it = q_.begin();
      if (it->first > Context::Clock::now()) {
        cv_.wait_until(l, it->first);
        continue;
      }
      auto weak = it->second;
      q_.erase(it);
      l.unlock();
      if (auto s = weak.lock()) s->Cancel(DeadlineExceeded("context deadline exceeded"));
      l.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  std::multimap<Context::Clock::time_point, std::weak_ptr<Context::State>> q_;
};

}  // namespace

Context::CallbackHandle& Context::CallbackHandle::operator=(CallbackHandle&& o) noexcept {
  if (this != &o) {
    Reset();
    state_ = std::move(o.state_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

void Context::CallbackHandle::Reset() {
  if (id_ == 0) return;
  if (auto s = state_.lock()) {
    bool found;
    {
      std::lock_guard<std::mutex> l(s->mu);
      found = s->callbacks.erase(id_) > 0;
    }
    // Taken by a concurrent Cancel: wait until it has finished running callbacks.
    if (!found) {
      std::lock_guard<std::recursive_mutex> rl(s->run_mu);
    }
  }
  id_ = 0;
  state_.reset();
}

Context Context::Background() { return Context(std::make_shared<State>()); }

Context Context::Child() const {
  auto child = std::make_shared<State>();
  child->parent = state_;
  {
    std::lock_guard<std::mutex> l(state_->mu);
    child->deadline = state_->deadline;
  }
  std::weak_ptr<State> weak = child;
  child->parent_link = OnCancel([weak](const Status& why) {
    if (auto c = weak.lock()) c->Cancel(why);
  });
  return Context(child);
}

Context Context::WithDeadline(Clock::time_point deadline) const {
  Context c = Child();
  bool sooner;
  {
    std::lock_guard<std::mutex> l(c.state_->mu);
    sooner = !c.state_->deadline || deadline < *c.state_->deadline;
    if (sooner) c.state_->deadline = deadline;
  }
  if (sooner) DeadlineTimer::Get().Add(deadline, c.state_);
  return c;
}

void Context::Cancel(Status cause) const {
  if (cause.ok()) cause = Cancelled("context canceled");
  state_->Cancel(cause);
}

bool Context::cancelled() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->cancelled;
}

Status Context::Err() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->cancelled ? state_->cause : Status::Ok();
}

std::optional<Context::Clock::time_point> Context::deadline() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->deadline;
}

Context::CallbackHandle Context::OnCancel(std::function<void(const Status&)> fn) const {
  Status cause;
  {
    std::lock_guard<std::mutex> l(state_->mu);
    if (!state_->cancelled) {
      uint64_t id = state_->next_id++;
      state_->callbacks.emplace(id, std::move(fn));
      return CallbackHandle(state_, id);
    }
    cause = state_->cause;
  }
  fn(cause);
  return CallbackHandle();
}

Status Context::Sleep(Clock::duration d) const {
  std::mutex mu;
  std::condition_variable cv;
  bool woken = false;
  auto h = OnCancel([&](const Status&) {
    std::lock_guard<std::mutex> l(mu);
    woken = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> l(mu);
  cv.wait_for(l, d, [&] { return woken; });
  l.unlock();
  h.Reset();
  return Err();
}

}  // namespace kiln
