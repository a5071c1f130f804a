#pragma once

// intel-ipsec-mb backend of Aead (x86 only; compiled only when meson finds the library).

#include <cstdint>
#include <span>

#include "dataplane/proto/crypto/aead.h"

namespace braid::proto::ipsecmb {

bool cpuSupported();
// Expands the key into a new 64-byte-aligned key schedule; nullptr on failure.
void* createKey(const AeadKey& key);
void destroyKey(void* state) noexcept;
bool seal(void* state, const AeadNonce& nonce, std::span<const uint8_t> aad,
          std::span<uint8_t> inout, std::span<uint8_t, kAeadTagSize> tag) noexcept;
bool open(void* state, const AeadNonce& nonce, std::span<const uint8_t> aad,
          std::span<const uint8_t> ciphertext, std::span<uint8_t> plaintext,
          std::span<const uint8_t, kAeadTagSize> tag) noexcept;

}  // namespace braid::proto::ipsecmb
