#pragma once

// The FEC blocks the edge closed most recently, so that a NACK for one of their sources can be
// left to the block's repairs while they can still rebuild it. At low latency the repairs
// reach the gateway before a NACK's resend could (at 200 ms every resend of the 200 ms
// scenario arrived after FEC had rebuilt its packet), so a resend there only takes room.
// A block's repairs rebuild as many lost sources as there are repairs that left: while the
// sources NACKed from it, plus the repairs expected lost and a spare, are no more than that,
// the block decodes without resends. The NACK that goes past is resent, and so is every later
// one (and any earlier one the gateway asks for again): only the excess needs a second copy.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace braid::edge {

// Sender thread only; fixed size, no allocation.
class SentFecBlocks {
 public:
  static constexpr size_t kBlocks = 64;
  static constexpr uint32_t kMaxSources = 64;  // the nacked mask's width (EdgeFecOptions)
  // Kept back for repairs lost beyond the expected: without it, the 200 ms scenario lost a
  // block in 120 s whose excess NACKs came too late to be resent in time.
  static constexpr uint32_t kSpareRepairs = 1;

  // A block of sources firstSeq .. firstSeq + k - 1 closed; its repairs are to follow.
  void closed(uint64_t firstSeq, uint32_t k) noexcept {
    blocks_[next_++ % kBlocks] = Block{.firstSeq = firstSeq, .k = std::min(k, kMaxSources)};
  }
  // One repair of the newest block left (those dropped past their deadline never count).
  void repairLeft() noexcept {
    if (next_ > 0) ++blocks_[(next_ - 1) % kBlocks].repairs;
  }

  // A NACK for `seq`: whether its block's repairs can be expected to rebuild it, counting it
  // and every other source of the block NACKed so far, the repairs lost at `lossRate`
  // (rounded up) and one spare. False for a sequence of no closed block still remembered.
  bool coveredByRepairs(uint64_t seq, double lossRate) noexcept {
    const uint64_t count = std::min<uint64_t>(next_, kBlocks);
    for (uint64_t back = 1; back <= count; ++back) {
      Block& block = blocks_[(next_ - back) % kBlocks];
      if (seq >= block.firstSeq + block.k) return false;  // newer than every closed block
      if (seq < block.firstSeq) continue;
      const uint64_t bit = uint64_t{1} << (seq - block.firstSeq);
      if (!(block.nacked & bit)) {
        block.nacked |= bit;
        ++block.nackedCount;
      }
      const auto repairsLost =
          static_cast<uint32_t>(std::ceil(static_cast<double>(block.repairs) * lossRate));
      return block.nackedCount + repairsLost + kSpareRepairs <= block.repairs;
    }
    return false;
  }

 private:
  struct Block {
    uint64_t firstSeq = 0;
    uint32_t k = 0;
    uint32_t repairs = 0;  // that left
    uint64_t nacked = 0;   // bit i: source firstSeq + i was NACKed
    uint32_t nackedCount = 0;
  };
  std::array<Block, kBlocks> blocks_{};
  uint64_t next_ = 0;
};

}  // namespace braid::edge
