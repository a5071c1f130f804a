// The link model in virtual time: no sockets, no clock; arrival times are chosen by the test.

#include "linkem/link_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

namespace braid::linkem {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kS = 1'000'000'000;
constexpr uint32_t kPayload = 1200;
constexpr uint32_t kWire = kPayload + 28;

std::string tracesDir() {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/tests/data/traces";
}

DirectionModelConfig constantRate(uint64_t bitsPerSecond) {
  return {.rateBitsPerSecond = bitsPerSecond, .queuePackets = 0};
}

// Offers a packet every `gapNs` from 0 to `untilNs`; returns the verdicts.
std::vector<Verdict> offerEvery(DirectionModel& model, uint64_t gapNs, uint64_t untilNs,
                                uint32_t size = kPayload) {
  std::vector<Verdict> out;
  for (uint64_t t = 0; t < untilNs; t += gapNs) out.push_back(model.offer(t, size));
  return out;
}

TEST(LinkModel, SaturatedTraceDeliversExactlyItsCapacity) {
  auto trace = loadTrace(tracesDir() + "/TMobile-LTE-short.up");
  ASSERT_TRUE(trace) << trace.error().context;
  for (uint64_t offsetMs : {0, 12345}) {
    DirectionModel model({.trace = &*trace, .traceOffsetMs = offsetMs, .queuePackets = 0}, {}, 1,
                         0);
    // 1228-byte packets every 100 µs (98 Mbit/s) keep the queue full for the whole 20 s.
    auto verdicts = offerEvery(model, 100'000, 20 * kS);
    for (uint64_t windowEnd : {5 * kS, 20 * kS}) {
      uint64_t departedBytes = 0;
      for (const Verdict& v : verdicts) {
        if (v.drop == Drop::kNone && v.departureNs < windowEnd) departedBytes += kWire;
      }
      uint64_t capacity = trace->opportunitiesBetween(offsetMs, offsetMs + windowEnd / kMs) *
                          kTraceOpportunityBytes;
      // Equal but for the packet that is part-way through the window's last opportunities.
      EXPECT_LE(departedBytes, capacity) << offsetMs;
      EXPECT_GT(departedBytes + kWire, capacity) << offsetMs;
    }
  }
}

TEST(LinkModel, TraceOpportunitiesAreLostWhenTheQueueIsEmpty) {
  // One opportunity every ms.
  std::string text;
  for (int ms = 1; ms <= 1000; ++ms) text += std::to_string(ms) + "\n";
  auto trace = parseTrace(text, "every-ms");
  ASSERT_TRUE(trace);
  DirectionModel model({.trace = &*trace, .overheadBytes = 0, .queuePackets = 0}, {}, 1, 0);
  // A lone small packet leaves at the first opportunity at or after its arrival.
  EXPECT_EQ(model.offer(10 * kMs + 300'000, 100).departureNs, 11 * kMs);
  // The rest of that opportunity serves a packet queued behind it in the same millisecond...
  EXPECT_EQ(model.offer(10 * kMs + 400'000, 1400).departureNs, 11 * kMs);
  // ...but is lost once the queue ran empty: a later packet waits for a fresh one.
  EXPECT_EQ(model.offer(20 * kMs + 1, 100).departureNs, 21 * kMs);
  // A 4000-byte packet spans three opportunities and leaves at the third.
  EXPECT_EQ(model.offer(30 * kMs, 4000).departureNs, 32 * kMs);
  // The 500 bytes left of the opportunity at 32 ms serve the next queued packet.
  EXPECT_EQ(model.offer(31 * kMs, 500).departureNs, 32 * kMs);
  EXPECT_EQ(model.offer(31 * kMs, 1).departureNs, 33 * kMs);
}

TEST(LinkModel, TraceScaleAndOffset) {
  auto trace = parseTrace("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "t");
  ASSERT_TRUE(trace);
  DirectionModel half({.trace = &*trace, .traceScale = 0.5, .overheadBytes = 0}, {}, 1, 0);
  EXPECT_EQ(half.offer(0, 1500).departureNs, 2 * kMs);  // two 750-byte opportunities
  DirectionModel shifted({.trace = &*trace, .traceOffsetMs = 4, .overheadBytes = 0}, {}, 1, 0);
  EXPECT_EQ(shifted.offer(0, 100).departureNs, 0u);       // trace ms 4 is model time 0
  EXPECT_EQ(shifted.offer(1, 100).departureNs, 1 * kMs);  // and trace ms 5 is 1 ms
}

TEST(LinkModel, DropTailAtTheConfiguredSize) {
  DirectionModel packets({.rateBitsPerSecond = 1'000'000, .queuePackets = 10}, {}, 1, 0);
  int accepted = 0, full = 0;
  for (int i = 0; i < 25; ++i) {
    Verdict v = packets.offer(0, kPayload);
    (v.drop == Drop::kNone ? accepted : full) += 1;
    if (v.drop != Drop::kNone) {
      EXPECT_EQ(v.drop, Drop::kQueueFull);
    }
  }
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(full, 15);
  EXPECT_EQ(packets.queuedPackets(0), 10u);
  // Once one packet has left (9.824 ms at 1 Mbit/s) there is room for exactly one more.
  EXPECT_EQ(packets.offer(10 * kMs, kPayload).drop, Drop::kNone);
  EXPECT_EQ(packets.offer(10 * kMs, kPayload).drop, Drop::kQueueFull);

  DirectionModel bytes({.rateBitsPerSecond = 1'000'000, .queueBytes = 5000, .queuePackets = 0}, {},
                       1, 0);
  accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += bytes.offer(0, kPayload).drop == Drop::kNone;
  EXPECT_EQ(accepted, 4);  // 4 × 1228 = 4912 ≤ 5000 < 5 × 1228
  EXPECT_EQ(bytes.queuedBytes(0), 4u * kWire);
}

TEST(LinkModel, QueueingDelayIsBacklogOverRate) {
  constexpr uint64_t kRate = 3'000'000;
  DirectionModel model(constantRate(kRate), {}, 1, 0);
  double serviceNs = kWire * 8.0 / kRate * 1e9;
  for (int k = 0; k < 50; ++k) {
    Verdict v = model.offer(0, kPayload);
    EXPECT_NEAR(static_cast<double>(v.departureNs), (k + 1) * serviceNs, 1) << k;
  }
  // A packet arriving at 40 ms finds the backlog left of the 50 (61.4 KB) and waits it out.
  uint64_t arrival = 40 * kMs;
  uint64_t backlog = model.queuedBytes(arrival);
  Verdict v = model.offer(arrival, kPayload);
  double expected = static_cast<double>(backlog + kWire) * 8 / kRate * 1e9;
  // Up to one service time: the packet in service counts whole in the backlog.
  EXPECT_LE(static_cast<double>(v.departureNs - arrival), expected + 1);
  EXPECT_GE(static_cast<double>(v.departureNs - arrival), expected - serviceNs);
  // With delay, delivery = departure + delay.
  DirectionModel delayed({.rateBitsPerSecond = kRate, .delayNs = 40 * kMs}, {}, 1, 0);
  Verdict d = delayed.offer(kMs, kPayload);
  EXPECT_EQ(d.deliveryNs, d.departureNs + 40 * kMs);
}

// Long-run loss rate and mean loss-burst length over 10^5 packets.
void expectLossStatistics(const DirectionModelConfig& config, double rate, double burst) {
  DirectionModel model(config, {}, 42, 3);
  int lost = 0, bursts = 0;
  bool previousLost = false;
  constexpr int kPackets = 100'000;
  for (int i = 0; i < kPackets; ++i) {
    bool isLost = model.offer(static_cast<uint64_t>(i) * kMs, kPayload).drop != Drop::kNone;
    lost += isLost;
    bursts += isLost && !previousLost;
    previousLost = isLost;
  }
  double measuredRate = static_cast<double>(lost) / kPackets;
  EXPECT_NEAR(measuredRate, rate, rate * 0.1);
  if (burst > 0) {
    EXPECT_NEAR(static_cast<double>(lost) / bursts, burst, burst * 0.1);
  }
}

TEST(LinkModel, GilbertElliottLossRateAndBurstLength) {
  // Gilbert: lose everything in the bad state; loss = p/(p+r), mean burst = 1/r.
  expectLossStatistics({.geP = 0.05, .geR = 0.3, .geLossGood = 0, .geLossBad = 1}, 0.05 / 0.35,
                       1 / 0.3);
  // The bursty cellular profile of the Tambur paper: loss = (r·lg + p·lb)/(p + r).
  double p = 0.068, r = 0.852, lg = 0.04, lb = 0.5;
  expectLossStatistics({.geP = p, .geR = r, .geLossGood = lg, .geLossBad = lb},
                       (r * lg + p * lb) / (p + r), 0);
  // Bernoulli: mean burst 1/(1-q).
  expectLossStatistics({.loss = 0.02}, 0.02, 1 / 0.98);
}

TEST(LinkModel, GilbertElliottLossesAreCountedAsBurstLoss) {
  DirectionModel model({.geP = 1, .geR = 0.0001, .geLossGood = 0, .geLossBad = 1}, {}, 1, 0);
  EXPECT_EQ(model.offer(0, 100).drop, Drop::kBurstLoss);
  DirectionModel bernoulli({.loss = 1}, {}, 1, 0);
  EXPECT_EQ(bernoulli.offer(0, 100).drop, Drop::kLoss);
}

TEST(LinkModel, FifoJitterNeverReorders) {
  for (Jitter kind : {Jitter::kUniform, Jitter::kExponential, Jitter::kNormal}) {
    DirectionModel model({.delayNs = 40 * kMs, .jitterNs = 30 * kMs, .jitter = kind}, {}, 9, 0);
    uint64_t last = 0;
    uint64_t spread = 0;
    for (uint64_t t = 0; t < 10 * kS; t += kMs / 2) {
      Verdict v = model.offer(t, kPayload);
      ASSERT_EQ(v.drop, Drop::kNone);
      EXPECT_GE(v.deliveryNs, last) << "reordered at t=" << t;
      EXPECT_GE(v.deliveryNs, t + 40 * kMs);
      spread = std::max(spread, v.deliveryNs - t - 40 * kMs);
      last = v.deliveryNs;
    }
    EXPECT_GT(spread, 10 * kMs);  // the jitter is there
  }
}

TEST(LinkModel, ReorderingOnlyWhenConfigured) {
  DirectionModel model({.delayNs = 10 * kMs, .reorder = 0.1, .reorderNs = 5 * kMs}, {}, 3, 0);
  int overtaken = 0;
  uint64_t lastDelivery = 0;
  for (uint64_t t = 0; t < kS; t += kMs) {
    Verdict v = model.offer(t, kPayload);
    overtaken += v.deliveryNs < lastDelivery;
    lastDelivery = v.deliveryNs;
  }
  EXPECT_GT(overtaken, 50);
  EXPECT_LT(overtaken, 150);
}

TEST(LinkModel, SameSeedSameRecordsOtherSeedOthers) {
  DirectionModelConfig config{.rateBitsPerSecond = 2'000'000,
                              .delayNs = 30 * kMs,
                              .jitterNs = 5 * kMs,
                              .loss = 0.01,
                              .geP = 0.01,
                              .geR = 0.5,
                              .queuePackets = 50,
                              .reorder = 0.01,
                              .reorderNs = 3 * kMs};
  std::vector<ModelEvent> events{{.kind = EventKind::kOutage, .atNs = kS, .durationNs = kS / 2}};
  auto run = [&](uint64_t seed) {
    DirectionModel model(config, events, seed, 1);
    std::vector<std::tuple<Drop, uint64_t, uint64_t>> out;
    for (uint64_t t = 0; t < 5 * kS; t += 4 * kMs) {
      Verdict v = model.offer(t, kPayload);
      out.emplace_back(v.drop, v.departureNs, v.deliveryNs);
    }
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(LinkModel, OutageKeepsTheQueueAndDeathEmptiesIt) {
  std::vector<ModelEvent> outage{{.kind = EventKind::kOutage, .atNs = kS, .durationNs = kS}};
  DirectionModel model(constantRate(10'000'000), outage, 1, 0);
  // A packet in service when the outage starts is held until it ends (~1 ms at 10 Mbit/s).
  Verdict straddling = model.offer(kS - 500'000, kPayload);
  EXPECT_NEAR(static_cast<double>(straddling.departureNs), 2 * kS + 482'400, 1);
  Verdict during = model.offer(kS + kS / 2, kPayload);
  ASSERT_EQ(during.drop, Drop::kNone);
  EXPECT_GE(during.departureNs, 2 * kS);
  EXPECT_LT(during.departureNs, 2 * kS + 2 * kMs);

  std::vector<ModelEvent> death{{.kind = EventKind::kDeath, .atNs = kS, .durationNs = kS}};
  DirectionModel dying(constantRate(1'000'000), death, 1, 0);
  // Queued at 0.95 s behind ~10 ms of backlog: still queued at 1 s, so it dies with the link.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(dying.offer(kS - 50 * kMs, kPayload).drop, Drop::kNone);
  EXPECT_EQ(dying.offer(kS - 45 * kMs, kPayload).drop, Drop::kDead);
  EXPECT_EQ(dying.offer(kS + 10 * kMs, kPayload).drop, Drop::kDead);
  EXPECT_TRUE(dying.deadAt(kS + kS / 2));
  // Back after 2 s, with an empty queue.
  Verdict back = dying.offer(2 * kS, kPayload);
  EXPECT_EQ(back.drop, Drop::kNone);
  EXPECT_NEAR(static_cast<double>(back.departureNs - 2 * kS), kWire * 8.0 / 1e6 * 1e9, 1);
}

TEST(LinkModel, OutageLosesTraceOpportunities) {
  std::string text;
  for (int ms = 1; ms <= 1000; ++ms) text += std::to_string(ms) + "\n";
  auto trace = parseTrace(text, "every-ms");
  ASSERT_TRUE(trace);
  std::vector<ModelEvent> outage{
      {.kind = EventKind::kOutage, .atNs = 5 * kMs, .durationNs = 10 * kMs}};
  DirectionModel model({.trace = &*trace, .overheadBytes = 0}, outage, 1, 0);
  EXPECT_EQ(model.offer(4 * kMs + 1, 100).departureNs, 15 * kMs);
}

TEST(LinkModel, RateStepsAndDelayEvents) {
  std::vector<ModelEvent> events{
      {.kind = EventKind::kRateStep, .atNs = kS, .rateBitsPerSecond = 500'000},
      {.kind = EventKind::kDelayStep, .atNs = 2 * kS, .delayNs = 100 * kMs},
      {.kind = EventKind::kDelaySwing,
       .atNs = 3 * kS,
       .durationNs = 4 * kS,
       .delayNs = 100 * kMs,
       .delayMaxNs = 1200 * kMs,
       .periodNs = 2 * kS},
  };
  DirectionModel model({.rateBitsPerSecond = 1'000'000, .delayNs = 40 * kMs}, events, 1, 0);
  EXPECT_NEAR(static_cast<double>(model.offer(0, kPayload).departureNs), kWire * 8.0 / 1e6 * 1e9,
              1);
  Verdict slower = model.offer(kS + kMs, kPayload);
  EXPECT_NEAR(static_cast<double>(slower.departureNs - kS - kMs), kWire * 8.0 / 5e5 * 1e9, 1);
  EXPECT_EQ(model.delayAt(kS), 40 * kMs);
  EXPECT_EQ(model.delayAt(2 * kS), 100 * kMs);
  EXPECT_EQ(model.delayAt(3 * kS), 100 * kMs);   // the swing starts at its low point
  EXPECT_EQ(model.delayAt(4 * kS), 1200 * kMs);  // half a period later, its high point
  EXPECT_EQ(model.delayAt(5 * kS), 100 * kMs);
  EXPECT_EQ(model.delayAt(7 * kS + 1), 100 * kMs);  // over: back to the stepped delay
}

TEST(LinkModel, HandoverIsOutageDelayStepAndReorderBurst) {
  std::vector<ModelEvent> events{{.kind = EventKind::kHandover,
                                  .atNs = kS,
                                  .durationNs = 200 * kMs,
                                  .delayNs = 80 * kMs,
                                  .reorder = 0.5,
                                  .reorderNs = 20 * kMs,
                                  .reorderWindowNs = kS}};
  DirectionModel model({.delayNs = 40 * kMs}, events, 1, 0);
  EXPECT_EQ(model.offer(kS + 100 * kMs, kPayload).departureNs, kS + 200 * kMs);
  int overtaken = 0;
  uint64_t last = 0;
  for (uint64_t t = kS + 300 * kMs; t < kS + 1100 * kMs; t += kMs) {
    Verdict v = model.offer(t, kPayload);
    overtaken += v.deliveryNs < last;
    last = v.deliveryNs;
  }
  EXPECT_GT(overtaken, 100);
  EXPECT_EQ(model.delayAt(3 * kS), 80 * kMs);
  last = 0;
  for (uint64_t t = 3 * kS; t < 4 * kS; t += kMs) {  // the burst is over
    Verdict v = model.offer(t, kPayload);
    EXPECT_GE(v.deliveryNs, last);
    last = v.deliveryNs;
  }
}

TEST(LinkModel, MinimumSizeFilter) {
  DirectionModel model({.minSize = 32}, {}, 1, 0);
  EXPECT_EQ(model.offer(0, 31).drop, Drop::kMinSize);
  EXPECT_EQ(model.offer(0, 32).drop, Drop::kNone);
}

}  // namespace
}  // namespace braid::linkem
