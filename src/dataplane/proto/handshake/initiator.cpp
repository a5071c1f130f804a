#include "dataplane/proto/handshake/initiator.h"

#include <cstring>

namespace braid::proto {

Result<HandshakeInitiator> HandshakeInitiator::start(uint32_t keyId, const PskBytes& psk,
                                                     uint8_t linkId, uint16_t requestedLatencyMs,
                                                     SessionId rekeyOf, AeadBackend backend) {
  HandshakeInitiator init;
  init.keyId_ = keyId;
  init.psk_ = psk;
  init.linkId_ = linkId;
  init.requestedLatencyMs_ = requestedLatencyMs;
  init.rekeyOf_ = rekeyOf;
  init.backend_ = backend;
  if (!randomBytes(init.nonce_)) return fail(ErrorCode::kCrypto, "no random bytes for nonce");
  auto pair = x25519Generate();
  if (!pair) return tl::unexpected(pair.error());
  init.ephemeral_ = *pair;
  return init;
}

size_t HandshakeInitiator::writeInit(std::span<uint8_t> out, uint64_t realtimeNs) const {
  HandshakeInit msg;
  msg.linkId = linkId_;
  msg.sessionId = rekeyOf_;
  msg.keyId = keyId_;
  msg.edgeNonce = nonce_;
  msg.edgePublic = ephemeral_.publicKey;
  msg.timestampNs = realtimeNs;
  msg.requestedLatencyMs = requestedLatencyMs_;
  msg.cookie = cookie_;
  size_t size = msg.encode(out);
  if (size == 0) return 0;
  auto mac = hmacSha256(psk_, {HandshakeInit::macCovered(out.first(size))});
  HandshakeInit::storeMac(out.first(size), std::span<const uint8_t, 16>(mac.data(), 16));
  return size;
}

tl::expected<void, DropReason> HandshakeInitiator::onCookie(std::span<const uint8_t> packet) {
  auto msg = HandshakeCookie::parse(packet);
  if (!msg) return tl::unexpected(msg.error());
  if (msg->linkId != linkId_ || !constantTimeEqual(msg->edgeNonce, nonce_)) {
    return tl::unexpected(DropReason::kBadCookie);
  }
  cookie_ = msg->cookie;
  return {};
}

tl::expected<EstablishedSession, DropReason> HandshakeInitiator::onAccept(
    std::span<const uint8_t> packet) const {
  auto msg = HandshakeAccept::parse(packet);
  if (!msg) return tl::unexpected(msg.error());
  if (msg->linkId != linkId_ || !constantTimeEqual(msg->edgeNonce, nonce_)) {
    return tl::unexpected(DropReason::kStaleHandshake);
  }
  auto mac = hmacSha256(psk_, {HandshakeAccept::macCovered(packet)});
  if (!constantTimeEqual(std::span<const uint8_t>(mac.data(), 16), msg->mac)) {
    return tl::unexpected(DropReason::kBadMac);
  }
  if (!rekeyOf_.isZero() && msg->sessionId != rekeyOf_) {
    return tl::unexpected(DropReason::kUnknownSession);
  }
  auto shared = x25519Shared(ephemeral_.privateKey, msg->gatewayPublic);
  if (!shared) return tl::unexpected(DropReason::kAuthFailed);
  auto keys = deriveSessionKeys(psk_, *shared, nonce_, msg->gatewayNonce, msg->sessionId);
  if (!keys) return tl::unexpected(DropReason::kAuthFailed);

  auto aead = Aead::create(backend_, keys->gatewayToEdge);
  if (!aead) return tl::unexpected(DropReason::kAuthFailed);
  std::array<uint8_t, AcceptSecrets::kEncodedSize> plain = msg->sealed;
  AeadNonce nonce = makeNonce(Direction::kGatewayToEdge, linkId_, 0);
  if (!aead->open(nonce, HandshakeAccept::associatedData(packet), plain, msg->sealedTag)) {
    return tl::unexpected(DropReason::kAuthFailed);
  }
  auto secrets = AcceptSecrets::parse(plain);
  if (!secrets) return tl::unexpected(secrets.error());
  return EstablishedSession{.sessionId = msg->sessionId,
                            .linkId = linkId_,
                            .latencyMs = msg->latencyMs,
                            .keys = *keys,
                            .secrets = *secrets};
}

}  // namespace braid::proto
