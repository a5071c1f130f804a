// Reed–Solomon round trips over ISA-L: every erasure pattern for (10, 2), random ones for larger
// blocks, the error cases, and the decode-table cache.

#include "dataplane/fec/reed_solomon.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace braid::dp {
namespace {

constexpr size_t kSymbol = 1200;

// One block: k sources filled from `seed`, m repairs encoded from them.
struct Block {
  std::vector<std::vector<uint8_t>> symbols;  // k sources then m repairs

  Block(const ReedSolomonCodec& codec, uint32_t seed, size_t size = kSymbol) {
    std::mt19937 rng(seed);
    symbols.assign(codec.k() + codec.m(), std::vector<uint8_t>(size));
    std::vector<const uint8_t*> sources;
    std::vector<uint8_t*> repairs;
    for (uint32_t i = 0; i < codec.k(); ++i) {
      for (auto& b : symbols[i]) b = static_cast<uint8_t>(rng());
      sources.push_back(symbols[i].data());
    }
    for (uint32_t j = 0; j < codec.m(); ++j) repairs.push_back(symbols[codec.k() + j].data());
    EXPECT_TRUE(codec.encode(sources, repairs, size).has_value());
  }
};

// Decodes `block` with the symbols whose index is in `lost` erased; checks every rebuilt source.
void expectRoundTrip(ReedSolomonCodec& codec, const Block& block, const std::vector<uint32_t>& lost,
                     size_t size = kSymbol) {
  std::vector<bool> erased(codec.k() + codec.m(), false);
  for (uint32_t i : lost) erased[i] = true;
  std::vector<FecSymbol> received;
  for (uint32_t i = 0; i < codec.k() + codec.m(); ++i) {
    if (!erased[i]) received.push_back({.index = i, .data = block.symbols[i].data()});
  }
  std::vector<std::vector<uint8_t>> out(codec.k(), std::vector<uint8_t>(size, 0xee));
  std::vector<uint8_t*> outPtrs;
  uint32_t lostSources = 0;
  for (uint32_t i = 0; i < codec.k(); ++i) {
    outPtrs.push_back(erased[i] ? out[i].data() : nullptr);
    lostSources += erased[i] ? 1 : 0;
  }
  auto decoded = codec.decode(received, outPtrs, size);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().describe();
  EXPECT_EQ(*decoded, lostSources);
  for (uint32_t i = 0; i < codec.k(); ++i) {
    if (erased[i]) {
      EXPECT_EQ(out[i], block.symbols[i]) << "source " << i;
    }
  }
}

std::unique_ptr<ReedSolomonCodec> makeCodec(uint32_t k, uint32_t m, uint32_t cache = 64) {
  auto codec = ReedSolomonCodec::create({.k = k, .m = m, .decodeCacheEntries = cache});
  EXPECT_TRUE(codec.has_value());
  return std::move(*codec);
}

TEST(ReedSolomon, SourcesAreSystematicAndRepairsDiffer) {
  auto codec = makeCodec(10, 2);
  Block block(*codec, 1);
  EXPECT_NE(block.symbols[10], block.symbols[11]);
  EXPECT_NE(block.symbols[10], block.symbols[0]);
}

TEST(ReedSolomon, EveryPatternOfUpToTwoErasuresFor10Plus2) {
  auto codec = makeCodec(10, 2);
  Block block(*codec, 2);
  const uint32_t n = 12;
  expectRoundTrip(*codec, block, {});
  for (uint32_t a = 0; a < n; ++a) {
    expectRoundTrip(*codec, block, {a});
    for (uint32_t b = a + 1; b < n; ++b) expectRoundTrip(*codec, block, {a, b});
  }
}

void randomPatterns(uint32_t k, uint32_t m, uint32_t seed) {
  auto codec = makeCodec(k, m);
  std::mt19937 rng(seed);
  std::vector<uint32_t> indexes(k + m);
  for (uint32_t i = 0; i < k + m; ++i) indexes[i] = i;
  for (int round = 0; round < 200; ++round) {
    Block block(*codec, seed + round);
    std::shuffle(indexes.begin(), indexes.end(), rng);
    const uint32_t e = rng() % (m + 1);
    expectRoundTrip(*codec, block, std::vector<uint32_t>(indexes.begin(), indexes.begin() + e));
  }
  // The worst case, every erasure on a source.
  Block block(*codec, seed);
  std::vector<uint32_t> firstSources;
  for (uint32_t i = 0; i < m; ++i) firstSources.push_back(i);
  expectRoundTrip(*codec, block, firstSources);
}

TEST(ReedSolomon, RandomPatternsFor20Plus4) {
  randomPatterns(20, 4, 20);
}
TEST(ReedSolomon, RandomPatternsFor40Plus8) {
  randomPatterns(40, 8, 40);
}
TEST(ReedSolomon, RandomPatternsAtTheLimits) {
  randomPatterns(64, 16, 64);
}

TEST(ReedSolomon, OddSymbolSizes) {
  auto codec = makeCodec(5, 3);
  for (size_t size : {1u, 7u, 33u, 1500u}) {
    Block block(*codec, 7, size);
    expectRoundTrip(*codec, block, {0, 2, 4}, size);
  }
}

TEST(ReedSolomon, TooManyErasuresIsAnError) {
  auto codec = makeCodec(10, 2);
  Block block(*codec, 3);
  std::vector<FecSymbol> received;
  for (uint32_t i = 3; i < 12; ++i)
    received.push_back({.index = i, .data = block.symbols[i].data()});
  received.push_back(received.back());  // a duplicate does not count twice
  std::vector<uint8_t> out(kSymbol);
  std::vector<uint8_t*> outPtrs(10, out.data());
  auto decoded = codec->decode(received, outPtrs, kSymbol);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kExhausted);
}

TEST(ReedSolomon, BadArgumentsAreErrors) {
  EXPECT_FALSE(ReedSolomonCodec::create({.k = 0, .m = 2}).has_value());
  EXPECT_FALSE(ReedSolomonCodec::create({.k = 65, .m = 2}).has_value());
  EXPECT_FALSE(ReedSolomonCodec::create({.k = 10, .m = 0}).has_value());
  EXPECT_FALSE(ReedSolomonCodec::create({.k = 10, .m = 17}).has_value());
  EXPECT_TRUE(ReedSolomonCodec::create({.k = 64, .m = 16}).has_value());

  auto codec = makeCodec(4, 2);
  Block block(*codec, 4);
  std::vector<const uint8_t*> sources(4, block.symbols[0].data());
  std::vector<uint8_t> repair(kSymbol);
  std::vector<uint8_t*> repairs(3, repair.data());
  EXPECT_FALSE(codec->encode(sources, repairs, kSymbol).has_value());  // 3 repairs > m
  repairs.resize(1);
  EXPECT_TRUE(codec->encode(sources, repairs, kSymbol).has_value());  // fewer repairs is fine
  EXPECT_FALSE(codec->encode(sources, repairs, 1501).has_value());
  EXPECT_FALSE(codec->encode(sources, repairs, 0).has_value());
  sources.pop_back();
  EXPECT_FALSE(codec->encode(sources, repairs, kSymbol).has_value());

  std::vector<uint8_t*> outPtrs(4, repair.data());
  std::vector<FecSymbol> bad{{.index = 6, .data = repair.data()}};
  EXPECT_EQ(codec->decode(bad, outPtrs, kSymbol).error().code, ErrorCode::kInvalidArgument);
  std::vector<FecSymbol> received;
  for (uint32_t i = 1; i < 6; ++i)
    received.push_back({.index = i, .data = block.symbols[i].data()});
  outPtrs[0] = nullptr;  // no buffer for the missing source
  EXPECT_EQ(codec->decode(received, outPtrs, kSymbol).error().code, ErrorCode::kInvalidArgument);
  outPtrs.pop_back();
  EXPECT_EQ(codec->decode(received, outPtrs, kSymbol).error().code, ErrorCode::kInvalidArgument);
}

TEST(ReedSolomon, FirstRepairsOfAShortEncodeMatchTheFullOnes) {
  auto codec = makeCodec(8, 4);
  Block block(*codec, 5);
  std::vector<const uint8_t*> sources;
  for (uint32_t i = 0; i < 8; ++i) sources.push_back(block.symbols[i].data());
  std::vector<uint8_t> a(kSymbol), b(kSymbol);
  std::vector<uint8_t*> repairs{a.data(), b.data()};
  ASSERT_TRUE(codec->encode(sources, repairs, kSymbol).has_value());
  EXPECT_EQ(a, block.symbols[8]);
  EXPECT_EQ(b, block.symbols[9]);
}

TEST(ReedSolomonCache, AHitGivesTheSameBytesAsAMiss) {
  auto cached = makeCodec(20, 4);
  auto uncached = makeCodec(20, 4, 0);
  for (uint32_t seed = 0; seed < 3; ++seed) {
    Block block(*cached, 100 + seed);
    expectRoundTrip(*cached, block, {1, 5, 21});
    expectRoundTrip(*uncached, block, {1, 5, 21});
  }
  EXPECT_EQ(cached->counters().cacheMisses.read(), 1u);
  EXPECT_EQ(cached->counters().cacheHits.read(), 2u);
  EXPECT_EQ(uncached->counters().cacheMisses.read(), 3u);
  EXPECT_EQ(uncached->counters().cacheHits.read(), 0u);
  EXPECT_EQ(cached->counters().symbolsRecovered.read(), 6u);

  // A pattern with a different repair standing in is a different entry.
  Block block(*cached, 7);
  expectRoundTrip(*cached, block, {1, 5, 20});
  EXPECT_EQ(cached->counters().cacheMisses.read(), 2u);
  cached->clearDecodeCache();
  expectRoundTrip(*cached, block, {1, 5, 20});
  EXPECT_EQ(cached->counters().cacheMisses.read(), 3u);
}

TEST(ReedSolomonCache, EvictionKeepsDecodingCorrectly) {
  auto codec = makeCodec(10, 2, 4);
  Block block(*codec, 9);
  // 12 patterns cycled three times through 4 entries: all correct, many evictions.
  for (int round = 0; round < 3; ++round) {
    for (uint32_t a = 0; a < 10; a += 1) expectRoundTrip(*codec, block, {a, (a + 3) % 10});
  }
  EXPECT_GT(codec->counters().cacheMisses.read(), 4u);
  // A repeated pattern hits.
  const uint64_t hits = codec->counters().cacheHits.read();
  expectRoundTrip(*codec, block, {4, 7});
  expectRoundTrip(*codec, block, {4, 7});
  EXPECT_GT(codec->counters().cacheHits.read(), hits);
}

}  // namespace
}  // namespace braid::dp
