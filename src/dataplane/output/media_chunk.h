#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace braid::dp {

inline constexpr size_t kTsPacketBytes = 188;
// Eight TS packets: more than any DATA payload (1154 B at the default 1200-byte wire
// size, at most 1454 B at a 1500-byte MTU), so one payload is one chunk.
inline constexpr size_t kMediaChunkCapacity = 8 * kTsPacketBytes;

// A fixed-size media buffer carried by value in an SpscRing. The ring's slots are the
// buffer pool: the producer fills a free slot in place and the consumer writes it out in
// place, so there is no allocation, no second free-list ring and exactly one copy per side.
// The price is capacity x 1.5 KB of memory per ring, allocated once.
struct MediaChunk {
  uint32_t size = 0;
  std::array<uint8_t, kMediaChunkCapacity> bytes;
};

}  // namespace braid::dp
