#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/proto/result.h"
#include "dataplane/reliability/clock_offset.h"

namespace braid::dp {

struct JitterBufferConfig {
  // Packets held at most; a power of two in [kMinCapacity, kMaxCapacity]. It bounds how far ahead
  // of the playout point a packet may be, so it must cover target latency × packet rate with room.
  uint32_t capacity = 8192;
  // Largest payload accepted, bytes.
  uint32_t maxPayload = 1472;
  // Playout time = media timestamp + clock offset + targetLatencyNs.
  uint64_t targetLatencyNs = 0;
  // A packet that arrives more than this after its playout time is dropped as late (see the policy
  // on JitterBuffer). Zero plays nothing after its time except what a coarse poll interval delays.
  uint64_t lateToleranceNs = 0;
  ClockOffsetConfig clock{};
};

enum class InsertResult : uint8_t {
  kAccepted,
  kDuplicate,    // already held
  kLate,         // arrived after its playout time, or its sequence was skipped: lost to the output
  kLateCopy,     // a copy of a sequence already played (from another copy): nothing lost
  kTooFarAhead,  // beyond the capacity window, or a playout time absurdly far ahead: dropped
  kTooLarge,     // payload above maxPayload
};

// Counters and gauges of one buffer: written by the owner thread, read by any thread (metrics).
struct JitterBufferCounters {
  OwnedCounter accepted;
  OwnedCounter duplicates;
  OwnedCounter late;
  OwnedCounter lateCopies;
  OwnedCounter tooFarAhead;
  OwnedCounter tooLarge;
  OwnedCounter skipped;  // sequences never played because they were missing at their deadline
  OwnedCounter played;
  OwnedCounter depth;                 // gauge: packets held
  OwnedCounter lastPlayoutLatencyNs;  // gauge: emit time − (media ts + offset) of the last played
};

namespace detail {
// Unmaps a jitter buffer's payload arena of `bytes`.
struct ArenaUnmap {
  size_t bytes = 0;
  void operator()(uint8_t* arena) const noexcept;
};
}  // namespace detail

// The payload slots of a jitter buffer, mapped on their own and populated (every page backed)
// before use; the deleter unmaps them. Movable between threads: the gateway maps them off its
// workers and hands them over (dataplane/gateway/arena_pool.h).
using PayloadArena = std::unique_ptr<uint8_t[], detail::ArenaUnmap>;
// Maps and populates `bytes`; null if memory is short. Any thread; milliseconds per 8 MB.
PayloadArena mapPayloadArena(size_t bytes) noexcept;

// The gateway's playout buffer of one session: reorders packets by global media sequence and
// releases each at its playout time (media timestamp + clock offset + target latency), driven by
// the caller's timer through poll(), never by packet arrival.
//
// Policy for data that misses its time: the target latency is the whole budget for delay,
// reordering and repair. A missing sequence is skipped (counted) when its deadline passes — its
// deadline is interpolated between the media timestamps of the last played (or skipped) sequence
// and the next held one; while nothing after it has arrived there is no deadline and no skip. A
// packet that arrives after its own playout time (plus lateToleranceNs) is dropped as late, and so
// is one whose sequence was already skipped; one whose sequence already played (an original after
// its resend, FEC's rebuild or a rescue's copy) is dropped and counted apart, as a late copy: a
// link carried it late, but the output lost nothing. Hence the output never bursts: after a
// stall, the packets that arrive together are either already late (dropped) or still ahead of their
// time (played at their time), and a packet is never emitted before its playout time. The clock
// offset moves at a bounded rate (ClockOffsetConfig::slewPpm), so tracking drift changes the output
// spacing by a fraction of a percent, never by a jump.
//
// Single owner thread (the session's worker): every call is noexcept and allocation-free; storage
// is allocated once by create().
class JitterBuffer {
 public:
  static constexpr uint32_t kMinCapacity = 64;
  static constexpr uint32_t kMaxCapacity = 1u << 20;
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

  // Validates the config and sets up the storage: the payload slots (capacity × maxPayload
  // bytes), their index and their held bits, all in one arena. Any thread; returns
  // kInvalidArgument for a bad config, kExhausted if memory is short. With an `arena` of
  // storageBytes(config) everything lives there and nothing is mapped; without one (or of
  // another size) create() maps and populates its own.
  static Result<std::unique_ptr<JitterBuffer>> create(const JitterBufferConfig& config,
                                                      PayloadArena arena = {});
  // As create(), in `storage` that the caller owns and keeps until the buffer is destroyed: at
  // least storageBytes(config), 64-byte aligned (e.g. a part of a session's arena). Nothing is
  // allocated but the buffer object itself; the storage is written (its index initialised),
  // so a reused arena needs no clearing.
  static Result<std::unique_ptr<JitterBuffer>> createIn(const JitterBufferConfig& config,
                                                        std::span<uint8_t> storage);
  // A multiple of 64 bytes.
  static size_t storageBytes(const JitterBufferConfig& config) noexcept;

  // Gives the arena that create() took or mapped back for another buffer to reuse; this buffer
  // must not be used again, only destroyed. Null for a buffer made by createIn(). Owner thread.
  PayloadArena releaseArena() noexcept { return std::move(ownedArena_); }

  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  // Stores one DATA payload (copied, unless it already is in its slot: freeSlotFor). The first
  // packet of a session sets the playout point to its sequence; until something is played, an
  // earlier sequence that is still on time moves the playout point back to it. A jump beyond the
  // window is dropped, unless the buffer is empty and the previous insert jumped to the same
  // region: then the playout point moves there (the gap is counted as skipped), so an outage longer
  // than the window heals while one stray sequence does not derail the stream. Also feeds the clock
  // offset estimator. Owner thread.
  InsertResult insert(uint64_t mediaSeq, uint64_t mediaTsUs, std::span<const uint8_t> payload,
                      uint64_t arrivalNs, bool retransmission = false) noexcept;

  // The storage of sequence `seq`'s slot, `size` bytes of it, when that slot holds no packet and
  // `size` fits: a receiver may decrypt the packet straight into it, then insert() it from there
  // (no copy). Empty otherwise. What is written there means nothing until insert() accepts it,
  // and nothing else reads it before. Owner thread.
  std::span<uint8_t> freeSlotFor(uint64_t seq, size_t size) noexcept {
    if (size > config_.maxPayload || isHeld(seq)) return {};
    return {payload_ + (seq & mask_) * config_.maxPayload, size};
  }

  // Emits, in sequence order, every packet whose playout time is ≤ nowNs and skips every missing
  // sequence whose interpolated deadline is ≤ nowNs. emit(std::span<const uint8_t> payload,
  // uint64_t mediaSeq) borrows the payload for the call and must not call back into the buffer.
  // Owner thread.
  template <typename Emit>
  void poll(uint64_t nowNs, Emit&& emit) noexcept;

  // The earliest time at which poll() has something to do, kNever if nothing: for arming the timer.
  // It can move earlier only through insert(), so re-arm after each burst of inserts. Owner thread.
  uint64_t nextDeadlineNs() const noexcept;

  // Playout time of a media timestamp under the current offset estimate (kNever without one).
  // Owner thread.
  uint64_t playoutTimeNs(uint64_t mediaTsUs) const noexcept;

  // Every sequence below this was played, skipped or is held, contiguously: the ACK's cumulative
  // sequence. Zero before the first packet. Owner thread.
  uint64_t cumulativeSeq() const noexcept;

  // Calls f(uint64_t firstSeq, uint64_t count) for each run of missing sequences above
  // cumulativeSeq() and below the highest held packet, lowest first, at most maxRanges runs: the
  // SACK holes / NACK candidates. Owner thread.
  template <typename F>
  void forEachGap(uint64_t maxRanges, F&& f) const noexcept;

  // The held packet `seq` (payload borrowed until the next insert or poll), if it is held: what
  // an FEC block is rebuilt from. Owner thread.
  bool find(uint64_t seq, std::span<const uint8_t>& payload, uint64_t& mediaTsUs) const noexcept {
    if (!initialized_ || seq < next_ || seq >= end_ || !isHeld(seq)) return false;
    const Slot& slot = slots_[seq & mask_];
    if (slot.seq != seq) return false;
    payload = std::span<const uint8_t>(payloadOf(seq), slot.length);
    mediaTsUs = slot.mediaTsUs;
    return true;
  }

  // Drops every held packet and forgets the session's sequence and clock (e.g. the edge restarted
  // its media epoch). Counters keep counting. Owner thread.
  void reset() noexcept;

  // Packets held. Owner thread (the counters' depth gauge is the same for other threads).
  uint64_t depth() const noexcept { return held_; }
  // The next sequence to play (everything below is done); meaningful once a packet arrived.
  uint64_t nextSeq() const noexcept { return next_; }
  const JitterBufferCounters& counters() const noexcept { return counters_; }
  const ClockOffsetEstimator& clock() const noexcept { return clock_; }
  const JitterBufferConfig& config() const noexcept { return config_; }

 private:
  // Slot::seq of a slot that never held a packet (none is that far along).
  static constexpr uint64_t kNoSeq = std::numeric_limits<uint64_t>::max();
  struct Slot {
    uint64_t seq = kNoSeq;  // the last sequence held here; still set once it played
    uint64_t mediaTsUs = 0;
    uint32_t length = 0;
  };

  explicit JitterBuffer(const JitterBufferConfig& config) noexcept;
  static Result<void> checkConfig(const JitterBufferConfig& config);

  bool isHeld(uint64_t seq) const noexcept {
    const uint64_t i = seq & mask_;
    return (present_[i >> 6] >> (i & 63)) & 1u;
  }
  void markHeld(uint64_t seq) noexcept {
    present_[(seq & mask_) >> 6] |= uint64_t{1} << (seq & 63);
  }
  void clearHeld(uint64_t seq) noexcept {
    present_[(seq & mask_) >> 6] &= ~(uint64_t{1} << (seq & 63));
  }
  // First sequence in [from, end) whose held bit equals `held`, or end. end − from ≤ capacity.
  uint64_t findNext(uint64_t from, uint64_t end, bool held) const noexcept;
  // Interpolated media timestamp of the missing sequence next_, given the next held sequence.
  uint64_t missingTsUs(uint64_t nextHeldSeq) const noexcept;
  uint64_t deadlineNs(uint64_t mediaTsUs) const noexcept;
  const uint8_t* payloadOf(uint64_t seq) const noexcept {
    return payload_ + (seq & mask_) * config_.maxPayload;
  }
  void played(uint64_t seq, uint64_t nowNs) noexcept;
  void reanchor(uint64_t seq) noexcept;

  JitterBufferConfig config_;
  uint64_t mask_;
  uint64_t futureSlackNs_;
  // Slots, held bits and payloads live in one storage block (see create()): mapped and
  // populated before the session starts, so the packet path never faults or allocates.
  Slot* slots_ = nullptr;
  uint64_t* present_ = nullptr;  // one bit per slot: holds a packet of the window
  uint8_t* payload_ = nullptr;
  PayloadArena ownedArena_;  // the storage, when create() took or mapped it
  ClockOffsetEstimator clock_;

  bool initialized_ = false;  // a packet arrived: next_ and end_ are meaningful
  bool started_ = false;      // something was played or skipped: prevTsUs_ is meaningful
  bool fixed_ = false;        // the playout point may no longer move back (see insert)
  uint64_t next_ = 0;         // next sequence to play; all below are done
  uint64_t end_ = 0;          // one past the highest held (or done) sequence
  uint64_t prevTsUs_ = 0;     // media timestamp of next_ − 1 (played, or interpolated if skipped)
  uint64_t held_ = 0;
  bool jumpPending_ = false;  // the last insert was beyond the window, at jumpSeq_
  uint64_t jumpSeq_ = 0;
  JitterBufferCounters counters_;
};

template <typename Emit>
void JitterBuffer::poll(uint64_t nowNs, Emit&& emit) noexcept {
  if (!initialized_) return;
  // The next held sequence above a run of holes stays the same for the whole run: no insert can
  // happen during poll.
  uint64_t nextHeld = next_;
  while (next_ < end_) {
    if (isHeld(next_)) {
      const Slot& slot = slots_[next_ & mask_];
      if (deadlineNs(slot.mediaTsUs) > nowNs) break;
      emit(std::span<const uint8_t>(payloadOf(next_), slot.length), next_);
      played(next_, nowNs);
      continue;
    }
    if (nextHeld <= next_) {
      nextHeld = findNext(next_, end_, true);
      if (nextHeld == end_) break;  // nothing after the hole has arrived: no deadline yet
    }
    const uint64_t tsUs = missingTsUs(nextHeld);
    if (deadlineNs(tsUs) > nowNs) break;
    counters_.skipped.add();
    prevTsUs_ = tsUs;
    started_ = true;
    fixed_ = true;
    ++next_;
  }
}

template <typename F>
void JitterBuffer::forEachGap(uint64_t maxRanges, F&& f) const noexcept {
  if (!initialized_) return;
  uint64_t from = cumulativeSeq();
  for (uint64_t n = 0; n < maxRanges && from < end_; ++n) {
    // from is missing (cumulativeSeq() or the end of a held run); end_ − 1 is always held.
    const uint64_t heldAgain = findNext(from, end_, true);
    f(from, heldAgain - from);
    from = findNext(heldAgain, end_, false);
  }
}

}  // namespace braid::dp
