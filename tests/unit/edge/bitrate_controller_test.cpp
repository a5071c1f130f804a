// The encoder bit-rate controller in virtual time, against a small model of a bond: a cut
// within one tick when the bond is overloaded, the climb back when it has room (and its
// bounded speed), the hold after a cut, no chasing of its own rate down, the limits, the
// dead band, and the overhead it divides by.

#include "edge/bitrate_controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace braid::edge {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kTickNs = 50 * kMs;

// A bond of `n` equal links in virtual time. The encoder makes exactly the target; the bond
// carries up to its capacity (each link delivers its share of the target × overhead, at most
// its capacity); what it cannot carry piles up at the sender. A link with room paces 30 %
// above what it delivers (1 Mbit/s at least, as the link controller's pre-warm floor does)
// and shows a short queue; a full one paces at what it delivers and shows `fullQueueUs`.
struct Bond {
  uint64_t nowNs = 1'000 * kMs;
  double overhead = 1.04;
  double linkCapacityBps;
  size_t n;
  double fullQueueUs = 30'000;
  double roomQueueUs = 1'000;
  uint64_t udp = 0;
  uint64_t media = 0;
  double backlogBytes = 0;
  std::vector<BondLinkSample> links;

  Bond(size_t count, double perLinkBps) : linkCapacityBps(perLinkBps), n(count), links(count) {}

  // One tick at encoder target `targetBps`.
  BondSample next(uint64_t targetBps) {
    nowNs += kTickNs;
    const double dt = static_cast<double>(kTickNs) / 1e9;
    const double offered = static_cast<double>(targetBps) * overhead + backlogBytes * 8 / dt;
    const double carried = std::min(offered, linkCapacityBps * static_cast<double>(n));
    backlogBytes = std::max(
        0.0, backlogBytes + (static_cast<double>(targetBps) * overhead - carried) / 8 * dt);
    const bool full = offered > linkCapacityBps * static_cast<double>(n) * 0.999;
    for (auto& l : links) {
      l.carriesMedia = true;
      l.deliveryBps = carried / static_cast<double>(n);
      l.paceBps = full ? l.deliveryBps : std::max(1.3 * l.deliveryBps, 1e6);
      l.queueDelayUs = full ? fullQueueUs : roomQueueUs;
    }
    auto bytes = static_cast<uint64_t>(carried / 8 * dt);
    udp += bytes;
    media += static_cast<uint64_t>(static_cast<double>(bytes) / overhead);
    return BondSample{.nowNs = nowNs,
                      .links = links,
                      .udpBytesSent = udp,
                      .mediaBytesSent = media,
                      .backlogBytes = static_cast<uint64_t>(backlogBytes / overhead)};
  }
};

BitrateControllerConfig config() {
  return BitrateControllerConfig{
      .minBps = 300'000, .maxBps = 6'000'000, .initialBps = 6'000'000, .safetyMargin = 0.8};
}

// Runs until the bond is overloaded and the target cut, then until the backlog has drained
// (within the hold that follows); returns the target then, the level of the cut.
uint64_t cutLevel(BitrateController& c, Bond& bond) {
  BitrateDecision d;
  for (int i = 0; i < 400 && !d.congested; ++i) d = c.update(bond.next(c.targetBps()));
  EXPECT_TRUE(d.congested) << "no overload in 20 s";
  for (int i = 0; i < 40 && (d.congested || bond.backlogBytes > 0); ++i) {
    d = c.update(bond.next(c.targetBps()));
  }
  EXPECT_FALSE(d.congested);
  return d.targetBps;
}

// Runs `seconds` of ticks with the encoder following the target; returns the last decision.
BitrateDecision run(BitrateController& c, Bond& bond, double seconds) {
  BitrateDecision d;
  for (int i = 0; i < static_cast<int>(std::lround(seconds * 20)); ++i) {
    d = c.update(bond.next(c.targetBps()));
  }
  return d;
}

TEST(BitrateController, StartsAtTheInitialTargetAndHoldsItWithoutMediaLinks) {
  BitrateController c(config());
  EXPECT_EQ(c.targetBps(), 6'000'000u);
  std::vector<BondLinkSample> probing(3, BondLinkSample{.carriesMedia = false, .paceBps = 1e6});
  for (int i = 1; i <= 60; ++i) {
    BitrateDecision d = c.update(BondSample{.nowNs = i * kTickNs, .links = probing});
    EXPECT_EQ(d.targetBps, 6'000'000u);
    EXPECT_FALSE(d.changed);
  }
  BitrateControllerConfig other = config();
  other.initialBps = 50'000'000;  // above the maximum: clamped
  EXPECT_EQ(BitrateController(other).targetBps(), 6'000'000u);
  other.initialBps = 0;  // none: the maximum
  EXPECT_EQ(BitrateController(other).targetBps(), 6'000'000u);
}

TEST(BitrateController, StartsFromWhatTheFirstLinksAllow) {
  // The first link is warming at its 1 Mbit/s pre-warm rate: 6 Mbit/s would pile up at the
  // sender, so the target starts at what it allows with the probe's headroom and grows.
  BitrateController c(config());
  std::vector<BondLinkSample> warm{
      BondLinkSample{.carriesMedia = true, .paceBps = 1e6, .deliveryBps = 0, .queueDelayUs = 0}};
  BitrateDecision d = c.update(BondSample{.nowNs = kTickNs, .links = warm});
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.reason, BitrateReason::kLinks);
  EXPECT_EQ(d.targetBps, 1'500'000u);
  Bond bond(3, 2.667e6);
  EXPECT_EQ(run(c, bond, 5).targetBps, 6'000'000u);
}

TEST(BitrateController, StepsDownWithinOneTickWhenTheBondIsOverloaded) {
  BitrateController c(config());
  Bond bond(3, 2.667e6);  // 8 Mbit/s carrying 6.24
  BitrateDecision d = run(c, bond, 3);
  ASSERT_EQ(d.targetBps, 6'000'000u);
  EXPECT_FALSE(d.congested);

  bond.linkCapacityBps = 2e6 / 3;  // stepped to 2 Mbit/s: queues build, media waits
  int ticks = 0;
  do {
    d = c.update(bond.next(6'000'000));  // the encoder has not reacted yet
    ++ticks;
  } while (!d.congested && ticks < 20);
  // Media waits beyond the 100 ms limit within two ticks (4.2 Mbit/s too much), and the
  // target falls in the same tick: capacity × margin ÷ overhead, less the backlog's drain.
  EXPECT_LE(ticks, 3);
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.reason, BitrateReason::kCongestion);
  EXPECT_GT(d.backlogUs, 100'000);
  EXPECT_LT(d.targetBps, 2e6 * 0.8 / 1.04);
  // Once the backlog has drained (within the hold after the last overloaded tick) the target
  // is the capacity × margin ÷ overhead.
  bond.roomQueueUs = 14'000;
  for (int i = 0; i < 20 && (bond.backlogBytes > 0 || d.congested); ++i) {
    d = c.update(bond.next(c.targetBps()));
  }
  EXPECT_LT(bond.backlogBytes, 1);
  EXPECT_FALSE(d.congested);
  EXPECT_NEAR(static_cast<double>(c.targetBps()), 2e6 * 0.8 / 1.04, 0.1e6);
}

TEST(BitrateController, ClimbsBackToTheMaximumWithinFiveSecondsOfClearRoom) {
  BitrateController c(config());
  Bond bond(3, 2e6 / 3);
  bond.roomQueueUs = 14'000;  // near capacity the queues are not short: slow probing
  BitrateDecision d = run(c, bond, 4);
  ASSERT_LT(d.targetBps, 2'200'000u);

  bond.linkCapacityBps = 2.667e6;  // capacity back: the links are short of work
  bond.roomQueueUs = 1'000;
  std::vector<double> targets(10, static_cast<double>(d.targetBps));  // the last 500 ms
  double seconds = 0;
  while (d.targetBps < 6'000'000u && seconds < 10) {
    d = c.update(bond.next(c.targetBps()));
    seconds += 0.05;
    // Never faster than +40 % per 500 ms (10 ticks back), plus the dead band the published
    // value may have lagged behind by.
    EXPECT_LE(static_cast<double>(d.targetBps), targets.front() * 1.4 * 1.03 + 1);
    targets.erase(targets.begin());
    targets.push_back(static_cast<double>(d.targetBps));
  }
  EXPECT_EQ(d.targetBps, 6'000'000u);
  EXPECT_LE(seconds, 5.0) << "the climb from 1.5 to 6 Mbit/s took " << seconds << " s";
  EXPECT_GE(seconds, 1.0) << "too fast: " << seconds << " s";
}

// Two links each delivering `perLinkBps`, pacing `paceShare` of it, with queue `queueUs`, and
// `backlogMs` of media waiting; 1.04 overhead.
struct Sampler {
  uint64_t nowNs = 1'000 * kMs;
  uint64_t udp = 0;
  uint64_t media = 0;
  std::vector<BondLinkSample> links = std::vector<BondLinkSample>(2);
  BondSample next(double perLinkBps, double paceShare, double queueUs, double backlogMs) {
    nowNs += kTickNs;
    for (auto& l : links) {
      l = BondLinkSample{.carriesMedia = true,
                         .paceBps = paceShare * perLinkBps,
                         .deliveryBps = perLinkBps,
                         .queueDelayUs = queueUs};
    }
    auto bytes = static_cast<uint64_t>(2 * perLinkBps / 8 / 20);
    udp += bytes;
    media += static_cast<uint64_t>(static_cast<double>(bytes) / 1.04);
    return BondSample{
        .nowNs = nowNs,
        .links = links,
        .udpBytesSent = udp,
        .mediaBytesSent = media,
        .backlogBytes = static_cast<uint64_t>(2 * perLinkBps / 1.04 / 8 * backlogMs / 1000)};
  }
};

TEST(BitrateController, HoldsAfterACutThenProbesSlowlyWhileQueuesAreNotShort) {
  BitrateControllerConfig cfg = config();
  cfg.initialBps = 1'900'000;
  BitrateController c(cfg);
  Sampler s;
  for (int i = 0; i < 30; ++i) c.update(s.next(1e6, 1.3, 14'000, 0));
  ASSERT_GE(c.targetBps(), 1'900'000u);
  // Overloaded for three ticks: cut to 2 × 0.8 ÷ 1.04, less the drain while media waits.
  BitrateDecision d;
  for (double backlog : {120.0, 140.0, 160.0}) {
    d = c.update(s.next(1e6, 1.0, 30'000, backlog));
    EXPECT_TRUE(d.congested);
    EXPECT_LT(d.targetBps, 1'538'462u);
  }
  // Drained, queues over half the target: the level, held for 500 ms after the last cut …
  for (int i = 0; i < 9; ++i) {
    d = c.update(s.next(1e6, 1.3, 14'000, 0));
    EXPECT_FALSE(d.congested);
    EXPECT_NEAR(static_cast<double>(d.targetBps), 2e6 * 0.8 / 1.04, 1'000) << "tick " << i;
  }
  // … and, the links allowing no more than the capacity that overload measured ÷ margin, while
  // the ceiling holds (4 s after the last overloaded tick) …
  for (int i = 9; i < 80; ++i) {
    d = c.update(s.next(1e6, 1.2, 14'000, 0));
    EXPECT_NEAR(static_cast<double>(d.targetBps), 2e6 * 0.8 / 1.04, 1'000) << "tick " << i;
  }
  // … then at most 5 % per 500 ms.
  const double from = static_cast<double>(c.targetBps());
  for (int i = 0; i < 41; ++i) d = c.update(s.next(1e6, 1.3, 14'000, 0));
  double ratio = static_cast<double>(d.targetBps) / from;
  EXPECT_LE(ratio, std::pow(1.05, 4.2) + 0.01);
  EXPECT_GT(ratio, 1.1);
}

TEST(BitrateController, StaysUnderTheCapacityAnOverloadMeasuredThenProbesAgain) {
  // Overloaded on a 2 Mbit/s bond, the target falls to the capacity × margin; there the
  // links pace above what they deliver (their 1 Mbit/s floor), and keyframes keep their
  // queues from being short: growth alone would probe 5 % per 500 ms straight back into the
  // overload. For ceilingHoldNs it stays, …
  BitrateControllerConfig cfg = config();
  ASSERT_EQ(cfg.ceilingHoldNs, 4'000'000'000u);
  BitrateController c(cfg);
  Bond bond(3, 2e6 / 3);
  bond.roomQueueUs = 14'000;
  const double cut = static_cast<double>(cutLevel(c, bond));
  EXPECT_NEAR(cut, 2e6 * 0.8 / 1.04, 0.1e6);
  BitrateDecision d;
  for (int i = 0; i < 60; ++i) {  // 3 s
    d = c.update(bond.next(c.targetBps()));
    EXPECT_FALSE(d.congested) << "tick " << i;
    EXPECT_LE(static_cast<double>(d.targetBps), 2e6 * 0.8 / 1.04 * 1.01) << "tick " << i;
  }
  // … then the growth probes the bond again.
  d = run(c, bond, 3);
  EXPECT_GT(static_cast<double>(c.targetBps()), 2e6 / 1.04 * 0.95);
}

TEST(BitrateController, TheCapacityComingBackLiftsTheCeiling) {
  // After an overload on a 2 Mbit/s bond the links have room again (8 Mbit/s): their queues
  // are short and they pace well above the measured capacity ÷ margin. The climb does not wait
  // for the hold to pass.
  BitrateController c(config());
  Bond bond(3, 2e6 / 3);
  cutLevel(c, bond);
  bond.linkCapacityBps = 2.667e6;
  double seconds = 0;
  while (c.targetBps() < 6'000'000u && seconds < 10) {
    c.update(bond.next(c.targetBps()));
    seconds += 0.05;
  }
  EXPECT_EQ(c.targetBps(), 6'000'000u);
  EXPECT_LE(seconds, 5.0) << "the climb from 1.5 to 6 Mbit/s took " << seconds << " s";
}

TEST(BitrateController, DoesNotChaseItsOwnRateDown) {
  // Links that hold their pace at what they are given and show a standing queue (a base
  // delay that rose with a slower link reads as queue for seconds) say nothing about the
  // bond's limit: with no media waiting the target stays where it is.
  BitrateControllerConfig cfg = config();
  cfg.initialBps = 1'500'000;
  BitrateController c(cfg);
  std::vector<BondLinkSample> held(3);
  uint64_t udp = 0, media = 0;
  for (int i = 1; i <= 200; ++i) {
    double perLink = static_cast<double>(c.targetBps()) * 1.05 / 3;
    for (auto& l : held) {
      l = BondLinkSample{
          .carriesMedia = true, .paceBps = perLink, .deliveryBps = perLink, .queueDelayUs = 17'000};
    }
    udp += static_cast<uint64_t>(perLink * 3 / 8 / 20);
    media += static_cast<uint64_t>(perLink * 3 / 8 / 20 / 1.05);
    // A keyframe now and then makes media wait a little (below the limit).
    uint64_t backlog = i % 30 == 0 ? static_cast<uint64_t>(perLink * 3 / 8 * 0.06) : 0;
    BitrateDecision d = c.update(BondSample{.nowNs = i * kTickNs,
                                            .links = held,
                                            .udpBytesSent = udp,
                                            .mediaBytesSent = media,
                                            .backlogBytes = backlog});
    EXPECT_FALSE(d.congested) << "tick " << i;
  }
  EXPECT_GE(c.targetBps(), 1'500'000u);
}

TEST(BitrateController, MediaWaitingBehindShortQueuesIsTheLinksRampingUp) {
  BitrateController c(config());
  Bond bond(3, 2.667e6);
  run(c, bond, 3);
  // 150 ms of media waits while every queue is short (a link's controller ramping up): not
  // an overload, but no growth either; three times the limit is too much whatever the cause.
  std::vector<BondLinkSample> ramping(
      3, BondLinkSample{
             .carriesMedia = true, .paceBps = 2.2e6, .deliveryBps = 2e6, .queueDelayUs = 2'000});
  const double mediaBps = 6e6 / 1.04;
  uint64_t t = bond.nowNs;
  auto sample = [&](double backlogSeconds) {
    t += kTickNs;
    return BondSample{.nowNs = t,
                      .links = ramping,
                      .udpBytesSent = bond.udp,
                      .mediaBytesSent = bond.media,
                      .backlogBytes = static_cast<uint64_t>(mediaBps / 8 * backlogSeconds)};
  };
  for (double s : {0.12, 0.14, 0.15, 0.16}) {
    BitrateDecision d = c.update(sample(s));
    EXPECT_FALSE(d.congested);
    EXPECT_EQ(d.targetBps, 6'000'000u);
  }
  BitrateDecision d = c.update(sample(0.35));
  EXPECT_TRUE(d.congested);
  EXPECT_LT(d.targetBps, 6'000'000u);
}

TEST(BitrateController, ALinkThatStopsCarryingMediaTakesItsShareAtOnce) {
  BitrateController c(config());
  Bond bond(3, 2.667e6);
  run(c, bond, 3);
  std::vector<BondLinkSample> links = bond.links;
  links[0].carriesMedia = false;
  links[1].carriesMedia = false;  // two of three demoted: the last allows 2.7 × 1.5 ÷ 1.04
  BitrateDecision d = c.update(BondSample{.nowNs = bond.nowNs + kTickNs,
                                          .links = links,
                                          .udpBytesSent = bond.udp,
                                          .mediaBytesSent = bond.media});
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(d.reason, BitrateReason::kLinks);
  EXPECT_NEAR(static_cast<double>(d.targetBps), links[2].paceBps * 1.5 / 1.04, 0.05e6);
}

TEST(BitrateController, ClampsToItsLimits) {
  BitrateController c(config());
  Bond bond(3, 30e6);
  EXPECT_EQ(run(c, bond, 5).targetBps, 6'000'000u);
  bond.linkCapacityBps = 50'000;  // 0.15 Mbit/s × 0.8 is below the minimum
  EXPECT_EQ(run(c, bond, 2).targetBps, 300'000u);
  bond.linkCapacityBps = 30e6;
  for (int i = 0; i < 400; ++i) EXPECT_LE(c.update(bond.next(c.targetBps())).targetBps, 6'000'000u);
  EXPECT_EQ(c.targetBps(), 6'000'000u);

  c.reconfigure(500'000, 4'000'000, 0.7);  // a reload lowers the maximum: clamped at once
  EXPECT_EQ(c.targetBps(), 4'000'000u);
  bond.linkCapacityBps = 50'000;
  EXPECT_EQ(run(c, bond, 2).targetBps, 500'000u);
}

TEST(BitrateController, MovesOnlyPastTheDeadBand) {
  BitrateController c(config());
  Bond bond(2, 1e6);
  bond.roomQueueUs = 14'000;
  run(c, bond, 3);  // cut to ~1.5 Mbit/s
  bond.linkCapacityBps = 5e6;
  run(c, bond, 1);  // past the hold: slow growth, 0.5 % a tick
  uint64_t last = c.targetBps();
  int changes = 0;
  for (int i = 0; i < 60; ++i) {
    BitrateDecision d = c.update(bond.next(c.targetBps()));
    if (!d.changed) continue;
    ++changes;
    EXPECT_GT(static_cast<double>(d.targetBps), 1.03 * static_cast<double>(last));
    last = d.targetBps;
  }
  // 3 s at 5 % per 500 ms is ~34 %: a handful of steps of at least 3 %, not 60 small ones.
  EXPECT_GE(changes, 4);
  EXPECT_LE(changes, 10);
}

TEST(BitrateController, DividesByTheOverheadOfTheLastSecond) {
  BitrateController c(config());
  Bond bond(2, 1.5e6);
  bond.roomQueueUs = 14'000;
  bond.overhead = 1.0;
  run(c, bond, 3);
  bond.overhead = 1.25;  // FEC and retransmissions now cost a quarter
  BitrateDecision d = run(c, bond, 1.05);
  EXPECT_NEAR(d.overhead, 1.25, 0.01);  // the window has forgotten the 1.0 of before
  EXPECT_NEAR(static_cast<double>(cutLevel(c, bond)), 3e6 * 0.8 / 1.25, 0.1e6);

  bond.overhead = 2;  // as much again in repair and copies
  run(c, bond, 1.1);
  EXPECT_NEAR(static_cast<double>(cutLevel(c, bond)), 3e6 * 0.8 / 2, 0.1e6);
  bond.overhead = 3;  // more is not believed: clamped to 2
  EXPECT_NEAR(run(c, bond, 1.1).overhead, 2.0, 1e-9);
  bond.overhead = 0.5;  // more media than UDP bytes cannot be: clamped to 1
  EXPECT_NEAR(run(c, bond, 1.1).overhead, 1.0, 1e-9);
}

}  // namespace
}  // namespace braid::edge
