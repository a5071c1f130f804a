#include "dataplane/gateway/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace braid::dp {
namespace {

constexpr uint64_t kMs = 1'000'000;

std::vector<uint64_t> expireAt(TimerWheel& wheel, uint64_t nowNs) {
  std::vector<uint64_t> fired;
  wheel.expire(nowNs, [&](uint64_t key) { fired.push_back(key); });
  return fired;
}

TEST(TimerWheel, FiresInDeadlineOrderNeverEarlyAtMostOneTickLate) {
  TimerWheel wheel(1000 * kMs);
  TimerWheel::Node a, b, c;
  a.key = 1;
  b.key = 2;
  c.key = 3;
  wheel.schedule(a, 1005 * kMs + 300'000);  // 1005.3 ms: its tick is 1006
  wheel.schedule(b, 1002 * kMs);
  wheel.schedule(c, 1200 * kMs);
  EXPECT_EQ(wheel.size(), 3u);
  EXPECT_TRUE(expireAt(wheel, 1001 * kMs).empty());
  EXPECT_EQ(expireAt(wheel, 1002 * kMs), std::vector<uint64_t>{2});
  EXPECT_TRUE(expireAt(wheel, 1005 * kMs + 500'000).empty());  // 1005.5 < its tick
  EXPECT_EQ(expireAt(wheel, 1006 * kMs), std::vector<uint64_t>{1});
  EXPECT_EQ(wheel.nextDeadlineNs(2000 * kMs), 1200 * kMs);
  EXPECT_EQ(expireAt(wheel, 1300 * kMs), std::vector<uint64_t>{3});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, RescheduleMovesAndCancelRemoves) {
  TimerWheel wheel(0);
  TimerWheel::Node a, b;
  a.key = 1;
  b.key = 2;
  wheel.schedule(a, 50 * kMs);
  wheel.schedule(b, 60 * kMs);
  wheel.schedule(a, 10 * kMs);  // earlier: moved, not duplicated
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(TimerWheel::scheduledNs(a), 10 * kMs);
  wheel.cancel(b);
  wheel.cancel(b);  // twice is harmless
  EXPECT_EQ(TimerWheel::scheduledNs(b), TimerWheel::kNever);
  EXPECT_EQ(expireAt(wheel, 100 * kMs), std::vector<uint64_t>{1});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, PastDeadlinesFireNextAndFarOnesParkAtTheHorizon) {
  TimerWheel wheel(500 * kMs);
  TimerWheel::Node past, far;
  past.key = 1;
  far.key = 2;
  wheel.schedule(past, 10 * kMs);
  EXPECT_EQ(expireAt(wheel, 501 * kMs), std::vector<uint64_t>{1});
  uint64_t horizon = (501 + TimerWheel::kSlots - 1) * kMs;
  wheel.schedule(far, 3'600'000 * kMs);
  EXPECT_EQ(TimerWheel::scheduledNs(far), horizon);
  EXPECT_TRUE(expireAt(wheel, horizon - kMs).empty());
  EXPECT_EQ(expireAt(wheel, horizon), std::vector<uint64_t>{2});
}

TEST(TimerWheel, CallbackMayRescheduleTheFiredNode) {
  TimerWheel wheel(0);
  TimerWheel::Node node;
  node.key = 7;
  wheel.schedule(node, 5 * kMs);
  int fired = 0;
  // A periodic 10 ms timer over 100 ms fires 10 times, each rescheduled from its callback.
  for (uint64_t now = 0; now <= 100 * kMs; now += kMs) {
    wheel.expire(now, [&](uint64_t key) {
      EXPECT_EQ(key, 7u);
      ++fired;
      wheel.schedule(node, now + 10 * kMs);
    });
  }
  EXPECT_EQ(fired, 10);
  EXPECT_EQ(wheel.size(), 1u);
}

TEST(TimerWheel, ManyTimersAcrossAWrap) {
  TimerWheel wheel(0);
  std::vector<TimerWheel::Node> nodes(5000);
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].key = i;
    wheel.schedule(nodes[i], (1 + i % 900) * kMs);
  }
  size_t fired = 0;
  uint64_t lastKeyTick = 0;
  for (uint64_t now = 0; now <= 2000 * kMs; now += 3 * kMs) {
    wheel.expire(now, [&](uint64_t key) {
      uint64_t tick = 1 + key % 900;
      EXPECT_GE(tick, lastKeyTick);  // tick order
      EXPECT_LE(tick * kMs, now);    // never early
      lastKeyTick = tick;
      ++fired;
    });
  }
  EXPECT_EQ(fired, nodes.size());
}

}  // namespace
}  // namespace braid::dp
