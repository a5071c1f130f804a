#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/bytes.h"
#include "dataplane/proto/wire/data_body.h"
#include "dataplane/proto/wire/packet.h"
#include "edge/media/media_tagger.h"
#include "edge/media/ts_packet.h"
#include "edge/media/ts_source.h"

namespace braid::edge {

// Bytes a DATA packet adds to its payload (docs/protocol.md 3.2): the 22-byte sealed
// header, media sequence and timestamp as 4-byte varints, and the 16-byte GCM tag.
inline constexpr size_t kDataOverhead = proto::kSealedFixedSize + 4 + 4 + proto::kTagSize;
inline constexpr size_t kDefaultMaxPayload = proto::kDefaultWirePacketSize - kDataOverhead;
static_assert(kDataOverhead == 46);

struct PacketizerOptions {
  size_t maxPayload = kDefaultMaxPayload;  // DATA body budget: null-run list + TS packets
  uint64_t maxHoldUs = 5000;               // a partial payload never waits longer for more packets
};

// One payload: a DATA body (docs/protocol.md §5.1: the null-run list, then whole TS packets)
// and the media time of its first item. `bytes` is valid only during the emit callback.
struct Payload {
  std::span<const uint8_t> bytes;
  size_t tsOffset = 0;  // where the TS packets start in `bytes`
  uint64_t mediaTimeUs = 0;
  uint8_t flags = 0;        // proto::flag bits: the packets' flags ORed, kFragment for an AU
  uint32_t accessUnit = 0;  // non-zero: every packet is of this non-reference access unit
};

// Groups tagged TS packets (MediaTagger's output) into DATA payloads of at most maxPayload
// bytes, deleted packets becoming runs of the body's run list. A payload holds either packets of
// one non-reference access unit only or no such packet at all, so that the sender can shed an
// access unit by dropping whole payloads; everything else (reference pictures, audio, PSI)
// shares payloads freely, which keeps them full. A payload is emitted as soon as no further
// packet fits, when a non-reference AU ends, when the next packet belongs to another group,
// or early when the next item is more than maxHoldUs younger than its first one, so a
// low-bitrate stream is not held back. Emission goes through a callback
// (`emit(const Payload&)`) so that the hot path has no virtual call and no allocation. One
// owner thread.
class Packetizer {
 public:
  // Validates the options. Any thread. kInvalidArgument if not even one packet fits.
  [[nodiscard]] static Result<Packetizer> create(const PacketizerOptions& options = {});

  // Adds one tagged packet (or deleted packet), emitting up to two payloads. noexcept.
  template <typename Emit>
  void push(const TaggedPacket& t, Emit&& emit) noexcept {
    if (pending() && t.mediaTimeUs > firstTimeUs_ + maxHoldUs_) emitPending(emit);
    if (t.deleted) {
      addNull(t, emit);
      return;
    }
    if (packets_ > 0 && t.accessUnit != accessUnit_) emitPending(emit);
    if (!roomForPacket()) emitPending(emit);
    if (!pending()) firstTimeUs_ = t.mediaTimeUs;
    if (packets_ == 0) accessUnit_ = t.accessUnit;
    std::memcpy(buffer_.data() + kListRoom + packets_ * kTsPacketSize, t.bytes, kTsPacketSize);
    ++packets_;
    flags_ |= t.flags;
    if (t.lastOfAccessUnit) lastOfAccessUnit_ = true;
    if (!roomForPacket() || t.lastOfAccessUnit) emitPending(emit);
  }

  // Adds one untagged packet (no media flags, no access unit). noexcept.
  template <typename Emit>
  void push(TsPacketSpan packet, uint64_t mediaTimeUs, Emit&& emit) noexcept {
    push(TaggedPacket{.bytes = packet.data(), .mediaTimeUs = mediaTimeUs}, emit);
  }

  // Adds every packet of `batch`, untagged (the TS exactly as read: nothing deleted, no
  // access units). noexcept.
  template <typename Emit>
  void push(const TsBatch& batch, Emit&& emit) noexcept {
    for (size_t i = 0; i < batch.count; ++i) push(batch.packet(i), batch.mediaTimeUs[i], emit);
  }

  // Emits the partial payload if, at media time `nowUs`, it has been held longer than
  // maxHoldUs (an input that went quiet). noexcept.
  template <typename Emit>
  void flushIfStale(uint64_t nowUs, Emit&& emit) noexcept {
    if (pending() && nowUs > firstTimeUs_ + maxHoldUs_) emitPending(emit);
  }

  // Emits the partial payload, if any (end of input). noexcept.
  template <typename Emit>
  void flush(Emit&& emit) noexcept {
    if (pending()) emitPending(emit);
  }

  // The DATA body budget (run list + TS packets), at most proto::kMaxPacketSize.
  size_t maxPayload() const { return maxPayload_; }
  // TS packets a payload holds at most (one byte of the budget goes to an empty run list).
  size_t maxPackets() const { return maxPackets_; }
  // TS bytes waiting in the partial payload.
  size_t pendingBytes() const { return packets_ * kTsPacketSize; }
  // Whether a partial payload (packets or null runs) is waiting.
  bool pending() const { return packets_ > 0 || runCount_ > 0; }

 private:
  // Room in front of the TS packets for the largest run list.
  static constexpr size_t kListRoom = 1 + proto::kMaxNullRuns * (2 + 2);

  Packetizer(size_t maxPayload, size_t maxPackets, uint64_t maxHoldUs)
      : maxPayload_(maxPayload), maxPackets_(maxPackets), maxHoldUs_(maxHoldUs) {}

  bool roomForPacket() const noexcept {
    return packets_ < maxPackets_ && listSize_ + (packets_ + 1) * kTsPacketSize <= maxPayload_;
  }

  // Records a deleted packet before the next TS packet (extending the run there when it is
  // of the same kind: nulls, or filler packets of one PID whose counter continues).
  template <typename Emit>
  void addNull(const TaggedPacket& t, Emit& emit) noexcept {
    for (int attempt = 0; attempt < 2; ++attempt) {
      proto::NullRun* last = runCount_ > 0 ? &runs_[runCount_ - 1] : nullptr;
      const bool extend = last != nullptr && last->position == packets_ &&
                          last->filler == t.filler && (!t.filler || continuesFiller(*last, t));
      proto::NullRun fresh{.position = static_cast<uint32_t>(packets_), .count = 1};
      if (t.filler) {
        fresh.filler = true;
        fresh.header = {t.bytes[1], t.bytes[2], t.bytes[3]};
      }
      size_t grow = 0;
      if (extend) {
        grow = proto::varintSize(uint64_t{last->count + 1} << 1) -
               proto::varintSize(uint64_t{last->count} << 1);
      } else {
        grow = proto::nullRunSize(fresh) + proto::varintSize(runCount_ + 1) -
               proto::varintSize(runCount_);
      }
      const bool fits = nullCount_ < proto::kMaxNullsPerData &&
                        (extend || runCount_ < proto::kMaxNullRuns) &&
                        listSize_ + grow + packets_ * kTsPacketSize <= maxPayload_;
      if (!fits) {
        emitPending(emit);
        continue;
      }
      if (!pending()) firstTimeUs_ = t.mediaTimeUs;
      if (extend) {
        ++last->count;
      } else {
        runs_[runCount_++] = fresh;
      }
      listSize_ += grow;
      ++nullCount_;
      return;
    }
  }

  static bool continuesFiller(const proto::NullRun& run, const TaggedPacket& t) noexcept {
    return run.header[0] == t.bytes[1] && run.header[1] == t.bytes[2] &&
           (run.header[2] & 0xf0) == (t.bytes[3] & 0xf0) &&
           ((run.header[2] + run.count) & 0x0f) == (t.bytes[3] & 0x0f);
  }

  template <typename Emit>
  void emitPending(Emit& emit) noexcept {
    if (!pending()) return;
    uint8_t* start = buffer_.data() + kListRoom - listSize_;
    const size_t written = proto::writeNullRuns(std::span(runs_).first(runCount_),
                                                std::span<uint8_t>(start, listSize_));
    if (written == listSize_) {
      uint8_t flags = flags_;
      if (accessUnit_ != 0 && packets_ > 0) {
        flags |= proto::flag::kNonReference;
        if (!lastOfAccessUnit_) flags |= proto::flag::kFragment;
      }
      emit(Payload{.bytes = std::span<const uint8_t>(start, listSize_ + packets_ * kTsPacketSize),
                   .tsOffset = listSize_,
                   .mediaTimeUs = firstTimeUs_,
                   .flags = flags,
                   .accessUnit = packets_ > 0 ? accessUnit_ : 0});
    }
    packets_ = 0;
    runCount_ = 0;
    nullCount_ = 0;
    listSize_ = 1;
    flags_ = 0;
    accessUnit_ = 0;
    lastOfAccessUnit_ = false;
  }

  std::array<uint8_t, kListRoom + proto::kMaxPacketSize> buffer_;
  std::array<proto::NullRun, proto::kMaxNullRuns> runs_{};
  size_t maxPayload_;
  size_t maxPackets_;
  uint64_t maxHoldUs_;
  size_t packets_ = 0;
  size_t runCount_ = 0;
  uint64_t nullCount_ = 0;
  size_t listSize_ = 1;  // the run count varint, then every run
  uint64_t firstTimeUs_ = 0;
  uint8_t flags_ = 0;
  uint32_t accessUnit_ = 0;
  bool lastOfAccessUnit_ = false;
};

}  // namespace braid::edge
