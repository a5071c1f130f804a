// Replaces the global allocation functions of this test binary with counting ones, to prove that
// encode and decode (cache hit or miss, after construction) never allocate.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/fec/reed_solomon.h"

namespace {

std::atomic<bool> gCounting{false};
std::atomic<uint64_t> gAllocations{0};

void* countedAlloc(std::size_t size, std::size_t align) {
  if (gCounting.load(std::memory_order_relaxed))
    gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = align <= alignof(std::max_align_t)
                ? std::malloc(size)
                : std::aligned_alloc(align, (size + align - 1) / align * align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) {
  return countedAlloc(size, alignof(std::max_align_t));
}
void* operator new[](std::size_t size) {
  return countedAlloc(size, alignof(std::max_align_t));
}
void* operator new(std::size_t size, std::align_val_t align) {
  return countedAlloc(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return countedAlloc(size, static_cast<std::size_t>(align));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return countedAlloc(size, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return countedAlloc(size, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

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
  gCounting.store(true);
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
  gCounting.store(false);

  EXPECT_EQ(gAllocations.load(), 0u);
  EXPECT_GT(recovered, 2'000u);  // the loop did real work
  EXPECT_GT(codec.counters().cacheHits.read(), 0u);
  EXPECT_GT(codec.counters().cacheMisses.read(), 4u);
}

}  // namespace
}  // namespace braid::dp
