#include "dataplane/proto/crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>

namespace braid::proto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// One HMAC_CTX per thread, reused: cookies are computed for every handshake init of a
// flood, and allocating a context each time would double their cost. (HMAC_CTX is
// deprecated in OpenSSL 3 in favour of EVP_MAC, which allocates per init.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct HmacCtxOwner {
  HMAC_CTX* ctx = HMAC_CTX_new();
  ~HmacCtxOwner() { HMAC_CTX_free(ctx); }
};
#pragma GCC diagnostic pop

}  // namespace

bool randomBytes(std::span<uint8_t> out) {
  return out.empty() || RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

Result<X25519KeyPair> x25519Generate() {
  X25519KeyPair pair;
  if (!randomBytes(pair.privateKey)) return fail(ErrorCode::kCrypto, "no random bytes");
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, pair.privateKey.data(),
                                           pair.privateKey.size()));
  if (!key) return fail(ErrorCode::kCrypto, "X25519 key creation failed");
  size_t length = pair.publicKey.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pair.publicKey.data(), &length) != 1 ||
      length != pair.publicKey.size()) {
    return fail(ErrorCode::kCrypto, "X25519 public key derivation failed");
  }
  return pair;
}

Result<std::array<uint8_t, 32>> x25519Shared(const std::array<uint8_t, 32>& privateKey,
                                             std::span<const uint8_t, 32> peerPublic) {
  PkeyPtr own(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, privateKey.data(), privateKey.size()));
  PkeyPtr peer(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peerPublic.data(), peerPublic.size()));
  if (!own || !peer) return fail(ErrorCode::kCrypto, "X25519 key import failed");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return fail(ErrorCode::kCrypto, "X25519 derive setup failed");
  }
  std::array<uint8_t, 32> shared{};
  size_t length = shared.size();
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &length) != 1 || length != shared.size()) {
    return fail(ErrorCode::kCrypto, "X25519 derive failed");
  }
  uint8_t any = 0;
  for (uint8_t b : shared) any |= b;
  if (any == 0) return fail(ErrorCode::kAuth, "X25519 produced an all-zero secret");
  return shared;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
std::array<uint8_t, 32> hmacSha256(std::span<const uint8_t> key,
                                   std::initializer_list<std::span<const uint8_t>> parts) {
  thread_local HmacCtxOwner owner;
  std::array<uint8_t, 32> out{};
  unsigned length = 0;
  HMAC_CTX* ctx = owner.ctx;
  if (ctx == nullptr ||
      HMAC_Init_ex(ctx, key.data(), static_cast<int>(key.size()), EVP_sha256(), nullptr) != 1) {
    return out;  // all zeros never verifies against a real MAC
  }
  for (auto part : parts) {
    if (!part.empty()) HMAC_Update(ctx, part.data(), part.size());
  }
  HMAC_Final(ctx, out.data(), &length);
  return out;
}
#pragma GCC diagnostic pop

Result<void> hkdfExtractExpand(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                               std::span<const uint8_t> info, std::span<uint8_t> out) {
  // RFC 5869: an absent salt is HashLen zero bytes (OpenSSL refuses an empty one).
  static constexpr std::array<uint8_t, 32> kZeroSalt{};
  if (salt.empty()) salt = kZeroSalt;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), salt.data(), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), ikm.data(), static_cast<int>(ikm.size())) != 1 ||
      (!info.empty() &&
       EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), info.data(), static_cast<int>(info.size())) != 1)) {
    return fail(ErrorCode::kCrypto, "HKDF setup failed");
  }
  size_t length = out.size();
  if (EVP_PKEY_derive(ctx.get(), out.data(), &length) != 1 || length != out.size()) {
    return fail(ErrorCode::kCrypto, "HKDF derive failed");
  }
  return ok();
}

bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace braid::proto
