// The FEC repair-rate policy: the floor on clean links, the prior before any report, more
// repairs for more (and burstier) loss, the ceiling, and the fall back to the floor once the
// loss is five seconds old.

#include "edge/fec_policy.h"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kReport = 20'000'000;  // 50 reports a second

// One second of reports from `start`: `packets` per report, `lost` of them lost every
// `every`-th report.
void feed(FecRatePolicy& policy, uint64_t start, uint64_t packets, uint64_t lost, int every) {
  for (int i = 0; i < 50; ++i) {
    policy.onReport(start + i * kReport, packets, i % every == 0 ? lost : 0);
  }
}

TEST(FecPolicy, FloorOnCleanLinks) {
  FecRatePolicy policy;
  feed(policy, 0, 10, 0, 1);
  EXPECT_EQ(policy.lossRate(kSecond / 2), 0.0);
  EXPECT_EQ(policy.repairsFor(32, kSecond / 2), 2u);  // round(0.05 × 32)
  EXPECT_EQ(policy.repairsFor(20, kSecond / 2), 1u);
  EXPECT_EQ(policy.repairsFor(3, kSecond / 2), 1u);  // a partial block still gets one
}

TEST(FecPolicy, TheFirstBlocksAreProtectedBeforeAnyReport) {
  // No report yet: the prior (5 % loss) sizes the block, not the floor.
  FecRatePolicy policy;
  EXPECT_EQ(policy.lossRate(0), 0.0);  // measured: nothing
  EXPECT_NEAR(policy.plannedLossRate(0), 0.05, 1e-9);
  EXPECT_EQ(policy.repairsFor(32, 0), 7u);  // 5 % at a residual of 1e-3
  EXPECT_EQ(policy.repairsFor(3, 0), 2u);   // the ceiling: half of 3, rounded up
  // A backlogged sender affords what the measured loss asks at a looser target: the floor.
  EXPECT_EQ(policy.affordableRepairsFor(32, 0, 1e-2), 2u);
  // 100 of the 200 packets counted, none lost: half the prior.
  policy.onReport(0, 100, 0);
  EXPECT_NEAR(policy.plannedLossRate(1), 0.025, 1e-9);
  // 200 counted: the measurement alone.
  policy.onReport(1, 100, 0);
  EXPECT_EQ(policy.plannedLossRate(2), 0.0);
  EXPECT_EQ(policy.repairsFor(32, 2), 2u);
  // Loss counted early weighs as measured.
  FecRatePolicy lossy;
  lossy.onReport(0, 90, 10);
  EXPECT_NEAR(lossy.plannedLossRate(1), (10 + 0.05 * 100) / 200, 1e-9);
  EXPECT_NEAR(lossy.lossRate(1), 0.1, 1e-9);
  // At 5 % measured, the looser target affords fewer than the full target asks.
  FecRatePolicy measured;
  feed(measured, 0, 10, 1, 2);
  EXPECT_LT(measured.affordableRepairsFor(32, kSecond - 1, 1e-2),
            measured.repairsFor(32, kSecond - 1));
  EXPECT_GT(measured.affordableRepairsFor(32, kSecond - 1, 1e-2), 1u);
}

TEST(FecPolicy, SourcesSentTwiceNeedFewerRepairs) {
  // A copied source is lost only when both copies are: at 5 % loss a block of copies needs
  // a few repairs (they can be lost too), a half-copied block about what its other half needs.
  FecRatePolicy policy;
  feed(policy, 0, 10, 1, 2);  // 5 %
  const uint64_t now = kSecond - 1;
  const uint32_t none = policy.repairsFor(32, now);
  const uint32_t half = policy.repairsFor(32, now, 16);
  const uint32_t all = policy.repairsFor(32, now, 32);
  EXPECT_LT(half, none);
  EXPECT_LT(all, half);
  EXPECT_GE(half, policy.repairsFor(16, now));  // never less than the uncopied half alone
  EXPECT_LE(all, 3u);  // 32 sources at 0.25 % and the repairs themselves at 5 %
  EXPECT_GE(all, 1u);
  // More copies than sources counts as all copied; the looser target follows the same way.
  EXPECT_EQ(policy.repairsFor(32, now, 40), all);
  EXPECT_LE(policy.affordableRepairsFor(32, now, 1e-2, 32),
            policy.affordableRepairsFor(32, now, 1e-2));
  // On heavy loss the copies fail too: a copied block still takes repairs above the floor.
  FecRatePolicy lossy;
  feed(lossy, 0, 10, 3, 1);  // 30 %, 9 % per copied source
  EXPECT_GT(lossy.repairsFor(32, now, 32), 2u);
}

TEST(FecPolicy, MoreLossMoreRepairsUpToTheCeiling) {
  FecRatePolicy low, high, bursty;
  feed(low, 0, 10, 1, 10);     // 1 %
  feed(high, 0, 10, 1, 2);     // 5 %
  feed(bursty, 0, 10, 5, 10);  // 5 %, in bursts of 5
  const uint64_t now = kSecond - 1;
  EXPECT_NEAR(low.lossRate(now), 0.01, 0.002);
  EXPECT_NEAR(high.lossRate(now), 0.05, 0.005);
  EXPECT_NEAR(bursty.burstLength(now), 5.0, 0.01);
  EXPECT_NEAR(high.burstLength(now), 1.0, 0.01);
  uint32_t m1 = low.repairsFor(32, now), m5 = high.repairsFor(32, now),
           mb = bursty.repairsFor(32, now);
  EXPECT_GT(m1, 2u);
  EXPECT_GT(m5, m1);
  EXPECT_GT(mb, m5);
  EXPECT_LE(mb, 16u);  // ceiling: 0.5 × 32
  FecRatePolicy lossy;
  feed(lossy, 0, 10, 5, 1);  // 50 %
  EXPECT_EQ(lossy.repairsFor(32, now), 16u);
  EXPECT_EQ(lossy.repairsFor(10, now), 5u);
  FecRatePolicy capped({.floorRatio = 0.05, .ceilingRatio = 0.2});
  feed(capped, 0, 10, 5, 1);
  EXPECT_EQ(capped.repairsFor(20, now), 4u);
}

TEST(FecPolicy, WithTimeForAResendFecTakesTheResidualOverTheLossRate) {
  // 2 % random loss: FEC alone aims at 1e-3 per block; with a resend behind it a block FEC
  // cannot rebuild is lost only if the resend is lost too, so it aims at 1e-3 / 2 % = 5e-2.
  FecRatePolicy policy;
  feed(policy, 0, 49, 1, 1);  // 2 %: 1 of 50 packets lost
  const uint64_t now = kSecond - 1;
  ASSERT_NEAR(policy.lossRate(now), 0.02, 1e-9);
  const uint32_t alone = policy.repairsFor(32, now);
  const uint32_t withResend = policy.repairsWithResendFor(32, now);
  EXPECT_EQ(alone, 4u);       // P[more than 4 of 36 lost] < 1e-3
  EXPECT_EQ(withResend, 2u);  // P[more than 2 of 34 lost] ≈ 3 % < 5e-2
  EXPECT_LT(binomialTailAbove(34, 0.02, 2), 0.05);
  EXPECT_GT(binomialTailAbove(33, 0.02, 1), 0.05);
  // Clean links: the floor either way. Heavy loss: the residual over the loss rate is
  // near the target itself, and the repairs with it.
  FecRatePolicy clean;
  feed(clean, 0, 50, 0, 1);
  EXPECT_EQ(clean.repairsWithResendFor(32, now), clean.repairsFor(32, now));
  FecRatePolicy heavy;
  feed(heavy, 0, 5, 5, 1);  // 50 %: the residual is 2e-3
  EXPECT_EQ(heavy.repairsWithResendFor(32, now), 16u);
  // Never looser than residualWithResendMax however light the loss.
  FecRatePolicy light({.residualWithResendMax = 0.01});
  feed(light, 0, 49, 1, 1);
  EXPECT_GE(light.repairsWithResendFor(32, now), 3u);  // P[more than 2 of 34] ≈ 3 % > 1 %
  // Before any report the prior (5 %) plans the block, at a residual of 2e-2.
  FecRatePolicy fresh;
  EXPECT_LT(fresh.repairsWithResendFor(32, 0), fresh.repairsFor(32, 0));
  EXPECT_GT(fresh.repairsWithResendFor(32, 0), 2u);
}

TEST(FecPolicy, BackToTheFloorFiveSecondsAfterTheLoss) {
  FecRatePolicy policy;
  feed(policy, 0, 10, 1, 2);
  EXPECT_GT(policy.repairsFor(32, kSecond - 1), 2u);
  for (uint64_t s = 1; s < 5; ++s) feed(policy, s * kSecond, 10, 0, 1);
  EXPECT_GT(policy.lossRate(4 * kSecond + 1), 0.0);  // still inside the five-second window
  feed(policy, 5 * kSecond, 10, 0, 1);
  EXPECT_EQ(policy.lossRate(5 * kSecond + 1), 0.0);
  EXPECT_EQ(policy.repairsFor(32, 5 * kSecond + 1), 2u);
}

}  // namespace
}  // namespace braid::edge
