#pragma once

// The options of the built-in test-pattern input, and their URL form
// "testpattern:[?KEY=VALUE[&KEY=VALUE...]]". Parsed in every build (the lean one included),
// so that a bad URL gets the same clear error whether or not the encoder is compiled in.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/proto/result.h"
#include "edge/media/clock.h"

namespace braid::edge {

inline constexpr std::string_view kTestPatternScheme = "testpattern:";

// Limits of the encoder's bit rate: the URL's bitrate= and every setBitrate() are clamped
// into them (below 100 kbit/s a 720p picture is mush; above 100 Mbit/s no bond carries it).
inline constexpr uint64_t kMinTestPatternBitrate = 100'000;
inline constexpr uint64_t kMaxTestPatternBitrate = 100'000'000;

struct TestPatternOptions {
  uint64_t bitrate = 4'000'000;  // TS bit/s at start (the video gets what the TS headers leave)
  uint32_t width = 1280;
  uint32_t height = 720;
  uint32_t fps = 30;
  double gopSeconds = 1.0;                // keyframe interval
  double durationSeconds = 0;             // 0: endless; else the source finishes after this
  std::string preset = "veryfast";        // x264 preset
  std::shared_ptr<MonotonicClock> clock;  // null: steadyClock()
};

// True if `url` names the test pattern (starts with "testpattern:"). Any thread.
bool isTestPatternUrl(std::string_view url);

// Parses "testpattern:" with the options bitrate=RATE (bit/s, k or M suffix: 4M, 2500k),
// size=WxH (even, 64x64..3840x2160), fps=N (1..60), gop=SECONDS (0.1..10),
// preset=NAME (ultrafast, superfast, veryfast, faster, fast, medium) and duration=SECONDS
// (0.1..86400; absent: endless). Any thread.
// Errors: kInvalidArgument naming the URL, the option and what it accepts.
[[nodiscard]] Result<TestPatternOptions> parseTestPatternUrl(std::string_view url);

// "bitrate=4000000&size=1280x720&fps=30&gop=1&preset=veryfast[&duration=S]": the options,
// for logs. Any thread.
std::string describeTestPattern(const TestPatternOptions& options);

}  // namespace braid::edge
