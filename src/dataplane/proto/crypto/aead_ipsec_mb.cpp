#include "dataplane/proto/crypto/aead_ipsec_mb.h"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <new>

namespace braid::proto::ipsecmb {
namespace {

// One IMB_MGR per thread: it is large (tens of KiB) and holds only dispatch tables and
// job queues, while each key needs just its ~1 KiB schedule, so thousands of sessions stay
// cheap. Created on a thread's first use (a session's first packet), never per packet.
struct ManagerOwner {
  IMB_MGR* manager = nullptr;
  ManagerOwner() {
    manager = alloc_mb_mgr(0);
    if (manager != nullptr) init_mb_mgr_auto(manager, nullptr);
  }
  ~ManagerOwner() {
    if (manager != nullptr) free_mb_mgr(manager);
  }
};

IMB_MGR* threadManager() noexcept {
  thread_local ManagerOwner owner;
  return owner.manager;
}

}  // namespace

bool cpuSupported() {
  IMB_MGR* manager = threadManager();
  if (manager == nullptr) return false;
  // GCM needs AES-NI and PCLMULQDQ; the library reports them in its feature flags.
  return (manager->features & IMB_FEATURE_AESNI) && (manager->features & IMB_FEATURE_PCLMULQDQ);
}

void* createKey(const AeadKey& key) {
  IMB_MGR* manager = threadManager();
  if (manager == nullptr) return nullptr;
  void* memory = std::aligned_alloc(64, (sizeof(gcm_key_data) + 63) / 64 * 64);
  if (memory == nullptr) return nullptr;
  auto* keyData = new (memory) gcm_key_data;
  IMB_AES256_GCM_PRE(manager, key.data(), keyData);
  return keyData;
}

void destroyKey(void* state) noexcept {
  if (state == nullptr) return;
  OPENSSL_cleanse(state, sizeof(gcm_key_data));
  std::free(state);
}

bool seal(void* state, const AeadNonce& nonce, std::span<const uint8_t> aad,
          std::span<uint8_t> inout, std::span<uint8_t, kAeadTagSize> tag) noexcept {
  IMB_MGR* manager = threadManager();
  if (manager == nullptr) return false;
  gcm_context_data context;
  IMB_AES256_GCM_ENC(manager, static_cast<gcm_key_data*>(state), &context, inout.data(),
                     inout.data(), inout.size(), nonce.data(), aad.data(), aad.size(), tag.data(),
                     tag.size());
  return true;
}

bool open(void* state, const AeadNonce& nonce, std::span<const uint8_t> aad,
          std::span<const uint8_t> ciphertext, std::span<uint8_t> plaintext,
          std::span<const uint8_t, kAeadTagSize> tag) noexcept {
  IMB_MGR* manager = threadManager();
  if (manager == nullptr) return false;
  gcm_context_data context;
  uint8_t computed[kAeadTagSize];
  IMB_AES256_GCM_DEC(manager, static_cast<gcm_key_data*>(state), &context, plaintext.data(),
                     ciphertext.data(), ciphertext.size(), nonce.data(), aad.data(), aad.size(),
                     computed, sizeof(computed));
  if (CRYPTO_memcmp(computed, tag.data(), kAeadTagSize) != 0) {
    // Do not leave unauthenticated plaintext behind.
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return false;
  }
  return true;
}

}  // namespace braid::proto::ipsecmb
