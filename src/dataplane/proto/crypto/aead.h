#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::proto {

using AeadKey = std::array<uint8_t, 32>;
using AeadNonce = std::array<uint8_t, 12>;
inline constexpr size_t kAeadTagSize = 16;

enum class AeadBackend { kOpenSsl, kIpsecMb };

const char* aeadBackendName(AeadBackend backend);
// "openssl", "ipsec-mb", or "auto" (the default backend). Any thread.
Result<AeadBackend> parseAeadBackend(std::string_view name);
// ipsec-mb when built in and the CPU has AES-NI and PCLMULQDQ, else OpenSSL.
AeadBackend defaultAeadBackend();
bool aeadBackendAvailable(AeadBackend backend);

// AES-256-GCM under one key. The backend is chosen once at creation (no virtual call per
// packet). Move-only; one owner thread at a time.
class Aead {
 public:
  static Result<Aead> create(AeadBackend backend, const AeadKey& key);
  Aead(Aead&& other) noexcept;
  Aead& operator=(Aead&& other) noexcept;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  ~Aead();

  // Encrypts `inout` in place and writes the tag. False on failure.
  bool seal(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<uint8_t> inout,
            std::span<uint8_t, kAeadTagSize> tag) noexcept;
  // Decrypts `inout` in place; false if the tag does not authenticate (then `inout` holds
  // no plaintext the caller may use).
  bool open(const AeadNonce& nonce, std::span<const uint8_t> aad, std::span<uint8_t> inout,
            std::span<const uint8_t, kAeadTagSize> tag) noexcept {
    return open(nonce, aad, inout, inout, tag);
  }
  // Decrypts `ciphertext` into `plaintext` (the same size; the two are the same bytes or do not
  // overlap); false if the tag does not authenticate (then `plaintext` holds nothing usable).
  bool open(const AeadNonce& nonce, std::span<const uint8_t> aad,
            std::span<const uint8_t> ciphertext, std::span<uint8_t> plaintext,
            std::span<const uint8_t, kAeadTagSize> tag) noexcept;

  AeadBackend backend() const { return backend_; }

 private:
  Aead() = default;
  void release() noexcept;

  AeadBackend backend_ = AeadBackend::kOpenSsl;
  void* state_ = nullptr;  // EVP_CIPHER_CTX* or an aligned ipsec-mb key schedule
};

// nonce = direction | link ID | 0x0000 | per-link sequence (8 bytes, BE); protocol §3.3.
AeadNonce makeNonce(Direction direction, uint8_t linkId, uint64_t linkSeq);

}  // namespace braid::proto
