#include <gtest/gtest.h>

#include <array>
#include <set>
#include <variant>
#include <vector>

#include "dataplane/proto/handshake/initiator.h"
#include "dataplane/proto/handshake/responder.h"
#include "dataplane/proto/handshake/sealed_channel.h"
#include "dataplane/proto/wire/control_messages.h"

namespace braid::proto {
namespace {

constexpr uint64_t kNow = 1'000'000'000'000;
constexpr uint64_t kUnix = 1'790'000'000;

PskBytes pskOf(uint8_t fill) {
  PskBytes psk;
  psk.fill(fill);
  return psk;
}

HandshakeSource sourceOf(uint16_t port) {
  HandshakeSource source;
  source.address[10] = 0xff;
  source.address[11] = 0xff;
  source.address[12] = 127;
  source.address[15] = 1;
  source.port = port;
  return source;
}

struct Fixture {
  std::array<uint8_t, 32> gatewaySecret{};
  HandshakeResponder responder;
  HandshakeInitiator initiator;

  static Fixture make(ResponderConfig config = {}) {
    std::array<uint8_t, 32> secret{};
    secret.fill(7);
    auto responder = HandshakeResponder::create(
        secret, {{.id = 42, .key = pskOf(1)}, {.id = 9, .key = pskOf(2)}}, config);
    EXPECT_TRUE(responder.has_value());
    auto initiator = HandshakeInitiator::start(42, pskOf(1), 3, 400, {}, AeadBackend::kOpenSsl);
    EXPECT_TRUE(initiator.has_value());
    return Fixture{secret, std::move(*responder), std::move(*initiator)};
  }
};

// Runs init → cookie → init+cookie and returns the validated init.
ValidatedInit validate(Fixture& f, uint16_t port = 5000, uint64_t now = kNow) {
  std::array<uint8_t, 1500> init{}, reply{};
  size_t size = f.initiator.writeInit(init, 123);
  EXPECT_EQ(size, kHandshakeInitSize);
  auto first =
      f.responder.handleInit(std::span(init).first(size), sourceOf(port), kUnix, now, reply);
  EXPECT_TRUE(std::holds_alternative<CookieReply>(first));
  EXPECT_EQ(f.responder.replayCacheSize(), 0u);  // a first contact creates nothing
  auto cookieSize = std::get<CookieReply>(first).size;
  EXPECT_EQ(cookieSize, HandshakeCookie::kSize);
  EXPECT_TRUE(f.initiator.onCookie(std::span(reply).first(cookieSize)).has_value());
  size = f.initiator.writeInit(init, 124);
  auto second =
      f.responder.handleInit(std::span(init).first(size), sourceOf(port), kUnix, now, reply);
  EXPECT_TRUE(std::holds_alternative<ValidatedInit>(second));
  return std::get<ValidatedInit>(second);
}

TEST(Handshake, FullExchangeDerivesMatchingDirectionalKeys) {
  Fixture f = Fixture::make();
  ValidatedInit validated = validate(f);
  EXPECT_EQ(validated.init.keyId, 42u);
  EXPECT_EQ(validated.init.linkId, 3);
  std::array<uint8_t, 1500> reply{};
  SessionId id = SessionId::make(1, 0, 0xabcdef);
  auto accepted = f.responder.accept(validated, id, reply);
  ASSERT_TRUE(accepted.has_value()) << accepted.error().describe();
  EXPECT_EQ(accepted->replySize, HandshakeAccept::kSize);
  EXPECT_EQ(accepted->latencyMs, 400);
  auto established = f.initiator.onAccept(std::span(reply).first(accepted->replySize));
  ASSERT_TRUE(established.has_value());
  EXPECT_EQ(established->sessionId, id);
  EXPECT_EQ(established->latencyMs, 400);
  EXPECT_EQ(established->keys.edgeToGateway, accepted->keys.edgeToGateway);
  EXPECT_EQ(established->keys.gatewayToEdge, accepted->keys.gatewayToEdge);
  EXPECT_NE(established->keys.edgeToGateway, established->keys.gatewayToEdge);
  EXPECT_EQ(established->secrets.resetToken, f.responder.secrets().resetToken(id));
}

TEST(Handshake, LatencyIsClampedToTheGatewayRange) {
  Fixture f = Fixture::make(ResponderConfig{.minLatencyMs = 500, .maxLatencyMs = 2000});
  ValidatedInit validated = validate(f);
  std::array<uint8_t, 1500> reply{};
  auto accepted = f.responder.accept(validated, SessionId::make(1, 0, 5), reply);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->latencyMs, 500);
  auto established = f.initiator.onAccept(std::span(reply).first(accepted->replySize));
  ASSERT_TRUE(established.has_value());
  EXPECT_EQ(established->latencyMs, 500);
}

TEST(Handshake, ReplayedInitCreatesNothing) {
  Fixture f = Fixture::make();
  std::array<uint8_t, 1500> init{}, reply{};
  validate(f);
  size_t entries = f.responder.replayCacheSize();
  size_t size = f.initiator.writeInit(init, 125);
  for (int i = 0; i < 10; ++i) {
    auto outcome =
        f.responder.handleInit(std::span(init).first(size), sourceOf(5000), kUnix, kNow + i, reply);
    ASSERT_TRUE(std::holds_alternative<DropReason>(outcome));
    EXPECT_EQ(std::get<DropReason>(outcome), DropReason::kStaleHandshake);
  }
  EXPECT_EQ(f.responder.replayCacheSize(), entries);
}

TEST(Handshake, CookieIsBoundToSourceAndExpires) {
  Fixture f = Fixture::make();
  std::array<uint8_t, 1500> init{}, reply{};
  size_t size = f.initiator.writeInit(init, 1);
  auto first =
      f.responder.handleInit(std::span(init).first(size), sourceOf(5000), kUnix, kNow, reply);
  ASSERT_TRUE(f.initiator.onCookie(std::span(reply).first(std::get<CookieReply>(first).size)));
  size = f.initiator.writeInit(init, 2);
  // Another port: the cookie does not hold, a new cookie is the answer, nothing is created.
  auto moved =
      f.responder.handleInit(std::span(init).first(size), sourceOf(5001), kUnix, kNow, reply);
  EXPECT_TRUE(std::holds_alternative<CookieReply>(moved) ||
              std::holds_alternative<DropReason>(moved));
  EXPECT_FALSE(std::holds_alternative<ValidatedInit>(moved));
  // 25 s later the cookie is stale.
  auto late =
      f.responder.handleInit(std::span(init).first(size), sourceOf(5000), kUnix + 25, kNow, reply);
  EXPECT_FALSE(std::holds_alternative<ValidatedInit>(late));
  // In the next bucket it is still good.
  auto ok =
      f.responder.handleInit(std::span(init).first(size), sourceOf(5000), kUnix + 10, kNow, reply);
  EXPECT_TRUE(std::holds_alternative<ValidatedInit>(ok));
  EXPECT_EQ(f.responder.replayCacheSize(), 1u);
}

TEST(Handshake, WrongKeyAndUnknownKeyAreRejected) {
  Fixture f = Fixture::make();
  // The edge uses key ID 9's slot with the wrong bytes.
  auto wrong = HandshakeInitiator::start(9, pskOf(99), 0, 500, {}, AeadBackend::kOpenSsl);
  ASSERT_TRUE(wrong.has_value());
  f.initiator = std::move(*wrong);
  std::array<uint8_t, 1500> init{}, reply{};
  size_t size = f.initiator.writeInit(init, 1);
  auto first =
      f.responder.handleInit(std::span(init).first(size), sourceOf(6000), kUnix, kNow, reply);
  ASSERT_TRUE(f.initiator.onCookie(std::span(reply).first(std::get<CookieReply>(first).size)));
  size = f.initiator.writeInit(init, 2);
  auto outcome =
      f.responder.handleInit(std::span(init).first(size), sourceOf(6000), kUnix, kNow, reply);
  ASSERT_TRUE(std::holds_alternative<DropReason>(outcome));
  EXPECT_EQ(std::get<DropReason>(outcome), DropReason::kBadMac);

  auto unknown = HandshakeInitiator::start(77, pskOf(1), 0, 500, {}, AeadBackend::kOpenSsl);
  ASSERT_TRUE(unknown.has_value());
  f.initiator = std::move(*unknown);
  size = f.initiator.writeInit(init, 1);
  first = f.responder.handleInit(std::span(init).first(size), sourceOf(6001), kUnix, kNow, reply);
  ASSERT_TRUE(f.initiator.onCookie(std::span(reply).first(std::get<CookieReply>(first).size)));
  size = f.initiator.writeInit(init, 2);
  outcome = f.responder.handleInit(std::span(init).first(size), sourceOf(6001), kUnix, kNow, reply);
  ASSERT_TRUE(std::holds_alternative<DropReason>(outcome));
  EXPECT_EQ(std::get<DropReason>(outcome), DropReason::kUnknownKey);
  EXPECT_EQ(f.responder.replayCacheSize(), 0u);
}

TEST(Handshake, AuthenticatedHandshakesAreRateLimited) {
  Fixture f = Fixture::make(ResponderConfig{.handshakesPerSecond = 1, .handshakeBurst = 2});
  int validated = 0, limited = 0;
  for (int i = 0; i < 5; ++i) {
    auto initiator = HandshakeInitiator::start(42, pskOf(1), 0, 500, {}, AeadBackend::kOpenSsl);
    f.initiator = std::move(*initiator);
    std::array<uint8_t, 1500> init{}, reply{};
    size_t size = f.initiator.writeInit(init, 1);
    auto first =
        f.responder.handleInit(std::span(init).first(size), sourceOf(7000), kUnix, kNow, reply);
    ASSERT_TRUE(f.initiator.onCookie(std::span(reply).first(std::get<CookieReply>(first).size)));
    size = f.initiator.writeInit(init, 2);
    auto outcome =
        f.responder.handleInit(std::span(init).first(size), sourceOf(7000), kUnix, kNow, reply);
    if (std::holds_alternative<ValidatedInit>(outcome)) ++validated;
    if (auto* r = std::get_if<DropReason>(&outcome); r && *r == DropReason::kRateLimited) ++limited;
  }
  EXPECT_EQ(validated, 2);
  EXPECT_EQ(limited, 3);
}

TEST(Handshake, TamperedAcceptIsRejected) {
  Fixture f = Fixture::make();
  ValidatedInit validated = validate(f);
  std::array<uint8_t, 1500> reply{};
  auto accepted = f.responder.accept(validated, SessionId::make(1, 0, 9), reply);
  ASSERT_TRUE(accepted.has_value());
  for (size_t i : {size_t{5}, size_t{60}, size_t{115}, size_t{140}, size_t{160}}) {
    auto copy = reply;
    copy[i] ^= 0x04;
    EXPECT_FALSE(f.initiator.onAccept(std::span(copy).first(accepted->replySize)).has_value())
        << "byte " << i;
  }
  EXPECT_TRUE(f.initiator.onAccept(std::span(reply).first(accepted->replySize)).has_value());
}

TEST(Handshake, StatelessResetIsSmallerThanItsTriggerAndVerifiable) {
  Fixture f = Fixture::make();
  SessionId id = SessionId::make(1, 0, 77);
  std::array<uint8_t, 128> out{};
  EXPECT_EQ(f.responder.writeStatelessReset(id, 0, 20, kNow, out), 0u);  // too small to answer
  size_t size = f.responder.writeStatelessReset(id, 2, 40, kNow, out);
  EXPECT_EQ(size, 39u);
  size = f.responder.writeStatelessReset(id, 2, 1200, kNow, out);
  EXPECT_EQ(size, 64u);
  auto reset = StatelessReset::parse(std::span(out).first(size));
  ASSERT_TRUE(reset.has_value());
  EXPECT_EQ(reset->sessionId, id);
  EXPECT_EQ(reset->token, f.responder.secrets().resetToken(id));
  EXPECT_NE(f.responder.secrets().resetToken(SessionId::make(1, 0, 78)), reset->token);
}

struct ChannelPair {
  SealedChannel edge;
  SealedChannel gateway;
};

ChannelPair makeChannels(ChannelOptions options = {}) {
  SessionKeys keys;
  keys.edgeToGateway.fill(0x11);
  keys.gatewayToEdge.fill(0x22);
  auto edge = SealedChannel::create(Role::kEdge, keys, 0, kNow, options);
  auto gateway = SealedChannel::create(Role::kGateway, keys, 0, kNow, options);
  EXPECT_TRUE(edge.has_value() && gateway.has_value());
  return ChannelPair{std::move(*edge), std::move(*gateway)};
}

size_t sealData(SealedChannel& channel, uint8_t link, uint64_t seq, std::span<uint8_t> out) {
  std::array<uint8_t, 300> payload{};
  payload.fill(static_cast<uint8_t>(seq));
  PacketPrefix prefix{.type = PacketType::kData, .sessionId = SessionId{5}, .linkId = link};
  MediaFields media{.mediaSeq = seq, .mediaTsUs = seq * 1000};
  return channel.seal(prefix, 1, &media, payload, out);
}

TEST(SealedChannel, RoundTripReplayTamperAndDirection) {
  ChannelPair pair = makeChannels();
  std::array<uint8_t, 1500> packet{};
  size_t size = sealData(pair.edge, 1, 7, packet);
  ASSERT_GT(size, 0u);
  auto copy = packet;
  auto opened = pair.gateway.open(std::span(packet).first(size), kNow);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->media.mediaSeq, 7u);
  EXPECT_EQ(opened->plaintext.size(), 300u);
  EXPECT_EQ(opened->plaintext[0], 7);
  // Replay.
  auto replay = copy;
  auto replayed = pair.gateway.open(std::span(replay).first(size), kNow);
  ASSERT_FALSE(replayed.has_value());
  EXPECT_EQ(replayed.error(), DropReason::kReplay);
  // Tampered header and tampered ciphertext, each with a fresh sequence.
  size = sealData(pair.edge, 1, 8, packet);
  auto header = packet;
  header[kSendTsOffset] ^= 1;
  EXPECT_EQ(pair.gateway.open(std::span(header).first(size), kNow).error(),
            DropReason::kAuthFailed);
  auto body = packet;
  body[size - 20] ^= 1;
  EXPECT_EQ(pair.gateway.open(std::span(body).first(size), kNow).error(), DropReason::kAuthFailed);
  // Untouched it still opens (the failed tries did not burn its sequence).
  EXPECT_TRUE(pair.gateway.open(std::span(packet).first(size), kNow).has_value());
  // The edge cannot be sent a DATA packet.
  size = sealData(pair.gateway, 1, 9, packet);
  EXPECT_EQ(pair.edge.open(std::span(packet).first(size), kNow).error(),
            DropReason::kWrongDirection);
}

TEST(SealedChannel, PerLinkSequenceNeverRestartsUnderOneKey) {
  ChannelPair pair = makeChannels();
  std::array<uint8_t, 1500> packet{};
  std::set<std::pair<uint8_t, uint64_t>> nonces;
  // A link sends, "goes away", is re-added with the same ID: its sequence continues.
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < 100; ++i) {
      ASSERT_GT(sealData(pair.edge, 4, i, packet), 0u);
      auto parsed = parseSealed(std::span(packet));
      ASSERT_TRUE(parsed.has_value());
      EXPECT_TRUE(nonces.insert({4, parsed->header.linkSeq}).second) << "nonce reused";
    }
    EXPECT_EQ(pair.edge.nextSendSequence(4), 100u * (round + 1));
  }
  EXPECT_EQ(pair.edge.nextSendSequence(5), 0u);
}

TEST(SealedChannel, GatewaySkipsSequenceZeroOfTheHandshakeLink) {
  ChannelPair pair = makeChannels();
  EXPECT_EQ(pair.gateway.nextSendSequence(0), 1u);
  EXPECT_EQ(pair.gateway.nextSendSequence(1), 0u);
}

TEST(SealedChannel, RekeyKeepsPreviousReceiveKeyForTwoSeconds) {
  ChannelOptions options{.rekeySequenceThreshold = 50};
  ChannelPair pair = makeChannels(options);
  std::array<uint8_t, 1500> inflight{}, late{}, packet{};
  size_t inflightSize = sealData(pair.edge, 0, 1, inflight);
  size_t lateSize = sealData(pair.edge, 0, 2, late);
  for (uint64_t i = 0; i < 48; ++i) sealData(pair.edge, 0, i, packet);
  EXPECT_TRUE(pair.edge.rekeyDue(kNow));
  SessionKeys next;
  next.edgeToGateway.fill(0x33);
  next.gatewayToEdge.fill(0x44);
  ASSERT_TRUE(pair.edge.rekey(next, 0, kNow).has_value());
  ASSERT_TRUE(pair.gateway.rekey(next, 0, kNow).has_value());
  EXPECT_FALSE(pair.edge.rekeyDue(kNow));
  EXPECT_EQ(pair.edge.keyPhase(), 1);
  size_t size = sealData(pair.edge, 0, 100, packet);
  EXPECT_TRUE(pair.gateway.open(std::span(packet).first(size), kNow + 1).has_value());
  EXPECT_TRUE(
      pair.gateway.open(std::span(inflight).first(inflightSize), kNow + 1'000'000'000).has_value());
  EXPECT_EQ(pair.gateway.open(std::span(late).first(lateSize), kNow + 3'000'000'000).error(),
            DropReason::kAuthFailed);
}

}  // namespace
}  // namespace braid::proto
