#pragma once

// Block recovery on the receiving side. REPAIR symbols are kept per block (a few blocks in
// flight, slot = block ID mod slots); whenever a block has at least k of its symbols (held
// sources plus repairs) and misses a source, the missing ones are rebuilt and handed back.
// Sources are not copied here: they stay in the caller's store (the jitter buffer), looked up
// by sequence when a block is decoded.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/fec/fec_symbol.h"
#include "dataplane/fec/reed_solomon.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

struct FecDecoderConfig {
  uint32_t blocks = 8;              // blocks whose repairs are kept at once, 1..64
  uint32_t decodeCacheEntries = 8;  // per k
};

struct FecDecoderCounters {
  OwnedCounter repairs;        // REPAIR symbols stored
  OwnedCounter staleRepairs;   // for a block already replaced in its slot (very late)
  OwnedCounter badRepairs;     // inconsistent with the block's other repairs (k, size, range)
  OwnedCounter blocksDecoded;  // decodes that rebuilt at least one source
  OwnedCounter rebuilt;        // source symbols rebuilt (handed back, whether still useful)
  OwnedCounter corrupt;        // rebuilt symbols whose length field was impossible
};

// The repair header fields the decoder needs (docs/protocol.md §5).
struct FecRepairInfo {
  uint64_t blockId = 0;
  uint32_t k = 0;
  uint32_t m = 0;
  uint32_t index = 0;
  uint64_t firstSeq = 0;
  uint64_t blockTsUs = 0;  // the REPAIR packet's media timestamp
};

// One session, owner thread. The storage (blocks × 16 repair symbols, one block of scratch)
// is allocated on the first repair, so a session without FEC costs nothing; from then on no
// call allocates except the first decode at a new k (its codec is built once and kept).
//
// The store is any callable pair:
//   find(uint64_t seq, SourceSymbol& out) -> bool   a held source packet (payload, timestamp)
//   give(uint64_t seq, const SourceSymbol&)          a rebuilt one
class FecBlockDecoder {
 public:
  static constexpr uint32_t kMaxBlocks = 64;

  static Result<std::unique_ptr<FecBlockDecoder>> create(const FecDecoderConfig& config = {});

  // Stores one repair symbol and decodes its block if it can. Returns the sources rebuilt.
  template <typename Find, typename Give>
  uint32_t onRepair(const FecRepairInfo& info, std::span<const uint8_t> symbol, Find&& find,
                    Give&& give) noexcept;

  // A source packet arrived: decodes its block if that became possible. Returns the sources
  // rebuilt.
  template <typename Find, typename Give>
  uint32_t onSource(uint64_t seq, Find&& find, Give&& give) noexcept;

  const FecDecoderCounters& counters() const noexcept { return counters_; }

 private:
  struct Block {
    bool used = false;
    bool done = false;  // decoded, or found complete
    uint64_t blockId = 0;
    uint32_t k = 0;
    uint64_t firstSeq = 0;
    uint64_t blockTsUs = 0;
    size_t symbolSize = 0;
    uint32_t repairMask = 0;
    uint32_t repairCount = 0;
  };

  explicit FecBlockDecoder(const FecDecoderConfig& config) : config_(config) {}
  bool allocate() noexcept;
  uint8_t* repairSymbol(uint32_t slot, uint32_t index) noexcept {
    return repairs_.get() + (size_t{slot} * ReedSolomonCodec::kMaxRepair + index) * kStride;
  }
  ReedSolomonCodec* codecFor(uint32_t k) noexcept;
  template <typename Find, typename Give>
  uint32_t tryDecode(uint32_t slot, Find& find, Give& give) noexcept;

  static constexpr size_t kStride = ReedSolomonCodec::kMaxSymbolSize;

  FecDecoderConfig config_;
  std::unique_ptr<Block[]> blocks_;
  std::unique_ptr<uint8_t[]> repairs_;  // blocks × kMaxRepair × kStride
  std::unique_ptr<uint8_t[]> scratch_;  // kMaxSource sources + kMaxRepair rebuilt, kStride each
  std::array<std::unique_ptr<ReedSolomonCodec>, ReedSolomonCodec::kMaxSource + 1> codecs_;
  FecDecoderCounters counters_;
};

template <typename Find, typename Give>
uint32_t FecBlockDecoder::onRepair(const FecRepairInfo& info, std::span<const uint8_t> symbol,
                                   Find&& find, Give&& give) noexcept {
  if (info.k == 0 || info.k > ReedSolomonCodec::kMaxSource || info.m == 0 ||
      info.m > ReedSolomonCodec::kMaxRepair || info.index >= info.m || symbol.empty() ||
      symbol.size() > kStride || symbol.size() <= kSourceSymbolHeader) {
    counters_.badRepairs.add();
    return 0;
  }
  if (!repairs_ && !allocate()) return 0;
  const auto slot = static_cast<uint32_t>(info.blockId % config_.blocks);
  Block& block = blocks_[slot];
  if (block.used && block.blockId != info.blockId) {
    if (info.blockId < block.blockId) {
      counters_.staleRepairs.add();
      return 0;
    }
    block.used = false;  // a newer block takes the slot: the old one is long past
  }
  if (!block.used) {
    block = Block{.used = true,
                  .blockId = info.blockId,
                  .k = info.k,
                  .firstSeq = info.firstSeq,
                  .blockTsUs = info.blockTsUs,
                  .symbolSize = symbol.size()};
  } else if (block.k != info.k || block.firstSeq != info.firstSeq ||
             block.symbolSize != symbol.size()) {
    counters_.badRepairs.add();
    return 0;
  }
  if (block.done || (block.repairMask >> info.index) & 1u) return 0;
  std::memcpy(repairSymbol(slot, info.index), symbol.data(), symbol.size());
  block.repairMask |= 1u << info.index;
  ++block.repairCount;
  counters_.repairs.add();
  return tryDecode(slot, find, give);
}

template <typename Find, typename Give>
uint32_t FecBlockDecoder::onSource(uint64_t seq, Find&& find, Give&& give) noexcept {
  if (!blocks_) return 0;
  for (uint32_t slot = 0; slot < config_.blocks; ++slot) {
    const Block& block = blocks_[slot];
    if (block.used && !block.done && seq >= block.firstSeq && seq - block.firstSeq < block.k) {
      return tryDecode(slot, find, give);
    }
  }
  return 0;
}

template <typename Find, typename Give>
uint32_t FecBlockDecoder::tryDecode(uint32_t slot, Find& find, Give& give) noexcept {
  Block& block = blocks_[slot];
  std::array<SourceSymbol, ReedSolomonCodec::kMaxSource> held{};
  std::array<bool, ReedSolomonCodec::kMaxSource> have{};
  uint32_t present = 0;
  for (uint32_t i = 0; i < block.k; ++i) {
    have[i] = find(block.firstSeq + i, held[i]);
    if (have[i] && held[i].payload.size() + kSourceSymbolHeader > block.symbolSize) {
      // A packet that cannot be in this block (a corrupt or mismatched repair): give up on it.
      counters_.badRepairs.add();
      block.done = true;
      return 0;
    }
    present += have[i] ? 1 : 0;
  }
  if (present == block.k) {
    block.done = true;
    return 0;
  }
  if (present + block.repairCount < block.k) return 0;
  ReedSolomonCodec* codec = codecFor(block.k);
  if (codec == nullptr) return 0;

  std::array<FecSymbol, ReedSolomonCodec::kMaxSource + ReedSolomonCodec::kMaxRepair> symbols{};
  std::array<uint8_t*, ReedSolomonCodec::kMaxSource> recovered{};
  size_t count = 0;
  uint8_t* rebuilt = scratch_.get() + size_t{ReedSolomonCodec::kMaxSource} * kStride;
  uint32_t missing = 0;
  for (uint32_t i = 0; i < block.k; ++i) {
    if (have[i]) {
      uint8_t* symbol = scratch_.get() + size_t{i} * kStride;
      writeSourceSymbol(symbol, block.symbolSize, held[i].payload, held[i].mediaTsUs,
                        block.blockTsUs);
      symbols[count++] = FecSymbol{.index = i, .data = symbol};
    } else if (missing < ReedSolomonCodec::kMaxRepair) {
      recovered[i] = rebuilt + size_t{missing++} * kStride;
    }
  }
  for (uint32_t j = 0; j < ReedSolomonCodec::kMaxRepair; ++j) {
    if ((block.repairMask >> j) & 1u) {
      symbols[count++] = FecSymbol{.index = block.k + j, .data = repairSymbol(slot, j)};
    }
  }
  auto decoded =
      codec->decode(std::span<const FecSymbol>(symbols.data(), count),
                    std::span<uint8_t* const>(recovered.data(), block.k), block.symbolSize);
  block.done = true;
  if (!decoded || *decoded == 0) return 0;
  counters_.blocksDecoded.add();
  uint32_t given = 0;
  for (uint32_t i = 0; i < block.k; ++i) {
    if (have[i]) continue;
    SourceSymbol source;
    if (!readSourceSymbol(recovered[i], block.symbolSize, block.blockTsUs, source)) {
      counters_.corrupt.add();
      continue;
    }
    counters_.rebuilt.add();
    give(block.firstSeq + i, source);
    ++given;
  }
  return given;
}

}  // namespace braid::dp
