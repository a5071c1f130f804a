#pragma once

// The sender's copies of recently sent media packets, for ARQ. A NACKed sequence is sent
// again only if it is still held (not acknowledged, not overwritten), if a copy can still
// arrive before its playout deadline, if it was not sent within the last round trip (or
// `minResendGapNs`, whichever is longer: repeated NACKs for one hole are rate-limited here too),
// and if the byte budget allows: retransmissions may use at most `budgetShare` of the media bytes
// sent (a token bucket filled by every stored packet), so a broken link cannot turn ARQ into a
// flood.

#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

struct RetransmitConfig {
  uint32_t capacity = 8192;  // packets held; a power of two (≥ latency × packet rate)
  uint32_t maxPayload = 1500;
  double budgetShare = 0.25;
  uint64_t budgetBurstBytes = 512 * 1024;
  uint64_t minResendGapNs = 50'000'000;
};

struct RetransmitCounters {
  OwnedCounter resent;
  OwnedCounter resentBytes;
  OwnedCounter tooLate;     // a copy could not arrive before the deadline
  OwnedCounter overBudget;  // the byte budget was spent
  OwnedCounter notHeld;     // already acknowledged or overwritten
  OwnedCounter throttled;   // resent too recently
};

class RetransmitBuffer {
 public:
  struct Packet {
    uint64_t seq = 0;
    uint64_t mediaTsUs = 0;
    uint64_t deadlineNs = 0;  // latest useful arrival time at the receiver (sender clock)
    uint64_t lastSentNs = 0;
    uint32_t size = 0;
    uint8_t flags = 0;
    uint8_t linkId = 0;    // the link its last copy went on
    uint64_t linkSeq = 0;  // that copy's per-link sequence
    const uint8_t* payload = nullptr;
  };

  // Returns the buffer, or kInvalidArgument for a capacity that is not a power of two.
  static Result<std::unique_ptr<RetransmitBuffer>> create(const RetransmitConfig& config);

  // Keeps a copy of media packet `seq` (payloads above maxPayload are not kept). Sender
  // thread; no allocation.
  void store(uint64_t seq, uint64_t mediaTsUs, uint8_t flags, std::span<const uint8_t> payload,
             uint64_t deadlineNs, uint64_t sentNs, uint8_t linkId = 0,
             uint64_t linkSeq = 0) noexcept;
  // The link the last copy of `seq` went on, or -1 if it is not held.
  int linkOf(uint64_t seq) const noexcept;
  // The held packet `seq` (its last send time, link and deadline), or nullptr. Sender thread.
  const Packet* find(uint64_t seq) const noexcept;
  // Forgets every sequence below `cumulativeSeq` (the receiver has them or gave up on them).
  void release(uint64_t cumulativeSeq) noexcept;
  // The packet to resend for a NACK of `seq` at `nowNs` if a copy sent now would arrive before
  // its deadline even if it takes `extraDelayNs` longer than the fastest packets do, and its
  // last copy left more than `roundTripNs` ago; nullptr otherwise (counted by reason). Marks it
  // resent on `linkId` with per-link sequence `linkSeq` and charges the budget. Sender thread.
  const Packet* takeForResend(uint64_t seq, uint64_t nowNs, uint64_t extraDelayNs,
                              uint64_t roundTripNs, uint8_t linkId = 0,
                              uint64_t linkSeq = 0) noexcept;

  const RetransmitCounters& counters() const noexcept { return counters_; }

 private:
  struct Slot {
    Packet packet;
    bool held = false;
  };
  explicit RetransmitBuffer(const RetransmitConfig& config);

  RetransmitConfig config_;
  uint64_t mask_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint8_t[]> payloads_;
  double budgetBytes_;
  uint64_t released_ = 0;  // every sequence below is acknowledged
  RetransmitCounters counters_;
};

}  // namespace braid::dp
