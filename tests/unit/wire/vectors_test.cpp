// Test vectors of docs/protocol.md §7: fixed inputs → exact bytes. Each vector is checked
// against the codec here and against the spec text, so the two cannot drift apart.

#include <array>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/data_body.h"
#include "dataplane/proto/wire/handshake_messages.h"
#include "dataplane/proto/wire/sealed_header.h"
#include "hex.h"

namespace braid::proto {
namespace {

using test::toHex;

// The vectors exactly as printed in docs/protocol.md §7 (whitespace is insignificant).
constexpr const char* kDataHeader =
    "01 10 0001020304050607 02 03 000000001234 01020304 43e8 80009c40";
constexpr const char* kInitHead =
    "01 01 0000000000000000 01 00 0a0b0c0d\n"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"
    "0102030405060708 07d0 10 404142434445464748494a4b4c4d4e4f";
constexpr const char* kInitMac = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
constexpr const char* kCookie =
    "01 02 0000000000000000 01 00\n"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
    "404142434445464748494a4b4c4d4e4f";
constexpr const char* kAcceptHead =
    "01 03 00070300 00abcdef 01 00\n"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\n"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\n"
    "07d0";
constexpr const char* kAcceptSecrets = "808182838485868788898a8b8c8d8e8f 03e8 0032 00002710";
constexpr const char* kReset =
    "01 04 00070300 00abcdef 01 00 808182838485868788898a8b8c8d8e8f aaaaaaaa";
constexpr const char* kAck =
    "43e8 02 02 03 05 01 01 02 5234 41f4 03 800927c0 01020304 45dc 4320 6ee0 80007530 07 4bb8";
constexpr const char* kNack = "02 43e8 02 444c 01";
constexpr const char* kKeepalive = "01020304 45dc";
constexpr const char* kProbe = "05 02 0a";
constexpr const char* kJoin = "04 6c746530";
constexpr const char* kClose = "02";
constexpr const char* kRepair = "412c 0a 04 03 80011170";
constexpr const char* kDataNullRuns = "02 00 04 03 4258";

std::string compact(std::string_view hex) {
  std::string out;
  for (char c : hex) {
    if (c != ' ' && c != '\n') out += c;
  }
  return out;
}

template <size_t N>
std::array<uint8_t, N> counting(uint8_t start) {
  std::array<uint8_t, N> a{};
  std::iota(a.begin(), a.end(), start);
  return a;
}

constexpr SessionId kAcceptSession = SessionId::make(7, 3, 0xabcdef);

TEST(Vectors, DataSealedHeader) {
  SealedHeader h{.prefix = {.version = kVersion,
                            .type = PacketType::kData,
                            .sessionId = SessionId{0x0001020304050607},
                            .linkId = 2,
                            .flags = flag::kKeyframe | flag::kCodecConfig},
                 .linkSeq = 0x000000001234,
                 .sendTsUs = 0x01020304};
  MediaFields media{.mediaSeq = 1000, .mediaTsUs = 40000};
  std::array<uint8_t, 64> out{};
  size_t n = writeSealedHeader(h, &media, out);
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kDataHeader));
  EXPECT_EQ(n, 28u);
}

TEST(Vectors, HandshakeInit) {
  HandshakeInit m;
  m.linkId = 1;
  m.keyId = 0x0a0b0c0d;
  m.edgeNonce = counting<32>(0x00);
  m.edgePublic = counting<32>(0x20);
  m.timestampNs = 0x0102030405060708;
  m.requestedLatencyMs = 2000;
  m.cookie = counting<16>(0x40);
  m.mac = counting<16>(0xf0);
  std::array<uint8_t, 1200> out{};
  ASSERT_EQ(m.encode(out), 1200u);
  EXPECT_EQ(toHex(std::span(out).first(107)), compact(kInitHead));
  for (size_t i = 107; i < 1184; ++i) ASSERT_EQ(out[i], 0) << i;
  EXPECT_EQ(toHex(std::span(out).subspan(1184)), kInitMac);
}

TEST(Vectors, HandshakeCookie) {
  HandshakeCookie m{.linkId = 1, .edgeNonce = counting<32>(0x00), .cookie = counting<16>(0x40)};
  std::array<uint8_t, 60> out{};
  ASSERT_EQ(m.encode(out), 60u);
  EXPECT_EQ(toHex(out), compact(kCookie));
}

TEST(Vectors, HandshakeAcceptLayout) {
  AcceptSecrets secrets{.resetToken = counting<16>(0x80),
                        .keepaliveMs = 1000,
                        .feedbackMs = 50,
                        .idleTimeoutMs = 10000};
  HandshakeAccept m;
  m.linkId = 1;
  m.sessionId = kAcceptSession;
  m.edgeNonce = counting<32>(0x00);
  m.gatewayNonce = counting<32>(0x40);
  m.gatewayPublic = counting<32>(0x60);
  m.latencyMs = 2000;
  ASSERT_EQ(secrets.encode(m.sealed), 24u);
  EXPECT_EQ(toHex(m.sealed), compact(kAcceptSecrets));
  m.sealedTag = counting<16>(0xd0);
  m.mac = counting<16>(0xe0);
  std::array<uint8_t, 166> out{};
  ASSERT_EQ(m.encode(out), 166u);
  EXPECT_EQ(toHex(std::span(out).first(110)), compact(kAcceptHead));
  EXPECT_EQ(toHex(HandshakeAccept::associatedData(out)), compact(kAcceptHead));
  // Here the "ciphertext" is the plaintext: the layout is what is being checked.
  EXPECT_EQ(toHex(HandshakeAccept::sealedPart(out)), compact(kAcceptSecrets));
  EXPECT_EQ(toHex(HandshakeAccept::sealedTagPart(out)), toHex(counting<16>(0xd0)));
  EXPECT_EQ(toHex(std::span(out).subspan(150)), toHex(counting<16>(0xe0)));
}

TEST(Vectors, StatelessReset) {
  StatelessReset m{.sessionId = kAcceptSession, .linkId = 1, .token = counting<16>(0x80)};
  std::array<uint8_t, 4> random{0xaa, 0xaa, 0xaa, 0xaa};
  std::array<uint8_t, 32> out{};
  ASSERT_EQ(m.encode(out, 32, random), 32u);
  EXPECT_EQ(toHex(out), compact(kReset));
}

TEST(Vectors, AckWithTwoSackRangesAndOneReport) {
  Ack ack;
  ack.cumulativeSeq = 1000;
  ack.addSack({.first = 1002, .count = 3});
  ack.addSack({.first = 1010, .count = 1});
  ack.addReport({.linkId = 2,
                 .highestLinkSeq = 0x1234,
                 .packetsReceived = 500,
                 .packetsLost = 3,
                 .bytesReceived = 600000,
                 .echoedSendTsUs = 0x01020304,
                 .holdTimeUs = 1500,
                 .jitterUs = 800,
                 .queueDelayUs = 12000,
                 .queueDelayMaxUs = 30000,
                 .probeTrainId = 7,
                 .probeRateKbps = 3000});
  std::array<uint8_t, 64> out{};
  size_t n = ack.encode(std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kAck));
}

TEST(Vectors, OtherInnerMessages) {
  std::array<uint8_t, 64> out{};
  Nack nack;
  nack.addRange({.first = 1000, .count = 2});
  nack.addRange({.first = 1100, .count = 1});
  size_t n = nack.encode(std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kNack));

  n = Keepalive{.echoedSendTsUs = 0x01020304, .holdTimeUs = 1500}.encode(std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kKeepalive));

  n = Probe{.trainId = 5, .index = 2, .count = 10}.encode(std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kProbe));

  Join join;
  ASSERT_TRUE(join.setName("lte0"));
  n = join.encode(std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kJoin));

  n = Close{.reason = CloseReason::kIdle}.encode(std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kClose));

  n = RepairHeader{.blockId = 300, .k = 10, .m = 4, .index = 3, .firstSeq = 70000}.encode(
      std::span<uint8_t>(out));
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kRepair));
}

TEST(Vectors, DataBodyNullRuns) {
  // Three TS packets; two null packets stood before the first, 300 after the third.
  const std::array<NullRun, 2> runs{NullRun{0, 2}, NullRun{3, 300}};
  std::array<uint8_t, 16> out{};
  size_t n = writeNullRuns(runs, out);
  EXPECT_EQ(toHex(std::span(out).first(n)), compact(kDataNullRuns));
  std::vector<uint8_t> body(out.begin(), out.begin() + static_cast<long>(n));
  body.resize(n + 3 * kTsPacketSize, 0x47);
  auto parsed = DataBody::parse(body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->tsPackets(), 3u);
  EXPECT_EQ(parsed->nullCount, 302u);
  ASSERT_EQ(parsed->runCount, 2u);
  EXPECT_EQ(parsed->runs[1], (NullRun{3, 300}));
}

// The spec prints the same bytes: every vector must appear in §7 of docs/protocol.md.
TEST(Vectors, AppearInTheSpec) {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  if (root == nullptr) GTEST_SKIP() << "BRAID_SOURCE_ROOT not set (run through meson test)";
  std::ifstream file(std::string(root) + "/docs/protocol.md");
  ASSERT_TRUE(file) << "cannot read docs/protocol.md";
  std::stringstream text;
  text << file.rdbuf();
  std::string doc = text.str();
  size_t section = doc.find("\n## 7. Test vectors");
  ASSERT_NE(section, std::string::npos);
  std::string spec;
  for (char c : doc.substr(section)) {
    if (c != ' ' && c != '\n') spec += c;
  }
  for (const char* vector :
       {kDataHeader, kInitHead, kInitMac, kCookie, kAcceptHead, kAcceptSecrets, kReset, kAck, kNack,
        kKeepalive, kProbe, kJoin, kRepair, kDataNullRuns}) {
    EXPECT_NE(spec.find(compact(vector)), std::string::npos) << "not in §7: " << vector;
  }
}

}  // namespace
}  // namespace braid::proto
