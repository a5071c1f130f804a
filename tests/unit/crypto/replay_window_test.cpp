#include "dataplane/proto/crypto/replay_window.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace braid::proto {
namespace {

// check() then accept(), as a receiver does after authentication; returns check()'s verdict.
bool receive(ReplayWindow& window, uint64_t seq) {
  if (!window.check(seq)) return false;
  window.accept(seq);
  return true;
}

TEST(ReplayWindow, InOrder) {
  ReplayWindow window;
  for (uint64_t seq = 0; seq < 5000; ++seq) ASSERT_TRUE(receive(window, seq)) << seq;
  EXPECT_EQ(window.highest(), 4999u);
}

TEST(ReplayWindow, FirstSequenceZero) {
  ReplayWindow window;
  EXPECT_TRUE(window.check(0));
  window.accept(0);
  EXPECT_FALSE(window.check(0));
  EXPECT_EQ(window.highest(), 0u);
  EXPECT_TRUE(receive(window, 1));
}

TEST(ReplayWindow, FirstSequenceLarge) {
  ReplayWindow window;
  const uint64_t first = (uint64_t{1} << 47) + 12345;
  EXPECT_TRUE(receive(window, first));
  EXPECT_FALSE(window.check(first));
  // Everything up to the window behind the first packet is still acceptable once.
  EXPECT_TRUE(receive(window, first - 1));
  EXPECT_TRUE(receive(window, first - ReplayWindow::kSize + 1));
  EXPECT_FALSE(window.check(first - ReplayWindow::kSize));
  EXPECT_FALSE(window.check(0));
}

TEST(ReplayWindow, OutOfOrderInsideWindow) {
  ReplayWindow window;
  ASSERT_TRUE(receive(window, 1000));
  for (uint64_t seq = 999; seq > 1000 - ReplayWindow::kSize && seq > 0; seq -= 7) {
    ASSERT_TRUE(receive(window, seq)) << seq;
  }
  EXPECT_TRUE(receive(window, 1005));
  EXPECT_TRUE(receive(window, 1002));
  EXPECT_TRUE(receive(window, 1001));
  EXPECT_TRUE(receive(window, 1003));
  EXPECT_EQ(window.highest(), 1005u);
  EXPECT_TRUE(receive(window, 1004));
  EXPECT_FALSE(window.check(1004));
}

TEST(ReplayWindow, DuplicatesRejected) {
  ReplayWindow window;
  for (uint64_t seq : {10u, 12u, 11u, 3000u, 2999u}) ASSERT_TRUE(receive(window, seq));
  for (uint64_t seq : {3000u, 2999u}) EXPECT_FALSE(receive(window, seq)) << seq;
  // 10-12 fell out of the window when 3000 arrived.
  for (uint64_t seq : {10u, 11u, 12u}) EXPECT_FALSE(window.check(seq)) << seq;
  // A slot reused by the bitmap must not carry its old occupant's bit.
  EXPECT_TRUE(receive(window, 2048 + 12));
}

TEST(ReplayWindow, OlderThanWindowRejected) {
  ReplayWindow window;
  const uint64_t top = 10000;
  ASSERT_TRUE(receive(window, top));
  EXPECT_TRUE(window.check(top - (ReplayWindow::kSize - 1)));  // oldest still inside
  EXPECT_FALSE(window.check(top - ReplayWindow::kSize));
  EXPECT_FALSE(window.check(top - ReplayWindow::kSize - 1));
  EXPECT_FALSE(window.check(0));
}

TEST(ReplayWindow, AcceptOfStaleSequenceDoesNotPoisonWindow) {
  ReplayWindow window;
  const uint64_t top = 10000;
  ASSERT_TRUE(receive(window, top));
  // A caller that skips check() must not mark the in-window slot the stale sequence aliases.
  window.accept(top - ReplayWindow::kSize - 5);
  EXPECT_TRUE(window.check(top - 5));
  EXPECT_EQ(window.highest(), top);
}

TEST(ReplayWindow, HugeJumps) {
  ReplayWindow window;
  ASSERT_TRUE(receive(window, 5));
  ASSERT_TRUE(receive(window, 6));
  const uint64_t far = (uint64_t{1} << 48) - 2;  // 48-bit sequence space
  ASSERT_TRUE(receive(window, far));
  EXPECT_EQ(window.highest(), far);
  EXPECT_FALSE(window.check(5));
  EXPECT_FALSE(window.check(far));
  // Nothing of the old bitmap survives the jump.
  for (uint64_t seq = far - ReplayWindow::kSize + 1; seq < far; ++seq) {
    ASSERT_TRUE(window.check(seq)) << seq;
  }
  // Jumps of exactly the window size and just under it.
  ASSERT_TRUE(receive(window, far + 1));
  ReplayWindow exact;
  ASSERT_TRUE(receive(exact, 100));
  ASSERT_TRUE(receive(exact, 100 + ReplayWindow::kSize));
  EXPECT_FALSE(exact.check(100));
  EXPECT_TRUE(exact.check(101));
  ReplayWindow under;
  ASSERT_TRUE(receive(under, 100));
  ASSERT_TRUE(receive(under, 100 + ReplayWindow::kSize - 1));
  EXPECT_FALSE(under.check(100));  // still inside, already seen
  EXPECT_TRUE(under.check(101));
}

TEST(ReplayWindow, CheckDoesNotMutate) {
  ReplayWindow window;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(window.check(42));
  EXPECT_EQ(window.highest(), 0u);
  window.accept(100);
  for (uint64_t seq : {100u, 99u, 150u, 5000u, 0u}) {
    const bool first = window.check(seq);
    EXPECT_EQ(window.check(seq), first) << seq;
  }
  EXPECT_EQ(window.highest(), 100u);
  EXPECT_TRUE(window.check(99));
  EXPECT_TRUE(window.check(150));
}

}  // namespace
}  // namespace braid::proto
