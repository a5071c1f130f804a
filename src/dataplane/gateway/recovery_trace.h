#pragma once

// Which mechanism filled which hole, for tests and troubleshooting, off the packet path: the
// owner worker records one small event per recovered packet into a bounded SPSC ring (no
// allocation, no syscall; an event that finds the ring full is dropped and counted), and the
// control thread drains the ring into a file (braid-gateway --recovery-trace). Off unless asked
// for: a session without a trace pays one null check per recovery.

#include <cstdint>

#include "dataplane/counter.h"
#include "dataplane/ring/spsc_ring.h"

namespace braid::dp {

enum class RecoveryMechanism : uint8_t { kArq, kFec };

inline const char* recoveryMechanismName(RecoveryMechanism mechanism) {
  return mechanism == RecoveryMechanism::kFec ? "fec" : "arq";
}

struct RecoveryEvent {
  uint64_t sessionId = 0;
  uint64_t mediaSeq = 0;
  RecoveryMechanism mechanism = RecoveryMechanism::kArq;
};

class RecoveryTrace {
 public:
  // 65536 events: over a second of a lossy 10 Mbit/s session between two drains.
  explicit RecoveryTrace(size_t slots = 65536) : ring_(slots) {}

  // Owner worker.
  void record(uint64_t sessionId, uint64_t mediaSeq, RecoveryMechanism mechanism) noexcept {
    if (!ring_.tryPush(RecoveryEvent{sessionId, mediaSeq, mechanism})) dropped_.add();
  }

  // Control thread: calls f(const RecoveryEvent&) for every event recorded so far.
  template <typename F>
  size_t drain(F&& f) noexcept {
    size_t n = ring_.readable(ring_.capacity());
    for (size_t i = 0; i < n; ++i) f(ring_.readSlot(i));
    ring_.consume(n);
    return n;
  }

  uint64_t dropped() const noexcept { return dropped_.read(); }

 private:
  SpscRing<RecoveryEvent> ring_;
  OwnedCounter dropped_;
};

}  // namespace braid::dp
