#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::proto {

inline constexpr size_t kCookieSize = 16;
inline constexpr size_t kResetTokenSize = 16;
inline constexpr uint32_t kCookieBucketSeconds = 10;

using Cookie = std::array<uint8_t, kCookieSize>;
using ResetToken = std::array<uint8_t, kResetTokenSize>;

// Secrets the gateway derives from its long-lived secret (which survives restarts, so
// that stateless-reset tokens stay valid for sessions of the previous process).
class GatewaySecrets {
 public:
  // Derives the cookie and reset secrets. Any thread.
  static Result<GatewaySecrets> derive(std::span<const uint8_t, 32> gatewaySecret);

  // Cookie bound to the source address (16-byte IPv6/IPv4-mapped form), port, the
  // edge's nonce and a 10-second time bucket. Any thread.
  Cookie cookie(uint32_t bucket, std::span<const uint8_t, 16> address, uint16_t port,
                std::span<const uint8_t, 32> edgeNonce) const;
  // True if `cookie` was issued for this source in the current or previous bucket.
  bool verifyCookie(uint64_t unixSeconds, std::span<const uint8_t, 16> address, uint16_t port,
                    std::span<const uint8_t, 32> edgeNonce,
                    std::span<const uint8_t, 16> cookie) const;
  // Stateless-reset token of a session (docs/protocol.md §4.9). Any thread.
  ResetToken resetToken(SessionId session) const;

 private:
  std::array<uint8_t, 32> cookieSecret_{};
  std::array<uint8_t, 32> resetSecret_{};
};

inline uint32_t cookieBucket(uint64_t unixSeconds) {
  return static_cast<uint32_t>(unixSeconds / kCookieBucketSeconds);
}

}  // namespace braid::proto
