// Microbenchmarks of the Reed–Solomon FEC codec (ISA-L): encode cost per source packet, and
// decode cost per block at e erasures with the decode tables cached or rebuilt every block.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "dataplane/fec/reed_solomon.h"

namespace braid::dp {
namespace {

constexpr size_t kSymbolSize = 1200;

struct BenchBlock {
  std::vector<std::vector<uint8_t>> symbols;  // k sources then m repairs
  std::vector<const uint8_t*> sources;
  std::vector<uint8_t*> repairs;

  BenchBlock(uint32_t k, uint32_t m) : symbols(k + m, std::vector<uint8_t>(kSymbolSize)) {
    std::mt19937 rng(1);
    for (auto& s : symbols) {
      for (auto& b : s) b = static_cast<uint8_t>(rng());
    }
    for (uint32_t i = 0; i < k; ++i) sources.push_back(symbols[i].data());
    for (uint32_t j = 0; j < m; ++j) repairs.push_back(symbols[k + j].data());
  }
};

// Args: k, m. Reports the time per block and, as per_source, per source packet.
void encodeBlock(benchmark::State& state) {
  const auto k = static_cast<uint32_t>(state.range(0));
  const auto m = static_cast<uint32_t>(state.range(1));
  auto codec = ReedSolomonCodec::create({.k = k, .m = m});
  if (!codec) {
    state.SkipWithError(codec.error().describe().c_str());
    return;
  }
  BenchBlock block(k, m);
  for (auto _ : state) {
    auto encoded = (*codec)->encode(block.sources, block.repairs, kSymbolSize);
    benchmark::DoNotOptimize(encoded);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k * kSymbolSize));
  // Seconds per source packet: printed with an SI prefix (n for ns).
  state.counters["per_source"] =
      benchmark::Counter(static_cast<double>(k), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

// Args: k, m, e, cached. The first e sources are lost (the worst case: e rows to rebuild), the
// first e repairs stand in. Uncached: a codec without a cache, so every block inverts a k × k
// matrix and expands its tables again.
void decodeBlock(benchmark::State& state) {
  const auto k = static_cast<uint32_t>(state.range(0));
  const auto m = static_cast<uint32_t>(state.range(1));
  const auto e = static_cast<uint32_t>(state.range(2));
  const bool cached = state.range(3) != 0;
  auto codec = ReedSolomonCodec::create({.k = k, .m = m, .decodeCacheEntries = cached ? 64u : 0u});
  if (!codec) {
    state.SkipWithError(codec.error().describe().c_str());
    return;
  }
  BenchBlock block(k, m);
  if (!(*codec)->encode(block.sources, block.repairs, kSymbolSize)) {
    state.SkipWithError("encode failed");
    return;
  }
  std::vector<FecSymbol> received;
  for (uint32_t i = e; i < k + m; ++i)
    received.push_back({.index = i, .data = block.symbols[i].data()});
  std::vector<uint8_t> out(size_t{k} * kSymbolSize);
  std::vector<uint8_t*> outPtrs;
  for (uint32_t i = 0; i < k; ++i) outPtrs.push_back(out.data() + i * kSymbolSize);
  for (auto _ : state) {
    auto decoded = (*codec)->decode(received, outPtrs, kSymbolSize);
    if (!decoded || *decoded != e) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["hits"] = static_cast<double>((*codec)->counters().cacheHits.read());
  state.counters["misses"] = static_cast<double>((*codec)->counters().cacheMisses.read());
}

void encodeArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"k", "m"});
  for (auto [k, m] : {std::pair{10, 2}, {20, 4}, {40, 8}}) b->Args({k, m});
}

void decodeArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"k", "m", "e", "cached"});
  for (auto [k, m] : {std::pair{10, 2}, {20, 4}, {40, 8}}) {
    for (int e = 1; e <= m; ++e) {
      for (int cached : {1, 0}) b->Args({k, m, e, cached});
    }
  }
}

BENCHMARK(encodeBlock)->Apply(encodeArgs);
BENCHMARK(decodeBlock)->Apply(decodeArgs)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace braid::dp

BENCHMARK_MAIN();
