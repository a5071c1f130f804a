#pragma once

// Puts back the TS null packets the edge deleted before sending (docs/protocol.md §5.1), so
// that a constant-rate mux leaves the gateway as it entered the edge. Header-only: the
// gateway's playout and the wire fuzz target use it.

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/output/media_chunk.h"
#include "dataplane/proto/wire/data_body.h"

namespace braid::dp {

// The null packet put back for every deleted one: PID 0x1FFF, payload only, continuity
// counter 0, 184 bytes of 0xFF, as FFmpeg's and most muxers write them (a decoder ignores
// a null packet's counter and payload).
inline constexpr std::array<uint8_t, kTsPacketBytes> kNullTsPacket = [] {
  std::array<uint8_t, kTsPacketBytes> p{};
  p.fill(0xff);
  p[0] = 0x47;
  p[1] = 0x1f;
  p[2] = 0xff;
  p[3] = 0x10;
  return p;
}();

// Calls out(std::span<const uint8_t>) with the body's TS packets and its deleted packets put
// back in place (null packets, and filler-only packets as they were), in order, in pieces of at
// most kMediaChunkCapacity bytes (one output chunk each); a body without runs is handed over whole,
// without a copy. `scratch` assembles the pieces. Returns the packets restored. noexcept,
// allocation-free; any single thread.
template <typename Out>
uint64_t restoreNulls(const proto::DataBody& body, std::span<uint8_t, kMediaChunkCapacity> scratch,
                      Out&& out) noexcept {
  if (body.runCount == 0) {
    if (!body.ts.empty()) out(body.ts);
    return 0;
  }
  size_t used = 0;
  auto flushFull = [&] {
    if (used == scratch.size()) {
      out(std::span<const uint8_t>(scratch.data(), used));
      used = 0;
    }
  };
  auto put = [&](const uint8_t* packet) {
    std::memcpy(scratch.data() + used, packet, kTsPacketBytes);
    used += kTsPacketBytes;
    if (used == scratch.size()) {
      out(std::span<const uint8_t>(scratch.data(), used));
      used = 0;
    }
  };
  const size_t packets = body.tsPackets();
  size_t run = 0;
  for (size_t i = 0; i <= packets; ++i) {
    for (; run < body.runCount && body.runs[run].position == i; ++run) {
      const proto::NullRun& r = body.runs[run];
      for (uint32_t n = 0; n < r.count; ++n) {
        if (!r.filler) {
          put(kNullTsPacket.data());
          continue;
        }
        // A filler-only video packet: its header, the counter advancing, 184 bytes 0xFF.
        uint8_t* p = scratch.data() + used;
        std::memset(p, 0xff, kTsPacketBytes);
        p[0] = 0x47;
        p[1] = r.header[0];
        p[2] = r.header[1];
        p[3] = static_cast<uint8_t>((r.header[2] & 0xf0) | ((r.header[2] + n) & 0x0f));
        used += kTsPacketBytes;
        flushFull();
      }
    }
    if (i < packets) put(body.ts.data() + i * kTsPacketBytes);
  }
  if (used > 0) out(std::span<const uint8_t>(scratch.data(), used));
  return body.nullCount;
}

}  // namespace braid::dp
