#include "dataplane/proto/wire/sealed_header.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "hex.h"

namespace braid::proto {
namespace {

using test::toHex;

SealedHeader header(PacketType type, uint8_t linkId = 2) {
  return SealedHeader{.prefix = {.version = kVersion,
                                 .type = type,
                                 .sessionId = SessionId{0x1122334455667788},
                                 .linkId = linkId,
                                 .flags = flag::kRetransmit},
                      .linkSeq = 77,
                      .sendTsUs = 0xdeadbeef};
}

// Header + `payload` bytes of ciphertext + 16-byte tag.
std::vector<uint8_t> packet(const SealedHeader& h, const MediaFields* media, size_t payload) {
  std::vector<uint8_t> out(64 + payload + kTagSize, 0xcc);
  size_t n = writeSealedHeader(h, media, out);
  EXPECT_NE(n, 0u);
  out.resize(n + payload + kTagSize);
  for (size_t i = 0; i < kTagSize; ++i) out[n + payload + i] = static_cast<uint8_t>(0xa0 + i);
  return out;
}

TEST(SealedHeader, RoundTripsEverySealedType) {
  MediaFields media{.mediaSeq = 123456789, .mediaTsUs = 16384};
  for (uint8_t t = 16; t <= 23; ++t) {
    auto type = static_cast<PacketType>(t);
    std::vector<uint8_t> p = packet(header(type), &media, 5);
    auto parsed = parseSealed(p);
    ASSERT_TRUE(parsed) << int(t);
    EXPECT_EQ(parsed->header.prefix.type, type);
    EXPECT_EQ(parsed->header.prefix.sessionId, SessionId{0x1122334455667788});
    EXPECT_EQ(parsed->header.prefix.linkId, 2);
    EXPECT_EQ(parsed->header.prefix.flags, flag::kRetransmit);
    EXPECT_EQ(parsed->header.linkSeq, 77u);
    EXPECT_EQ(parsed->header.sendTsUs, 0xdeadbeefu);
    size_t expectedAad = hasMediaFields(type) ? kSealedFixedSize + 4 + 4 : kSealedFixedSize;
    EXPECT_EQ(parsed->aadSize, expectedAad);
    EXPECT_EQ(sealedHeaderSize(type, &media), expectedAad);
    if (hasMediaFields(type)) {
      EXPECT_EQ(parsed->media.mediaSeq, media.mediaSeq);
      EXPECT_EQ(parsed->media.mediaTsUs, media.mediaTsUs);
    } else {
      EXPECT_EQ(parsed->media.mediaSeq, 0u);
    }
    EXPECT_EQ(parsed->ciphertext.size(), 5u);
    EXPECT_EQ(parsed->ciphertext.data(), p.data() + expectedAad);
    EXPECT_EQ(parsed->tag.data(), p.data() + p.size() - kTagSize);
    EXPECT_EQ(parsed->tag[0], 0xa0);
  }
}

TEST(SealedHeader, MaxValuesRoundTrip) {
  MediaFields media{.mediaSeq = kMaxVarint, .mediaTsUs = kMaxVarint};
  SealedHeader h = header(PacketType::kRepair, 15);
  h.linkSeq = kMaxLinkSeq;
  h.sendTsUs = 0xffffffff;
  h.prefix.flags = 0xff;
  std::vector<uint8_t> p = packet(h, &media, 0);
  auto parsed = parseSealed(p);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header.linkSeq, kMaxLinkSeq);
  EXPECT_EQ(parsed->media.mediaSeq, kMaxVarint);
  EXPECT_EQ(parsed->aadSize, kSealedFixedSize + 16);
  EXPECT_TRUE(parsed->ciphertext.empty());
}

TEST(SealedHeader, WriterRejectsUnencodableHeaders) {
  std::array<uint8_t, 64> out{};
  MediaFields media{};
  EXPECT_EQ(writeSealedHeader(header(PacketType::kHandshakeInit), &media, out), 0u);
  EXPECT_EQ(writeSealedHeader(header(PacketType::kData, 16), &media, out), 0u);
  EXPECT_EQ(writeSealedHeader(header(PacketType::kData), nullptr, out), 0u);
  SealedHeader badVersion = header(PacketType::kAck);
  badVersion.prefix.version = 2;
  EXPECT_EQ(writeSealedHeader(badVersion, nullptr, out), 0u);
  SealedHeader wideSeq = header(PacketType::kAck);
  wideSeq.linkSeq = kMaxLinkSeq + 1;
  EXPECT_EQ(writeSealedHeader(wideSeq, nullptr, out), 0u);
  MediaFields huge{.mediaSeq = kMaxVarint + 1, .mediaTsUs = 0};
  EXPECT_EQ(writeSealedHeader(header(PacketType::kData), &huge, out), 0u);
  EXPECT_EQ(sealedHeaderSize(PacketType::kData, &huge), 0u);
  // Non-media types ignore the media pointer.
  EXPECT_EQ(writeSealedHeader(header(PacketType::kAck), nullptr, out), kSealedFixedSize);
}

TEST(SealedHeader, WriterNeedsRoom) {
  MediaFields media{.mediaSeq = 1000, .mediaTsUs = 40000};
  std::array<uint8_t, 64> out{};
  size_t need = sealedHeaderSize(PacketType::kData, &media);
  ASSERT_EQ(need, 28u);
  EXPECT_EQ(writeSealedHeader(header(PacketType::kData), &media, std::span(out).first(need - 1)),
            0u);
  EXPECT_EQ(writeSealedHeader(header(PacketType::kData), &media, std::span(out).first(need)), need);
}

TEST(SealedHeader, RejectsShortPackets) {
  std::vector<uint8_t> p = packet(header(PacketType::kAck), nullptr, 0);
  ASSERT_EQ(p.size(), kSealedFixedSize + kTagSize);
  ASSERT_TRUE(parseSealed(p));
  for (size_t n : {size_t{0}, size_t{1}, size_t{11}, size_t{12}, p.size() - 1}) {
    auto parsed = parseSealed(std::span(p).first(n));
    ASSERT_FALSE(parsed) << n;
    EXPECT_EQ(parsed.error(), DropReason::kTooShort) << n;
  }
}

TEST(SealedHeader, RejectsBadVersionAndTypes) {
  std::vector<uint8_t> p = packet(header(PacketType::kKeepalive), nullptr, 4);
  p[0] = 2;
  EXPECT_EQ(parseSealed(p).error(), DropReason::kBadVersion);
  p[0] = kVersion;
  for (uint8_t t : {0, 1, 4, 5, 15, 24, 255}) {
    p[1] = t;
    EXPECT_EQ(parseSealed(p).error(), DropReason::kUnknownType) << int(t);
  }
}

TEST(SealedHeader, RejectsLinkIdAbove15) {
  std::vector<uint8_t> p = packet(header(PacketType::kKeepalive), nullptr, 4);
  p[kLinkIdOffset] = 16;
  EXPECT_EQ(parseSealed(p).error(), DropReason::kBadHeader);
}

TEST(SealedHeader, RejectsMediaFieldsRunningIntoTheTag) {
  MediaFields media{.mediaSeq = 1 << 20, .mediaTsUs = 1u << 31};  // 4 + 8 bytes
  std::vector<uint8_t> p = packet(header(PacketType::kData), &media, 0);
  ASSERT_TRUE(parseSealed(p));
  // Drop the last ciphertext/header byte: the timestamp varint now overlaps the tag.
  p.erase(p.begin() + kSealedFixedSize + 11);
  EXPECT_EQ(parseSealed(p).error(), DropReason::kBadHeader);
  // A DATA packet with room for only the fixed header and the tag has no varints at all.
  std::vector<uint8_t> bare = packet(header(PacketType::kAck), nullptr, 0);
  bare[1] = static_cast<uint8_t>(PacketType::kData);
  EXPECT_EQ(parseSealed(bare).error(), DropReason::kBadHeader);
}

TEST(Prefix, ParseAndPeek) {
  std::vector<uint8_t> p = packet(header(PacketType::kNack), nullptr, 0);
  auto prefix = parsePrefix(p);
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->type, PacketType::kNack);
  EXPECT_EQ(prefix->sessionId.value, 0x1122334455667788u);
  EXPECT_EQ(peekSessionId(p).value, 0x1122334455667788u);
  EXPECT_EQ(peekSessionId(std::span(p).first(10)).value, 0x1122334455667788u);
  EXPECT_TRUE(peekSessionId(std::span(p).first(9)).isZero());
  EXPECT_EQ(parsePrefix(std::span(p).first(11)).error(), DropReason::kTooShort);
  p[1] = 3;  // HS_ACCEPT is a known type: the prefix parses
  EXPECT_TRUE(parsePrefix(p));
  p[1] = 9;
  EXPECT_EQ(parsePrefix(p).error(), DropReason::kUnknownType);
  p[0] = 0;
  EXPECT_EQ(parsePrefix(p).error(), DropReason::kBadVersion);
}

}  // namespace
}  // namespace braid::proto
