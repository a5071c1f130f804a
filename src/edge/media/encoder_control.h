#pragma once

#include <cstdint>

#include "dataplane/counter.h"

namespace braid::edge {

// What a source that encodes its own media did; written by its encoding thread, read by any.
struct EncoderCounters {
  dp::OwnedCounter frames;          // pictures encoded and muxed (more wait in the lookahead)
  dp::OwnedCounter keyframes;       // of which keyframes (IDR)
  dp::OwnedCounter bitrateBps;      // gauge: the TS bit rate the encoder runs at now
  dp::OwnedCounter bitrateChanges;  // bit-rate changes applied to the running encoder
  dp::OwnedCounter outputBytes;     // TS bytes the muxer produced
  dp::OwnedCounter encodeUs;        // time spent generating, encoding and muxing frames
};

// The bit-rate knob of a source that encodes its own media (the built-in test pattern).
// The edge's bitrate controller turns it; an external encoder has none.
class EncoderControl {
 public:
  virtual ~EncoderControl() = default;

  // Asks for a new TS bit rate; taken between two frames, clamped to the encoder's limits.
  // Any thread (an atomic store), never blocks.
  virtual void setBitrate(uint64_t bps) noexcept = 0;
  // The bit rate last asked for (clamped), whether or not applied yet. Any thread.
  virtual uint64_t requestedBitrate() const noexcept = 0;
  // Any thread.
  virtual const EncoderCounters& encoderCounters() const noexcept = 0;
};

}  // namespace braid::edge
