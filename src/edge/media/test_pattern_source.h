#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "edge/media/encoder_control.h"
#include "edge/media/test_pattern_options.h"
#include "edge/media/ts_source.h"

namespace braid::edge {

// The built-in test pattern: FFmpeg's lavfi testsrc2 (moving pattern with a running
// timecode) encoded in-process with libx264 and muxed to MPEG-TS, in real time by the frame
// clock. The encoder runs VBV-constrained ABR (bit rate = VBV max rate, a 0.5 s buffer),
// two non-reference B-frames between references (no B-pyramid), a fixed keyframe interval,
// SPS/PPS in front of every keyframe, and a 10-frame lookahead: low latency, but with
// pictures a shedding policy can drop. setBitrate() is taken between two frames; libx264
// reconfigures its rate control live (FFmpeg's wrapper calls x264_encoder_reconfig when the
// codec context's bit_rate / rc_max_rate / rc_buffer_size change).
//
// Frames are generated, encoded and muxed on the thread that calls read(), the edge's input
// thread: it has nothing else to do, and libx264 does the heavy work on its own threads.
// The TS of one frame is handed out spread over the frame interval (each packet with its
// own due time), so the sender sees the stream at its rate rather than one burst per frame.
// Media time is microseconds since open() on the source's clock; frame 0 is due at the
// first read(). A reader more than 1 s late skips ahead (reanchors) instead of bursting.
// Endless by default; with duration= it drains the encoder after that many seconds of
// frames and finishes, like a file that ends.
class TestPatternSource final : public TsSource, public EncoderControl {
 public:
  // Builds the filter graph, opens libx264 and writes the TS header. Any thread.
  // Errors: kUnsupported (this FFmpeg lacks testsrc2, libx264 or the mpegts muxer),
  // kInternal (an FFmpeg call failed), kInvalidArgument (an option out of range).
  [[nodiscard]] static Result<std::unique_ptr<TestPatternSource>> open(
      const TestPatternOptions& options);
  ~TestPatternSource() override;
  TestPatternSource(const TestPatternSource&) = delete;
  TestPatternSource& operator=(const TestPatternSource&) = delete;

  // Encodes the frames that are due (at most 4 per call) and returns the TS packets whose
  // due time has come. Owner thread. Errors: kInternal (an FFmpeg call failed).
  [[nodiscard]] Result<size_t> read(TsBatch& batch) override;
  // Sleeps until the next packet or frame is due, at most `timeoutUs`. Owner thread.
  void wait(uint64_t timeoutUs) override;
  // With duration=: true once every frame was encoded, the encoder drained and the last
  // packet handed out. Owner thread.
  bool finished() const override { return flushed_ && head_ == pendingDueUs_.size(); }
  uint64_t mediaNowUs() const override;
  EncoderControl* encoderControl() noexcept override { return this; }

  // EncoderControl: any thread.
  void setBitrate(uint64_t bps) noexcept override;
  uint64_t requestedBitrate() const noexcept override {
    return requested_.load(std::memory_order_relaxed);
  }
  const EncoderCounters& encoderCounters() const noexcept override { return encoder_; }

  const TestPatternOptions& options() const { return options_; }
  // The video bit rate the encoder is given for a TS rate of `tsBps` (what the TS, PES and
  // table headers leave). Any thread.
  static uint64_t videoBitrate(uint64_t tsBps);

 private:
  struct Av;  // the FFmpeg objects; keeps libav headers out of this one

  TestPatternSource(const TestPatternOptions& options, std::unique_ptr<Av> av);
  uint64_t frameDueUs(uint64_t frame) const;
  // Generates, encodes and muxes the next frame; its TS output becomes due from `dueUs`.
  Result<void> encodeFrame(uint64_t dueUs);
  // Takes a bit rate asked for by setBitrate() into the encoder's rate control.
  void applyBitrate();
  // Muxes what the encoder has ready.
  Result<void> muxEncoded();
  // duration= reached: drains the encoder and ends the TS; its rest becomes due from `dueUs`.
  Result<void> finish(uint64_t dueUs);
  // The AVIO write callback: the muxer's output, appended to muxed_.
  static int writePacket(void* opaque, uint8_t* buf, int size);
  // Moves the whole packets of muxed_ into the pending queue, spread over `frames` frame
  // intervals from `dueUs`.
  void queueMuxed(uint64_t dueUs, uint64_t frames = 1);

  TestPatternOptions options_;
  std::unique_ptr<Av> av_;
  std::atomic<uint64_t> requested_;
  uint64_t applied_ = 0;
  EncoderCounters encoder_;
  uint64_t epochUs_ = 0;
  bool started_ = false;
  uint64_t anchorUs_ = 0;  // clock time at which frame 0 was due
  uint64_t nextFrame_ = 0;
  uint64_t totalFrames_ = 0;  // 0: endless
  bool flushed_ = false;
  struct {
    uint64_t atUs = 0;   // when the last change was logged at info
    uint64_t since = 0;  // changes logged at debug since
    uint64_t changes = 0;
  } logged_;
  std::vector<uint8_t> muxed_;  // what the muxer wrote for the frame being encoded
  // TS packets waiting for their due time: packets [head_, size) of pending_.
  std::vector<uint8_t> pending_;
  std::vector<uint64_t> pendingDueUs_;
  size_t head_ = 0;
};

}  // namespace braid::edge
