#include "dataplane/proto/handshake/gateway_secrets.h"

#include <cstring>
#include <string_view>

#include "dataplane/proto/crypto/primitives.h"

namespace braid::proto {
namespace {

std::span<const uint8_t> asBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

Result<GatewaySecrets> GatewaySecrets::derive(std::span<const uint8_t, 32> gatewaySecret) {
  GatewaySecrets secrets;
  auto cookie = hkdfExtractExpand({}, gatewaySecret, asBytes("braid v1 cookie secret"),
                                  secrets.cookieSecret_);
  if (!cookie) return tl::unexpected(cookie.error());
  auto reset =
      hkdfExtractExpand({}, gatewaySecret, asBytes("braid v1 reset secret"), secrets.resetSecret_);
  if (!reset) return tl::unexpected(reset.error());
  return secrets;
}

Cookie GatewaySecrets::cookie(uint32_t bucket, std::span<const uint8_t, 16> address, uint16_t port,
                              std::span<const uint8_t, 32> edgeNonce) const {
  uint8_t bucketBytes[4] = {static_cast<uint8_t>(bucket >> 24), static_cast<uint8_t>(bucket >> 16),
                            static_cast<uint8_t>(bucket >> 8), static_cast<uint8_t>(bucket)};
  uint8_t portBytes[2] = {static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  auto mac = hmacSha256(cookieSecret_, {std::span<const uint8_t>(bucketBytes), address,
                                        std::span<const uint8_t>(portBytes), edgeNonce});
  Cookie out;
  std::memcpy(out.data(), mac.data(), out.size());
  return out;
}

bool GatewaySecrets::verifyCookie(uint64_t unixSeconds, std::span<const uint8_t, 16> address,
                                  uint16_t port, std::span<const uint8_t, 32> edgeNonce,
                                  std::span<const uint8_t, 16> cookieBytes) const {
  uint32_t bucket = cookieBucket(unixSeconds);
  for (uint32_t b : {bucket, bucket - 1}) {
    Cookie expected = cookie(b, address, port, edgeNonce);
    if (constantTimeEqual(expected, cookieBytes)) return true;
  }
  return false;
}

ResetToken GatewaySecrets::resetToken(SessionId session) const {
  uint8_t id[8];
  for (int i = 0; i < 8; ++i) id[i] = static_cast<uint8_t>(session.value >> (56 - 8 * i));
  auto mac = hmacSha256(resetSecret_, {std::span<const uint8_t>(id)});
  ResetToken out;
  std::memcpy(out.data(), mac.data(), out.size());
  return out;
}

}  // namespace braid::proto
