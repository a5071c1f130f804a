#include "dataplane/proto/handshake/responder.h"

#include <algorithm>
#include <cstring>

#include "dataplane/proto/crypto/primitives.h"

namespace braid::proto {
namespace {

// A cookie lives for the current and the previous bucket; the replay cache must remember
// an init at least that long.
constexpr uint64_t kReplayMemoryNs = 2ull * kCookieBucketSeconds * 1'000'000'000;

}  // namespace

size_t HandshakeResponder::ReplayKeyHash::operator()(const ReplayKey& k) const noexcept {
  uint64_t h;
  std::memcpy(&h, k.nonce.data(), sizeof(h));  // the nonce is random: its bytes are a hash
  return static_cast<size_t>(h ^ k.keyId);
}

Result<HandshakeResponder> HandshakeResponder::create(std::span<const uint8_t, 32> gatewaySecret,
                                                      std::vector<ResponderKey> keys,
                                                      const ResponderConfig& config) {
  if (config.minLatencyMs > config.maxLatencyMs) {
    return fail(ErrorCode::kInvalidArgument, "min latency above max latency");
  }
  auto secrets = GatewaySecrets::derive(gatewaySecret);
  if (!secrets) return tl::unexpected(secrets.error());
  HandshakeResponder responder(*secrets, config);
  responder.setKeys(std::move(keys));
  return responder;
}

void HandshakeResponder::setKeys(std::vector<ResponderKey> keys) {
  std::sort(keys.begin(), keys.end(),
            [](const ResponderKey& a, const ResponderKey& b) { return a.id < b.id; });
  keys_ = std::move(keys);
}

const ResponderKey* HandshakeResponder::findKey(uint32_t id) const {
  auto it = std::lower_bound(keys_.begin(), keys_.end(), id,
                             [](const ResponderKey& k, uint32_t v) { return k.id < v; });
  return it != keys_.end() && it->id == id ? &*it : nullptr;
}

void HandshakeResponder::pruneReplayCache(uint64_t nowNs) {
  for (auto it = replayCache_.begin(); it != replayCache_.end();) {
    it = it->second <= nowNs ? replayCache_.erase(it) : std::next(it);
  }
}

InitOutcome HandshakeResponder::handleInit(std::span<const uint8_t> packet,
                                           const HandshakeSource& source, uint64_t unixSeconds,
                                           uint64_t nowNs, std::span<uint8_t> reply) {
  auto parsed = HandshakeInit::parse(packet);
  if (!parsed) return parsed.error();
  const HandshakeInit& init = *parsed;

  if (!init.cookie || !secrets_.verifyCookie(unixSeconds, source.address, source.port,
                                             init.edgeNonce, *init.cookie)) {
    HandshakeCookie answer;
    answer.linkId = init.linkId;
    answer.edgeNonce = init.edgeNonce;
    answer.cookie =
        secrets_.cookie(cookieBucket(unixSeconds), source.address, source.port, init.edgeNonce);
    size_t size = answer.encode(reply);
    if (init.cookie) {
      // A wrong cookie is worth counting; the answer still lets an honest edge whose
      // cookie just expired carry on.
      return size == 0 ? InitOutcome(DropReason::kBadCookie) : InitOutcome(CookieReply{size});
    }
    return size == 0 ? InitOutcome(DropReason::kBadHeader) : InitOutcome(CookieReply{size});
  }

  const ResponderKey* key = findKey(init.keyId);
  if (key == nullptr) return DropReason::kUnknownKey;
  auto mac = hmacSha256(key->key, {HandshakeInit::macCovered(packet)});
  if (!constantTimeEqual(std::span<const uint8_t>(mac.data(), 16), init.mac)) {
    return DropReason::kBadMac;
  }

  ReplayKey replayKey{init.keyId, init.edgeNonce};
  auto seen = replayCache_.find(replayKey);
  if (seen != replayCache_.end() && seen->second > nowNs) return DropReason::kStaleHandshake;
  if (!handshakeLimiter_.take(nowNs)) return DropReason::kRateLimited;
  if (replayCache_.size() >= config_.replayCacheCapacity) {
    pruneReplayCache(nowNs);
    if (replayCache_.size() >= config_.replayCacheCapacity) return DropReason::kRateLimited;
  }
  replayCache_[replayKey] = nowNs + kReplayMemoryNs;
  return ValidatedInit{.init = init, .psk = key->key};
}

Result<AcceptedSession> HandshakeResponder::accept(const ValidatedInit& validated,
                                                   SessionId session, std::span<uint8_t> reply) {
  const HandshakeInit& init = validated.init;
  HandshakeAccept msg;
  msg.linkId = init.linkId;
  msg.sessionId = session;
  msg.edgeNonce = init.edgeNonce;
  if (!randomBytes(msg.gatewayNonce)) return fail(ErrorCode::kCrypto, "no random bytes");
  auto ephemeral = x25519Generate();
  if (!ephemeral) return tl::unexpected(ephemeral.error());
  msg.gatewayPublic = ephemeral->publicKey;
  msg.latencyMs = std::clamp(init.requestedLatencyMs, config_.minLatencyMs, config_.maxLatencyMs);

  auto shared = x25519Shared(ephemeral->privateKey, init.edgePublic);
  if (!shared) return fail(ErrorCode::kAuth, "X25519 with the edge's key failed");
  auto keys = deriveSessionKeys(validated.psk, *shared, init.edgeNonce, msg.gatewayNonce, session);
  if (!keys) return tl::unexpected(keys.error());

  AcceptSecrets secrets{.resetToken = secrets_.resetToken(session),
                        .keepaliveMs = config_.keepaliveMs,
                        .feedbackMs = config_.feedbackMs,
                        .idleTimeoutMs = config_.idleTimeoutMs};
  secrets.encode(msg.sealed);
  // Encode first so the associated data (the cleartext head) exists in `reply`, then seal
  // the secrets in place and compute the MAC over the finished bytes.
  size_t size = msg.encode(reply);
  if (size == 0) return fail(ErrorCode::kInvalidArgument, "accept buffer too small");
  auto aead = Aead::create(config_.backend, keys->gatewayToEdge);
  if (!aead) return tl::unexpected(aead.error());
  std::span<uint8_t> packet = reply.first(size);
  AeadNonce nonce = makeNonce(Direction::kGatewayToEdge, init.linkId, 0);
  if (!aead->seal(nonce, HandshakeAccept::associatedData(packet),
                  HandshakeAccept::sealedPart(packet),
                  HandshakeAccept::sealedTagPart(packet.first<HandshakeAccept::kSize>()))) {
    return fail(ErrorCode::kCrypto, "sealing accept secrets failed");
  }
  auto mac = hmacSha256(validated.psk, {HandshakeAccept::macCovered(packet)});
  HandshakeAccept::storeMac(packet, std::span<const uint8_t, 16>(mac.data(), 16));
  return AcceptedSession{.keys = *keys,
                         .latencyMs = msg.latencyMs,
                         .resetToken = secrets.resetToken,
                         .replySize = size};
}

size_t HandshakeResponder::writeStatelessReset(SessionId session, uint8_t linkId,
                                               size_t receivedSize, uint64_t nowNs,
                                               std::span<uint8_t> out) {
  // A reset must be smaller than its trigger (no amplification, no reset loops) and
  // at least 32 bytes (tiny packets get dropped by carrier NATs).
  if (receivedSize <= kMinControlPacketSize) return 0;
  size_t size = std::clamp<size_t>(receivedSize - 1, kMinControlPacketSize, 64);
  if (!resetLimiter_.take(nowNs)) return 0;
  StatelessReset reset;
  reset.sessionId = session;
  reset.linkId = linkId;
  reset.token = secrets_.resetToken(session);
  std::array<uint8_t, 64> padding{};
  randomBytes(padding);
  return reset.encode(out, size, padding);
}

}  // namespace braid::proto
