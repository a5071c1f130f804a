// Counts heap allocations (tests/unit/common/counting_allocator.h) to prove that
// encode and decode (cache hit or miss, after construction) never allocate.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "counting_allocator.h"

#include "dataplane/fec/reed_solomon.h"

namespace braid::dp {
namespace {

constexpr size_t kSymbol = 1200;

TEST(ReedSolomonHotPath, EncodeAndDecodeDoNotAllocate) {
  // 4 cache entries for far more patterns: hits, misses and evictions all happen below.
  auto created = ReedSolomonCodec::create({.k = 20, .m = 4, .decodeCacheEntries = 4});
  ASSERT_TRUE(created.has_value());
  ReedSolomonCodec& codec = **created;
  std::vector<std::vector<uint8_t>> symbols(24, std::vector<uint8_t>(kSymbol));
  std::mt19937 rng(11);
  for (auto& s : symbols) {
    for (auto& b : s) b = static_cast<uint8_t>(rng());
  }
  std::vector<const uint8_t*> sources;
  std::vector<uint8_t*> repairs;
  for (uint32_t i = 0; i < 20; ++i) sources.push_back(symbols[i].data());
  for (uint32_t j = 20; j < 24; ++j) repairs.push_back(symbols[j].data());
  std::vector<uint8_t> out(kSymbol * 20);
  std::vector<uint8_t*> outPtrs;
  for (uint32_t i = 0; i < 20; ++i) outPtrs.push_back(out.data() + i * kSymbol);
  std::vector<FecSymbol> received;
  received.reserve(24);

  uint64_t recovered = 0;
  braid::test::startCountingAllocations();
  for (int round = 0; round < 2'000; ++round) {
    if (!codec.encode(sources, repairs, kSymbol)) break;
    // Two erasures drawn from a few patterns: 0..9 × {0..9}.
    const uint32_t a = rng() % 10;
    const uint32_t b = 10 + rng() % 14;
    received.clear();
    for (uint32_t i = 0; i < 24; ++i) {
      if (i != a && i != b) received.push_back({.index = i, .data = symbols[i].data()});
    }
    auto decoded = codec.decode(received, outPtrs, kSymbol);
    if (!decoded) break;
    recovered += *decoded;
  }
  uint64_t allocations = braid::test::stopCountingAllocations();

  EXPECT_EQ(allocations, 0u);
  EXPECT_GT(recovered, 2'000u);  // the loop did real work
  EXPECT_GT(codec.counters().cacheHits.read(), 0u);
  EXPECT_GT(codec.counters().cacheMisses.read(), 4u);
}

}  // namespace
}  // namespace braid::dp
