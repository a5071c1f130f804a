#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/counter.h"
#include "dataplane/proto/handshake/sealed_channel.h"

namespace braid::dp {

// Per-link counters of one session. Written by the owner worker only; read by the metrics
// scraper through the session registry.
struct alignas(64) LinkStats {
  std::atomic<bool> known{false};
  OwnedCounter packets;
  OwnedCounter bytes;
  OwnedCounter lost;            // gaps in the per-link sequence
  OwnedCounter jitterUs;        // gauge: RFC 3550 interarrival jitter
  OwnedCounter addressChanges;  // NAT rebindings / carrier moves
};

// Counters of one session, shared (read-only) with the control thread while the session
// lives; the worker removes it from the registry when the session ends, so its series go.
struct SessionStats {
  proto::SessionId id;
  uint32_t keyId = 0;
  uint16_t latencyMs = 0;
  OwnedCounter dataPackets;
  OwnedCounter played;
  OwnedCounter skipped;
  OwnedCounter late;
  OwnedCounter lateCopies;  // copies of sequences already played
  OwnedCounter duplicates;
  OwnedCounter nackedSequences;
  OwnedCounter arqRecovered;
  OwnedCounter fecRecovered;
  OwnedCounter repairPackets;
  OwnedCounter outputBytes;
  OwnedCounter jitterDepth;       // gauge: packets held
  OwnedCounter playoutLatencyNs;  // gauge: of the last played packet
  std::array<LinkStats, proto::kMaxLinks> links;
};

}  // namespace braid::dp
