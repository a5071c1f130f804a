#pragma once

#include <cstddef>
#include <cstdint>

namespace braid::proto {

// Why a packet was dropped (docs/protocol.md §3.6). Every drop is counted by reason;
// the names below are the metric label values.
enum class DropReason : uint8_t {
  kTooShort,
  kBadVersion,
  kUnknownType,
  kBadHeader,
  kUnknownSession,
  kAuthFailed,
  kReplay,
  kBadCookie,
  kBadMac,
  kStaleHandshake,
  kRateLimited,
  kMalformedBody,
  kUnknownKey,
  kWrongDirection,
  kCount,  // not a reason: the number of reasons, for per-reason counter arrays
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// The snake_case name of `reason` as the spec writes it ("too_short"); "unknown" for
// kCount or out-of-range values. Static storage; any thread.
const char* dropReasonName(DropReason reason) noexcept;

}  // namespace braid::proto
