// The edge's per-link controller in virtual time: phases from in-band evidence, RTT, the
// inflight cap, and the expected-delivery order the scheduler relies on.

#include "edge/link_controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace braid::edge {
namespace {

constexpr uint64_t kMs = 1'000'000;

proto::LinkReport report(uint64_t seq, uint64_t received, uint64_t lost, uint64_t bytes,
                         uint64_t queueUs = 0) {
  return proto::LinkReport{.highestLinkSeq = seq,
                           .packetsReceived = received,
                           .packetsLost = lost,
                           .bytesReceived = bytes,
                           .queueDelayUs = queueUs,
                           .queueDelayMaxUs = queueUs};
}

// Drives a link that delivers everything sent within a report interval, with `rttMs`.
void deliverAll(LinkController& c, uint64_t& now, uint64_t& seq, int reports, uint64_t rttMs,
                uint64_t bytesPerReport = 10 * 1200, uint64_t queueUs = 0) {
  for (int r = 0; r < reports; ++r) {
    for (uint64_t sent = 0; sent < bytesPerReport; sent += 1200) {
      c.onSent(now, 1200, ++seq);
      now += kMs;
    }
    now += 40 * kMs;
    c.onRttSample(now, rttMs * 1000);
    c.onReport(now, report(seq, bytesPerReport / 1200, 0, bytesPerReport, queueUs));
    c.tick(now);
  }
}

// A fade: every report after `now` shows 8 of 10 packets lost, until the link is demoted.
// Returns how long that took.
uint64_t fade(LinkController& c, uint64_t& now, uint64_t& seq) {
  uint64_t start = now;
  while (c.phase() != LinkPhase::kDegrade && now < start + 1000 * kMs) {
    c.onReport(now += 20 * kMs, report(seq += 10, 2, 8, 2 * 1200));
    c.tick(now);
  }
  return now - start;
}

// A link that went through probe and warm: live.
LinkController liveLink(uint64_t& now, uint64_t& seq, uint64_t rttMs = 80) {
  LinkController c;
  c.markProven(now);
  deliverAll(c, now, seq, 30, rttMs);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  return c;
}

TEST(LinkController, ProbesWithATrainThenWarmsThenGoesLive) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  EXPECT_EQ(c.phase(), LinkPhase::kInit);
  c.startProbing(now);
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);
  EXPECT_FALSE(c.wantsTrain());  // not before the link answered once
  c.onProbeAnswer(now);
  c.onRttSample(now, 80'000);
  EXPECT_TRUE(c.wantsTrain());
  c.onTrainSent(now, 7);
  EXPECT_FALSE(c.wantsTrain());
  c.onProbeAnswer(now += 50 * kMs);
  c.tick(now);
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);  // waits for the train's result
  proto::LinkReport r = report(10, 8, 0, 8 * 1200);
  r.probeTrainId = 7;
  r.probeRateKbps = 3000;
  c.onReport(now += 20 * kMs, r);
  c.tick(now);
  EXPECT_EQ(c.phase(), LinkPhase::kWarm);
  EXPECT_DOUBLE_EQ(c.trainBps(), 3e6);
  EXPECT_DOUBLE_EQ(c.paceBps(), 2.4e6);  // never demoted: warmed at 0.8 of the train's rate
  EXPECT_TRUE(carriesMedia(c.phase()));
  deliverAll(c, now, seq, 5, 80);
  EXPECT_EQ(c.phase(), LinkPhase::kWarm);  // warm lasts a second
  deliverAll(c, now, seq, 25, 80);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
}

TEST(LinkController, AProbeWithoutTrainResultWarmsAfterTheWait) {
  LinkController c;
  uint64_t now = kMs;
  c.startProbing(now);
  c.onProbeAnswer(now);
  c.onTrainSent(now, 1);
  c.onProbeAnswer(now += 50 * kMs);
  c.tick(now);
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);
  c.tick(now += 500 * kMs);
  EXPECT_EQ(c.phase(), LinkPhase::kWarm);
  EXPECT_DOUBLE_EQ(c.paceBps(), LinkControllerConfig{}.initialBps);
}

TEST(LinkController, AStalledLinkIsDemotedCoolsDownAndComesBackWarm) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  EXPECT_NEAR(c.srttUs(), 80'000, 1);
  // Now it swallows packets and reports nothing new: demoted 2 SRTT + 50 ms after the first
  // packet it swallowed left (the next report after that).
  c.onSent(now, 1200, ++seq);
  uint64_t stopped = now;
  for (; now < stopped + 2000 * kMs && c.phase() == LinkPhase::kLive; now += 10 * kMs) {
    c.onReport(now, report(seq - 1, 0, 0, 0));  // reports keep coming (on other links), empty
    c.tick(now);
  }
  EXPECT_EQ(c.phase(), LinkPhase::kDegrade);
  EXPECT_EQ(c.lastDemoteReason(), DemoteReason::kStall);
  EXPECT_GE(now - stopped, 210 * kMs);
  EXPECT_LE(now - stopped, 230 * kMs);
  EXPECT_EQ(c.penaltyNs(), 1000 * kMs);
  // Answers to keepalives show it works again: it sits out its penalty, then warms.
  c.onProbeAnswer(now);
  c.onProbeAnswer(now += 50 * kMs);
  c.tick(now);
  EXPECT_EQ(c.phase(), LinkPhase::kCooldown);
  uint64_t cooling = now;
  while (c.phase() == LinkPhase::kCooldown && now < cooling + 5000 * kMs) {
    now += 50 * kMs;
    c.onProbeAnswer(now);
    c.tick(now);
  }
  EXPECT_EQ(c.phase(), LinkPhase::kWarm);
  EXPECT_GE(now - cooling, 1000 * kMs);
  EXPECT_LE(c.paceBps(), LinkControllerConfig{}.initialBps);
}

// The link swallows what it is sent until it is demoted for a stall, then answers again:
// returns how long it sat in cooldown before warming (at most 5 s).
uint64_t stallAndReturn(LinkController& c, uint64_t& now, uint64_t& seq) {
  c.onSent(now, 1200, ++seq);
  for (uint64_t stopped = now; now < stopped + 2000 * kMs && c.phase() == LinkPhase::kLive;
       now += 10 * kMs) {
    c.onReport(now, report(seq - 1, 0, 0, 0));
    c.tick(now);
  }
  EXPECT_EQ(c.lastDemoteReason(), DemoteReason::kStall);
  for (int i = 0; i < 10 && c.phase() == LinkPhase::kDegrade; ++i) {
    c.onProbeAnswer(now += 20 * kMs);
    c.tick(now);
  }
  EXPECT_EQ(c.phase(), LinkPhase::kCooldown);
  const uint64_t cooling = now;
  while (c.phase() == LinkPhase::kCooldown && now < cooling + 5000 * kMs) {
    c.onProbeAnswer(now += 20 * kMs);
    c.tick(now);
  }
  EXPECT_EQ(c.phase(), LinkPhase::kWarm);
  return now - cooling;
}

TEST(LinkController, AFirstStallReturnsAsSoonAsTheBondMissesIt) {
  // A link that stalled once (a trace gap: T-Mobile's 160 ms at 79 s) and answers again is
  // back once media has waited 300 ms at the sender, not after its 1 s penalty; without
  // media waiting it sits the penalty out; after a second stall (a 2 s penalty), even a short
  // bond waits the first penalty's second.
  for (bool bondShort : {false, true}) {
    uint64_t now = kMs, seq = 0;
    LinkController c = liveLink(now, seq);
    c.setBacklogged(bondShort);
    const uint64_t first = stallAndReturn(c, now, seq);
    if (bondShort) {
      EXPECT_LT(first, 400 * kMs);
    } else {
      EXPECT_GE(first, 1000 * kMs);
    }
    deliverAll(c, now, seq, 30, 80);  // warm, then live again
    ASSERT_EQ(c.phase(), LinkPhase::kLive);
    EXPECT_GE(stallAndReturn(c, now, seq), (bondShort ? 1000 : 2000) * kMs);
  }
}

// Packets go out on a live link and nothing comes back (reports arrive for the others) until
// it is demoted for a stall; `stalledSeq` is the last sequence it had delivered.
void stallUntilDemoted(LinkController& c, uint64_t& now, uint64_t& seq, uint64_t& stalledSeq) {
  stalledSeq = seq;
  for (int i = 0; i < 20; ++i) c.onSent(now + i * kMs, 1200, ++seq);
  for (uint64_t stopped = now; now < stopped + 2000 * kMs && c.phase() == LinkPhase::kLive;
       now += 20 * kMs) {
    c.onReport(now, report(stalledSeq, 0, 0, 0));
    c.tick(now);
  }
  ASSERT_EQ(c.phase(), LinkPhase::kDegrade);
  ASSERT_EQ(c.lastDemoteReason(), DemoteReason::kStall);
}

TEST(LinkController, AFirstStallThatWasAGapIsUndoneByTheDeliveryAfterIt) {
  // The T-Mobile trace's 160 ms gap: the link held what it was sent and delivers it all
  // after the gap, within the latency. The first delivering report puts it back live with
  // no penalty, as TCP's F-RTO undoes a spurious timeout.
  uint64_t now = kMs, seq = 0, stalledSeq = 0;
  LinkController c = liveLink(now, seq);
  stallUntilDemoted(c, now, seq, stalledSeq);
  EXPECT_EQ(c.penaltyNs(), LinkControllerConfig{}.firstPenaltyNs);
  c.onRttSample(now += 60 * kMs, 250'000);
  c.onReport(now, report(stalledSeq + 12, 12, 0, 12 * 1200, 150'000));
  c.tick(now);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  EXPECT_EQ(c.penaltyNs(), 0u);
  EXPECT_EQ(c.stallsUndone(), 1u);
  EXPECT_EQ(c.demotions(), 1u);  // it was demoted: counted, and undone
}

TEST(LinkController, AStallIsNotUndoneByLossALateAnswerOrADelayTheTargetCannotAbsorb) {
  struct Case {
    const char* what;
    uint64_t afterMs;  // the delivering report, after the demotion
    uint64_t lost;
    uint64_t queueUs;
  };
  for (const Case& k : {Case{"what it held was lost", 60, 8, 20'000},
                        Case{"it answered only after the undo window", 700, 0, 20'000},
                        Case{"its queue is past what 500 ms can absorb", 60, 0, 400'000}}) {
    SCOPED_TRACE(k.what);
    uint64_t now = kMs, seq = 0, stalledSeq = 0;
    LinkController c = liveLink(now, seq);
    stallUntilDemoted(c, now, seq, stalledSeq);
    for (uint64_t waited = 0; waited + 20 < k.afterMs; waited += 20) {
      c.onReport(now += 20 * kMs, report(stalledSeq, 0, 0, 0));
      c.tick(now);
    }
    now += 20 * kMs;
    c.onReport(now, report(stalledSeq + 12, 12 - k.lost, k.lost, (12 - k.lost) * 1200, k.queueUs));
    c.tick(now);
    EXPECT_NE(c.phase(), LinkPhase::kLive);
    EXPECT_FALSE(carriesMedia(c.phase()));
    EXPECT_EQ(c.stallsUndone(), 0u);
  }
}

TEST(LinkController, ARepeatOffendersGapIsUndoneWithThePenaltyItHad) {
  // The ATT trace's dips: a link whose earlier stall was real (its penalty 1 s now) stalls
  // again, and the report after shows it delivered what it held, in time. It is back at once
  // with its penalty as before the gap, not doubled; a stall after that which is no gap
  // doubles it as ever.
  uint64_t now = kMs, seq = 0, stalledSeq = 0;
  LinkController c = liveLink(now, seq);
  c.setBacklogged(true);
  stallAndReturn(c, now, seq);  // a stall that was not undone: the penalty is 1 s now
  deliverAll(c, now, seq, 30, 80);
  ASSERT_EQ(c.phase(), LinkPhase::kLive);
  const uint64_t penalty = c.penaltyNs();
  ASSERT_EQ(penalty, LinkControllerConfig{}.firstPenaltyNs);
  stallUntilDemoted(c, now, seq, stalledSeq);
  EXPECT_EQ(c.penaltyNs(), 2 * penalty);
  c.onReport(now += 60 * kMs, report(stalledSeq + 12, 12, 0, 12 * 1200, 20'000));
  c.tick(now);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  EXPECT_EQ(c.stallsUndone(), 1u);
  EXPECT_EQ(c.penaltyNs(), penalty);
  deliverAll(c, now, seq, 5, 80);
  stallUntilDemoted(c, now, seq, stalledSeq);
  EXPECT_EQ(c.penaltyNs(), 2 * penalty);
}

TEST(LinkController, AFadeDemotesWithinItsWindow) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  uint64_t took = fade(c, now, seq);
  EXPECT_EQ(c.phase(), LinkPhase::kDegrade);
  EXPECT_EQ(c.lastDemoteReason(), DemoteReason::kLossBurst);
  EXPECT_LE(took, LinkControllerConfig{}.burstWindowNs);
}

TEST(LinkController, ASteadyBurstyLossIsNotALossBurst) {
  // The bursty link of the 200 ms scenario: ~10 % lost, in clusters. A report with half its
  // packets lost now and then is that link's normal, which FEC repairs: no demotion. It would
  // have demoted at once under a one-report rule.
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  for (int i = 0; i < 500; ++i) {
    uint64_t lost = i % 10 == 3 ? 5 : (i % 10 == 7 ? 1 : 0);
    c.onSent(now, 1200, seq + 10);
    c.onRttSample(now + 80 * kMs, 80'000);
    c.onReport(now += 20 * kMs, report(seq += 10, 10 - lost, lost, (10 - lost) * 1200));
    c.tick(now);
  }
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  EXPECT_EQ(c.demotions(), 0u);
}

TEST(LinkController, ALinkWithSteadyLossRecoversAfterAFade) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  fade(c, now, seq);
  ASSERT_EQ(c.phase(), LinkPhase::kDegrade);
  // Its probes come back with one in eight lost: recovered, it sits out its penalty and
  // warms again, without relapsing on a lost probe.
  int relapses = 0;
  LinkPhase last = c.phase();
  for (int i = 0; i < 100 && c.phase() != LinkPhase::kWarm; ++i) {
    c.onProbeAnswer(now += 20 * kMs);
    c.onRttSample(now, 80'000);
    c.onReport(now, report(++seq, i % 8 == 0 ? 0 : 1, i % 8 == 0 ? 1 : 0, 100));
    c.tick(now);
    if (last == LinkPhase::kCooldown && c.phase() == LinkPhase::kDegrade) ++relapses;
    last = c.phase();
  }
  EXPECT_EQ(c.phase(), LinkPhase::kWarm);
  EXPECT_EQ(relapses, 0);
}

TEST(LinkController, ALastingDelayDemotesAndOnlyALowDelayBringsItBack) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  c.setLatencyTarget(1000 * kMs);  // demote above 800 ms forward, back below 600 ms
  deliverAll(c, now, seq, 1, 80, 12'000, 700'000);  // 40 + 700 ms: still in time
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  // Above 800 ms: out once it lasted a second (a shorter spike is the scheduler's business).
  deliverAll(c, now, seq, 5, 80, 12'000, 900'000);
  deliverAll(c, now, seq, 5, 80, 12'000, 100'000);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  uint64_t high = now;
  while (c.phase() == LinkPhase::kLive && now < high + 3000 * kMs) {
    deliverAll(c, now, seq, 1, 80, 12'000, 900'000);
  }
  EXPECT_GE(now - high, 1000 * kMs);
  EXPECT_LE(now - high, 1300 * kMs);
  EXPECT_EQ(c.lastDemoteReason(), DemoteReason::kDelay);
  // The delay falls to 700 ms: answered, but not low enough to come back.
  for (int i = 0; i < 40; ++i) {
    c.onProbeAnswer(now += 50 * kMs);
    c.onReport(now, report(++seq, 1, 0, 100, 660'000));
    c.tick(now);
  }
  EXPECT_EQ(c.phase(), LinkPhase::kDegrade);
  for (int i = 0; i < 40; ++i) {
    c.onProbeAnswer(now += 50 * kMs);
    c.onReport(now, report(++seq, 1, 0, 100, 500'000));
    c.tick(now);
  }
  EXPECT_NE(c.phase(), LinkPhase::kDegrade);
}

TEST(LinkController, TheOnlyLinkCarryingMediaIsNeverDemoted) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  c.setSoleCarrier(true);
  fade(c, now, seq);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  c.setSoleCarrier(false);
  fade(c, now, seq);
  EXPECT_EQ(c.phase(), LinkPhase::kDegrade);
}

// The forward delay swings 100 ↔ 1200 ms with a 30 s period against a 1000 ms target:
// out once per period, never flapping at the thresholds; in while the delay allows. Also
// while media waits at the sender (`bondShort`), when a recovered link returns early.
void expectOneDemotionPerSwing(bool bondShort) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq, 140);
  c.setLatencyTarget(1000 * kMs);
  c.setBacklogged(bondShort);
  uint64_t start = now;
  uint32_t before = c.demotions();
  uint64_t mediaTimeAtLowDelay = 0, lowDelayTime = 0;
  LinkPhase last = c.phase();
  int promotions = 0;
  for (; now < start + 90'000 * kMs; now += 20 * kMs) {
    double t = static_cast<double>(now - start) / 1e9;
    double oneWayMs = 650 - 550 * std::cos(2 * M_PI * t / 30);
    auto queueUs = static_cast<uint64_t>((oneWayMs - 100) * 1000);
    c.onSent(now, 1200, ++seq);
    c.onRttSample(now, static_cast<uint64_t>((oneWayMs + 40) * 1000));
    c.onProbeAnswer(now);
    c.onReport(now, report(seq, 1, 0, 1200, queueUs));
    c.tick(now);
    if (carriesMedia(c.phase()) && !carriesMedia(last)) ++promotions;
    last = c.phase();
    if (oneWayMs < 300) {
      lowDelayTime += 20;
      if (carriesMedia(c.phase())) mediaTimeAtLowDelay += 20;
    }
  }
  EXPECT_EQ(c.demotions() - before, 3u);
  EXPECT_EQ(promotions, 3);
  EXPECT_GT(mediaTimeAtLowDelay, lowDelayTime / 2);
}

TEST(LinkController, AMarginalLinkIsDemotedOncePerSwing) {
  expectOneDemotionPerSwing(false);
}

TEST(LinkController, AMarginalLinkIsDemotedOncePerSwingWhileTheBondIsShort) {
  expectOneDemotionPerSwing(true);
}

TEST(LinkController, ARecoveredLinkSitsOutItsPenaltyUnlessTheBondIsShort) {
  // Demoted four times (a link that stalls now and then): a penalty of 8 s. Recovered, it
  // sits that out while the other links carry the stream; while media waits at the sender
  // it returns after the first penalty's second.
  for (bool bondShort : {false, true}) {
    uint64_t now = kMs, seq = 0;
    LinkController c = liveLink(now, seq);
    for (int demotion = 0; demotion < 4; ++demotion) {
      fade(c, now, seq);
      ASSERT_EQ(c.phase(), LinkPhase::kDegrade);
      while (c.phase() != LinkPhase::kLive) {
        c.onProbeAnswer(now += 20 * kMs);
        deliverAll(c, now, seq, 1, 80);
        ASSERT_LT(now, 120'000 * kMs);
      }
    }
    fade(c, now, seq);
    ASSERT_EQ(c.penaltyNs(), 16'000 * kMs);
    c.setBacklogged(bondShort);
    for (int i = 0; i < 100 && c.phase() == LinkPhase::kDegrade; ++i) {
      c.onProbeAnswer(now += 20 * kMs);
      c.onReport(now, report(++seq, 1, 0, 100));
      c.tick(now);
    }
    ASSERT_EQ(c.phase(), LinkPhase::kCooldown);
    uint64_t cooling = now;
    while (c.phase() == LinkPhase::kCooldown && now < cooling + 30'000 * kMs) {
      c.onProbeAnswer(now += 50 * kMs);
      c.tick(now);
    }
    EXPECT_EQ(c.phase(), LinkPhase::kWarm);
    if (bondShort) {
      EXPECT_GE(now - cooling, 1000 * kMs);
      EXPECT_LE(now - cooling, 1100 * kMs);
    } else {
      EXPECT_GE(now - cooling, 16'000 * kMs);
    }
  }
}

TEST(LinkController, APenaltyDecaysWhileLive) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  fade(c, now, seq);
  ASSERT_EQ(c.phase(), LinkPhase::kDegrade);
  EXPECT_EQ(c.penaltyNs(), 1000 * kMs);
  for (int i = 0; i < 200 && c.phase() != LinkPhase::kLive; ++i) {
    c.onProbeAnswer(now += 20 * kMs);
    deliverAll(c, now, seq, 1, 80);
  }
  ASSERT_EQ(c.phase(), LinkPhase::kLive);
  for (int i = 0; i < 300; ++i) deliverAll(c, now, seq, 1, 80);  // 15 s live
  EXPECT_EQ(c.penaltyNs(), 0u);
}

// Drains (pace cut to half the delivery) of a saturated live link over 30 s whose round
// trips sit `aboveBaseMs` above the 80 ms it showed first, the gateway's reports showing a
// forward queue of `queueUs`.
int drainsOver30s(uint64_t aboveBaseMs, uint64_t queueUs = 0) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  c.setBacklogged(true);
  deliverAll(c, now, seq, 3, 80, 10 * 1200, 20'000);  // a round trip of queue: startup is over
  int drains = 0;
  bool draining = false;
  for (uint64_t end = now + 30'000 * kMs; now < end;) {
    deliverAll(c, now, seq, 1, 80 + aboveBaseMs, 10 * 1200, queueUs);
    bool cut = c.paceBps() < 0.7 * c.deliveryBps();
    if (cut && !draining) ++drains;
    draining = cut;
  }
  return drains;
}

TEST(LinkController, ALinkThatKeepsTouchingItsBaseDelayDoesNotDrain) {
  // Its queue empties on its own: a drain would only take capacity from the bond (at 200 ms
  // the three links' drains, one after another every 10 s, were where media went stale).
  EXPECT_EQ(drainsOver30s(0), 0);
}

TEST(LinkController, ALinkThatNeverShowsItsBaseDelayDrainsOncePerWindow) {
  // 10 ms above the base: under the standing-queue threshold (half the 25 ms target), yet
  // never the base itself. Drained so that the minimum stays the path's.
  int drains = drainsOver30s(10);
  EXPECT_GE(drains, 1);
  EXPECT_LE(drains, 3);
}

TEST(LinkController, ARoundTripTheGatewaySeesNoQueueInDrainsOnlyToRelearnTheBase) {
  // 100 ms above the base on the round trip, none of it in the forward queue the gateway
  // measures (a slow return path, or the smoothed RTT of a queue that has just cleared): only
  // the drains that keep the base delay honest (the RTT windows relearn 180 ms as the base
  // within 20 s), not one every 4 s as for a standing queue (4 in 30 s before, 2 now).
  const int withoutQueue = drainsOver30s(100);
  EXPECT_GE(withoutQueue, 1);
  EXPECT_LE(withoutQueue, 2);
  // The same round trip with the gateway seeing the queue: drained every 4 s until then.
  EXPECT_GE(drainsOver30s(100, 100'000), 4);
}

TEST(LinkController, ASilentProbingLinkIsReset) {
  LinkController c;
  uint64_t now = kMs;
  c.startProbing(now);
  c.tick(now += 4000 * kMs);
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);
  c.tick(now += 1100 * kMs);
  EXPECT_EQ(c.phase(), LinkPhase::kReset);
  c.restartProbing(now);
  EXPECT_EQ(c.phase(), LinkPhase::kProbe);
}

TEST(LinkController, AnIdleLinkIsNotDeclaredDown) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq, 60);
  // Sends nothing for 3 s while feedback keeps coming without reports of it: still live.
  for (int i = 0; i < 300; ++i, now += 10 * kMs) c.onFeedbackWithoutReport(now);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
}

TEST(LinkController, ALinkPastItsPeakCountsWhatItHoldsAtWhatItNowDelivers) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  c.markProven(now);
  // 2 s at 72 kB per 100 ms (5.76 Mbit/s, its recent peak), then 0.5 s at 12 kB per 50 ms.
  constexpr double kPeakBps = 72'000 * 8 / 0.1;
  deliverAll(c, now, seq, 20, 60, 60 * 1200);
  deliverAll(c, now, seq, 10, 60, 10 * 1200);
  ASSERT_LT(c.deliveryBps(), kPeakBps / 2);
  // 60 kB more go out and no report has come back.
  for (int i = 0; i < 50; ++i) c.onSent(now, 1200, ++seq);
  // What its path holds is what it carried there at the rate it now delivers; the rest is
  // queued and drains at most at the peak. (Taking the peak × min RTT for the path, 43 kB of
  // the 60 here, gave this link the expected delivery of one with almost nothing queued.)
  const double pathBytes =
      c.deliveryBps() / 8 *
      (c.minRttUs() / 1e6 + static_cast<double>(LinkController::kReportAllowanceNs) / 1e9);
  const double atLeastNs =
      c.minRttUs() * 1000 / 2 + (c.inflightBytes() - pathBytes) * 8 / kPeakBps * 1e9;
  EXPECT_GT(atLeastNs, c.minRttUs() * 1000 / 2 + 30.0 * kMs);
  // (Less the wait for the in-flight cap, which this much in flight has reached.)
  const uint64_t capWaitNs = c.waitNs(now, 1200);
  EXPECT_GE(static_cast<double>(c.expectedDeliveryNs(now, 1200) - now - capWaitNs), atLeastNs);
  // The cautious estimate drains that queue at what the link delivers now: later than the
  // peak's by the queue's time at the lower rate.
  const double queuedBytes = c.inflightBytes() - pathBytes + 1200;
  const double cautiousAtLeastNs =
      c.minRttUs() * 1000 / 2 + queuedBytes * 8 / c.deliveryBps() * 1e9;
  EXPECT_GE(static_cast<double>(c.deliveryEstimateNs(now, 1200).cautiousNs - now - capWaitNs),
            cautiousAtLeastNs - 1);
  EXPECT_GT(c.deliveryEstimateNs(now, 1200).cautiousNs,
            c.expectedDeliveryNs(now, 1200) +
                static_cast<uint64_t>(queuedBytes * 8 / c.deliveryBps() * 1e9 / 2));
}

TEST(LinkController, ASteadyLinkIsAsEarlyCautiouslyAsAtItsPeak) {
  LinkController c;
  uint64_t now = kMs, seq = 0;
  c.markProven(now);
  // Delivering steadily what it is given, with nothing queued beyond its path: the two
  // estimates agree, so the scheduler's caution costs a steady link nothing.
  deliverAll(c, now, seq, 40, 60, 20 * 1200);
  for (int i = 0; i < 3; ++i) c.onSent(now, 1200, ++seq);
  EXPECT_NEAR(static_cast<double>(c.deliveryEstimateNs(now, 1200).cautiousNs),
              static_cast<double>(c.expectedDeliveryNs(now, 1200)), 0.5 * kMs);
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
  // The packets queued ahead count: delivery ≥ now + the time to drain what is in flight
  // beyond the path's own share (delivery rate × (min RTT + a report interval)) at the
  // delivery rate.
  double pathBytes =
      c.deliveryBps() / 8 *
      (c.minRttUs() / 1e6 + static_cast<double>(LinkController::kReportAllowanceNs) / 1e9);
  double drainNs = (c.inflightBytes() - pathBytes) * 8 / c.deliveryBps() * 1e9;
  EXPECT_GE(static_cast<double>(c.expectedDeliveryNs(now, 1200) - now), drainNs);
  EXPECT_GT(drainNs, 20.0 * kMs);
  // A report that catches up empties it again.
  c.onReport(now, report(seq, static_cast<uint64_t>(sent), 0, static_cast<uint64_t>(sent) * 1200));
  EXPECT_EQ(c.inflightBytes(), 0.0);
}

TEST(LinkController, AQueuedPacketArrivesAtTheRateTheLinkMovesNow) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq, 60);
  // The link took 200 more packets; its reports then move 10 packets per 20 ms (500/s).
  for (int i = 0; i < 200; ++i) c.onSent(now, 1200, seq + 1 + static_cast<uint64_t>(i));
  const uint64_t last = seq + 200;
  for (int r = 0; r < 15; ++r) c.onReport(now += 20 * kMs, report(seq += 10, 10, 0, 12'000));
  // Delivered past: lost, not queued.
  EXPECT_EQ(c.queuedArrivalNs(seq - 3, now), 0u);
  // 50 packets ahead at 500/s: ~100 ms, plus the base one-way delay (half of 60 ms).
  auto inMs = [&](uint64_t at) { return static_cast<double>(at - now) / kMs; };
  EXPECT_NEAR(inMs(c.queuedArrivalNs(last, now)), 130, 5);
  // The rate falls to 1 packet per 20 ms (50/s): the same packet is now much further away than
  // the delay its link's last packets met.
  for (int r = 0; r < 15; ++r) c.onReport(now += 20 * kMs, report(++seq, 1, 0, 1'200));
  EXPECT_GT(inMs(c.queuedArrivalNs(last, now)), 500);
  // The reports stop moving (a stall): not coming at all, as far as anyone can tell.
  for (int r = 0; r < 15; ++r) c.onReport(now += 20 * kMs, report(seq, 0, 0, 0));
  EXPECT_EQ(c.queuedArrivalNs(last, now), UINT64_MAX);
}

TEST(LinkController, ABurstCaughtByEveryOtherReportDoesNotHoldThePace) {
  // Every other report catches a 15 ms burst (a block's repairs): above half the 25 ms
  // target, but gone by the next report. Not a standing queue: the pace keeps its headroom
  // over the delivery (steered by the last report, it was held at the delivery).
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  c.setBacklogged(true);
  deliverAll(c, now, seq, 3, 80, 10 * 1200, 20'000);  // a standing queue once: startup is over
  for (int i = 0; i < 40; ++i) {
    deliverAll(c, now, seq, 1, 80, 10 * 1200, 0);
    deliverAll(c, now, seq, 1, 80, 10 * 1200, 15'000);
  }
  EXPECT_LE(c.standingQueueUs(), 0.0);
  EXPECT_GT(c.paceBps(), 1.1 * c.deliveryBps());
  // A queue in every report of a round trip is standing: held at the delivery.
  deliverAll(c, now, seq, 3, 80, 10 * 1200, 15'000);
  EXPECT_DOUBLE_EQ(c.standingQueueUs(), 15'000);
  EXPECT_LE(c.paceBps(), c.deliveryBps() * 1.0001);
}

TEST(LinkController, ALossyLinkIsCappedByWhatItServes) {
  // Two links given the same and delivering the same bytes; one loses 1 in 10 besides. Its
  // lost packets left its queue too: its in-flight cap follows delivered + lost.
  auto drive = [](uint64_t lostPerReport) {
    uint64_t now = kMs, seq = 0;
    LinkController c;
    c.markProven(now);
    for (int r = 0; r < 40; ++r) {
      for (int p = 0; p < 10; ++p) c.onSent(now += kMs, 1200, ++seq);
      now += 40 * kMs;
      c.onRttSample(now, 80'000);
      c.onReport(now, report(seq, 10 - lostPerReport, lostPerReport, 9 * 1200));
      c.tick(now);
    }
    // How much it takes back to back before the cap stops it.
    int taken = 0;
    for (int i = 0; i < 1000; ++i) {
      uint64_t wait = c.waitNs(now, 1200);
      if (wait == 0) {
        c.onSent(now, 1200, ++seq);
        ++taken;
      } else {
        // The pacer refills in time; what is in flight does not drain without a report.
        now += wait + 1000;
        if (c.waitNs(now, 1200) > 0) break;  // the cap
      }
    }
    return std::pair{c.servedBps() / c.deliveryBps(), taken};
  };
  auto [cleanRatio, cleanTaken] = drive(0);
  auto [lossyRatio, lossyTaken] = drive(1);
  EXPECT_NEAR(cleanRatio, 1.0, 1e-6);
  EXPECT_NEAR(lossyRatio, 10.0 / 9.0, 0.01);
  EXPECT_GT(lossyTaken, cleanTaken);
}

// Bytes the pacer lets out over `spanNs` right after a report (no report inside it, the link
// well under its in-flight cap), as a multiple of the smoothed delivery; the last reports show
// a queue of `queueUs`.
double pacedOverDelivery(const LinkControllerConfig& config, bool backlogged,
                         uint64_t queueUs = 0) {
  uint64_t now = kMs, seq = 0;
  LinkController c(config);
  c.markProven(now);
  deliverAll(c, now, seq, 30, 80);
  c.setBacklogged(backlogged);
  deliverAll(c, now, seq, 3, 80, 10 * 1200, 20'000);  // a queue once: startup is over
  deliverAll(c, now, seq, 2, 80, 10 * 1200, queueUs);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  const uint64_t spanNs = 40 * kMs;
  double bytes = 0;
  for (uint64_t end = now + spanNs; now < end;) {
    uint64_t wait = c.waitNs(now, 1200);
    if (wait == 0) {
      c.onSent(now, 1200, ++seq);
      bytes += 1200;
    } else {
      now += wait;
    }
  }
  return bytes * 8 / (static_cast<double>(spanNs) / 1e9) / c.deliveryBps();
}

TEST(LinkController, WhileMediaWaitsThePacerLetsOutTwiceWhatTheLinkDelivers) {
  // A bonded link's delivery is its share of the stream: while media waits at the sender,
  // its pacer lets out twice that with a standing queue (10 ms, under half the 25 ms target)
  // and three times that with none (its in-flight cap holds the queue), so the share can grow
  // within a round trip or two. Without media waiting, and in the link test, the pace stays
  // within 1.5x of the delivery.
  LinkControllerConfig bond;
  const double standing = pacedOverDelivery(bond, true, 10'000);
  EXPECT_GE(standing, 1.9);
  EXPECT_LE(standing, 2.4);  // (with the bucket's two packets)
  EXPECT_GE(pacedOverDelivery(bond, true), 2.9);
  EXPECT_LE(pacedOverDelivery(bond, false), 1.6);
  EXPECT_LE(pacedOverDelivery(bond, false, 10'000), 1.6);
  EXPECT_LE(pacedOverDelivery(LinkControllerConfig::linkTest(), true), 1.6);
}

TEST(LinkController, ADeliveryRisingWithoutAQueueIsTakenInHalfTheReports) {
  // A link whose capacity returns after a crunch delivers all it is given, more each report,
  // with no queue: in a bond such a sample weighs 1/2 (two reports cover 3/4 of a step), with
  // a standing queue and in the link test 1/4 (7/16). Its in-flight cap follows alike.
  auto stepCovered = [](const LinkControllerConfig& config, uint64_t queueUs) {
    uint64_t now = kMs, seq = 0;
    LinkController c(config);
    c.markProven(now);
    deliverAll(c, now, seq, 30, 80, 10 * 1200, queueUs);
    const double before = c.deliveryBps();
    const double servedBefore = c.servedBps();
    deliverAll(c, now, seq, 2, 80, 40 * 1200, queueUs);  // 40 packets per 80 ms report
    const double sample = 40 * 1200 * 8 / 0.080;
    EXPECT_NEAR((c.servedBps() - servedBefore) / (sample - servedBefore),
                (c.deliveryBps() - before) / (sample - before), 1e-9);
    return (c.deliveryBps() - before) / (sample - before);
  };
  EXPECT_NEAR(stepCovered({}, 0), 0.75, 0.01);
  EXPECT_NEAR(stepCovered({}, 20'000), 7.0 / 16, 0.01);
  EXPECT_NEAR(stepCovered(LinkControllerConfig::linkTest(), 0), 7.0 / 16, 0.01);
}

TEST(LinkController, AFallOfTwoReportsWithAQueueIsBelievedAtOnce) {
  // 10 packets per 50 ms report, then 2 per 42 ms with the gateway seeing a 100 ms queue: a
  // capacity step. One such report is a cellular link between grants; two in a row are a fall.
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  const double before = c.deliveryBps();
  const double paceBefore = c.paceBps();
  deliverAll(c, now, seq, 1, 80, 2 * 1200, 100'000);
  EXPECT_FALSE(c.showsFall());
  deliverAll(c, now, seq, 1, 80, 2 * 1200, 100'000);
  ASSERT_TRUE(c.showsFall());
  EXPECT_GT(c.deliveryBps(), 0.4 * before);  // smoothed: a quarter of the way per report
  c.believeFall(now);
  const double sample = 2 * 1200 * 8 / 0.042;
  EXPECT_NEAR(c.deliveryBps(), sample, 0.01 * sample);
  EXPECT_NEAR(c.servedBps(), sample, 0.01 * sample);
  EXPECT_LT(c.paceBps(), 0.3 * paceBefore);
  EXPECT_FALSE(c.showsFall());  // taken: the next fall needs its own reports
}

TEST(LinkController, ADipBetweenGrantsOrALinkGivenLittleIsNoFall) {
  uint64_t now = kMs, seq = 0;
  LinkController c = liveLink(now, seq);
  // One report under half the rate with a queue, then the grant's burst: the streak ends.
  deliverAll(c, now, seq, 1, 80, 2 * 1200, 100'000);
  deliverAll(c, now, seq, 1, 80, 18 * 1200, 100'000);
  deliverAll(c, now, seq, 1, 80, 2 * 1200, 100'000);
  EXPECT_FALSE(c.showsFall());
  // Given little, it delivers little with no queue: the sender's choice, not the link's.
  deliverAll(c, now, seq, 5, 80, 2 * 1200, 0);
  EXPECT_FALSE(c.showsFall());
  // Off: never.
  LinkControllerConfig off;
  off.fallReports = 0;
  LinkController d(off);
  d.markProven(now);
  deliverAll(d, now, seq, 30, 80);
  deliverAll(d, now, seq, 5, 80, 2 * 1200, 100'000);
  EXPECT_FALSE(d.showsFall());
}

// Sends, with nothing reported, until the in-flight cap stops the link; returns what it took
// over its served rate × (80 ms path + a report interval + the 25 ms queue target).
double inflightCapInRoundTrips(LinkController& c, uint64_t& now, uint64_t& seq) {
  double taken = 0;
  for (int i = 0; i < 10'000; ++i) {
    uint64_t wait = c.waitNs(now, 1200);
    if (wait == 0) {
      c.onSent(now, 1200, ++seq);
      taken += 1200;
    } else {
      now += wait + 1000;
      if (c.waitNs(now, 1200) > 0 && c.inflightBytes() > 8 * 1500.0) break;  // the cap
    }
  }
  return taken / (c.servedBps() / 8 * (0.080 + 0.050 + 0.025));
}

TEST(LinkController, TheInflightCapIsTwiceTheRoundTripAtTheRateInABond) {
  // What one stalled round trip can strand: a bond's link holds up to twice its rate over
  // the path, a report interval and the queue target (so its share can grow); the link
  // test's, once.
  auto capped = [](double gain) {
    LinkControllerConfig config;
    config.inflightCapGain = gain;
    LinkController c(config);
    uint64_t now = kMs, seq = 0;
    c.markProven(now);
    deliverAll(c, now, seq, 30, 80);
    return inflightCapInRoundTrips(c, now, seq);
  };
  EXPECT_NEAR(capped(1), 1.0, 0.1);
  EXPECT_NEAR(capped(2), 2.0, 0.2);
}

TEST(LinkController, WhileTheSenderShedsALinkIsNotPushedPastItsRate) {
  // Media waiting at the sender pushes a bond's link: its pacer lets out more than its pace
  // and it may hold twice its round trip at its rate. Once the sender sheds, the bond is short
  // of the stream by evidence: a link's queue can no longer be shed, so the pacer lets out the
  // pace and the link holds its round trip once.
  struct Pushed {
    double pacerOverPace, capOverRoundTrip;
  };
  auto run = [](bool shedding) {
    uint64_t now = kMs, seq = 0;
    LinkController c = liveLink(now, seq);
    c.setBacklogged(true);
    c.setShedding(shedding);
    deliverAll(c, now, seq, 2, 80);
    return Pushed{c.pacerBps() / c.paceBps(), inflightCapInRoundTrips(c, now, seq)};
  };
  const Pushed waiting = run(false);
  EXPECT_GT(waiting.pacerOverPace, 1.5);
  EXPECT_NEAR(waiting.capOverRoundTrip, 2.0, 0.2);
  const Pushed shedding = run(true);
  EXPECT_DOUBLE_EQ(shedding.pacerOverPace, 1.0);
  EXPECT_NEAR(shedding.capOverRoundTrip, 1.0, 0.1);
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

// A saturated sender over a simulated 3 Mbit/s bottleneck (FIFO, 40 ms each way) with the
// gateway's reports every 50 ms: what the delay-based controller must do in virtual time.
struct SimulatedLink {
  struct Packet {
    uint64_t seq, sentNs, arrivalNs, bytes;
    double queueUs;
  };
  double rateBps = 3e6;
  uint64_t oneWayNs = 40 * kMs;
  uint64_t lastDepartureNs = 0;
  std::vector<Packet> inFlight;  // not yet reported, in order
  uint64_t deliveredBytes = 0;
  std::vector<double> queueUs;  // per delivered packet

  void send(uint64_t nowNs, uint64_t seq, uint64_t bytes) {
    auto serviceNs = static_cast<uint64_t>(static_cast<double>(bytes) * 8 / rateBps * 1e9);
    uint64_t departure = std::max(nowNs, lastDepartureNs) + serviceNs;
    lastDepartureNs = departure;
    double queue = static_cast<double>(departure - serviceNs - nowNs) / 1000;
    inFlight.push_back({seq, nowNs, departure + oneWayNs, bytes, queue});
  }
  // The report the gateway sends at `gatewayNs` about what arrived since the last one.
  proto::LinkReport report(uint64_t gatewayNs, uint64_t& echoSentNs, uint64_t& holdNs) {
    proto::LinkReport r{};
    size_t n = 0;
    double maxQueue = 0;
    while (n < inFlight.size() && inFlight[n].arrivalNs <= gatewayNs) {
      const Packet& p = inFlight[n++];
      r.highestLinkSeq = p.seq;
      ++r.packetsReceived;
      r.bytesReceived += p.bytes;
      r.queueDelayUs = static_cast<uint64_t>(p.queueUs);
      maxQueue = std::max(maxQueue, p.queueUs);
      echoSentNs = p.sentNs;
      holdNs = gatewayNs - p.arrivalNs;
      deliveredBytes += p.bytes;
      queueUs.push_back(p.queueUs);
    }
    r.queueDelayMaxUs = static_cast<uint64_t>(maxQueue);
    inFlight.erase(inFlight.begin(), inFlight.begin() + static_cast<ptrdiff_t>(n));
    return r;
  }
};

// What a saturated sender did over SimulatedLink for 20 s, measured over seconds 5-20.
struct SaturatedRun {
  LinkPhase phase;
  double utilization;
  std::vector<double> queuesUs;  // sorted
  double paceBps;
  uint64_t maxBytesIn10Ms;           // sent in any 10 ms window
  uint64_t maxBytesIn10MsFromStart;  // the same, startup included
};

uint64_t mostIn10Ms(const std::vector<uint64_t>& sendNs) {
  uint64_t most = 0;
  for (size_t lo = 0, hi = 0; hi < sendNs.size(); ++hi) {
    while (sendNs[lo] + 10 * kMs <= sendNs[hi]) ++lo;
    most = std::max<uint64_t>(most, (hi - lo + 1) * 1200);
  }
  return most;
}

SaturatedRun runSaturated(const LinkControllerConfig& config) {
  LinkController c(config);
  SimulatedLink link;
  uint64_t now = kMs, seq = 0;
  c.setBacklogged(true);
  c.markProven(now);
  struct Pending {
    uint64_t atNs;
    proto::LinkReport report;
    uint64_t rttUs;
  };
  std::vector<Pending> pending;
  std::vector<uint64_t> sendNs, allSendNs;
  uint64_t nextReportNs = now + 50 * kMs;
  uint64_t measuredFromNs = now + 5000 * kMs, measuredBytes = 0;
  size_t queueFrom = 0;
  for (uint64_t end = now + 20'000 * kMs; now < end; now += 100'000) {
    if (now >= nextReportNs) {
      uint64_t echo = 0, hold = 0;
      proto::LinkReport r = link.report(now, echo, hold);
      uint64_t back = now + link.oneWayNs;
      uint64_t rttUs = r.packetsReceived > 0 ? (back - echo - hold) / 1000 : 0;
      pending.push_back({back, r, rttUs});
      nextReportNs += 50 * kMs;
      if (now >= measuredFromNs && queueFrom == 0) queueFrom = link.queueUs.size();
      if (now >= measuredFromNs) measuredBytes += r.bytesReceived;
    }
    while (!pending.empty() && pending.front().atNs <= now) {
      if (pending.front().rttUs > 0) c.onRttSample(now, pending.front().rttUs);
      c.onReport(now, pending.front().report);
      pending.erase(pending.begin());
    }
    c.tick(now);
    while (c.waitNs(now, 1200) == 0) {
      c.onSent(now, 1200, ++seq);
      link.send(now, seq, 1200);
      if (now >= measuredFromNs) sendNs.push_back(now);
      allSendNs.push_back(now);
    }
  }
  SaturatedRun run{
      .phase = c.phase(),
      .utilization = static_cast<double>(measuredBytes) * 8 / 15.0 / link.rateBps,
      .queuesUs = {link.queueUs.begin() + static_cast<ptrdiff_t>(queueFrom), link.queueUs.end()},
      .paceBps = c.paceBps(),
      .maxBytesIn10Ms = mostIn10Ms(sendNs),
      .maxBytesIn10MsFromStart = mostIn10Ms(allSendNs)};
  std::sort(run.queuesUs.begin(), run.queuesUs.end());
  if (!run.queuesUs.empty()) {
    const std::vector<double>& q = run.queuesUs;
    std::printf(
        "utilization %.3f, queue p50 %.1f ms p95 %.1f ms max %.1f ms, pace %.2f Mbit/s, "
        "at most %llu B in 10 ms (%llu B from the start)\n",
        run.utilization, q[q.size() / 2] / 1000, q[q.size() * 95 / 100] / 1000, q.back() / 1000,
        run.paceBps / 1e6, static_cast<unsigned long long>(run.maxBytesIn10Ms),
        static_cast<unsigned long long>(run.maxBytesIn10MsFromStart));
  }
  return run;
}

TEST(LinkController, FillsABottleneckWithinItsInflightCapAndDrainsItPeriodically) {
  // A bond's link while media waits at the sender: its pacer lets out twice its delivery, and
  // the in-flight cap, 2 × rate × (min RTT 80 ms + 50 ms report interval + 25 ms target),
  // holds its queue to what is left of that beyond the path, ~230 ms. (The delay-based pace
  // alone held it under 50 ms, and a bond below the stream; the link test, below, keeps it.)
  SaturatedRun run = runSaturated({});
  EXPECT_EQ(run.phase, LinkPhase::kLive);
  // Over seconds 5-20: at least 90 % of the capacity, and a queue within the cap.
  EXPECT_GE(run.utilization, 0.90);
  ASSERT_FALSE(run.queuesUs.empty());
  EXPECT_LE(run.queuesUs[run.queuesUs.size() * 95 / 100], 250'000.0);
  EXPECT_LE(run.paceBps, 1.5 * 3e6);  // not far above what the link delivers
  // The periodic drain empties the queue now and then, so the gateway's minimum transit
  // stays the path's.
  EXPECT_LT(run.queuesUs.front(), 2'000.0);
}

// The link test's pacer (one-packet bucket, probing up to 1.25 × delivery): the link test's
// own bound on what reaches the bottleneck, rate × 10 ms + 2 packets in any 10 ms window,
// holds while it still fills the link. (The real link test broke it once in many runs at
// 1.5 × delivery, pacing near 4.3 Mbit/s on a 3 Mbit/s link; this simulation's delivery
// estimate is exact and does not overshoot that far, so it guards the bound, not that case.)
TEST(LinkController, ASaturatedLinkOnItsOwnIsPacedWithoutBursts) {
  SaturatedRun run = runSaturated(LinkControllerConfig::linkTest());
  EXPECT_EQ(run.phase, LinkPhase::kLive);
  EXPECT_GE(run.utilization, 0.90);
  ASSERT_FALSE(run.queuesUs.empty());
  EXPECT_LE(run.queuesUs[run.queuesUs.size() * 95 / 100], 50'000.0);
  EXPECT_LE(run.maxBytesIn10Ms, 3e6 / 8 * 0.010 + 2 * 1228);
}

// The pace in startup (warm, the queue never built), right after a report, as a multiple of
// the smoothed delivery: a link delivering all it is sent at 80 ms.
double startupPaceOverDelivery(const LinkControllerConfig& config) {
  uint64_t now = kMs, seq = 0;
  LinkController c(config);
  c.markProven(now);
  c.setBacklogged(true);
  deliverAll(c, now, seq, 30, 80);
  EXPECT_EQ(c.phase(), LinkPhase::kLive);
  return c.paceBps() / c.deliveryBps();
}

// In startup the pace may reach twice the delivery, so that a bond's link finds its rate
// within a few reports. On a link saturated on its own, whose queue the in-flight cap kept
// short so that startup lasted, that let each report's worth of packets out at twice the
// link's rate: the real link test, about one run in four, sent 6-7 packets in 10 ms at
// 1.3-1.8 s on a 3 Mbit/s link (its bound: 5.05). The link test's startup keeps to its 1.25.
// (This simulation's startup ends at its first queue and does not reach that mode; it checks
// the bound from the first packet on.)
TEST(LinkController, ASaturatedLinkOnItsOwnStartsWithoutBursts) {
  const LinkControllerConfig linkTest = LinkControllerConfig::linkTest();
  SaturatedRun run = runSaturated(linkTest);
  EXPECT_LE(run.maxBytesIn10MsFromStart, 3e6 / 8 * 0.010 + 2 * 1228);
  EXPECT_GE(run.utilization, 0.90);
  EXPECT_LE(startupPaceOverDelivery(linkTest), 1.26);
  LinkControllerConfig bond;
  EXPECT_GE(startupPaceOverDelivery(bond), 1.9);
}

}  // namespace
}  // namespace braid::edge
