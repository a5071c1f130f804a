#pragma once

#include <array>
#include <cstddef>

#include "dataplane/counter.h"
#include "dataplane/proto/wire/drop_reason.h"

namespace braid::dp {

// A fixed-bucket histogram with one writer (the worker) and scrapers reading it.
struct OwnedHistogram {
  // Upper bounds in µs; the last bucket is +Inf.
  static constexpr std::array<uint64_t, 12> kBoundsUs = {1'000,   5'000,     10'000,    25'000,
                                                         50'000,  100'000,   200'000,   350'000,
                                                         500'000, 1'000'000, 2'000'000, 5'000'000};
  std::array<OwnedCounter, kBoundsUs.size() + 1> buckets;  // non-cumulative
  OwnedCounter sumUs;

  void observeUs(uint64_t valueUs) noexcept {
    size_t i = 0;
    while (i < kBoundsUs.size() && valueUs > kBoundsUs[i]) ++i;
    buckets[i].add();
    sumUs.add(valueUs);
  }
};

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
  OwnedCounter lateCopies;  // copies of sequences already played: nothing lost
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
  OwnedCounter outputsOpen;  // outputs this worker holds open (gauge)
  OwnedCounter linkAddressMoves;
  OwnedCounter amplificationLimited;
  OwnedCounter feedbackSent;
  OwnedCounter nacksSent;            // NACK messages (one per round, sent on up to two links)
  OwnedCounter nackedSequences;      // sequences asked for
  OwnedCounter retransmitsReceived;  // DATA packets flagged as retransmitted copies
  OwnedCounter arqRecovered;         // retransmitted copies that filled a hole in time
  OwnedCounter repairsReceived;      // REPAIR packets authenticated
  OwnedCounter fecRecovered;         // packets rebuilt by FEC that filled a hole in time
  OwnedCounter nullsRestored;        // TS null packets put back where the edge deleted them
  OwnedCounter admissionRefused;
  OwnedCounter handshakeStateEntries;  // gauge: authenticated-handshake replay entries
  // Multi-worker dataplane (docs/gateway.md): datagrams received here for a session (or a
  // handshake) another worker owns, handed to it over the SPSC ring; those received from
  // other workers; and those dropped because the owner's ring was full.
  OwnedCounter handoffsSent;
  OwnedCounter handoffsReceived;
  OwnedCounter handoffDrops;
  OwnedCounter handshakesLimited;  // HS_INITs dropped by the intake limit before any crypto
  OwnedCounter idleWaits;          // sleeps on the port's and the rings' wake fds
  OwnedCounter coalesceSleeps;     // short sleeps to let a partial burst fill
  OwnedCounter timersFired;        // session timers fired by the worker's timer wheel
  // Passes (and sleeps past their end) that kept the worker from its port for 20 ms or more,
  // and the longest of them in µs (a gauge that only grows): docs/gateway.md §5.
  OwnedCounter stalls;
  // Times the handshake lane had to wait for the arena pool to map a jitter-buffer arena (a
  // fleet reconnecting faster than the pool maps, or memory short).
  OwnedCounter arenaWaits;
  OwnedCounter longestStallUs;
  // How long before its playout deadline each accepted DATA packet arrived: the margin the
  // latency budget still had (0 = just in time).
  OwnedHistogram arrivalMargin;

  void drop(proto::DropReason reason) noexcept { drops[static_cast<size_t>(reason)].add(); }
  uint64_t totalDrops() const noexcept {
    uint64_t sum = 0;
    for (const auto& c : drops) sum += c.read();
    return sum;
  }
};

}  // namespace braid::dp
