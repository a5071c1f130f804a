#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "dataplane/proto/result.h"

namespace braid::proto {

// Fills `out` from OpenSSL's CSPRNG. Any thread; false on failure.
bool randomBytes(std::span<uint8_t> out);

struct X25519KeyPair {
  std::array<uint8_t, 32> privateKey{};
  std::array<uint8_t, 32> publicKey{};
};

// A fresh ephemeral X25519 key pair. Any thread.
Result<X25519KeyPair> x25519Generate();
// X25519(private, peer); rejects an all-zero result (a low-order peer key). Any thread.
Result<std::array<uint8_t, 32>> x25519Shared(const std::array<uint8_t, 32>& privateKey,
                                             std::span<const uint8_t, 32> peerPublic);

// HMAC-SHA256 over the concatenation of `parts`. Any thread.
std::array<uint8_t, 32> hmacSha256(std::span<const uint8_t> key,
                                   std::initializer_list<std::span<const uint8_t>> parts);

// HKDF-SHA256 (RFC 5869), extract then expand into `out`. Any thread.
Result<void> hkdfExtractExpand(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                               std::span<const uint8_t> info, std::span<uint8_t> out);

// Compares in time independent of the contents; false if sizes differ.
bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace braid::proto
