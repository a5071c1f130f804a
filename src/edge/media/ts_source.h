#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/proto/result.h"
#include "edge/media/encoder_control.h"
#include "edge/media/ts_packet.h"

namespace braid::edge {

// Whole TS packets handed from a source to the packetizer, each with its media time.
// Large (48 KB): keep one per input thread, reused for every read.
struct TsBatch {
  static constexpr size_t kCapacity = 256;

  std::array<uint8_t, kCapacity * kTsPacketSize> bytes;
  std::array<uint64_t, kCapacity> mediaTimeUs;
  size_t count = 0;

  bool full() const { return count == kCapacity; }
  TsPacketSpan packet(size_t i) const {
    return TsPacketSpan(bytes.data() + i * kTsPacketSize, kTsPacketSize);
  }
  // The packets read so far, back to back.
  std::span<const uint8_t> data() const { return {bytes.data(), count * kTsPacketSize}; }
  void append(const uint8_t* packet, uint64_t timeUs) {
    std::memcpy(bytes.data() + count * kTsPacketSize, packet, kTsPacketSize);
    mediaTimeUs[count++] = timeUs;
  }
};

// What a source saw; written by its reading thread, read by any thread.
struct TsSourceCounters {
  dp::OwnedCounter packets;             // TS packets delivered
  dp::OwnedCounter bytes;               // their bytes
  dp::OwnedCounter skippedBytes;        // bytes dropped while regaining sync (or not whole packets)
  dp::OwnedCounter pcrDiscontinuities;  // PCR jumps (> 1 s or backwards) re-anchored
  dp::OwnedCounter reanchors;           // pacing re-anchored because the reader fell > 1 s behind
  dp::OwnedCounter loops;               // a looping file restarted
  dp::OwnedCounter datagrams;           // UDP datagrams received
  dp::OwnedCounter badDatagrams;        // UDP datagrams that were not whole TS packets
};

// A TS input (file, UDP). Media time is in microseconds on the source's own epoch: PCR-
// derived for a file (first packet ~0), arrival time since open for a live input.
//
// A sender thread runs, with one TsBatch and one Packetizer:
//   while (!source.finished()) {
//     auto n = source.read(batch);            // error: report and stop
//     packetizer.push(batch, emit);
//     if (*n == 0) {
//       packetizer.flushIfStale(source.mediaNowUs(), emit);
//       source.wait(kMaxWaitUs);             // sleeps until the next packet is due
//     }
//   }
class TsSource {
 public:
  virtual ~TsSource() = default;

  // Clears `batch` and fills it with whole TS packets that are due now. Returns how many;
  // 0 means nothing is due yet (call wait()). Owner thread. Errors: kIo (read failed),
  // kParse (a looping file holds no TS packets any more).
  [[nodiscard]] virtual Result<size_t> read(TsBatch& batch) = 0;
  // Blocks until more packets may be due or have arrived, at most `timeoutUs`. Owner thread.
  virtual void wait(uint64_t timeoutUs) = 0;
  // True once a non-looping file delivered its last packet. Owner thread.
  virtual bool finished() const = 0;
  // The media time that corresponds to now (for Packetizer::flushIfStale). Owner thread.
  virtual uint64_t mediaNowUs() const = 0;

  // Counters; any thread.
  const TsSourceCounters& counters() const { return counters_; }
  // The bit-rate knob of a source that encodes its own media (the test pattern); nullptr for
  // inputs that arrive encoded. The pointer lives as long as the source. Any thread.
  virtual EncoderControl* encoderControl() noexcept { return nullptr; }

 protected:
  TsSourceCounters counters_;
};

}  // namespace braid::edge
