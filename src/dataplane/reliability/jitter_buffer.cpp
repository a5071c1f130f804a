#include "dataplane/reliability/jitter_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <string>

namespace braid::dp {

namespace {

constexpr uint64_t kMaxLatencyNs = 3'600'000'000'000ULL;
constexpr uint32_t kMaxPayload = 65'535;
// How far beyond arrival + target latency a playout time may lie before the timestamp is taken as
// bogus. Legitimately it exceeds it only while the offset estimate is still converging downwards.
constexpr uint64_t kMinFutureSlackNs = 1'000'000'000;

uint64_t saturatingAdd(uint64_t a, uint64_t b) noexcept {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

}  // namespace

PayloadArena mapPayloadArena(size_t bytes) noexcept {
  if (bytes == 0) return {};
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return {};
  // Populated by writing each page, not with MAP_POPULATE: that holds the process's mmap lock
  // for the whole arena (~20 ms for 8 MB), and every other thread's mmap or mprotect (a
  // worker's malloc) waited on it; a fault holds a lock only for its own page.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto* arena = static_cast<volatile uint8_t*>(base);
  for (size_t offset = 0; offset < bytes; offset += page) arena[offset] = 0;
  return PayloadArena(static_cast<uint8_t*>(base), detail::ArenaUnmap{.bytes = bytes});
}

namespace {

constexpr size_t kStorageAlign = 64;

size_t alignUp(size_t bytes) noexcept {
  return (bytes + kStorageAlign - 1) / kStorageAlign * kStorageAlign;
}

// Where each part lives in a buffer's storage: payloads first (the bulk), then the index.
struct StorageLayout {
  size_t payloadBytes;
  size_t slotsOffset;
  size_t presentOffset;
  size_t totalBytes;
};

template <typename Slot>
StorageLayout layoutFor(const JitterBufferConfig& config) noexcept {
  StorageLayout layout{};
  layout.payloadBytes = alignUp(size_t{config.capacity} * config.maxPayload);
  layout.slotsOffset = layout.payloadBytes;
  layout.presentOffset = layout.slotsOffset + alignUp(size_t{config.capacity} * sizeof(Slot));
  layout.totalBytes = layout.presentOffset + alignUp(size_t{config.capacity} / 64 * 8);
  return layout;
}

}  // namespace

size_t JitterBuffer::storageBytes(const JitterBufferConfig& config) noexcept {
  return layoutFor<Slot>(config).totalBytes;
}

Result<std::unique_ptr<JitterBuffer>> JitterBuffer::create(const JitterBufferConfig& config,
                                                           PayloadArena arena) {
  // Mapped on its own and populated before use: a lazily mapped arena took its page faults
  // on the packet path during the session's first pass through its slots. With 160 sessions
  // starting at once on one worker, those faults held it up for seconds (the AF_XDP fill
  // ring ran dry: 290 000 packets lost in the first 4 s, none after). (Transparent huge
  // pages were tried: their faults compact memory and lost more.) A given arena was
  // populated by whoever mapped it; one reused from an ended session holds its old payloads,
  // which are never read: a slot is read only after insert() marks it present.
  const size_t bytes = storageBytes(config);
  if (!arena || arena.get_deleter().bytes != bytes) {
    // A bad config is refused before anything is mapped for it.
    if (auto checked = checkConfig(config); !checked) return tl::unexpected(checked.error());
    arena = mapPayloadArena(bytes);
  }
  if (!arena) {
    return fail(ErrorCode::kExhausted, "jitter buffer: out of memory for " +
                                           std::to_string(config.capacity) + " slots of " +
                                           std::to_string(config.maxPayload) + " bytes");
  }
  auto buffer = createIn(config, std::span<uint8_t>(arena.get(), bytes));
  if (buffer) (*buffer)->ownedArena_ = std::move(arena);
  return buffer;
}

Result<void> JitterBuffer::checkConfig(const JitterBufferConfig& config) {
  if (!std::has_single_bit(config.capacity) || config.capacity < kMinCapacity ||
      config.capacity > kMaxCapacity) {
    return fail(ErrorCode::kInvalidArgument, "jitter buffer capacity must be a power of two in [" +
                                                 std::to_string(kMinCapacity) + ", " +
                                                 std::to_string(kMaxCapacity) + "], got " +
                                                 std::to_string(config.capacity));
  }
  if (config.maxPayload == 0 || config.maxPayload > kMaxPayload) {
    return fail(
        ErrorCode::kInvalidArgument,
        "jitter buffer maxPayload must be in [1, 65535], got " + std::to_string(config.maxPayload));
  }
  if (config.targetLatencyNs > kMaxLatencyNs || config.lateToleranceNs > kMaxLatencyNs) {
    return fail(ErrorCode::kInvalidArgument,
                "jitter buffer target latency and late tolerance must be at most 1 hour");
  }
  return ok();
}

Result<std::unique_ptr<JitterBuffer>> JitterBuffer::createIn(const JitterBufferConfig& config,
                                                             std::span<uint8_t> storage) {
  if (auto checked = checkConfig(config); !checked) return tl::unexpected(checked.error());
  const StorageLayout layout = layoutFor<Slot>(config);
  if (storage.size() < layout.totalBytes ||
      reinterpret_cast<uintptr_t>(storage.data()) % kStorageAlign != 0) {
    return fail(ErrorCode::kExhausted, "jitter buffer: storage of " +
                                           std::to_string(storage.size()) + " bytes, want " +
                                           std::to_string(layout.totalBytes) + ", 64-byte aligned");
  }
  std::unique_ptr<JitterBuffer> buffer(new (std::nothrow) JitterBuffer(config));
  if (!buffer) return fail(ErrorCode::kExhausted, "jitter buffer: out of memory");
  buffer->payload_ = storage.data();
  auto* slots = reinterpret_cast<Slot*>(storage.data() + layout.slotsOffset);
  std::uninitialized_value_construct_n(slots, config.capacity);
  buffer->slots_ = std::launder(slots);
  buffer->present_ = reinterpret_cast<uint64_t*>(storage.data() + layout.presentOffset);
  std::fill_n(buffer->present_, config.capacity / 64, uint64_t{0});
  return buffer;
}

void detail::ArenaUnmap::operator()(uint8_t* arena) const noexcept {
  ::munmap(arena, bytes);  // unique_ptr never calls its deleter with null
}

JitterBuffer::JitterBuffer(const JitterBufferConfig& config) noexcept
    : config_(config),
      mask_(config.capacity - 1),
      futureSlackNs_(std::max(config.targetLatencyNs, kMinFutureSlackNs)),
      clock_(config.clock) {}

InsertResult JitterBuffer::insert(uint64_t mediaSeq, uint64_t mediaTsUs,
                                  std::span<const uint8_t> payload, uint64_t arrivalNs,
                                  bool retransmission) noexcept {
  if (payload.size() > config_.maxPayload) {
    counters_.tooLarge.add();
    return InsertResult::kTooLarge;
  }
  if (!initialized_) {
    initialized_ = true;
    next_ = mediaSeq;
    end_ = mediaSeq;
  }
  const uint64_t capacity = mask_ + 1;
  if (mediaSeq >= next_ && mediaSeq - next_ >= capacity) {
    if (held_ == 0 && jumpPending_ &&
        (mediaSeq > jumpSeq_ ? mediaSeq - jumpSeq_ : jumpSeq_ - mediaSeq) < capacity) {
      // The buffer drained and two packets agree on a sequence beyond the window: the gateway
      // missed more than `capacity` packets (an outage, an undersized buffer). Without this the
      // playout point would wait forever for a sequence that will never come.
      reanchor(std::min(mediaSeq, jumpSeq_));
    } else {
      // Not fed to the clock: a sequence jump (a bug, a restarted edge) may carry any timestamp.
      counters_.tooFarAhead.add();
      jumpPending_ = true;
      jumpSeq_ = mediaSeq;
      return InsertResult::kTooFarAhead;
    }
  }
  if (mediaSeq < next_ && next_ - mediaSeq > capacity) {
    counters_.late.add();
    return InsertResult::kLate;
  }
  clock_.observe(arrivalNs, mediaTsUs, retransmission);
  const uint64_t deadline = deadlineNs(mediaTsUs);
  if (deadline > saturatingAdd(arrivalNs, config_.targetLatencyNs + futureSlackNs_)) {
    // A timestamp far ahead of its own arrival would hold every later packet behind it.
    counters_.tooFarAhead.add();
    return InsertResult::kTooFarAhead;
  }
  const bool pastDeadline = saturatingAdd(deadline, config_.lateToleranceNs) < arrivalNs;
  if (mediaSeq < next_) {
    if (slots_[mediaSeq & mask_].seq == mediaSeq) {
      // Its slot still names it and nothing below next_ is held: it played.
      counters_.lateCopies.add();
      return InsertResult::kLateCopy;
    }
    // Before anything played, the first packet to arrive need not be the first sent: an earlier
    // one still on time moves the playout point back, as long as the window still spans all.
    if (fixed_ || end_ - mediaSeq > capacity || pastDeadline) {
      counters_.late.add();
      return InsertResult::kLate;
    }
    next_ = mediaSeq;
  } else if (isHeld(mediaSeq)) {
    counters_.duplicates.add();
    return InsertResult::kDuplicate;
  } else if (pastDeadline) {
    counters_.late.add();
    return InsertResult::kLate;
  }
  Slot& slot = slots_[mediaSeq & mask_];
  slot.seq = mediaSeq;
  slot.mediaTsUs = mediaTsUs;
  slot.length = static_cast<uint32_t>(payload.size());
  uint8_t* storage = payload_ + (mediaSeq & mask_) * config_.maxPayload;
  if (!payload.empty() && payload.data() != storage) {
    std::memcpy(storage, payload.data(), payload.size());
  }
  markHeld(mediaSeq);
  jumpPending_ = false;
  end_ = std::max(end_, mediaSeq + 1);
  ++held_;
  counters_.depth.set(held_);
  counters_.accepted.add();
  return InsertResult::kAccepted;
}

uint64_t JitterBuffer::nextDeadlineNs() const noexcept {
  if (!initialized_ || next_ >= end_) return kNever;
  if (isHeld(next_)) return deadlineNs(slots_[next_ & mask_].mediaTsUs);
  // end_ − 1 is held whenever next_ < end_, so a held sequence follows the hole.
  return deadlineNs(missingTsUs(findNext(next_, end_, true)));
}

uint64_t JitterBuffer::playoutTimeNs(uint64_t mediaTsUs) const noexcept {
  return clock_.hasEstimate() ? deadlineNs(mediaTsUs) : kNever;
}

uint64_t JitterBuffer::cumulativeSeq() const noexcept {
  if (!initialized_) return 0;
  return findNext(next_, end_, false);
}

void JitterBuffer::reanchor(uint64_t seq) noexcept {
  // Everything between the old playout point and the new one is lost: counted as skipped, so that
  // played + skipped always equals the sequences passed.
  counters_.skipped.add(seq > next_ ? seq - next_ : 0);
  next_ = seq;
  end_ = seq;
  started_ = false;  // the timestamp before the new point is unknown
  fixed_ = true;     // the skipped range is counted: no moving back into it
  jumpPending_ = false;
}

void JitterBuffer::reset() noexcept {
  std::fill_n(present_, (mask_ + 1) / 64, uint64_t{0});
  // The new epoch's sequences may repeat the old ones: no old slot may pass for played.
  for (uint64_t i = 0; i <= mask_; ++i) slots_[i].seq = kNoSeq;
  clock_.reset();
  initialized_ = false;
  started_ = false;
  fixed_ = false;
  next_ = 0;
  end_ = 0;
  prevTsUs_ = 0;
  held_ = 0;
  jumpPending_ = false;
  counters_.depth.set(0);
}

uint64_t JitterBuffer::findNext(uint64_t from, uint64_t end, bool held) const noexcept {
  uint64_t seq = from;
  while (seq < end) {
    const uint64_t index = seq & mask_;
    const unsigned bit = index & 63;
    uint64_t word = present_[index >> 6];
    if (!held) word = ~word;
    word >>= bit;  // the bits shifted in are zero, so only this word's remaining slots count
    const uint64_t remaining = 64 - bit;
    if (word != 0) {
      const uint64_t found = seq + static_cast<uint64_t>(std::countr_zero(word));
      return std::min(found, end);
    }
    seq += remaining;
  }
  return end;
}

uint64_t JitterBuffer::missingTsUs(uint64_t nextHeldSeq) const noexcept {
  const uint64_t nextTsUs = slots_[nextHeldSeq & mask_].mediaTsUs;
  if (!started_ || nextTsUs <= prevTsUs_) return nextTsUs;
  // Linear between next_ − 1 (played or skipped, timestamp known) and the next held sequence.
  const double step =
      static_cast<double>(nextTsUs - prevTsUs_) / static_cast<double>(nextHeldSeq - (next_ - 1));
  return prevTsUs_ + static_cast<uint64_t>(step);
}

uint64_t JitterBuffer::deadlineNs(uint64_t mediaTsUs) const noexcept {
  const int64_t deadline =
      mediaTimeNs(mediaTsUs) + clock_.offsetNs() + static_cast<int64_t>(config_.targetLatencyNs);
  return deadline < 0 ? 0 : static_cast<uint64_t>(deadline);
}

void JitterBuffer::played(uint64_t seq, uint64_t nowNs) noexcept {
  const uint64_t tsUs = slots_[seq & mask_].mediaTsUs;
  const int64_t latency = static_cast<int64_t>(nowNs) - (mediaTimeNs(tsUs) + clock_.offsetNs());
  counters_.lastPlayoutLatencyNs.set(latency < 0 ? 0 : static_cast<uint64_t>(latency));
  counters_.played.add();
  prevTsUs_ = tsUs;
  started_ = true;
  fixed_ = true;
  clearHeld(seq);
  --held_;
  counters_.depth.set(held_);
  ++next_;
}

}  // namespace braid::dp
