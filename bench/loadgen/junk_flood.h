#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/io/socket_address.h"
#include "dataplane/proto/result.h"

namespace braid::bench {

// What a flood sends: junk the gateway's XDP filter drops (names as its reasons,
// dp::xdpStatName), and HS_INITs of the right size and flags from unknown keys, which pass
// the filter and cost the gateway an intake-bucket check (and at most a cookie) each.
enum class FloodKind : uint8_t {
  kTooShort,
  kBadVersion,
  kUnknownType,
  kBadLinkId,
  kSealedTooShort,
  kBadInit,
  kWrongDirection,
  kHandshakeInit,
};
inline constexpr size_t kFloodKinds = 8;
inline constexpr size_t kJunkKinds = 7;  // every kind but kHandshakeInit
const char* floodKindName(FloodKind kind);

struct FloodOptions {
  dp::SocketAddress gateway;
  std::vector<dp::SocketAddress> sources;  // local addresses to send from (port 0: ephemeral)
  size_t socketsPerSource = 4;             // distinct source ports per address
  double junkPps = 200'000;                // the junk kinds in turn
  double initPps = 10'000;
  double seconds = 10;
};

struct FloodReport {
  std::array<uint64_t, kFloodKinds> sent{};  // datagrams the kernel took, per kind
  uint64_t sendErrors = 0;
  double seconds = 0;  // first to last send
  uint64_t maxLateNs = 0;
};

// Sends the flood from one thread with sendmmsg bursts of 32, paced to the stated rates
// (a burst waits for the due time of its first datagram) for the stated time, whether or
// not it kept up. Returns what was sent.
Result<FloodReport> runFlood(const FloodOptions& options);

}  // namespace braid::bench
