#include "dataplane/gateway/arena_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace braid::dp {
namespace {

constexpr size_t kArenaBytes = 1 << 20;

// The pool's thread works on its own time: waits (with a wide limit) until `done` holds.
template <typename F>
bool eventually(F done) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(ArenaPool, RefusesAZeroSizeOrNoWorkers) {
  EXPECT_FALSE(ArenaPool::start(0, 1));
  EXPECT_FALSE(ArenaPool::start(kArenaBytes, 0));
  EXPECT_FALSE(ArenaPool::start(kArenaBytes, 1, 0));
}

TEST(ArenaPool, KeepsEachWorkerItsReadyArenasAndRefillsWhatIsTaken) {
  auto pool = ArenaPool::start(kArenaBytes, 2, 3);
  ASSERT_TRUE(pool);
  ArenaPool& p = **pool;
  ASSERT_TRUE(eventually([&] { return p.ready(0) == 3 && p.ready(1) == 3; }));
  PayloadArena a = p.take(0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.get_deleter().bytes, kArenaBytes);
  a[0] = 1;  // writable
  a[kArenaBytes - 1] = 2;
  PayloadArena b = p.take(0);
  PayloadArena c = p.take(0);
  ASSERT_TRUE(b && c);
  EXPECT_NE(a.get(), b.get());
  EXPECT_TRUE(eventually([&] { return p.ready(0) == 3; }));
  EXPECT_EQ(p.ready(1), 3u);  // the other worker's share is its own
  EXPECT_EQ(p.mapped(), 9u);
}

TEST(ArenaPool, ReusesAGivenArenaWhileAWorkerLacksOneAndUnmapsTheRest) {
  auto pool = ArenaPool::start(kArenaBytes, 1, 2);
  ASSERT_TRUE(pool);
  ArenaPool& p = **pool;
  ASSERT_TRUE(eventually([&] { return p.ready(0) == 2; }));
  PayloadArena a = p.take(0);
  uint8_t* reused = a.get();
  p.give(0, std::move(a));  // the pool refills its share with it, no new map
  // Unless the pool's thread mapped a replacement before the give reached it (a CI run under
  // TSan did): then the share is one over and the surplus is unmapped. Either way the share is
  // whole again, with at most one arena mapped for it.
  ASSERT_TRUE(eventually([&] { return p.ready(0) == 2 && p.mapped() - p.unmapped() == 2; }));
  const uint64_t mappedFirst = p.mapped();
  ASSERT_LE(mappedFirst, 3u);
  const bool refilledBeforeTheGive = mappedFirst == 3;
  PayloadArena first = p.take(0);
  PayloadArena second = p.take(0);
  if (!refilledBeforeTheGive) {
    EXPECT_TRUE(first.get() == reused || second.get() == reused);
  }
  ASSERT_TRUE(eventually([&] { return p.ready(0) == 2; }));
  EXPECT_EQ(p.mapped(), mappedFirst + 2);
  const uint64_t unmappedBefore = p.unmapped();
  p.give(0, std::move(first));  // the share is full: unmapped by the pool's thread
  p.give(0, std::move(second));
  EXPECT_TRUE(eventually([&] { return p.unmapped() == unmappedBefore + 2; }));
  EXPECT_EQ(p.ready(0), 2u);
}

TEST(ArenaPool, TakesBackAFleetsArenasAtOnceAndUnmapsThemOffTheWorker) {
  // 64 sessions end in one pass (their edges restarted together): every arena goes back to the
  // pool's thread, none is unmapped on the worker that gives it.
  constexpr size_t kEnded = 64;
  auto pool = ArenaPool::start(kArenaBytes, 1, 1);
  ASSERT_TRUE(pool);
  ArenaPool& p = **pool;
  std::vector<PayloadArena> ended;
  for (size_t i = 0; i < kEnded; ++i) ended.push_back(mapPayloadArena(kArenaBytes));
  const uint64_t unmappedBefore = p.unmapped();
  for (auto& arena : ended) p.give(0, std::move(arena));
  // Given back through the ring, each is unmapped by the pool's thread and counted there (one
  // may refill the share instead); one unmapped on this thread would never be counted.
  EXPECT_TRUE(eventually([&] { return p.unmapped() - unmappedBefore >= kEnded - 1; }))
      << "unmapped by the pool's thread: " << p.unmapped() - unmappedBefore;
  EXPECT_TRUE(eventually([&] { return p.ready(0) == 1; }));
}

TEST(ArenaPool, IgnoresANullArenaAndUnmapsOneOfAnotherSizeInPlace) {
  auto pool = ArenaPool::start(kArenaBytes, 1, 1);
  ASSERT_TRUE(pool);
  ArenaPool& p = **pool;
  p.give(0, PayloadArena{});
  p.give(0, mapPayloadArena(kArenaBytes / 2));
  ASSERT_TRUE(eventually([&] { return p.ready(0) == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(p.unmapped(), 0u);
  EXPECT_EQ(p.mapped(), 1u);
}

TEST(ArenaPool, AJitterBufferPlaysFromAGivenArenaAndGivesItBack) {
  JitterBufferConfig config{.capacity = 64, .maxPayload = 1024, .targetLatencyNs = 0};
  PayloadArena arena = mapPayloadArena(JitterBuffer::storageBytes(config));
  uint8_t* base = arena.get();
  auto buffer = JitterBuffer::create(config, std::move(arena));
  ASSERT_TRUE(buffer);
  auto slot = (*buffer)->freeSlotFor(5, 10);
  ASSERT_EQ(slot.size(), 10u);
  EXPECT_GE(slot.data(), base);
  EXPECT_LT(slot.data(), base + JitterBuffer::storageBytes(config));
  PayloadArena back = (*buffer)->releaseArena();
  EXPECT_EQ(back.get(), base);
  // One of another size is not used: the buffer maps its own.
  auto other = JitterBuffer::create(config, mapPayloadArena(4096));
  ASSERT_TRUE(other);
  EXPECT_EQ((*other)->releaseArena().get_deleter().bytes, JitterBuffer::storageBytes(config));
}

}  // namespace
}  // namespace braid::dp
