#pragma once

// The plaintext of a DATA packet (docs/protocol.md §5.1): a null-run list, then whole
// 188-byte TS packets. The edge deletes TS null packets (and filler-only video packets)
// before sending; each run says how many null packets stood before the TS packet at its
// position, so the gateway can put them back where they were and a constant-rate mux
// leaves it as it came in. Fixed-capacity storage, no allocation.

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

// `count` null packets (≥ 1) stood before the TS packet at index `position` of the body
// (position = the number of TS packets: after the last one).
struct NullRun {
  uint32_t position = 0;
  uint32_t count = 0;
  friend bool operator==(const NullRun&, const NullRun&) = default;
};

struct DataBody {
  std::array<NullRun, kMaxNullRuns> runs{};
  size_t runCount = 0;
  uint64_t nullCount = 0;       // sum of the runs' counts
  std::span<const uint8_t> ts;  // whole TS packets, into the parsed buffer

  std::span<const NullRun> runList() const { return std::span(runs).first(runCount); }
  size_t tsPackets() const { return ts.size() / kTsPacketSize; }

  // Parses and checks a DATA plaintext: varint run count ≤ 64, per run varint position
  // and varint count ≥ 1, positions strictly ascending and ≤ the number of TS packets,
  // at most 4096 nulls in all, then TS bytes that are a whole number of 188-byte packets;
  // a body with neither a run nor a TS packet carries nothing. Anything else is
  // malformed_body. Any thread; no allocation.
  static tl::expected<DataBody, DropReason> parse(std::span<const uint8_t> body) noexcept;
};

// Bytes the run list takes on the wire (the count varint and every run). noexcept.
size_t nullRunsSize(std::span<const NullRun> runs) noexcept;

// Writes the run list (count, then the runs) into `out`; returns the bytes written, 0 when
// it does not fit or breaks a rule of DataBody::parse that does not depend on the TS bytes
// (more than 64 runs or 4096 nulls, a zero count, positions not ascending). Any thread.
size_t writeNullRuns(std::span<const NullRun> runs, std::span<uint8_t> out) noexcept;

}  // namespace braid::proto
