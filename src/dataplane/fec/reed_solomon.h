#pragma once

// Systematic block Reed–Solomon over GF(2^8) through ISA-L. A block is k source symbols of one
// size plus m repair symbols; any k of the k+m symbols give back the sources. The generator is
// ISA-L's Cauchy matrix (identity on top), every square submatrix of which is invertible, so
// every erasure pattern of at most m symbols is recoverable. The encode tables are built once
// at create(); decode tables are built per erasure pattern and cached (DecodeTableCache).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/fec/decode_table_cache.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

struct ReedSolomonConfig {
  uint32_t k = 10;                   // source symbols per block, 1..64
  uint32_t m = 2;                    // repair symbols per block, 1..16 (k + m ≤ 255)
  uint32_t decodeCacheEntries = 64;  // erasure patterns whose decode tables are kept; 0: none
};

struct ReedSolomonCounters {
  OwnedCounter blocksDecoded;     // decode() calls that had to rebuild at least one source
  OwnedCounter symbolsRecovered;  // source symbols rebuilt
  OwnedCounter cacheHits;
  OwnedCounter cacheMisses;
};

// One received symbol of a block: `index` < k is source `index`, k + j is repair j.
struct FecSymbol {
  uint32_t index = 0;
  const uint8_t* data = nullptr;
};

class ReedSolomonCodec {
 public:
  static constexpr uint32_t kMaxSource = 64;
  static constexpr uint32_t kMaxRepair = 16;
  static constexpr size_t kMaxSymbolSize = 1500;

  // Returns the codec, or kInvalidArgument for k, m outside the limits above.
  static Result<std::unique_ptr<ReedSolomonCodec>> create(const ReedSolomonConfig& config);

  // Writes repairs.size() (1..m) repair symbols of `symbolSize` bytes (1..1500) computed from the
  // k `sources`: the first repairs.size() of the m, so a sender can send fewer repairs for a
  // block without another codec. Any thread (the encode tables are read-only); no allocation.
  // Returns kInvalidArgument on wrong counts or size.
  [[nodiscard]] Result<void> encode(std::span<const uint8_t* const> sources,
                                    std::span<uint8_t* const> repairs, size_t symbolSize) const;

  // Rebuilds every source symbol missing from `received` (any symbols of one block, in any order,
  // duplicates ignored) into `recovered[index]`: a span of k pointers where only the entries of
  // missing sources are written (the others may be null). Decoder thread (the cache is not
  // shared); no allocation, hit or miss. Returns the number of sources rebuilt (0 when none
  // was missing), kExhausted when fewer than k distinct symbols were received, kInvalidArgument
  // for an index ≥ k + m, a null output for a missing source, or a bad size.
  [[nodiscard]] Result<uint32_t> decode(std::span<const FecSymbol> received,
                                        std::span<uint8_t* const> recovered, size_t symbolSize);

  // Forgets the cached decode tables (benchmarks, tests). Decoder thread.
  void clearDecodeCache() noexcept { cache_.clear(); }

  uint32_t k() const noexcept { return config_.k; }
  uint32_t m() const noexcept { return config_.m; }
  const ReedSolomonCounters& counters() const noexcept { return counters_; }

 private:
  explicit ReedSolomonCodec(const ReedSolomonConfig& config);
  // Writes the decode tables for the `missing` sources, given the k received rows in `rows`
  // (received sources first, then the repairs used), into `tables`, inverting only the e × e
  // block of the repairs over the missing sources. False if it is singular (cannot happen with
  // a Cauchy generator; checked anyway).
  bool buildDecodeTables(const uint8_t* rows, const uint8_t* missing, uint32_t missingCount,
                         uint8_t* tables) noexcept;

  ReedSolomonConfig config_;
  std::unique_ptr<uint8_t[]> generator_;     // (k + m) × k, identity on top
  std::unique_ptr<uint8_t[]> encodeTables_;  // 32 × k × m
  std::unique_ptr<uint8_t[]> scratch_;       // two e × e matrices (room for k × k), e × k rows
  DecodeTableCache cache_;
  ReedSolomonCounters counters_;
};

}  // namespace braid::dp
