// The edge's per-link controller in virtual time: phases from in-band evidence, RTT, the
// inflight cap, and the expected-delivery order the scheduler relies on.

#include "edge/link_controller.h"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

constexpr uint64_t kMs = 1'000'000;

// Drives a link that delivers everything sent within a report interval, with `rttMs`.
void deliverAll(LinkController& c, uint64_t& now, uint64_t& seq, int reports, uint64_t rttMs,
                uint64_t bytesPerReport = 10 * 1200) {
  for (int r = 0; r < reports; ++r) {
    for (uint64_t sent = 0; sent < bytesPerReport; sent += 1200) {
      c.onSent(now, 1200, ++seq);
      now += kMs;
    }
    now += 40 * kMs;
    c.onRttSample(now, rttMs * 1000);
    c.onReport(now, seq, bytesPerReport / 1200, 0, bytesPerReport);
  }
}

TEST(LinkController, ProbesThenLiveThenDownWhenDeliveryStops) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);
  c.onProbeAnswer(now);
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);  // one answer is not enough
  c.onProbeAnswer(now);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  deliverAll(c, now, seq, 10, 80);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  EXPECT_NEAR(c.srttUs(), 80'000, 1);
  // Now it swallows packets and reports nothing new: down after max(200 ms, 2 SRTT + 100 ms).
  c.onSent(now, 1200, ++seq);
  uint64_t stopped = now;
  for (; now < stopped + 2000 * kMs && c.phase() == LinkPhase::kLive; now += 10 * kMs) {
    c.onReport(now, seq - 1, 0, 0, 0);  // reports keep coming (on other links), empty
  }
  EXPECT_EQ(c.phase(), LinkPhase::kDown);
  EXPECT_GE(now - stopped, 260 * kMs);
  EXPECT_LE(now - stopped, 300 * kMs);
  // Answers to keepalives take it back, pre-warmed at the initial rate.
  c.onProbeAnswer(now);
  c.onProbeAnswer(now);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  EXPECT_LE(c.paceBps(), 2 * LinkControllerConfig{}.initialBps);
}

TEST(LinkController, AnIdleLinkIsNotDeclaredDown) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  c.markProven(now);
  deliverAll(c, now, seq, 5, 60);
  // Sends nothing for 3 s while feedback keeps coming without reports of it: still live.
  for (int i = 0; i < 300; ++i, now += 10 * kMs) c.onFeedbackWithoutReport(now);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
}

TEST(LinkController, InflightIsCappedAndDelaysTheExpectedDelivery) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  c.markProven(now);
  deliverAll(c, now, seq, 20, 60, 30 * 1200);  // ~7 Mbit/s delivered
  // Keep sending for 2 s without reports coming back (the link stalled): the expected
  // delivery moves out, and at the cap (path + standing-queue target) the link stops taking
  // packets although its pacer would allow far more.
  int sent = 0;
  for (uint64_t end = now + 2000 * kMs; now < end;) {
    uint64_t wait = c.waitNs(now, 1200);
    if (wait == 0) {
      c.onSent(now, 1200, ++seq);
      ++sent;
    } else {
      now += wait;
    }
  }
  double pacedBytes = c.paceBps() / 8 * 2.0;
  EXPECT_GT(c.inflightBytes(), 8 * 1500.0);
  EXPECT_LT(static_cast<double>(sent) * 1200, pacedBytes / 2);
  // The packets ahead count: delivery ≥ now + the time to drain them at the delivery rate.
  double drainNs = c.inflightBytes() * 8 / c.deliveryBps() * 1e9;
  EXPECT_GE(static_cast<double>(c.expectedDeliveryNs(now, 1200) - now), drainNs);
  EXPECT_GT(drainNs, 20.0 * kMs);
  // A report that catches up empties it again.
  c.onReport(now, seq, static_cast<uint64_t>(sent), 0, static_cast<uint64_t>(sent) * 1200);
  EXPECT_EQ(c.inflightBytes(), 0.0);
}

TEST(LinkController, PacesAtItsRate) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  c.markProven(now);
  // 1 Mbit/s initial rate: after the burst allowance, 1200 bytes every 9.6 ms.
  uint64_t start = now, bytes = 0;
  while (now < start + 1000 * kMs) {
    uint64_t wait = c.waitNs(now, 1200);
    if (wait == 0) {
      c.onSent(now, 1200, ++seq);
      bytes += 1200;
    }
    now += std::max<uint64_t>(wait, 100'000);
  }
  EXPECT_NEAR(static_cast<double>(bytes) * 8, 1e6, 0.05e6);
}

}  // namespace
}  // namespace braid::edge
