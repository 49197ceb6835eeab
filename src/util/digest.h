#pragma once
// Content digests ("sha256:<64 hex>") and an incremental SHA-256 (OpenSSL, SHA-NI when present).
// Digest is a value type; Sha256 is not thread-safe.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace kiln {

class Digest {
 public:
  Digest() = default;
  // Parses "sha256:<64 lowercase hex>".
  static Result<Digest> Parse(std::string_view s);
  static Digest FromBytes(std::string_view data);
  // Digest of the parts joined with an unambiguous length prefix per part.
  static Digest FromParts(std::initializer_list<std::string_view> parts);

  const std::string& str() const { return s_; }
  std::string_view hex() const { return std::string_view(s_).substr(7); }
  bool empty() const { return s_.empty(); }
  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string s) : s_(std::move(s)) {}
  friend class Sha256;
  std::string s_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  void Update(const void* data, size_t n);
  // Finishes the hash; the object may not be updated afterwards.
  Digest Final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string HexEncode(const uint8_t* data, size_t n);

}  // namespace kiln

template <>
struct std::hash<kiln::Digest> {
  size_t operator()(const kiln::Digest& d) const { return std::hash<std::string>()(d.str()); }
};
