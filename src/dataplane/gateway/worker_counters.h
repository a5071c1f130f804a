#pragma once

#include <array>
#include <cstddef>

#include "dataplane/counter.h"
#include "dataplane/proto/wire/drop_reason.h"

namespace braid::dp {

// Counters of one gateway worker: written only by that worker, read by the control
// thread for stats and metrics. One cache line apart from other workers' counters.
struct alignas(64) WorkerCounters {
  std::array<OwnedCounter, static_cast<size_t>(proto::DropReason::kCount)> drops;
  OwnedCounter rxPackets;
  OwnedCounter rxBytes;
  OwnedCounter dataPackets;
  OwnedCounter dataBytes;
  OwnedCounter duplicates;
  OwnedCounter late;
  OwnedCounter tooFarAhead;
  OwnedCounter skipped;
  OwnedCounter played;
  OwnedCounter outputBytes;
  OwnedCounter outputDrops;
  OwnedCounter cookiesSent;
  OwnedCounter handshakesAccepted;
  OwnedCounter rekeys;
  OwnedCounter resetsSent;
  OwnedCounter sessionsOpened;
  OwnedCounter sessionsClosed;
  OwnedCounter sessionsActive;
  OwnedCounter linkAddressMoves;
  OwnedCounter amplificationLimited;
  OwnedCounter feedbackSent;
  OwnedCounter admissionRefused;
  OwnedCounter handshakeStateEntries;  // gauge: authenticated-handshake replay entries

  void drop(proto::DropReason reason) noexcept { drops[static_cast<size_t>(reason)].add(); }
  uint64_t totalDrops() const noexcept {
    uint64_t sum = 0;
    for (const auto& c : drops) sum += c.read();
    return sum;
  }
};

}  // namespace braid::dp
