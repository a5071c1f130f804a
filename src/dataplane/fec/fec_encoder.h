#pragma once

// Block assembly on the sending side: consecutive DATA packets (by media sequence) form a block
// of k ≤ maxSources source symbols; close() computes the block's repair symbols with the
// Reed–Solomon codec of that k. A block closes when it is full, or earlier when the caller's
// time budget runs out, so a partial block is protected and flushed at once.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/fec/reed_solomon.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

struct FecEncoderConfig {
  uint32_t maxSources = 32;  // k of a full block, 1..64
  uint32_t maxRepairs = ReedSolomonCodec::kMaxRepair;
  size_t maxPayload = 1472;  // largest DATA payload; symbols are 6 bytes more
};

// The repair symbols of the block just closed; valid until the next add().
struct FecRepairBlock {
  uint64_t blockId = 0;
  uint32_t k = 0;
  uint32_t m = 0;
  uint64_t firstSeq = 0;
  uint64_t blockTsUs = 0;  // media timestamp of the first source: the REPAIR packets carry it
  size_t symbolSize = 0;
  const uint8_t* repairs = nullptr;  // m symbols, `stride` apart
  size_t stride = 0;

  std::span<const uint8_t> repair(uint32_t index) const {
    return {repairs + index * stride, symbolSize};
  }
};

// One sender thread. Every buffer and every codec (one per k) is built by create(): add() and
// close() never allocate.
class FecBlockEncoder {
 public:
  static Result<std::unique_ptr<FecBlockEncoder>> create(const FecEncoderConfig& config);

  // Adds the packet sent as `seq`. It must follow the open block's last sequence (else close the
  // block first: returns false and adds nothing); the payload must be 1..maxPayload bytes.
  bool add(uint64_t seq, uint64_t mediaTsUs, std::span<const uint8_t> payload,
           uint64_t nowNs) noexcept;

  // Computes `repairs` (1..maxRepairs) repair symbols of the open block and starts the next.
  // kInvalidArgument if the block is empty or `repairs` is out of range.
  [[nodiscard]] Result<FecRepairBlock> close(uint32_t repairs) noexcept;

  bool empty() const noexcept { return count_ == 0; }
  bool full() const noexcept { return count_ == config_.maxSources; }
  uint32_t sources() const noexcept { return count_; }
  uint64_t openedNs() const noexcept { return openedNs_; }
  uint64_t nextSeq() const noexcept { return firstSeq_ + count_; }
  const FecEncoderConfig& config() const noexcept { return config_; }

 private:
  explicit FecBlockEncoder(const FecEncoderConfig& config);

  FecEncoderConfig config_;
  size_t stride_;  // bytes per symbol slot
  std::array<std::unique_ptr<ReedSolomonCodec>, ReedSolomonCodec::kMaxSource + 1> codecs_;
  std::unique_ptr<uint8_t[]> sources_;
  std::unique_ptr<uint8_t[]> repairs_;
  std::array<uint16_t, ReedSolomonCodec::kMaxSource> lengths_{};
  std::array<uint64_t, ReedSolomonCodec::kMaxSource> timestamps_{};
  uint64_t nextBlockId_ = 0;
  uint64_t firstSeq_ = 0;
  uint32_t count_ = 0;
  uint64_t openedNs_ = 0;
};

}  // namespace braid::dp
