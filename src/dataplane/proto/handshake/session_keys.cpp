#include "dataplane/proto/handshake/session_keys.h"

#include <cstring>

#include "dataplane/proto/crypto/primitives.h"

namespace braid::proto {

Result<SessionKeys> deriveSessionKeys(std::span<const uint8_t, 32> psk,
                                      std::span<const uint8_t, 32> sharedSecret,
                                      std::span<const uint8_t, 32> edgeNonce,
                                      std::span<const uint8_t, 32> gatewayNonce,
                                      SessionId session) {
  static constexpr char kLabel[] = "braid v1 keys";
  std::array<uint8_t, sizeof(kLabel) - 1 + 32 + 32 + 8> info{};
  size_t at = 0;
  std::memcpy(info.data(), kLabel, sizeof(kLabel) - 1);
  at += sizeof(kLabel) - 1;
  std::memcpy(info.data() + at, edgeNonce.data(), 32);
  at += 32;
  std::memcpy(info.data() + at, gatewayNonce.data(), 32);
  at += 32;
  for (int i = 0; i < 8; ++i) info[at + i] = static_cast<uint8_t>(session.value >> (56 - 8 * i));

  std::array<uint8_t, 64> okm{};
  auto derived = hkdfExtractExpand(psk, sharedSecret, info, okm);
  if (!derived) return tl::unexpected(derived.error());
  SessionKeys keys;
  std::memcpy(keys.edgeToGateway.data(), okm.data(), 32);
  std::memcpy(keys.gatewayToEdge.data(), okm.data() + 32, 32);
  return keys;
}

}  // namespace braid::proto
