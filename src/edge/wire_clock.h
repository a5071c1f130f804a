#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/proto/result.h"

namespace braid::edge {

// A deliberate error of the edge's clock, for tests and diagnostics (braid-edge --clock-skew):
// the timestamps the edge puts on the wire read offset + t·(1 + ppm·1e-6) instead of t.
struct ClockSkew {
  int64_t offsetNs = 0;
  int64_t ppb = 0;  // drift in parts per billion (ppm × 1000)
};

inline constexpr int64_t kMaxClockSkewOffsetMs = 1'000'000'000;  // 11.6 days
inline constexpr int64_t kMaxClockSkewPpm = 1'000;

// Parses "OFFSET_MS:PPM" (e.g. "3600000:100", "-3600000:-12.5"): an integer offset in ms within
// ±kMaxClockSkewOffsetMs and a drift in ppm within ±kMaxClockSkewPpm (at most 3 decimals). Any
// thread; kInvalidArgument with the reason otherwise.
Result<ClockSkew> parseClockSkew(std::string_view text);

// The clock of the edge's wire timestamps (send timestamps and media timestamps) as a function of
// its real CLOCK_MONOTONIC reading: real + offset + (real − origin)·ppm·1e-6, i.e. a clock that is
// off by `offset` at the origin (the edge's start) and drifts from there. The default is the real
// clock. Local intervals (pacing, timeouts, deadlines) keep using the real clock; only values that
// another host compares with its own clock, or that come back echoed, go through this one, so the
// edge's RTT (now minus an echoed send timestamp) is measured on the same skewed clock. Immutable
// after construction: any thread; noexcept, no allocation.
class WireClock {
 public:
  WireClock() = default;
  WireClock(const ClockSkew& skew, uint64_t originNs) noexcept;

  // The wire clock at real monotonic time realNs, in ns. A negative offset larger than the real
  // clock is stored plus whole periods of the 32-bit µs send timestamp (2^32 µs, 71.6 min) so
  // that this never goes below zero; neither send timestamps nor media timestamps change by it.
  uint64_t at(uint64_t realNs) const noexcept {
    return realNs + baseNs_ + static_cast<uint64_t>(driftNs(realNs));
  }

  // The 32-bit send timestamp of a packet sent at real time realNs: low 32 bits of the wire
  // clock in µs (docs/protocol.md §3.1).
  uint32_t sendTimestampUs(uint64_t realNs) const noexcept {
    return static_cast<uint32_t>(at(realNs) / 1000);
  }

  // The media timestamp (µs since the media epoch, both on the wire clock) of media that entered
  // at real time entryNs ≥ epochNs.
  uint64_t mediaTsUs(uint64_t entryNs, uint64_t epochNs) const noexcept {
    return (entryNs - epochNs + static_cast<uint64_t>(driftNs(entryNs) - driftNs(epochNs))) / 1000;
  }

 private:
  // (real − origin) × ppb / 1e9, exact in 64 bits: split at whole seconds so that no product
  // exceeds 2^63 for any elapsed time and |ppb| ≤ 1e6.
  int64_t driftNs(uint64_t realNs) const noexcept {
    if (ppb_ == 0) return 0;
    const auto elapsed = static_cast<int64_t>(realNs - originNs_);
    return elapsed / 1'000'000'000 * ppb_ + elapsed % 1'000'000'000 * ppb_ / 1'000'000'000;
  }

  uint64_t baseNs_ = 0;  // the offset, plus whole 2^32 µs periods when it is negative
  uint64_t originNs_ = 0;
  int64_t ppb_ = 0;
};

}  // namespace braid::edge
