#include "dataplane/proto/wire/handshake_messages.h"

#include <array>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

namespace braid::proto {
namespace {

template <size_t N>
std::array<uint8_t, N> pattern(uint8_t start) {
  std::array<uint8_t, N> a{};
  std::iota(a.begin(), a.end(), start);
  return a;
}

HandshakeInit sampleInit(bool withCookie) {
  HandshakeInit m;
  m.linkId = 3;
  m.sessionId = SessionId{0x0102030405060708};
  m.keyId = 0xa1b2c3d4;
  m.edgeNonce = pattern<32>(0x00);
  m.edgePublic = pattern<32>(0x20);
  m.timestampNs = 0x1122334455667788;
  m.requestedLatencyMs = 1500;
  if (withCookie) m.cookie = pattern<16>(0x40);
  m.mac = pattern<16>(0xf0);
  return m;
}

std::vector<uint8_t> encodeInit(const HandshakeInit& m) {
  std::vector<uint8_t> out(HandshakeInit::kSize + 10, 0xee);
  EXPECT_EQ(m.encode(out), HandshakeInit::kSize);
  out.resize(HandshakeInit::kSize);
  return out;
}

HandshakeAccept sampleAccept() {
  HandshakeAccept m;
  m.linkId = 1;
  m.sessionId = SessionId::make(7, 3, 0xabcdef);
  m.edgeNonce = pattern<32>(0x00);
  m.gatewayNonce = pattern<32>(0x40);
  m.gatewayPublic = pattern<32>(0x80);
  m.latencyMs = 800;
  m.sealed = pattern<24>(0xc0);
  m.sealedTag = pattern<16>(0xd8);
  m.mac = pattern<16>(0xe8);
  return m;
}

TEST(HandshakeInit, RoundTripsWithAndWithoutCookie) {
  for (bool withCookie : {false, true}) {
    HandshakeInit m = sampleInit(withCookie);
    std::vector<uint8_t> p = encodeInit(m);
    auto parsed = HandshakeInit::parse(p);
    ASSERT_TRUE(parsed) << withCookie;
    EXPECT_EQ(*parsed, m);
    EXPECT_EQ(parsed->cookie.has_value(), withCookie);
    EXPECT_EQ(p[HandshakeInit::kCookieLengthOffset], withCookie ? 16 : 0);
  }
}

TEST(HandshakeInit, LayoutMatchesTheSpec) {
  std::vector<uint8_t> p = encodeInit(sampleInit(true));
  EXPECT_EQ(p[0], kVersion);
  EXPECT_EQ(p[1], 1);
  EXPECT_EQ(p[kSessionIdOffset], 0x01);
  EXPECT_EQ(p[kLinkIdOffset], 3);
  EXPECT_EQ(p[kFlagsOffset], 0);
  EXPECT_EQ(p[12], 0xa1);
  EXPECT_EQ(p[16], 0x00);
  EXPECT_EQ(p[48], 0x20);
  EXPECT_EQ(p[80], 0x11);
  EXPECT_EQ(p[88], 1500 >> 8);
  EXPECT_EQ(p[91], 0x40);
  EXPECT_EQ(p[106], 0x4f);
  for (size_t i = 107; i < 1184; ++i) ASSERT_EQ(p[i], 0) << i;
  EXPECT_EQ(p[1184], 0xf0);
  EXPECT_EQ(p[1199], 0xff);
}

TEST(HandshakeInit, EncodeNeedsRoomAndAValidLink) {
  HandshakeInit m = sampleInit(false);
  std::vector<uint8_t> out(HandshakeInit::kSize - 1);
  EXPECT_EQ(m.encode(out), 0u);
  out.resize(HandshakeInit::kSize);
  m.linkId = 16;
  EXPECT_EQ(m.encode(out), 0u);
}

TEST(HandshakeInit, MacHelpers) {
  std::vector<uint8_t> p = encodeInit(sampleInit(false));
  std::span<const uint8_t> covered = HandshakeInit::macCovered(p);
  EXPECT_EQ(covered.data(), p.data());
  EXPECT_EQ(covered.size(), 1184u);
  std::array<uint8_t, 16> mac = pattern<16>(0x90);
  HandshakeInit::storeMac(p, mac);
  auto parsed = HandshakeInit::parse(p);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->mac, mac);
  std::vector<uint8_t> shortPacket(1199);
  EXPECT_TRUE(HandshakeInit::macCovered(shortPacket).empty());
  HandshakeInit::storeMac(shortPacket, mac);  // no-op, no overflow
  EXPECT_EQ(shortPacket[1183], 0);
}

TEST(HandshakeInit, RejectsWrongSize) {
  std::vector<uint8_t> p = encodeInit(sampleInit(false));
  EXPECT_EQ(HandshakeInit::parse(std::span(p).first(1199)).error(), DropReason::kBadHeader);
  EXPECT_EQ(HandshakeInit::parse(std::span(p).first(12)).error(), DropReason::kBadHeader);
  EXPECT_EQ(HandshakeInit::parse(std::span(p).first(11)).error(), DropReason::kTooShort);
  p.push_back(0);
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadHeader);
}

TEST(HandshakeInit, RejectsNonZeroPadding) {
  for (size_t at : {size_t{107}, size_t{600}, size_t{1183}}) {
    std::vector<uint8_t> p = encodeInit(sampleInit(false));
    p[at] = 1;
    EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadHeader) << at;
  }
}

TEST(HandshakeInit, RejectsBadCookieLength) {
  for (uint8_t length : {1, 15, 17, 255}) {
    std::vector<uint8_t> p = encodeInit(sampleInit(true));
    p[HandshakeInit::kCookieLengthOffset] = length;
    EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadHeader) << int(length);
  }
  // Length 0 with cookie bytes present is not a canonical "no cookie".
  std::vector<uint8_t> p = encodeInit(sampleInit(true));
  p[HandshakeInit::kCookieLengthOffset] = 0;
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadHeader);
}

TEST(HandshakeInit, RejectsBadPrefix) {
  std::vector<uint8_t> p = encodeInit(sampleInit(false));
  p[0] = 0;
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadVersion);
  p[0] = kVersion;
  p[1] = 2;
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kUnknownType);
  p[1] = 99;
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kUnknownType);
  p[1] = 1;
  p[kLinkIdOffset] = 16;
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadHeader);
  p[kLinkIdOffset] = 0;
  p[kFlagsOffset] = flag::kKeyframe;
  EXPECT_EQ(HandshakeInit::parse(p).error(), DropReason::kBadHeader);
}

TEST(HandshakeCookie, RoundTripAndRejections) {
  HandshakeCookie m{.linkId = 9, .edgeNonce = pattern<32>(5), .cookie = pattern<16>(0x70)};
  std::array<uint8_t, 80> out{};
  ASSERT_EQ(m.encode(out), HandshakeCookie::kSize);
  EXPECT_EQ(m.encode(std::span(out).first(59)), 0u);
  std::span<const uint8_t> p = std::span(out).first(HandshakeCookie::kSize);
  auto parsed = HandshakeCookie::parse(p);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(out[2], 0);  // session ID zero
  EXPECT_EQ(out[44], 0x70);

  EXPECT_EQ(HandshakeCookie::parse(p.first(59)).error(), DropReason::kTooShort);
  EXPECT_EQ(HandshakeCookie::parse(std::span(out).first(61)).error(), DropReason::kBadHeader);
  out[5] = 1;  // non-zero session ID
  EXPECT_EQ(HandshakeCookie::parse(p).error(), DropReason::kBadHeader);
  out[5] = 0;
  out[1] = 1;
  EXPECT_EQ(HandshakeCookie::parse(p).error(), DropReason::kUnknownType);
  out[1] = 2;
  out[kFlagsOffset] = 1;
  EXPECT_EQ(HandshakeCookie::parse(p).error(), DropReason::kBadHeader);
  m.linkId = 16;
  EXPECT_EQ(m.encode(out), 0u);
}

TEST(HandshakeAccept, RoundTripAndHelpers) {
  HandshakeAccept m = sampleAccept();
  std::array<uint8_t, 200> out{};
  ASSERT_EQ(m.encode(out), HandshakeAccept::kSize);
  std::span<uint8_t> p = std::span(out).first(HandshakeAccept::kSize);
  auto parsed = HandshakeAccept::parse(p);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, m);

  EXPECT_EQ(HandshakeAccept::associatedData(p).size(), 110u);
  EXPECT_EQ(HandshakeAccept::macCovered(p).size(), 150u);
  std::span<uint8_t> sealed = HandshakeAccept::sealedPart(p);
  ASSERT_EQ(sealed.size(), 24u);
  EXPECT_EQ(sealed.data(), out.data() + 110);
  EXPECT_EQ(sealed[0], 0xc0);
  std::span<uint8_t, 16> tag = HandshakeAccept::sealedTagPart(p.first<HandshakeAccept::kSize>());
  EXPECT_EQ(tag.data(), out.data() + 134);
  EXPECT_EQ(tag[0], 0xd8);
  EXPECT_EQ(out[150], 0xe8);
  std::array<uint8_t, 16> mac = pattern<16>(1);
  HandshakeAccept::storeMac(p, mac);
  EXPECT_EQ(HandshakeAccept::parse(p)->mac, mac);

  std::span<uint8_t> shortPacket = p.first(165);
  EXPECT_TRUE(HandshakeAccept::associatedData(shortPacket).empty());
  EXPECT_TRUE(HandshakeAccept::macCovered(shortPacket).empty());
  EXPECT_TRUE(HandshakeAccept::sealedPart(shortPacket).empty());
}

TEST(HandshakeAccept, Rejections) {
  HandshakeAccept m = sampleAccept();
  std::array<uint8_t, 200> out{};
  ASSERT_EQ(m.encode(std::span(out).first(165)), 0u);
  ASSERT_EQ(m.encode(out), HandshakeAccept::kSize);
  std::span<const uint8_t> p = std::span(out).first(HandshakeAccept::kSize);
  EXPECT_EQ(HandshakeAccept::parse(p.first(165)).error(), DropReason::kTooShort);
  EXPECT_EQ(HandshakeAccept::parse(std::span(out).first(167)).error(), DropReason::kBadHeader);
  out[1] = 4;
  EXPECT_EQ(HandshakeAccept::parse(p).error(), DropReason::kUnknownType);
  out[1] = 3;
  out[kLinkIdOffset] = 200;
  EXPECT_EQ(HandshakeAccept::parse(p).error(), DropReason::kBadHeader);
  out[kLinkIdOffset] = 1;
  std::fill(out.begin() + 2, out.begin() + 10, 0);
  EXPECT_EQ(HandshakeAccept::parse(p).error(), DropReason::kBadHeader);
  m.sessionId = SessionId{};
  EXPECT_EQ(m.encode(out), 0u);
}

TEST(AcceptSecrets, RoundTrip) {
  AcceptSecrets s{.resetToken = pattern<16>(0x10),
                  .keepaliveMs = 1000,
                  .feedbackMs = 50,
                  .idleTimeoutMs = 10000};
  std::array<uint8_t, 24> plain{};
  ASSERT_EQ(s.encode(plain), 24u);
  EXPECT_EQ(plain[16], 0x03);
  EXPECT_EQ(plain[17], 0xe8);
  EXPECT_EQ(plain[19], 50);
  EXPECT_EQ(plain[23], 0x10);
  auto parsed = AcceptSecrets::parse(plain);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, s);
  EXPECT_EQ(AcceptSecrets::parse(std::span(plain).first(23)).error(), DropReason::kTooShort);
  std::array<uint8_t, 25> longer{};
  EXPECT_EQ(AcceptSecrets::parse(longer).error(), DropReason::kMalformedBody);
  EXPECT_EQ(s.encode(std::span(plain).first(23)), 0u);
}

TEST(StatelessReset, EncodeFillsPaddingFromRandom) {
  StatelessReset m{.sessionId = SessionId{42}, .linkId = 4, .token = pattern<16>(0x30)};
  std::array<uint8_t, 64> random = pattern<64>(0x80);
  std::array<uint8_t, 80> out{};
  for (size_t size : {size_t{32}, size_t{47}, size_t{64}}) {
    ASSERT_EQ(m.encode(out, size, random), size);
    EXPECT_EQ(out[1], 4);
    EXPECT_EQ(out[12], 0x30);
    EXPECT_EQ(out[28], 0x80);
    EXPECT_EQ(out[size - 1], 0x80 + size - 29);
    auto parsed = StatelessReset::parse(std::span(out).first(size));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(m.encode(out, 31, random), 0u);
  EXPECT_EQ(m.encode(out, 65, random), 0u);
  EXPECT_EQ(m.encode(std::span(out).first(40), 41, random), 0u);
  EXPECT_EQ(m.encode(out, 40, std::span(random).first(11)), 0u);
  EXPECT_EQ(m.encode(out, 40, std::span(random).first(12)), 40u);
}

TEST(StatelessReset, Rejections) {
  StatelessReset m{.sessionId = SessionId{42}, .linkId = 4, .token = {}};
  std::array<uint8_t, 64> random{};
  std::array<uint8_t, 100> out{};
  ASSERT_EQ(m.encode(out, 32, random), 32u);
  EXPECT_EQ(StatelessReset::parse(std::span(out).first(31)).error(), DropReason::kTooShort);
  EXPECT_TRUE(StatelessReset::parse(out));  // larger resets are fine
  out[kFlagsOffset] = 0x80;
  EXPECT_EQ(StatelessReset::parse(out).error(), DropReason::kBadHeader);
  out[kFlagsOffset] = 0;
  out[1] = 16;
  EXPECT_EQ(StatelessReset::parse(out).error(), DropReason::kUnknownType);
}

}  // namespace
}  // namespace braid::proto
