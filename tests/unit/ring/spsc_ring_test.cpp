#include "dataplane/ring/spsc_ring.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace braid::dp {
namespace {

TEST(SpscRing, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(1).capacity(), 2u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(9).capacity(), 16u);
  EXPECT_EQ(SpscRing<int>(1000).capacity(), 1024u);
}

TEST(SpscRing, FifoOrderAndFullEmpty) {
  SpscRing<int> ring(4);
  int out = -1;
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(ring.tryPop(out));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.tryPush(i));
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_FALSE(ring.tryPush(99));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.tryPop(out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(ring.tryPop(out));
  EXPECT_EQ(out, 3);
  EXPECT_TRUE(ring.empty());
}

TEST(SpscRing, WrapsAroundManyTimes) {
  SpscRing<uint64_t> ring(8);
  uint64_t next = 0;
  uint64_t expected = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ring.tryPush(next++));
    uint64_t out = 0;
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(ring.tryPop(out));
      ASSERT_EQ(out, expected++);
    }
  }
  EXPECT_EQ(ring.size(), 0u);
}

TEST(SpscRing, MovesOnlyTypes) {
  SpscRing<std::unique_ptr<int>> ring(2);
  EXPECT_TRUE(ring.tryPush(std::make_unique<int>(7)));
  std::unique_ptr<int> out;
  ASSERT_TRUE(ring.tryPop(out));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, 7);
}

TEST(SpscRing, BurstsArePartialWhenFull) {
  SpscRing<int> ring(8);
  std::array<int, 12> in{};
  for (int i = 0; i < 12; ++i) in[i] = i;
  EXPECT_EQ(ring.pushBurst(std::span<int>(in)), 8u);
  EXPECT_EQ(ring.pushBurst(std::span<int>(in)), 0u);
  std::array<int, 5> out{};
  EXPECT_EQ(ring.popBurst(std::span<int>(out)), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], i);
  EXPECT_EQ(ring.pushBurst(std::span<int>(in).subspan(8)), 4u);  // 8..11 wrap around
  std::array<int, 16> rest{};
  EXPECT_EQ(ring.popBurst(std::span<int>(rest)), 7u);
  const int expected[] = {5, 6, 7, 8, 9, 10, 11};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(rest[i], expected[i]);
  EXPECT_EQ(ring.popBurst(std::span<int>(rest)), 0u);
}

TEST(SpscRing, InPlaceSlotsAreReused) {
  struct Big {
    uint32_t size = 0;
    std::array<uint8_t, 64> bytes{};
  };
  SpscRing<Big> ring(2);
  ASSERT_EQ(ring.writable(), 2u);
  ring.writeSlot(0).size = 3;
  ring.writeSlot(1).size = 4;
  ring.publish(2);
  EXPECT_EQ(ring.writable(), 0u);
  ASSERT_EQ(ring.readable(), 2u);
  EXPECT_EQ(ring.readSlot(0).size, 3u);
  EXPECT_EQ(ring.readSlot(1).size, 4u);
  ring.consume(1);
  EXPECT_EQ(ring.writable(), 1u);
  EXPECT_EQ(ring.readable(), 1u);
  EXPECT_EQ(ring.readSlot(0).size, 4u);
}

// Pages of [data, data + bytes) that are resident.
size_t residentPages(const void* data, size_t bytes) {
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
  const size_t pages = (reinterpret_cast<uintptr_t>(data) + bytes - start + page - 1) / page;
  std::vector<unsigned char> resident(pages);
  if (::mincore(reinterpret_cast<void*>(start), pages * page, resident.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char r : resident) n += r & 1u;
  return n;
}

// A lazily mapped ring touches none of its slots' pages until they are written or populated
// (a gateway worker opening an output took ~3 MB of page faults in its constructor), its
// slots read as zero, and populate() backs every page without changing what was written.
TEST(SpscRing, LazyPagesAreBackedOnlyWhenWrittenOrPopulated) {
  struct Chunk {
    uint32_t size = 0;
    std::array<uint8_t, 1500> bytes;
  };
  SpscRing<Chunk> ring(1024, SpscRing<Chunk>::LazyPages{});
  ASSERT_EQ(ring.capacity(), 1024u);
  const Chunk* first = &ring.writeSlot(0);
  const size_t bytes = ring.capacity() * sizeof(Chunk);
  EXPECT_EQ(residentPages(first, bytes), 0u) << "the constructor touched the slots";
  EXPECT_EQ(ring.writeSlot(5).size, 0u);  // untouched slots read as zero

  ring.writeSlot(0).size = 7;
  ring.writeSlot(0).bytes[1499] = 0xAB;
  ring.publish(1);
  ring.populate();
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_GE(residentPages(first, bytes), bytes / page) << "populate() left pages unbacked";
  ASSERT_EQ(ring.readable(), 1u);
  EXPECT_EQ(ring.readSlot(0).size, 7u);
  EXPECT_EQ(ring.readSlot(0).bytes[1499], 0xAB);
}

// populate() from a third thread while the producer and consumer run: nothing is lost or
// changed (it backs pages, it never writes them). TSan checks that it touches no slot.
TEST(SpscRing, LazyPagesPopulatedWhileInUse) {
  struct Chunk {
    uint64_t value = 0;
    std::array<uint8_t, 1016> pad;
  };
  constexpr uint64_t kItems = 200'000;
  SpscRing<Chunk> ring(512, SpscRing<Chunk>::LazyPages{});
  std::thread populator([&] { ring.populate(); });
  std::thread producer([&] {
    for (uint64_t next = 0; next < kItems;) {
      if (ring.writable() == 0) {
        std::this_thread::yield();
        continue;
      }
      ring.writeSlot(0).value = next++;
      ring.publish(1);
    }
  });
  uint64_t expected = 0, mismatches = 0;
  while (expected < kItems) {
    if (ring.readable() == 0) {
      std::this_thread::yield();
      continue;
    }
    if (ring.readSlot(0).value != expected) ++mismatches;
    ring.consume(1);
    ++expected;
  }
  producer.join();
  populator.join();
  EXPECT_EQ(mismatches, 0u);
}

// One producer, one consumer, 10^6 items through a small ring: every item arrives once,
// in order. Mixes single and burst calls on both sides. TSan checks the memory ordering.
TEST(SpscRing, TwoThreadStress) {
  constexpr uint64_t kItems = 1'000'000;
  SpscRing<uint64_t> ring(256);

  std::thread producer([&] {
    uint64_t next = 0;
    std::array<uint64_t, 32> burst{};
    while (next < kItems) {
      if (next % 3 == 0) {
        if (ring.tryPush(next)) {
          ++next;
        } else {
          std::this_thread::yield();
        }
        continue;
      }
      size_t n = 0;
      while (n < burst.size() && next + n < kItems) {
        burst[n] = next + n;
        ++n;
      }
      size_t pushed = ring.pushBurst(std::span<uint64_t>(burst.data(), n));
      next += pushed;
      if (pushed == 0) std::this_thread::yield();
    }
  });

  uint64_t expected = 0;
  uint64_t mismatches = 0;
  std::array<uint64_t, 17> burst{};
  while (expected < kItems) {
    size_t n = 0;
    if (expected % 2 == 0) {
      n = ring.popBurst(std::span<uint64_t>(burst));
    } else if (ring.tryPop(burst[0])) {
      n = 1;
    }
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      if (burst[i] != expected) ++mismatches;
      ++expected;
    }
  }
  producer.join();
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(expected, kItems);
  EXPECT_TRUE(ring.empty());
}

}  // namespace
}  // namespace braid::dp
