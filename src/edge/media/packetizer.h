#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/packet.h"
#include "edge/media/ts_packet.h"
#include "edge/media/ts_source.h"

namespace braid::edge {

// Bytes a DATA packet adds to its payload (docs/protocol.md 3.2): the 22-byte sealed
// header, media sequence and timestamp as 4-byte varints, and the 16-byte GCM tag.
inline constexpr size_t kDataOverhead = proto::kSealedFixedSize + 4 + 4 + proto::kTagSize;
inline constexpr size_t kDefaultMaxPayload = proto::kDefaultWirePacketSize - kDataOverhead;
static_assert(kDataOverhead == 46);

struct PacketizerOptions {
  size_t maxPayload = kDefaultMaxPayload;  // rounded down to whole TS packets (1154 -> 1128)
  uint64_t maxHoldUs = 5000;               // a partial payload never waits longer for more packets
};

// One payload: whole TS packets and the media time of the first. `bytes` is valid only
// during the emit callback.
struct Payload {
  std::span<const uint8_t> bytes;
  uint64_t mediaTimeUs = 0;
};

// Groups whole TS packets into DATA payloads of at most maxPayload bytes. A payload is
// emitted as soon as it is full, or early when the next packet is more than maxHoldUs
// younger than its first one, so a low-bitrate stream is not held back. Emission goes
// through a callback (`emit(const Payload&)`) so that the hot path has no virtual call
// and no allocation. One owner thread.
class Packetizer {
 public:
  // Validates the options. Any thread. kInvalidArgument if not even one packet fits.
  [[nodiscard]] static Result<Packetizer> create(const PacketizerOptions& options = {});

  // Adds one packet, emitting up to two payloads (a held one, then a full one). noexcept.
  template <typename Emit>
  void push(TsPacketSpan packet, uint64_t mediaTimeUs, Emit&& emit) noexcept {
    if (used_ > 0 && mediaTimeUs > firstTimeUs_ + maxHoldUs_) emitPending(emit);
    if (used_ == 0) firstTimeUs_ = mediaTimeUs;
    std::memcpy(buffer_.data() + used_, packet.data(), kTsPacketSize);
    used_ += kTsPacketSize;
    if (used_ == maxPayload_) emitPending(emit);
  }

  // Adds every packet of `batch`. noexcept.
  template <typename Emit>
  void push(const TsBatch& batch, Emit&& emit) noexcept {
    for (size_t i = 0; i < batch.count; ++i) push(batch.packet(i), batch.mediaTimeUs[i], emit);
  }

  // Emits the partial payload if, at media time `nowUs`, it has been held longer than
  // maxHoldUs (an input that went quiet). noexcept.
  template <typename Emit>
  void flushIfStale(uint64_t nowUs, Emit&& emit) noexcept {
    if (used_ > 0 && nowUs > firstTimeUs_ + maxHoldUs_) emitPending(emit);
  }

  // Emits the partial payload, if any (end of input). noexcept.
  template <typename Emit>
  void flush(Emit&& emit) noexcept {
    if (used_ > 0) emitPending(emit);
  }

  // Largest payload emitted, a multiple of 188.
  size_t maxPayload() const { return maxPayload_; }
  // Bytes waiting in the partial payload.
  size_t pendingBytes() const { return used_; }

 private:
  Packetizer(size_t maxPayload, uint64_t maxHoldUs)
      : maxPayload_(maxPayload), maxHoldUs_(maxHoldUs) {}

  template <typename Emit>
  void emitPending(Emit& emit) noexcept {
    emit(Payload{std::span<const uint8_t>(buffer_.data(), used_), firstTimeUs_});
    used_ = 0;
  }

  std::array<uint8_t, proto::kMaxPacketSize> buffer_;
  size_t maxPayload_;
  uint64_t maxHoldUs_;
  size_t used_ = 0;
  uint64_t firstTimeUs_ = 0;
};

}  // namespace braid::edge
