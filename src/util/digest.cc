#include "util/digest.h"

#include <openssl/evp.h>

namespace kiln {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

namespace {

// OpenSSL 3 looks the implementation up in its provider tables (locks, string compares) on every
// init given EVP_sha256(); fetched once, an init is just a reset. A cached rebuild makes
// thousands of small digests. Kept for the life of the process.
const EVP_MD* Sha256Md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
#else
  return EVP_sha256();
#endif
}

}  // namespace

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  KILN_CHECK(impl_->ctx != nullptr);
  KILN_CHECK(EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::Update(const void* data, size_t n) {
  if (n > 0) KILN_CHECK(EVP_DigestUpdate(impl_->ctx, data, n) == 1);
}

void Sha256::Update(std::string_view data) { Update(data.data(), data.size()); }

Digest Sha256::Final() {
  uint8_t out[32];
  unsigned int len = 0;
  KILN_CHECK(EVP_DigestFinal_ex(impl_->ctx, out, &len) == 1 && len == 32);
  return Digest("sha256:" + HexEncode(out, 32));
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
