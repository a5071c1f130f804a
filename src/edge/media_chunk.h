#pragma once

#include <array>
#include <cstdint>

namespace braid::edge {

// Whole TS packets of one future DATA packet, handed from the input thread to the sender
// through an SpscRing; stored in place in the ring's slots so nothing is allocated.
struct MediaChunk {
  static constexpr size_t kCapacity = 1472;
  uint64_t entryNs = 0;  // monotonic time the media entered the edge (the media timestamp)
  uint16_t size = 0;
  uint8_t flags = 0;
  std::array<uint8_t, kCapacity> bytes;
};

}  // namespace braid::edge
