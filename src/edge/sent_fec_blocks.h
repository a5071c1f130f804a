#pragma once

// The FEC blocks the edge closed most recently, so that a NACK for one of their sources can be
// left to the block's repairs while they can still rebuild it. At low latency the repairs
// reach the gateway before a NACK's resend could (at 200 ms every resend of the 200 ms
// scenario arrived after FEC had rebuilt its packet), so a resend there only takes room.
// A block's repairs rebuild as many lost sources as there are repairs that left: while so few
// of its sources are NACKed that losing more of the repairs than that leaves is rarer than
// kLeaveToFecRisk, the block decodes without resends. The NACK that goes past is resent, and
// so is every later one (and any earlier one the gateway asks for again): only the excess
// needs a second copy.

#include <algorithm>
#include <array>
#include <cstdint>

#include "edge/fec_policy.h"

namespace braid::edge {

// Sender thread only; fixed size, no allocation.
class SentFecBlocks {
 public:
  static constexpr size_t kBlocks = 64;
  static constexpr uint32_t kMaxSources = 64;  // the nacked mask's width (EdgeFecOptions)
  // How likely a NACK left to FEC may be to miss: the repairs rarely all arrive when several
  // sources are lost (one lost repair more than the expected cost the 200 ms scenario a block
  // now and then), and a resend for each of the few blocks above it costs little.
  static constexpr double kLeaveToFecRisk = 1e-4;
  // A repair is taken as lost at least this often: a NACK is evidence of loss even when the
  // bond's measured rate reads zero.
  static constexpr double kMinRepairLoss = 0.01;

  // A block of sources firstSeq .. firstSeq + k - 1 closed; its repairs are to follow.
  void closed(uint64_t firstSeq, uint32_t k) noexcept {
    blocks_[next_++ % kBlocks] = Block{.firstSeq = firstSeq, .k = std::min(k, kMaxSources)};
  }
  // One repair of the newest block left (those dropped past their deadline never count).
  void repairLeft() noexcept {
    if (next_ > 0) ++blocks_[(next_ - 1) % kBlocks].repairs;
  }

  // A NACK for `seq`: whether its block's repairs can be expected to rebuild it, counting it
  // and every other source of the block NACKed so far: losing more of the repairs than they
  // leave over, each at `lossRate` (at least kMinRepairLoss), is rarer than kLeaveToFecRisk.
  // False for a sequence of no closed block still remembered.
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
      if (block.nackedCount > block.repairs) return false;
      // P[more of the repairs lost than the NACKed sources leave over].
      return binomialTailAbove(block.repairs, std::max(lossRate, kMinRepairLoss),
                               block.repairs - block.nackedCount) <= kLeaveToFecRisk;
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
