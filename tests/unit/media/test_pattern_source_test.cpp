// The built-in test pattern against a fake clock (so it encodes as fast as the CPU allows):
// its TS decodes with the ffmpeg CLI to as many frames as it says it encoded, carries the
// keyframes, parameter sets and non-reference B pictures the classifier looks for, follows a
// bit-rate change, and paces frames and packets by its clock.

#include "edge/media/test_pattern_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "edge/media/classifier.h"
#include "media_test_util.h"

namespace braid::edge {
namespace {

constexpr uint64_t kStartUs = 1'000'000;

bool haveTool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `command`, returns what it printed (stdout and stderr) and its exit status.
std::string runCommand(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    status = -1;
    return output;
  }
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  status = ::pclose(pipe);
  return output;
}

struct Pattern {
  std::shared_ptr<test::FakeClock> clock = std::make_shared<test::FakeClock>(kStartUs);
  std::unique_ptr<TestPatternSource> source;
  std::unique_ptr<TsBatch> batch = std::make_unique<TsBatch>();
  std::vector<uint8_t> ts;
  uint64_t frame = 0;  // next input frame the clock is stepped to

  explicit Pattern(const std::string& url) {
    auto options = parseTestPatternUrl(url);
    EXPECT_TRUE(options) << options.error().describe();
    if (!options) return;
    options->clock = clock;
    auto opened = TestPatternSource::open(*options);
    EXPECT_TRUE(opened) << opened.error().describe();
    if (opened) source = std::move(*opened);
  }
  uint64_t dueUs(uint64_t k) const { return kStartUs + k * 1'000'000 / source->options().fps; }
  // Reads at `nowUs` until nothing more is due.
  void readAt(uint64_t nowUs) {
    clock->set(nowUs);
    do {
      auto n = source->read(*batch);
      ASSERT_TRUE(n) << n.error().describe();
      ts.insert(ts.end(), batch->data().begin(), batch->data().end());
    } while (batch->full());
  }
  // Steps the clock through `frames` frame intervals: at each frame's due time (it is encoded)
  // and just before the next one (the rest of its TS is handed out).
  void run(uint64_t frames) {
    for (uint64_t end = frame + frames; frame < end; ++frame) {
      readAt(dueUs(frame));
      readAt(dueUs(frame + 1) - 1);
    }
  }
};

TEST(TestPatternSource, DecodesToTheFramesItEncodedWithBFramesAndKeyframes) {
  Pattern p("testpattern:?size=320x240&fps=25&bitrate=1M&gop=1&duration=4");
  ASSERT_NE(p.source, nullptr);
  p.run(60);
  const EncoderCounters& e = p.source->encoderCounters();
  // The lookahead and the B-frames hold some back while it runs …
  EXPECT_GT(e.frames.read(), 40u);
  EXPECT_LT(e.frames.read(), 60u);
  EXPECT_FALSE(p.source->finished());
  // … and at the end of its duration it drains them: 4 s of 25 fps, a keyframe a second.
  for (int i = 0; i < 100 && !p.source->finished(); ++i) p.run(1);
  ASSERT_TRUE(p.source->finished());
  EXPECT_EQ(e.frames.read(), 100u);
  EXPECT_EQ(e.keyframes.read(), 4u);
  EXPECT_EQ(e.outputBytes.read(), p.ts.size());
  EXPECT_EQ(p.source->counters().bytes.read(), p.ts.size());
  ASSERT_EQ(p.ts.size() % kTsPacketSize, 0u);

  // The classifier finds what a shedding policy needs: keyframes, parameter sets in front of
  // them, and packets of nothing but non-reference (B) slices.
  MediaClassifier classifier;
  size_t keyframe = 0, parameterSets = 0, nonReference = 0, psi = 0;
  for (size_t off = 0; off < p.ts.size(); off += kTsPacketSize) {
    MediaFlags f = classifier.classify(TsPacketSpan(p.ts.data() + off, kTsPacketSize));
    keyframe += (f & media::kKeyframe) ? 1 : 0;
    parameterSets += (f & media::kParameterSet) ? 1 : 0;
    nonReference += (f & media::kNonReference) ? 1 : 0;
    psi += (f & media::kPsi) ? 1 : 0;
  }
  EXPECT_GT(keyframe, 0u);
  EXPECT_GE(parameterSets, e.keyframes.read());
  EXPECT_GT(nonReference, p.ts.size() / kTsPacketSize / 10) << "B pictures are non-reference";
  EXPECT_GT(psi, 0u);

  if (!haveTool("ffmpeg") || !haveTool("ffprobe")) GTEST_SKIP() << "ffmpeg/ffprobe not installed";
  test::TempDir dir;
  auto path = dir.path() / "pattern.ts";
  test::writeFile(path, p.ts);
  int status = 0;
  std::string errors =
      runCommand("ffmpeg -nostdin -v error -i " + path.string() + " -f null -", status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(errors, "") << "ffmpeg reported errors decoding the test pattern";
  std::string count = runCommand(
      "ffprobe -v error -count_frames -select_streams v:0 "
      "-show_entries stream=nb_read_frames -of csv=p=0 " +
          path.string(),
      status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(std::strtoull(count.c_str(), nullptr, 10), e.frames.read()) << count;
  std::string types = runCommand(
      "ffprobe -v error -select_streams v:0 -show_entries "
      "frame=pict_type -of csv=p=0 " +
          path.string(),
      status);
  EXPECT_NE(types.find('B'), std::string::npos) << "no B pictures decoded";
}

TEST(TestPatternSource, OutputFollowsABitRateChange) {
  Pattern p("testpattern:?size=640x360&fps=30&bitrate=2M&gop=1&preset=superfast");
  ASSERT_NE(p.source, nullptr);
  EncoderControl* control = p.source->encoderControl();
  ASSERT_EQ(control, p.source.get());
  // TS bit/s over the last `seconds` of `run` frames.
  auto measure = [&p](uint64_t frames, uint64_t lastFrames) {
    p.run(frames - lastFrames);
    size_t before = p.ts.size();
    p.run(lastFrames);
    return static_cast<double>(p.ts.size() - before) * 8 * 30 / static_cast<double>(lastFrames);
  };
  double high = measure(90, 45);
  control->setBitrate(500'000);
  EXPECT_EQ(control->requestedBitrate(), 500'000u);
  EXPECT_EQ(p.source->encoderCounters().bitrateChanges.read(), 0u);  // not before a frame
  double low = measure(90, 45);
  const EncoderCounters& e = p.source->encoderCounters();
  EXPECT_EQ(e.bitrateChanges.read(), 1u);
  EXPECT_EQ(e.bitrateBps.read(), 500'000u);
  // Wide margins: a rate controller is not a metronome over 1.5 s, but the change is 4x.
  EXPECT_GT(high, 0.6 * 2e6) << high;
  EXPECT_LT(high, 1.3 * 2e6) << high;
  EXPECT_GT(low, 0.3 * 0.5e6) << low;
  EXPECT_LT(low, 1.4 * 0.5e6) << low;
  // And back up.
  control->setBitrate(1'500'000);
  double again = measure(90, 45);
  EXPECT_GT(again, 0.6 * 1.5e6) << again;
  EXPECT_LT(again, 1.3 * 1.5e6) << again;
  std::printf("TS rate: %.2f Mbit/s at 2M, %.2f at 0.5M, %.2f at 1.5M\n", high / 1e6, low / 1e6,
              again / 1e6);

  // Clamped to the encoder's limits.
  control->setBitrate(1);
  EXPECT_EQ(control->requestedBitrate(), kMinTestPatternBitrate);
  control->setBitrate(1'000'000'000);
  EXPECT_EQ(control->requestedBitrate(), kMaxTestPatternBitrate);
}

TEST(TestPatternSource, PacesFramesAndPacketsByItsClock) {
  Pattern p("testpattern:?size=160x120&fps=25&bitrate=300k&preset=ultrafast");
  ASSERT_NE(p.source, nullptr);
  TsSource& s = *p.source;
  p.readAt(kStartUs);  // frame 0 is due at the first read
  EXPECT_EQ(s.mediaNowUs(), 0u);
  // Nothing comes out before the encoder's delay has passed, and wait() sleeps until the next
  // frame is due, never beyond.
  s.wait(1'000'000);
  EXPECT_GT(p.clock->nowUs(), kStartUs);
  EXPECT_LE(p.clock->nowUs(), kStartUs + 40'000);
  EXPECT_EQ(s.mediaNowUs(), p.clock->nowUs() - kStartUs);
  // Stepping through 2 s of frames: TS comes out, each packet no earlier than it is due.
  p.frame = 1;
  for (; p.frame < 50; ++p.frame) {
    p.clock->set(p.dueUs(p.frame));
    auto n = s.read(*p.batch);
    ASSERT_TRUE(n);
    for (size_t i = 0; i < p.batch->count; ++i) {
      EXPECT_LE(p.batch->mediaTimeUs[i], p.clock->nowUs() - kStartUs);
    }
  }
  EXPECT_GT(s.counters().packets.read(), 0u);
  EXPECT_EQ(s.counters().reanchors.read(), 0u);
  // A reader that stalls for 5 s does not get 5 s of frames at once: it skips ahead.
  uint64_t framesBefore = p.source->encoderCounters().frames.read();
  p.clock->set(p.dueUs(p.frame) + 5'000'000);
  ASSERT_TRUE(s.read(*p.batch));
  EXPECT_EQ(s.counters().reanchors.read(), 1u);
  EXPECT_LE(p.source->encoderCounters().frames.read(), framesBefore + 4);
}

}  // namespace
}  // namespace braid::edge
