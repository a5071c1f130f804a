#include "dataplane/proto/crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <utility>

#include "braid_config.h"
#if BRAID_HAVE_IPSEC_MB
#include "dataplane/proto/crypto/aead_ipsec_mb.h"
#endif

namespace braid::proto {
namespace {

EVP_CIPHER_CTX* opensslCtx(void* state) {
  return static_cast<EVP_CIPHER_CTX*>(state);
}

}  // namespace

const char* aeadBackendName(AeadBackend backend) {
  return backend == AeadBackend::kIpsecMb ? "ipsec-mb" : "openssl";
}

Result<AeadBackend> parseAeadBackend(std::string_view name) {
  if (name == "openssl") return AeadBackend::kOpenSsl;
  if (name == "ipsec-mb") return AeadBackend::kIpsecMb;
  if (name == "auto") return defaultAeadBackend();
  return fail(ErrorCode::kInvalidArgument,
              "unknown AEAD backend '" + std::string(name) + "' (openssl, ipsec-mb, auto)");
}

bool aeadBackendAvailable(AeadBackend backend) {
  if (backend == AeadBackend::kOpenSsl) return true;
#if BRAID_HAVE_IPSEC_MB
  return ipsecmb::cpuSupported();
#else
  return false;
#endif
}

AeadBackend defaultAeadBackend() {
  return aeadBackendAvailable(AeadBackend::kIpsecMb) ? AeadBackend::kIpsecMb
                                                     : AeadBackend::kOpenSsl;
}

Result<Aead> Aead::create(AeadBackend backend, const AeadKey& key) {
  Aead aead;
  aead.backend_ = backend;
  if (backend == AeadBackend::kIpsecMb) {
#if BRAID_HAVE_IPSEC_MB
    if (!ipsecmb::cpuSupported()) return fail(ErrorCode::kUnsupported, "CPU lacks AES-NI/PCLMUL");
    aead.state_ = ipsecmb::createKey(key);
    if (aead.state_ == nullptr) return fail(ErrorCode::kCrypto, "ipsec-mb key expansion failed");
    return aead;
#else
    return fail(ErrorCode::kUnsupported, "built without intel-ipsec-mb");
#endif
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return fail(ErrorCode::kCrypto, "EVP_CIPHER_CTX_new failed");
  aead.state_ = ctx;
  // The key schedule is set once; every packet only sets its IV.
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr, 1) != 1) {
    return fail(ErrorCode::kCrypto, "AES-256-GCM init failed");
  }
  return aead;
}

Aead::Aead(Aead&& other) noexcept
    : backend_(other.backend_), state_(std::exchange(other.state_, nullptr)) {}

Aead& Aead::operator=(Aead&& other) noexcept {
  if (this != &other) {
    release();
    backend_ = other.backend_;
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

Aead::~Aead() {
  release();
}

void Aead::release() noexcept {
  if (state_ == nullptr) return;
  if (backend_ == AeadBackend::kOpenSsl) {
    EVP_CIPHER_CTX_free(opensslCtx(state_));
  } else {
#if BRAID_HAVE_IPSEC_MB
    ipsecmb::destroyKey(state_);
#endif
  }
  state_ = nullptr;
}

bool Aead::seal(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<uint8_t> inout,
                std::span<uint8_t, kAeadTagSize> tag) noexcept {
  if (state_ == nullptr) return false;
#if BRAID_HAVE_IPSEC_MB
  if (backend_ == AeadBackend::kIpsecMb) return ipsecmb::seal(state_, nonce, aad, inout, tag);
#endif
  EVP_CIPHER_CTX* ctx = opensslCtx(state_);
  int len = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 1) != 1) return false;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!inout.empty() && EVP_CipherUpdate(ctx, inout.data(), &len, inout.data(),
                                         static_cast<int>(inout.size())) != 1) {
    return false;
  }
  if (EVP_CipherFinal_ex(ctx, inout.data() + inout.size(), &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kAeadTagSize, tag.data()) == 1;
}

bool Aead::open(const AeadNonce& nonce, std::span<const uint8_t> aad,
                std::span<const uint8_t> ciphertext, std::span<uint8_t> plaintext,
                std::span<const uint8_t, kAeadTagSize> tag) noexcept {
  if (state_ == nullptr || plaintext.size() != ciphertext.size()) return false;
#if BRAID_HAVE_IPSEC_MB
  if (backend_ == AeadBackend::kIpsecMb) {
    return ipsecmb::open(state_, nonce, aad, ciphertext, plaintext, tag);
  }
#endif
  EVP_CIPHER_CTX* ctx = opensslCtx(state_);
  int len = 0;
  // The context is shared by both directions of use; set decrypt mode with the IV.
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 0) != 1) return false;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!ciphertext.empty() && EVP_CipherUpdate(ctx, plaintext.data(), &len, ciphertext.data(),
                                              static_cast<int>(ciphertext.size())) != 1) {
    return false;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kAeadTagSize,
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return false;
  }
  if (EVP_CipherFinal_ex(ctx, plaintext.data() + plaintext.size(), &len) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return false;
  }
  return true;
}

AeadNonce makeNonce(Direction direction, uint8_t linkId, uint64_t linkSeq) {
  AeadNonce nonce{};
  nonce[0] = static_cast<uint8_t>(direction);
  nonce[1] = linkId;
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(linkSeq >> (56 - 8 * i));
  return nonce;
}

}  // namespace braid::proto
