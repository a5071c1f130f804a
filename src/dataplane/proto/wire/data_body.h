#pragma once

// The plaintext of a DATA packet (docs/protocol.md §5.1): a deleted-packet run list, then
// whole 188-byte TS packets. The edge deletes TS null packets and filler-only video packets
// before sending; each run says how many of them stood before the TS packet at its position
// (and, for filler, the TS header they had), so the gateway can put them back where they
// were and a constant-rate mux leaves it as it came in. Fixed-capacity storage, no
// allocation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "dataplane/proto/wire/drop_reason.h"

namespace braid::proto {

inline constexpr size_t kTsPacketSize = 188;
// At most this many runs, and this many null packets in all, per DATA packet: the edge ends
// a payload early rather than exceed them, and the gateway never restores more than
// 4096 × 188 bytes (770 KB) for one packet.
inline constexpr size_t kMaxNullRuns = 64;
inline constexpr uint64_t kMaxNullsPerData = 4096;

// `count` deleted packets (≥ 1) stood before the TS packet at index `position` of the body
// (position = the number of TS packets: after the last one). Null packets, or, with
// `filler`, video packets whose 184 payload bytes were all 0xFF and whose TS header bytes 1–3
// were `header` for the first and the same with the continuity counter one higher (mod 16)
// for each next one.
struct NullRun {
  uint32_t position = 0;
  uint32_t count = 0;
  bool filler = false;
  std::array<uint8_t, 3> header{};  // filler only
  friend bool operator==(const NullRun&, const NullRun&) = default;
};

struct DataBody {
  std::array<NullRun, kMaxNullRuns> runs{};
  size_t runCount = 0;
  uint64_t nullCount = 0;       // sum of the runs' counts
  std::span<const uint8_t> ts;  // whole TS packets, into the parsed buffer

  std::span<const NullRun> runList() const { return std::span(runs).first(runCount); }
  size_t tsPackets() const { return ts.size() / kTsPacketSize; }

  // Parses and checks a DATA plaintext: varint run count ≤ 64, per run varint position and
  // varint count × 2 + filler (count ≥ 1), then for filler the 3 header bytes; positions
  // ascending (equal allowed) and ≤ the number of TS packets, at most 4096 deleted packets
  // in all, then TS bytes that are a whole number of 188-byte packets; a body with neither
  // a run nor a TS packet carries nothing. Anything else is malformed_body. Any thread; no
  // allocation.
  static tl::expected<DataBody, DropReason> parse(std::span<const uint8_t> body) noexcept;
  // Whether parse() would accept `body`, without building the run list (the packet path
  // checks every DATA and every rebuilt one; it parses only at playout).
  static bool valid(std::span<const uint8_t> body) noexcept;
};

// Bytes the run list takes on the wire (the count varint and every run). noexcept.
size_t nullRunsSize(std::span<const NullRun> runs) noexcept;

// Writes the run list (count, then the runs) into `out`; returns the bytes written, 0 when
// it does not fit or breaks a rule of DataBody::parse that does not depend on the TS bytes
// (more than 64 runs or 4096 packets, a zero count, positions descending). Any thread.
size_t writeNullRuns(std::span<const NullRun> runs, std::span<uint8_t> out) noexcept;

// Bytes one run takes on the wire. noexcept.
size_t nullRunSize(const NullRun& run) noexcept;

// Calls f(uint8_t* header) with the 3 header bytes of every filler run of a well-formed body
// (one that DataBody::parse accepts), in place: for renumbering continuity counters.
// noexcept.
template <typename F>
void forEachFillerHeader(std::span<uint8_t> body, F&& f) noexcept;

template <typename F>
void forEachFillerHeader(std::span<uint8_t> body, F&& f) noexcept {
  // Varints decoded by hand: this runs on the sender's hot path, on a body it wrote.
  size_t pos = 0;
  auto varint = [&]() -> uint64_t {
    if (pos >= body.size()) return 0;
    const size_t len = size_t{1} << (body[pos] >> 6);
    if (pos + len > body.size()) {
      pos = body.size();
      return 0;
    }
    uint64_t v = body[pos] & 0x3f;
    for (size_t i = 1; i < len; ++i) v = (v << 8) | body[pos + i];
    pos += len;
    return v;
  };
  const uint64_t runs = varint();
  for (uint64_t i = 0; i < runs && pos < body.size(); ++i) {
    varint();
    const uint64_t countAndKind = varint();
    if ((countAndKind & 1) && pos + 3 <= body.size()) {
      f(body.data() + pos);
      pos += 3;
    }
  }
}

}  // namespace braid::proto
