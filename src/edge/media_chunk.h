#pragma once

#include <array>
#include <cstdint>

namespace braid::edge {

// One future DATA packet's body (docs/protocol.md §5.1: the null-run list, then whole TS
// packets), handed from the input thread to the sender through an SpscRing; stored in place
// in the ring's slots so nothing is allocated.
struct MediaChunk {
  static constexpr size_t kCapacity = 1472;
  uint64_t entryNs = 0;  // monotonic time the media entered the edge (the media timestamp)
  // Non-zero: every TS packet here belongs to this non-reference access unit, and the sender
  // may shed the chunk, together with every other chunk of the access unit. Ordinals grow
  // with the input.
  uint32_t accessUnit = 0;
  uint16_t size = 0;
  uint16_t tsOffset = 0;  // where the TS packets start in `bytes` (after the null-run list)
  uint8_t flags = 0;      // proto::flag bits; kFragment: the access unit continues later
  bool shed = false;      // set by the sender: dropped with its access unit, never sent
  std::array<uint8_t, kCapacity> bytes;
};

}  // namespace braid::edge
