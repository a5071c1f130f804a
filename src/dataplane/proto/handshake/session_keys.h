#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::proto {

using PskBytes = std::array<uint8_t, 32>;
using HandshakeNonce = std::array<uint8_t, 32>;

// The two per-direction AEAD keys of a session (docs/protocol.md §4.7).
struct SessionKeys {
  AeadKey edgeToGateway{};
  AeadKey gatewayToEdge{};
};

// prk = HKDF-Extract(PSK, shared); okm = HKDF-Expand(prk, "braid v1 keys" | Ne | Ng | ID, 64).
// Any thread.
Result<SessionKeys> deriveSessionKeys(std::span<const uint8_t, 32> psk,
                                      std::span<const uint8_t, 32> sharedSecret,
                                      std::span<const uint8_t, 32> edgeNonce,
                                      std::span<const uint8_t, 32> gatewayNonce, SessionId session);

}  // namespace braid::proto
