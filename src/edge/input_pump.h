#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/counter.h"
#include "dataplane/ring/spsc_ring.h"
#include "edge/media/media_tagger.h"
#include "edge/media/packetizer.h"
#include "edge/media/ts_source.h"
#include "edge/media_chunk.h"

namespace braid::edge {

struct InputPumpCounters {
  dp::OwnedCounter chunks;
  dp::OwnedCounter bytes;     // DATA bodies handed to the sender (run lists + TS packets)
  dp::OwnedCounter tsBytes;   // TS bytes among them: the input after null and filler deletion
  dp::OwnedCounter ringFull;  // chunks dropped because the sender fell behind
  MediaTaggerCounters media;  // deleted null and filler packets, access units
};

// The media input thread: reads TS from the source as it becomes due, classifies it
// (MediaTagger: null and filler packets deleted, non-reference access units marked), packs
// it into payloads and hands them to the sender through the ring. The ring never blocks it:
// a live source cannot wait, so a full ring drops (and counts).
class InputPump {
 public:
  InputPump(TsSource& source, Packetizer& packetizer, dp::SpscRing<MediaChunk>& ring)
      : source_(source),
        packetizer_(packetizer),
        ring_(ring),
        tagger_(std::make_unique<MediaTagger>(counters_.media)) {}

  // Runs until the source ends or `stop`; waits for `startGate` first (a file is held
  // back until the first session is up, so none of it is lost to the handshake).
  // Returns false if the source failed. Input thread.
  bool run(const std::atomic<bool>& stop, const std::atomic<bool>& startGate);

  const InputPumpCounters& counters() const { return counters_; }

 private:
  void emit(const Payload& payload) noexcept;
  // Releases everything the tagger and the packetizer hold (`inputEnded`: at the source's end).
  void flushAll(bool inputEnded) noexcept;

  TsSource& source_;
  Packetizer& packetizer_;
  dp::SpscRing<MediaChunk>& ring_;
  InputPumpCounters counters_;
  std::unique_ptr<MediaTagger> tagger_;
};

}  // namespace braid::edge
