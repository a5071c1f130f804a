#include "edge/media/ts_packet.h"

#include <gtest/gtest.h>

#include <vector>

#include "media_test_util.h"

namespace braid::edge {
namespace {

using test::makeTsPacket;

TEST(TsPacket, HeaderFields) {
  auto p = makeTsPacket(0x1abc, 9, std::nullopt);
  p[1] |= 0x40;  // payload_unit_start
  EXPECT_TRUE(tsHasSync(p));
  EXPECT_EQ(tsPid(p), 0x1abc);
  EXPECT_TRUE(tsPayloadUnitStart(p));
  EXPECT_FALSE(tsTransportError(p));
  EXPECT_EQ(tsContinuityCounter(p), 9);
  EXPECT_TRUE(tsAdaptationField(p).empty());
  EXPECT_FALSE(tsPcr(p).has_value());
  EXPECT_EQ(tsPayload(p).size(), 184u);
}

TEST(TsPacket, PcrRoundTripsIncludingExtensionAndTopBit) {
  for (uint64_t pcr : {uint64_t{0}, uint64_t{299}, uint64_t{27'000'000}, kPcrWrap - 1,
                       (uint64_t{1} << 32) * 300 + 123}) {
    auto p = makeTsPacket(256, 0, pcr);
    auto got = tsPcr(p);
    ASSERT_TRUE(got.has_value()) << pcr;
    EXPECT_EQ(*got, pcr);
    EXPECT_EQ(tsAdaptationField(p).size(), 7u);
    EXPECT_EQ(tsPayload(p).size(), 188u - 4 - 1 - 7);
  }
}

TEST(TsPacket, BoundsChecks) {
  auto p = makeTsPacket(256, 0, uint64_t{1000});
  std::span<const uint8_t> shortSpan(p.data(), 100);
  EXPECT_FALSE(tsHasSync(shortSpan));
  EXPECT_EQ(tsPid(shortSpan), kTsNullPid);
  EXPECT_FALSE(tsPcr(shortSpan).has_value());
  EXPECT_TRUE(tsPayload(shortSpan).empty());

  auto bad = p;
  bad[4] = 200;  // adaptation field longer than the packet
  EXPECT_TRUE(tsAdaptationField(bad).empty());
  EXPECT_FALSE(tsPcr(bad).has_value());
  EXPECT_TRUE(tsPayload(bad).empty());

  bad = p;
  bad[4] = 183;  // with a payload the field may take at most 182 bytes
  EXPECT_TRUE(tsAdaptationField(bad).empty());

  bad = p;
  bad[4] = 3;  // PCR flag set but field too short to hold one
  EXPECT_FALSE(tsPcr(bad).has_value());

  auto afOnly = p;
  afOnly[3] = 0x20;  // adaptation field only: up to 183 bytes, no payload
  EXPECT_EQ(tsAdaptationField(afOnly).size(), 7u);
  EXPECT_TRUE(tsPcr(afOnly).has_value());
  afOnly[4] = 184;
  EXPECT_TRUE(tsAdaptationField(afOnly).empty());
  afOnly[4] = 183;
  EXPECT_EQ(tsAdaptationField(afOnly).size(), 183u);
  EXPECT_TRUE(tsPayload(afOnly).empty());

  auto flags = p;
  flags[5] |= 0xc0;
  EXPECT_TRUE(tsDiscontinuity(flags));
  EXPECT_TRUE(tsRandomAccess(flags));
  EXPECT_FALSE(tsDiscontinuity(p));
}

}  // namespace
}  // namespace braid::edge
