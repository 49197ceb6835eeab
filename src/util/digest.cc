#include "util/digest.h"

// OpenSSL's SHA-256 functions, not its EVP interface: in OpenSSL 3 the first EVP fetch of an
// algorithm initialises the library's provider tables and reads its configuration, 2-3 ms that
// every kilnctl run which made a digest paid at its start; every EVP init after that is a
// lookup (or, fetched once, a reset) and each context a heap allocation. The SHA256_* functions
// run the same assembly and need none of it. OpenSSL 3 marks them deprecated, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace kiln {

struct Sha256::Impl {
  SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { KILN_CHECK(SHA256_Init(&impl_->ctx) == 1); }

Sha256::~Sha256() = default;

void Sha256::Update(const void* data, size_t n) {
  if (n > 0) KILN_CHECK(SHA256_Update(&impl_->ctx, data, n) == 1);
}

void Sha256::Update(std::string_view data) { Update(data.data(), data.size()); }

Digest Sha256::Final() {
  uint8_t out[SHA256_DIGEST_LENGTH];
  KILN_CHECK(SHA256_Final(out, &impl_->ctx) == 1);
  return Digest("sha256:" + HexEncode(out, SHA256_DIGEST_LENGTH));
}

std::string HexEncode(const uint8_t* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 15];
  }
  return s;
}

Result<Digest> Digest::Parse(std::string_view s) {
  constexpr std::string_view kPrefix = "sha256:";
  if (s.substr(0, kPrefix.size()) != kPrefix || s.size() != kPrefix.size() + 64) {
    return InvalidArgument("invalid digest \"" + std::string(s.substr(0, 80)) +
                           "\": want sha256:<64 hex digits>");
  }
  for (char c : s.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return InvalidArgument("invalid digest \"" + std::string(s) + "\": not lowercase hex");
    }
  }
  return Digest(std::string(s));
}

Digest Digest::FromBytes(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Final();
}

Digest Digest::FromParts(std::initializer_list<std::string_view> parts) {
  Sha256 h;
  for (auto p : parts) {
    std::string len = std::to_string(p.size()) + ":";
    h.Update(len);
    h.Update(p);
  }
  return h.Final();
}

}  // namespace kiln
