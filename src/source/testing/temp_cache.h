#pragma once
// A cache manager over a native snapshotter in a temporary directory (removed with it), for the
// source tests. Not thread-safe to construct; the manager itself is.

#include <stdlib.h>

#include <memory>
#include <string>

#include "cache/manager.h"
#include "util/check.h"
#include "util/fs_copy.h"

namespace kiln::source::testing {

class TempCache {
 public:
  TempCache() {
    char tmpl[] = "/tmp/kiln-source-XXXXXX";
    KILN_CHECK(mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    auto sn = snapshot::NewNativeSnapshotter(root_ + "/snapshots");
    KILN_CHECK(sn.ok());
    sn_ = std::move(*sn);
    auto m = cache::Manager::Open(root_, sn_.get());
    KILN_CHECK(m.ok());
    cache_ = std::move(*m);
  }
  ~TempCache() {
    cache_.reset();
    sn_.reset();
    RemoveAll(root_).IgnoreError();
  }
  TempCache(const TempCache&) = delete;  // owns the directory
  TempCache& operator=(const TempCache&) = delete;

  const std::string& root() const { return root_; }
  cache::Manager* cache() { return cache_.get(); }

 private:
  std::string root_;
  std::unique_ptr<snapshot::Snapshotter> sn_;
  std::unique_ptr<cache::Manager> cache_;
};

}  // namespace kiln::source::testing
