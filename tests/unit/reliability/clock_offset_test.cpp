#include "dataplane/reliability/clock_offset.h"

#include <cmath>
#include <cstdint>
#include <random>

#include <gtest/gtest.h>

namespace braid::dp {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

// The edge sends a packet of media time tsUs at gateway time base + ts·(1 + drift); it arrives
// after delayNs. The true offset is then base + ts·drift + minimum delay.
struct Path {
  uint64_t baseNs = 5 * kSec;
  double drift = 0;
  uint64_t arrival(uint64_t tsUs, uint64_t delayNs) const {
    return baseNs + static_cast<uint64_t>(static_cast<double>(tsUs) * 1000.0 * (1.0 + drift)) +
           delayNs;
  }
  int64_t trueOffset(uint64_t tsUs, uint64_t minDelayNs) const {
    return static_cast<int64_t>(arrival(tsUs, minDelayNs)) - static_cast<int64_t>(tsUs * 1000);
  }
};

TEST(ClockOffset, NoEstimateUntilFirstSample) {
  ClockOffsetEstimator est;
  EXPECT_FALSE(est.hasEstimate());
  est.observe(7 * kSec, 1000);
  ASSERT_TRUE(est.hasEstimate());
  EXPECT_EQ(est.offsetNs(), static_cast<int64_t>(7 * kSec - 1'000'000));
  est.reset();
  EXPECT_FALSE(est.hasEstimate());
}

TEST(ClockOffset, MinimumFilterIgnoresQueuedPackets) {
  ClockOffsetEstimator est;
  Path path;
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<uint64_t> extra(0, 80 * kMs);
  const uint64_t minDelay = 30 * kMs;
  for (uint64_t tsUs = 0; tsUs < 30'000'000; tsUs += 2000) {
    // One packet in 50 crosses the path without queueing; the rest queue up to 80 ms.
    const uint64_t delay = (tsUs / 2000) % 50 == 0 ? minDelay : minDelay + extra(rng);
    est.observe(path.arrival(tsUs, delay), tsUs);
  }
  EXPECT_NEAR(static_cast<double>(est.offsetNs()),
              static_cast<double>(path.trueOffset(30'000'000, minDelay)), 0.2 * kMs);
}

TEST(ClockOffset, RetransmissionsAreNotSamples) {
  ClockOffsetEstimator est;
  Path path;
  for (uint64_t tsUs = 0; tsUs < 20'000'000; tsUs += 1000) {
    est.observe(path.arrival(tsUs, 20 * kMs), tsUs);
    // A retransmission with a (nonsensically) smaller sample must not move the estimate.
    if (tsUs % 100'000 == 0) est.observe(path.arrival(tsUs, 20 * kMs), tsUs + 15'000, true);
  }
  EXPECT_NEAR(static_cast<double>(est.offsetNs()),
              static_cast<double>(path.trueOffset(0, 20 * kMs)), 1000.0);
}

TEST(ClockOffset, WarmupConvergesFromAQueuedFirstPacket) {
  ClockOffsetEstimator est;
  Path path;
  est.observe(path.arrival(0, 150 * kMs), 0);
  int64_t previous = est.offsetNs();
  uint64_t tsUs = 1000;
  for (; tsUs < 8'000'000; tsUs += 1000) {
    const uint64_t arrival = path.arrival(tsUs, 10 * kMs);
    est.observe(arrival, tsUs);
    // Never faster than the warm-up slew (2 %) plus one quantum of rounding.
    EXPECT_LE(previous - est.offsetNs(), static_cast<int64_t>(1000 * 20'000 / 1000 + 20'000));
    previous = est.offsetNs();
  }
  EXPECT_NEAR(static_cast<double>(est.offsetNs()),
              static_cast<double>(path.trueOffset(0, 10 * kMs)), 1000.0);
}

TEST(ClockOffset, SettledEstimateMovesAtMostTheSlewRate) {
  ClockOffsetEstimator est;
  Path path;
  uint64_t tsUs = 0;
  for (; tsUs < 20'000'000; tsUs += 1000) est.observe(path.arrival(tsUs, 60 * kMs), tsUs);
  const int64_t settled = est.offsetNs();
  EXPECT_NEAR(static_cast<double>(settled), static_cast<double>(path.trueOffset(0, 60 * kMs)),
              1000.0);
  // The path gets 50 ms shorter (a faster link took over): the offset follows at 500 ppm.
  const uint64_t changeUs = tsUs;
  for (; tsUs < changeUs + 10'000'000; tsUs += 1000) {
    est.observe(path.arrival(tsUs, 10 * kMs), tsUs);
    const double elapsedNs = static_cast<double>(tsUs - changeUs) * 1000.0;
    EXPECT_LE(static_cast<double>(settled - est.offsetNs()), elapsedNs * 500e-6 + 1000.0);
  }
  EXPECT_GT(settled - est.offsetNs(), static_cast<int64_t>(4 * kMs));
  for (; tsUs < changeUs + 200'000'000; tsUs += 1000)
    est.observe(path.arrival(tsUs, 10 * kMs), tsUs);
  EXPECT_NEAR(static_cast<double>(est.offsetNs()),
              static_cast<double>(path.trueOffset(0, 10 * kMs)), 1000.0);
}

TEST(ClockOffset, ALuckySampleLeavesTheWindow) {
  ClockOffsetEstimator est;
  Path path;
  uint64_t tsUs = 0;
  for (; tsUs < 60'000'000; tsUs += 1000) {
    // One packet at 15 s measured 10 ms less than any other (e.g. a clock step on a phone).
    const uint64_t delay = tsUs == 15'000'000 ? 10 * kMs : 20 * kMs;
    est.observe(path.arrival(tsUs, delay), tsUs);
    EXPECT_GE(est.offsetNs(), path.trueOffset(0, 20 * kMs) - static_cast<int64_t>(6 * kMs));
  }
  EXPECT_NEAR(static_cast<double>(est.offsetNs()),
              static_cast<double>(path.trueOffset(0, 20 * kMs)), 1000.0);
}

class ClockOffsetDrift : public ::testing::TestWithParam<double> {};

TEST_P(ClockOffsetDrift, FollowsTheDrift) {
  ClockOffsetEstimator est;
  Path path{.drift = GetParam()};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint64_t> extra(0, 30 * kMs);
  double worst = 0;
  for (uint64_t tsUs = 0; tsUs < 300'000'000; tsUs += 5000) {
    const uint64_t delay = (tsUs / 5000) % 20 == 0 ? 15 * kMs : 15 * kMs + extra(rng);
    est.observe(path.arrival(tsUs, delay), tsUs);
    if (tsUs > 20'000'000) {
      worst = std::max(
          worst, std::fabs(static_cast<double>(est.offsetNs() - path.trueOffset(tsUs, 15 * kMs))));
    }
  }
  // Window (10 s) × drift (200 ppm) = 2 ms of lag at most, plus a bucket.
  EXPECT_LT(worst, 3.0 * kMs);
}

INSTANTIATE_TEST_SUITE_P(Ppm, ClockOffsetDrift, ::testing::Values(200e-6, -200e-6, 100e-6, 0.0));

}  // namespace
}  // namespace braid::dp
