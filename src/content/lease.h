#pragma once
// content::Lease: an in-memory reference to blobs that keeps them from GC while the holder
// works with them (a pull, an export). Leases live only as long as the handle and the process;
// what must survive a restart goes into the store's persistent root set (Store::AddRoot).
// Move-only RAII handle; releasing it makes its blobs collectable again. Add() is thread-safe.
// The Store must outlive its leases.

#include <string>

#include "util/digest.h"

namespace kiln::content {

class Store;

class Lease {
 public:
  Lease() = default;
  Lease(Lease&& o) noexcept;
  Lease& operator=(Lease&& o) noexcept;
  Lease(const Lease&) = delete;  // one owner releases it
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  bool valid() const { return store_ != nullptr; }
  const std::string& id() const { return id_; }
  // References a blob (present or still to come); adding twice is harmless.
  void Add(const Digest& digest);
  // Releases the lease now; the handle becomes invalid.
  void Release();

 private:
  friend class Store;
  Lease(Store* store, std::string id) : store_(store), id_(std::move(id)) {}
  Store* store_ = nullptr;
  std::string id_;
};

}  // namespace kiln::content
