#pragma once
// In-tree fakes for solver tests: string results, ops that concatenate their inputs, a loader.

#include <atomic>
#include <map>
#include <mutex>

#include "solver/types.h"

namespace kiln::solver::testing {

class StringResult : public OpResult {
 public:
  StringResult(std::string id, std::string value) : id_(std::move(id)), value_(std::move(value)) {}
  std::string ID() const override { return id_; }
  const std::string& value() const { return value_; }

 private:
  std::string id_;
  std::string value_;
};

// Keeps every result ever produced, so a "restarted" solver can load them back by id.
class FakeResultStore : public ResultLoader {
 public:
  OpResultPtr Put(const std::string& value) {
    std::lock_guard<std::mutex> l(mu_);
    auto r = std::make_shared<StringResult>("r" + std::to_string(next_++), value);
    results_[r->ID()] = r;
    return r;
  }
  Result<OpResultPtr> Load(const Context&, const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = results_.find(id);
    if (it == results_.end()) return NotFound("no result " + id);
    return it->second;
  }
  void Forget(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    results_.erase(id);
  }

 private:
  std::mutex mu_;
  int next_ = 0;
  std::map<std::string, OpResultPtr> results_;
};

// value = prefix + inputs' values joined by "+". Counts executions; can block until released.
class ConcatOp : public Op {
 public:
  ConcatOp(FakeResultStore* store, std::string prefix, size_t inputs)
      : store_(store), prefix_(std::move(prefix)), inputs_(inputs) {}

  Result<CacheMap> GetCacheMap(const Context&, OpContext&) override {
    CacheMap cm;
    cm.digest = Digest::FromBytes("concat:" + prefix_);
    cm.deps.resize(inputs_);
    if (content_based_) {
      for (auto& d : cm.deps) {
        d.content_digest = [](const Context&, const OpResultPtr& r) -> Result<Digest> {
          return Digest::FromBytes(static_cast<const StringResult&>(*r).value());
        };
      }
    }
    return cm;
  }

  Result<std::vector<OpResultPtr>> Exec(const Context& ctx, OpContext&,
                                        const std::vector<OpResultPtr>& in) override {
    execs++;
    if (block_ms > 0) {
      Status s = ctx.Sleep(std::chrono::milliseconds(block_ms));
      if (!s.ok()) {
        cancelled++;
        return s;
      }
    }
    if (fail) return Internal("op " + prefix_ + " failed");
    std::string v = prefix_;
    for (auto& r : in) v += "+" + static_cast<const StringResult&>(*r).value();
    return std::vector<OpResultPtr>{store_->Put(v)};
  }

  std::atomic<int> execs{0};
  std::atomic<int> cancelled{0};
  int block_ms = 0;
  bool fail = false;
  bool content_based_ = false;

 private:
  FakeResultStore* store_;
  std::string prefix_;
  size_t inputs_;
};

}  // namespace kiln::solver::testing
