#pragma once
// A content store in a fresh temp directory, removed with the fixture. For tests.

#include <stdlib.h>

#include <memory>
#include <string>

#include "content/store.h"
#include "util/fs_copy.h"

namespace kiln::content::testing {

class TempStore {
 public:
  TempStore() {
    char tmpl[] = "/tmp/kiln-content-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Reopen();
  }
  ~TempStore() {
    store_.reset();
    RemoveAll(dir_).IgnoreError();
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  // Closes and opens the store again on the same directory (a daemon restart).
  void Reopen() {
    store_.reset();
    auto s = Store::Open(dir_ + "/content");
    KILN_CHECK(s.ok());
    store_ = std::move(*s);
  }
  Store* operator->() { return store_.get(); }
  Store& operator*() { return *store_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace kiln::content::testing
