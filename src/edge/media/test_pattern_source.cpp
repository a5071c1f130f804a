#include "edge/media/test_pattern_source.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace braid::edge {
namespace {

constexpr double kVbvSeconds = 0.5;  // VBV buffer: half a second of the bit rate
// The TS, PES and table headers of a VBR mux cost ~4 % of a 720p stream at a few Mbit/s
// (measured: 6.25 Mbit/s of TS for 6 Mbit/s of video); the video gets the rest.
constexpr double kVideoShare = 0.95;
constexpr int kLookaheadFrames = 10;
constexpr size_t kIoBufferSize = 188 * 64;  // whole TS packets: a full buffer ends on one
constexpr int kMaxFramesPerRead = 4;
constexpr uint64_t kMaxLateUs = 1'000'000;
constexpr int64_t kMuxDelayUs = 100'000;  // DTS runs 100 ms ahead of PCR (ffmpeg's CLI: 700)
constexpr uint64_t kLogIntervalUs = 1'000'000;

std::string avError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

tl::unexpected<Error> avFail(std::string_view what, int code) {
  return fail(ErrorCode::kInternal, fmt::format("test pattern: {}: {}", what, avError(code)));
}

// FFmpeg logs into ours: errors and warnings as such, libx264's chatter (CPU flags, final
// statistics) at debug. Any thread (libx264 logs from its own).
void logFromAv(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_VERBOSE) return;
  char line[1024];
  int printPrefix = 1;
  av_log_format_line2(avcl, level, format, args, line, sizeof(line), &printPrefix);
  size_t n = std::strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  if (n == 0) return;
  // FFmpeg's libx264 wrapper applies a lower VBV rate before the lower average, so x264 warns
  // about every decrease in between; the second step makes it consistent again.
  const bool reconfigStep = std::strstr(line, "max bitrate less than average bitrate") != nullptr;
  if (level <= AV_LOG_ERROR) {
    spdlog::error("ffmpeg: {}", line);
  } else if (level <= AV_LOG_WARNING && !reconfigStep) {
    spdlog::warn("ffmpeg: {}", line);
  } else {
    spdlog::debug("ffmpeg: {}", line);
  }
}

struct GraphDeleter {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_free_context(f); }
};
struct IoDeleter {
  void operator()(AVIOContext* io) const {
    if (io != nullptr) av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

}  // namespace

struct TestPatternSource::Av {
  std::unique_ptr<AVFilterGraph, GraphDeleter> graph;
  AVFilterContext* sink = nullptr;  // owned by the graph
  std::unique_ptr<AVCodecContext, CodecDeleter> encoder;
  std::unique_ptr<AVIOContext, IoDeleter> io;  // declared first: the muxer goes before it
  std::unique_ptr<AVFormatContext, FormatDeleter> muxer;
  AVStream* stream = nullptr;  // owned by the muxer
  std::unique_ptr<AVFrame, FrameDeleter> frame;
  std::unique_ptr<AVPacket, PacketDeleter> packet;
  bool headerWritten = false;
};

uint64_t TestPatternSource::videoBitrate(uint64_t tsBps) {
  return static_cast<uint64_t>(static_cast<double>(tsBps) * kVideoShare);
}

Result<std::unique_ptr<TestPatternSource>> TestPatternSource::open(
    const TestPatternOptions& options) {
  static std::once_flag logOnce;
  std::call_once(logOnce, [] { av_log_set_callback(logFromAv); });
  if (options.fps == 0 || options.width < 16 || options.height < 16 || options.gopSeconds <= 0) {
    return fail(ErrorCode::kInvalidArgument, "test pattern: size, fps and gop must be positive: " +
                                                 describeTestPattern(options));
  }
  auto av = std::make_unique<Av>();

  // testsrc2 -> format=yuv420p -> buffersink: each av_buffersink_get_frame() pulls a new frame.
  av->graph.reset(avfilter_graph_alloc());
  if (!av->graph) return fail(ErrorCode::kInternal, "test pattern: out of memory");
  av->graph->nb_threads = 1;
  const AVFilter* testsrc = avfilter_get_by_name("testsrc2");
  const AVFilter* format = avfilter_get_by_name("format");
  const AVFilter* buffersink = avfilter_get_by_name("buffersink");
  if (testsrc == nullptr || format == nullptr || buffersink == nullptr) {
    return fail(ErrorCode::kUnsupported,
                "test pattern: this libavfilter has no testsrc2, format or buffersink filter");
  }
  AVFilterContext* src = nullptr;
  AVFilterContext* fmtCtx = nullptr;
  std::string srcArgs =
      fmt::format("size={}x{}:rate={}", options.width, options.height, options.fps);
  if (int rc = avfilter_graph_create_filter(&src, testsrc, "src", srcArgs.c_str(), nullptr,
                                            av->graph.get());
      rc < 0) {
    return avFail("testsrc2=" + srcArgs, rc);
  }
  if (int rc = avfilter_graph_create_filter(&fmtCtx, format, "fmt", "pix_fmts=yuv420p", nullptr,
                                            av->graph.get());
      rc < 0) {
    return avFail("format filter", rc);
  }
  if (int rc = avfilter_graph_create_filter(&av->sink, buffersink, "out", nullptr, nullptr,
                                            av->graph.get());
      rc < 0) {
    return avFail("buffersink", rc);
  }
  if (int rc = avfilter_link(src, 0, fmtCtx, 0); rc < 0) return avFail("link testsrc2", rc);
  if (int rc = avfilter_link(fmtCtx, 0, av->sink, 0); rc < 0) return avFail("link sink", rc);
  if (int rc = avfilter_graph_config(av->graph.get(), nullptr); rc < 0) {
    return avFail("filter graph", rc);
  }

  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (codec == nullptr) {
    return fail(ErrorCode::kUnsupported, "test pattern: this libavcodec has no libx264 encoder");
  }
  av->encoder.reset(avcodec_alloc_context3(codec));
  if (!av->encoder) return fail(ErrorCode::kInternal, "test pattern: out of memory");
  AVCodecContext* c = av->encoder.get();
  const uint64_t bitrate =
      std::clamp(options.bitrate, kMinTestPatternBitrate, kMaxTestPatternBitrate);
  const auto video = static_cast<int64_t>(videoBitrate(bitrate));
  c->width = static_cast<int>(options.width);
  c->height = static_cast<int>(options.height);
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = AVRational{1, static_cast<int>(options.fps)};
  c->framerate = AVRational{static_cast<int>(options.fps), 1};
  c->gop_size = std::max(1, static_cast<int>(options.gopSeconds * options.fps + 0.5));
  c->keyint_min = c->gop_size;  // a fixed keyframe interval (no early IDR)
  c->max_b_frames = 2;
  // VBV-constrained ABR: the average is the bit rate and no half second exceeds it. No
  // filler (nal-hrd=cbr) to make it strictly constant: padding would only cost bond capacity.
  c->bit_rate = video;
  c->rc_max_rate = video;
  c->rc_buffer_size = static_cast<int>(static_cast<double>(video) * kVbvSeconds);
  // The buffer starts a third full (x264: 90 %), so the first keyframe is not a burst of
  // nearly half a second of bits into links that are still warming up.
  c->rc_initial_buffer_occupancy = c->rc_buffer_size / 3;
  // Not AV_CODEC_FLAG_GLOBAL_HEADER: SPS/PPS are then repeated in front of every keyframe,
  // which a receiver joining mid-stream (and the classifier's parameter-set flag) needs.
  if (int rc = av_opt_set(c->priv_data, "preset", options.preset.c_str(), 0); rc < 0) {
    return avFail("libx264 preset " + options.preset, rc);
  }
  // B-frames stay non-reference (no B-pyramid): shedding one loses only that picture.
  if (int rc = av_opt_set(c->priv_data, "b-pyramid", "none", 0); rc < 0) {
    return avFail("libx264 b-pyramid", rc);
  }
  // Not tune=zerolatency: it turns B-frames off. A short lookahead keeps the delay to ~0.3 s.
  if (int rc = av_opt_set_int(c->priv_data, "rc-lookahead", kLookaheadFrames, 0); rc < 0) {
    return avFail("libx264 rc-lookahead", rc);
  }
  if (int rc = av_opt_set(c->priv_data, "x264-params", "scenecut=0", 0); rc < 0) {
    return avFail("libx264 x264-params", rc);
  }
  if (int rc = avcodec_open2(c, codec, nullptr); rc < 0) return avFail("open libx264", rc);

  // MPEG-TS into our AVIO callback; flushed after every frame.
  const AVOutputFormat* mpegts = av_guess_format("mpegts", nullptr, nullptr);
  if (mpegts == nullptr) {
    return fail(ErrorCode::kUnsupported, "test pattern: this libavformat has no mpegts muxer");
  }
  AVFormatContext* muxer = nullptr;
  if (int rc = avformat_alloc_output_context2(&muxer, mpegts, nullptr, nullptr); rc < 0) {
    return avFail("mpegts muxer", rc);
  }
  av->muxer.reset(muxer);
  av->stream = avformat_new_stream(muxer, nullptr);
  if (av->stream == nullptr) return fail(ErrorCode::kInternal, "test pattern: out of memory");
  av->stream->time_base = c->time_base;
  if (int rc = avcodec_parameters_from_context(av->stream->codecpar, c); rc < 0) {
    return avFail("stream parameters", rc);
  }
  auto* ioBuffer = static_cast<uint8_t*>(av_malloc(kIoBufferSize));
  if (ioBuffer == nullptr) return fail(ErrorCode::kInternal, "test pattern: out of memory");
  // The opaque pointer is set once the source exists (below): the header is written then.
  av->io.reset(avio_alloc_context(ioBuffer, static_cast<int>(kIoBufferSize), 1, nullptr, nullptr,
                                  &TestPatternSource::writePacket, nullptr));
  if (!av->io) {
    av_free(ioBuffer);
    return fail(ErrorCode::kInternal, "test pattern: out of memory");
  }
  muxer->pb = av->io.get();
  muxer->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
  muxer->max_delay = kMuxDelayUs;

  av->frame.reset(av_frame_alloc());
  av->packet.reset(av_packet_alloc());
  if (!av->frame || !av->packet) return fail(ErrorCode::kInternal, "test pattern: out of memory");

  std::unique_ptr<TestPatternSource> source(new TestPatternSource(options, std::move(av)));
  source->av_->io->opaque = source.get();
  AVDictionary* muxOptions = nullptr;
  av_dict_set(&muxOptions, "service_provider", "Braid", 0);
  av_dict_set(&muxOptions, "service_name", "Braid test pattern", 0);
  int rc = avformat_write_header(muxer, &muxOptions);
  av_dict_free(&muxOptions);
  if (rc < 0) return avFail("write TS header", rc);
  source->av_->headerWritten = true;
  avio_flush(muxer->pb);
  spdlog::info(
      "test pattern: testsrc2 {}x{} at {} fps, libx264 preset {}, {:.2f} Mbit/s TS "
      "(video {:.2f} Mbit/s, VBV {:.1f} s), keyframe every {} frames, 2 B-frames",
      options.width, options.height, options.fps, options.preset,
      static_cast<double>(bitrate) / 1e6, static_cast<double>(video) / 1e6, kVbvSeconds,
      c->gop_size);
  return source;
}

TestPatternSource::TestPatternSource(const TestPatternOptions& options, std::unique_ptr<Av> av)
    : options_(options),
      av_(std::move(av)),
      requested_(std::clamp(options.bitrate, kMinTestPatternBitrate, kMaxTestPatternBitrate)) {
  if (!options_.clock) options_.clock = steadyClock();
  applied_ = requested_.load();
  encoder_.bitrateBps.set(applied_);
  if (options_.durationSeconds > 0) {
    totalFrames_ = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::llround(options_.durationSeconds * options_.fps)));
  }
  epochUs_ = options_.clock->nowUs();
  // One frame's TS rarely passes 1 MB (a 100 Mbit/s keyframe); a second of 8 Mbit/s is 1 MB.
  muxed_.reserve(1 << 20);
  pending_.reserve(1 << 20);
  pendingDueUs_.reserve((1 << 20) / kTsPacketSize);
}

TestPatternSource::~TestPatternSource() {
  // Nothing reads the trailer's bytes any more (the write callback drops them), but writing
  // it frees the muxer's per-stream state.
  if (av_ && av_->headerWritten && av_->muxer) {
    av_->io->opaque = nullptr;
    av_write_trailer(av_->muxer.get());
  }
}

void TestPatternSource::setBitrate(uint64_t bps) noexcept {
  requested_.store(std::clamp(bps, kMinTestPatternBitrate, kMaxTestPatternBitrate),
                   std::memory_order_relaxed);
}

uint64_t TestPatternSource::frameDueUs(uint64_t frame) const {
  return anchorUs_ + frame * 1'000'000 / options_.fps;
}

uint64_t TestPatternSource::mediaNowUs() const {
  return options_.clock->nowUs() - epochUs_;
}

int TestPatternSource::writePacket(void* opaque, uint8_t* buf, int size) {
  auto* self = static_cast<TestPatternSource*>(opaque);
  if (self == nullptr || size <= 0) return size;  // the trailer at destruction: dropped
  self->muxed_.insert(self->muxed_.end(), buf, buf + size);
  return size;
}

void TestPatternSource::applyBitrate() {
  const uint64_t want = requested_.load(std::memory_order_relaxed);
  if (want == applied_) return;
  AVCodecContext* c = av_->encoder.get();
  const auto video = static_cast<int64_t>(videoBitrate(want));
  c->bit_rate = video;
  c->rc_max_rate = video;
  c->rc_buffer_size = static_cast<int>(static_cast<double>(video) * kVbvSeconds);
  // Every change at debug; at info one line a second at most (a controller that follows the
  // bond moves the rate many times a second during a drop or a climb).
  const uint64_t nowUs = options_.clock->nowUs();
  const bool info = logged_.changes == 0 || nowUs - logged_.atUs >= kLogIntervalUs;
  spdlog::log(info ? spdlog::level::info : spdlog::level::debug,
              "test pattern: bit rate {:.2f} -> {:.2f} Mbit/s (video {:.2f} Mbit/s) from frame {}"
              "{}",
              static_cast<double>(applied_) / 1e6, static_cast<double>(want) / 1e6,
              static_cast<double>(video) / 1e6, nextFrame_,
              info && logged_.since > 0
                  ? fmt::format(", {} changes since the last line", logged_.since)
                  : std::string());
  if (info) {
    logged_.atUs = nowUs;
    logged_.since = 0;
  } else {
    ++logged_.since;
  }
  ++logged_.changes;
  applied_ = want;
  encoder_.bitrateBps.set(want);
  encoder_.bitrateChanges.add();
}

Result<void> TestPatternSource::encodeFrame(uint64_t dueUs) {
  const auto started = std::chrono::steady_clock::now();
  AVFrame* frame = av_->frame.get();
  if (int rc = av_buffersink_get_frame(av_->sink, frame); rc < 0) {
    return avFail("testsrc2 frame", rc);
  }
  frame->pts = static_cast<int64_t>(nextFrame_);
  frame->pict_type = AV_PICTURE_TYPE_NONE;
  applyBitrate();
  int rc = avcodec_send_frame(av_->encoder.get(), frame);
  av_frame_unref(frame);
  if (rc < 0) return avFail("encode", rc);
  if (auto muxed = muxEncoded(); !muxed) return muxed;
  avio_flush(av_->muxer->pb);
  queueMuxed(dueUs);
  encoder_.encodeUs.add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - started)
                                                  .count()));
  return ok();
}

Result<void> TestPatternSource::muxEncoded() {
  AVPacket* packet = av_->packet.get();
  for (;;) {
    int rc = avcodec_receive_packet(av_->encoder.get(), packet);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
    if (rc < 0) return avFail("encode", rc);
    encoder_.frames.add();
    if (packet->flags & AV_PKT_FLAG_KEY) encoder_.keyframes.add();
    av_packet_rescale_ts(packet, av_->encoder->time_base, av_->stream->time_base);
    packet->stream_index = av_->stream->index;
    rc = av_write_frame(av_->muxer.get(), packet);
    av_packet_unref(packet);
    if (rc < 0) return avFail("mux", rc);
  }
  return ok();
}

Result<void> TestPatternSource::finish(uint64_t dueUs) {
  // Drain the lookahead and the B-frames held back: the stream ends on a whole frame, so it
  // decodes to exactly the frames encoded.
  if (int rc = avcodec_send_frame(av_->encoder.get(), nullptr); rc < 0) {
    return avFail("flush encoder", rc);
  }
  const uint64_t before = encoder_.frames.read();
  if (auto muxed = muxEncoded(); !muxed) return muxed;
  if (int rc = av_write_trailer(av_->muxer.get()); rc < 0) return avFail("TS trailer", rc);
  av_->headerWritten = false;
  avio_flush(av_->muxer->pb);
  // Those frames' TS, spread over as many frame intervals as they last (at once it would sit
  // at the sender as a burst of up to half a second).
  queueMuxed(dueUs, std::max<uint64_t>(1, encoder_.frames.read() - before));
  flushed_ = true;
  spdlog::info("test pattern: {} frames encoded in {:g} s, ending", encoder_.frames.read(),
               options_.durationSeconds);
  return ok();
}

void TestPatternSource::queueMuxed(uint64_t dueUs, uint64_t frames) {
  const size_t packets = muxed_.size() / kTsPacketSize;
  if (packets == 0) return;
  if (head_ > 0) {
    // Drop what was delivered (less than a frame's worth, usually nothing).
    pending_.erase(pending_.begin(),
                   pending_.begin() + static_cast<ptrdiff_t>(head_ * kTsPacketSize));
    pendingDueUs_.erase(pendingDueUs_.begin(),
                        pendingDueUs_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
  const uint64_t intervalUs = frames * 1'000'000 / options_.fps;
  for (size_t i = 0; i < packets; ++i) {
    pendingDueUs_.push_back(dueUs + i * intervalUs / packets);
  }
  pending_.insert(pending_.end(), muxed_.begin(),
                  muxed_.begin() + static_cast<ptrdiff_t>(packets * kTsPacketSize));
  encoder_.outputBytes.add(packets * kTsPacketSize);
  // The muxer writes whole packets and the AVIO buffer holds whole packets, so nothing is
  // left over; keep a stray tail for the next frame rather than lose sync.
  muxed_.erase(muxed_.begin(), muxed_.begin() + static_cast<ptrdiff_t>(packets * kTsPacketSize));
}

Result<size_t> TestPatternSource::read(TsBatch& batch) {
  batch.count = 0;
  const uint64_t now = options_.clock->nowUs();
  if (!started_) {
    started_ = true;
    anchorUs_ = now;
  }
  if (now > frameDueUs(nextFrame_) + kMaxLateUs) {
    // The reader stalled: carry on from now rather than encode a second of frames at once.
    anchorUs_ = now - nextFrame_ * 1'000'000 / options_.fps;
    counters_.reanchors.add();
  }
  for (int n = 0; n < kMaxFramesPerRead && !flushed_ && frameDueUs(nextFrame_) <= now; ++n) {
    if (totalFrames_ > 0 && nextFrame_ >= totalFrames_) {
      if (auto done = finish(frameDueUs(nextFrame_)); !done) return tl::unexpected(done.error());
      break;
    }
    if (auto encoded = encodeFrame(frameDueUs(nextFrame_)); !encoded) {
      return tl::unexpected(encoded.error());
    }
    ++nextFrame_;
  }
  while (!batch.full() && head_ < pendingDueUs_.size() && pendingDueUs_[head_] <= now) {
    batch.append(pending_.data() + head_ * kTsPacketSize, pendingDueUs_[head_] - epochUs_);
    ++head_;
  }
  counters_.packets.add(batch.count);
  counters_.bytes.add(batch.count * kTsPacketSize);
  return batch.count;
}

void TestPatternSource::wait(uint64_t timeoutUs) {
  const uint64_t now = options_.clock->nowUs();
  uint64_t until = now + timeoutUs;
  if (started_ && !flushed_) until = std::min(until, frameDueUs(nextFrame_));
  if (head_ < pendingDueUs_.size()) until = std::min(until, pendingDueUs_[head_]);
  if (until > now) options_.clock->sleepUntilUs(until);
}

}  // namespace braid::edge
