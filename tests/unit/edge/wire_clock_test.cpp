// The edge's wire clock (braid-edge --clock-skew): offset and drift applied consistently to send
// and media timestamps, exact integer arithmetic, and the option's validation.

#include "edge/wire_clock.h"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000 * kMs;
constexpr uint64_t kOrigin = 500 * kSecond;  // an edge started 500 s after boot
constexpr uint64_t kSendTimestampPeriodUs = uint64_t{1} << 32;

TEST(WireClock, DefaultIsTheRealClock) {
  WireClock clock;
  EXPECT_EQ(clock.at(kOrigin), kOrigin);
  EXPECT_EQ(clock.sendTimestampUs(kOrigin + 1234), static_cast<uint32_t>((kOrigin + 1234) / 1000));
  EXPECT_EQ(clock.mediaTsUs(kOrigin + 7 * kMs, kOrigin), 7'000u);
}

TEST(WireClock, OffsetAtTheOriginThenDrift) {
  WireClock clock(ClockSkew{.offsetNs = 3'600 * static_cast<int64_t>(kSecond), .ppb = 100'000},
                  kOrigin);
  EXPECT_EQ(clock.at(kOrigin), kOrigin + 3'600 * kSecond);
  // 10 s at +100 ppm: 1 ms ahead of the offset.
  EXPECT_EQ(clock.at(kOrigin + 10 * kSecond), kOrigin + 3'610 * kSecond + kMs);
  // Media timestamps count from the epoch on the same clock: the offset cancels, the drift stays.
  EXPECT_EQ(clock.mediaTsUs(kOrigin + 10 * kSecond, kOrigin), 10'001'000u);
  WireClock slow(ClockSkew{.offsetNs = 0, .ppb = -100'000}, kOrigin);
  EXPECT_EQ(slow.mediaTsUs(kOrigin + 10 * kSecond, kOrigin), 9'999'000u);
}

TEST(WireClock, NegativeOffsetBeyondTheRealClockKeepsTheSendTimestampsExact) {
  // One hour behind a clock that reads 500 s: mathematically negative. The send timestamp must
  // still be the low 32 bits of that (negative) µs count, i.e. its value modulo 2^32.
  const int64_t offsetNs = -3'600 * static_cast<int64_t>(kSecond);
  WireClock clock(ClockSkew{.offsetNs = offsetNs, .ppb = 0}, kOrigin);
  const int64_t trueUs = (static_cast<int64_t>(kOrigin) + offsetNs) / 1000;
  ASSERT_LT(trueUs, 0);
  const auto expected =
      static_cast<uint32_t>(static_cast<uint64_t>(trueUs) % kSendTimestampPeriodUs);
  EXPECT_EQ(clock.sendTimestampUs(kOrigin), expected);
  EXPECT_EQ(clock.sendTimestampUs(kOrigin + kSecond), expected + 1'000'000u);
  EXPECT_EQ(clock.mediaTsUs(kOrigin + kSecond, kOrigin), 1'000'000u);
}

TEST(WireClock, EchoedTimestampsGiveTheRoundTripAcrossTheWrap) {
  // Start 10 ms before the 32-bit send timestamp wraps; an 80 ms round trip straddles it.
  const uint64_t toWrapUs = kSendTimestampPeriodUs - (kOrigin / 1000) % kSendTimestampPeriodUs;
  WireClock clock(
      ClockSkew{.offsetNs = static_cast<int64_t>(toWrapUs * 1000 - 10 * kMs), .ppb = 100'000},
      kOrigin);
  const uint32_t sent = clock.sendTimestampUs(kOrigin);
  const uint32_t now = clock.sendTimestampUs(kOrigin + 80 * kMs);
  EXPECT_GT(sent, now);  // wrapped
  const uint32_t rtt = now - sent;
  EXPECT_GE(rtt, 80'000u);
  EXPECT_LE(rtt, 80'009u);  // 80 ms × (1 + 100 ppm), to the µs
}

TEST(WireClock, LongRunsDoNotOverflow) {
  // 100 days at the largest drift: 8.64 ks of drift, exact.
  WireClock clock(ClockSkew{.offsetNs = 0, .ppb = kMaxClockSkewPpm * 1000}, kOrigin);
  const uint64_t days = 100 * 86'400 * kSecond;
  EXPECT_EQ(clock.at(kOrigin + days), kOrigin + days + days / 1000);
  EXPECT_EQ(clock.mediaTsUs(kOrigin + days, kOrigin), (days + days / 1000) / 1000);
}

TEST(ClockSkew, ParsesOffsetAndDrift) {
  auto skew = parseClockSkew("3600000:100");
  ASSERT_TRUE(skew);
  EXPECT_EQ(skew->offsetNs, 3'600'000 * static_cast<int64_t>(kMs));
  EXPECT_EQ(skew->ppb, 100'000);
  skew = parseClockSkew("-3600000:-12.5");
  ASSERT_TRUE(skew);
  EXPECT_EQ(skew->offsetNs, -3'600'000 * static_cast<int64_t>(kMs));
  EXPECT_EQ(skew->ppb, -12'500);
  skew = parseClockSkew("+5:+0.001");
  ASSERT_TRUE(skew);
  EXPECT_EQ(skew->ppb, 1);
}

TEST(ClockSkew, RejectsBadValues) {
  for (const char* bad : {"", "100", ":100", "100:", "1.5:100", "x:1", "1:x", "1:100ppm", "1:1001",
                          "1:-1001", "1000000001:0", "1:0.0001", "1:nan", "1:2:3"}) {
    auto skew = parseClockSkew(bad);
    EXPECT_FALSE(skew) << bad;
    if (!skew) {
      EXPECT_EQ(skew.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace braid::edge
