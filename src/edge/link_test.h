#pragma once

// The edge's link test, run by crews before going live: a normal session with the gateway
// (same keys, links and handshake) whose input is synthetic media that never runs out, sent
// on every link as fast as that link's own pacer and congestion control allow
// (Scheduling::kPerLink, no retransmissions). Each link's capacity, round-trip times and
// loss are measured from the gateway's receive reports. docs/transport.md, "Link test".

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataplane/proto/result.h"
#include "edge/edge_session.h"

namespace braid::edge {

struct LinkTestOptions {
  uint64_t durationNs = 10'000'000'000;         // of saturating traffic, from the handshake
  uint64_t handshakeTimeoutNs = 5'000'000'000;  // no session by then: the gateway is unreachable
};

// What the test measured on one link. Rates and loss are over the measurement window: the
// test minus its ramp-up (the first third, at least 2 s, at most half).
struct LinkTestLinkResult {
  std::string name;
  double capacityBps = 0;  // delivered, counting each datagram's IP and UDP headers
  double goodputBps = 0;   // delivered UDP payload
  double minRttMs = 0;     // the link controller's windowed minimum at the end
  double srttMs = 0;       // smoothed RTT at the end
  double rttP50Ms = 0;     // of the RTT samples in the window (latest sample every 10 ms)
  double rttP95Ms = 0;
  double queueP95Ms = 0;  // p95 RTT − min RTT: the queueing delay the test built up
  double lossRatio = 0;   // reported lost ÷ (received + lost)
  double paceP50Bps = 0;  // the link controller's pacing rate in the window (every 10 ms)
  double paceMaxBps = 0;
  uint64_t packetsDelivered = 0;
  uint64_t packetsLost = 0;
  uint64_t dataPackets = 0;  // DATA packets the edge sent on the link over the whole test
  uint64_t downs = 0;        // times the link was declared down
  uint64_t rttSamples = 0;
};

struct LinkTestReport {
  std::vector<LinkTestLinkResult> links;
  uint64_t establishedNs = 0;  // CLOCK_MONOTONIC: the session was up, the test started
  uint64_t windowStartNs = 0;  // CLOCK_MONOTONIC: the measurement window
  uint64_t windowEndNs = 0;
};

// Runs the link test: handshakes, saturates every link for options.durationNs, closes the
// session and returns the per-link figures. `session` gives the gateway, links and keys (its
// scheduling and retransmit fields are overridden). `interrupted` is polled every 10 ms (a
// signal: the test stops early and reports what it has). Calling thread; starts and joins
// its own sender and input threads. Returns a kTimeout Error if no session came up within
// options.handshakeTimeoutNs, or the session's creation Error.
[[nodiscard]] Result<LinkTestReport> runLinkTest(EdgeSessionOptions session,
                                                 const LinkTestOptions& options,
                                                 const std::function<bool()>& interrupted);

// One human-readable line per link. Any thread.
std::string formatLinkTestText(const LinkTestReport& report);
// The report as one JSON object (links as an array, times in CLOCK_MONOTONIC ns). Any thread.
std::string formatLinkTestJson(const LinkTestReport& report);

}  // namespace braid::edge
