#pragma once

#include <time.h>

#include <cstdint>

namespace braid::dp {

// CLOCK_MONOTONIC in ns: the one time base of the packet path (read once per burst).
inline uint64_t monotonicNs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// CLOCK_REALTIME in ns (handshake timestamps, cookie buckets; never for intervals).
inline uint64_t realtimeNs() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace braid::dp
