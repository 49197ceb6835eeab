#include "content/lease.h"

#include <utility>

#include "content/store.h"

namespace kiln::content {

Lease::Lease(Lease&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)), id_(std::move(o.id_)) {}

Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Release();
    store_ = std::exchange(o.store_, nullptr);
    id_ = std::move(o.id_);
  }
  return *this;
}

Lease::~Lease() { Release(); }

void Lease::Add(const Digest& digest) {
  KILN_CHECK(store_ != nullptr);
  store_->AddToLease(id_, digest);
}

void Lease::Release() {
  if (store_ != nullptr) std::exchange(store_, nullptr)->ReleaseLease(id_);
}

}  // namespace kiln::content
