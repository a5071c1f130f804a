// The testpattern: URL: options, defaults and the errors a bad one gets (every build), and
// what openTsSource makes of it with and without the encoder compiled in.

#include "edge/media/test_pattern_options.h"

#include <gtest/gtest.h>

#include <string>

#include "braid_config.h"
#include "edge/media/open_ts_source.h"

namespace braid::edge {
namespace {

TEST(TestPatternOptions, DefaultsAndEveryOption) {
  auto plain = parseTestPatternUrl("testpattern:");
  ASSERT_TRUE(plain) << plain.error().describe();
  EXPECT_EQ(plain->bitrate, 4'000'000u);
  EXPECT_EQ(plain->width, 1280u);
  EXPECT_EQ(plain->height, 720u);
  EXPECT_EQ(plain->fps, 30u);
  EXPECT_DOUBLE_EQ(plain->gopSeconds, 1.0);
  EXPECT_EQ(plain->preset, "veryfast");
  EXPECT_TRUE(parseTestPatternUrl("testpattern:?"));

  auto all =
      parseTestPatternUrl("testpattern:?bitrate=2.5M&size=640x360&fps=25&gop=2&preset=superfast&");
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(all->bitrate, 2'500'000u);
  EXPECT_EQ(all->width, 640u);
  EXPECT_EQ(all->height, 360u);
  EXPECT_EQ(all->fps, 25u);
  EXPECT_DOUBLE_EQ(all->gopSeconds, 2.0);
  EXPECT_EQ(all->preset, "superfast");
  EXPECT_EQ(describeTestPattern(*all),
            "bitrate=2500000&size=640x360&fps=25&gop=2&preset=superfast");

  EXPECT_DOUBLE_EQ(plain->durationSeconds, 0.0);
  EXPECT_DOUBLE_EQ(parseTestPatternUrl("testpattern:?duration=20")->durationSeconds, 20.0);
  EXPECT_EQ(describeTestPattern(*parseTestPatternUrl("testpattern:?duration=2.5")),
            "bitrate=4000000&size=1280x720&fps=30&gop=1&preset=veryfast&duration=2.5");
  EXPECT_EQ(parseTestPatternUrl("testpattern:?bitrate=800k")->bitrate, 800'000u);
  EXPECT_EQ(parseTestPatternUrl("testpattern:?bitrate=3000000")->bitrate, 3'000'000u);
  EXPECT_TRUE(isTestPatternUrl("testpattern:?fps=1"));
  EXPECT_FALSE(isTestPatternUrl("file:testpattern"));
}

TEST(TestPatternOptions, BadOptionsSayWhatIsAccepted) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& c : {
           Case{"testpattern:bitrate=4M", "options must follow a '?'"},
           Case{"testpattern:?bitrate=4X", "bitrate '4X' is not a bit rate from 100k to 100M"},
           Case{"testpattern:?bitrate=99k", "bitrate '99k' is not a bit rate"},
           Case{"testpattern:?bitrate=200M", "bitrate '200M' is not a bit rate"},
           Case{"testpattern:?bitrate=-1M", "bitrate '-1M'"},
           Case{"testpattern:?size=1280", "size '1280' is not WIDTHxHEIGHT"},
           Case{"testpattern:?size=641x360", "with even sides"},
           Case{"testpattern:?size=8000x360", "size '8000x360'"},
           Case{"testpattern:?fps=0", "fps '0' is not a whole frame rate from 1 to 60"},
           Case{"testpattern:?fps=29.97", "fps '29.97'"},
           Case{"testpattern:?gop=0", "gop '0' is not a keyframe interval from 0.1 to 10 s"},
           Case{"testpattern:?preset=placebo", "preset 'placebo' is not one of ultrafast"},
           Case{"testpattern:?fps", "option 'fps' has no value"},
           Case{"testpattern:?duration=0", "duration '0' is not a length from 0.1 to 86400 s"},
           Case{"testpattern:?colour=red", "unknown option 'colour' (known: bitrate, size"},
       }) {
    auto parsed = parseTestPatternUrl(c.url);
    ASSERT_FALSE(parsed) << c.url;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << c.url;
    EXPECT_NE(parsed.error().context.find(c.says), std::string::npos)
        << c.url << ": " << parsed.error().context;
    EXPECT_NE(parsed.error().context.find(std::string("input '") + c.url + "'"), std::string::npos)
        << parsed.error().context;
  }
}

TEST(TestPatternOptions, OpenTsSourceTakesItOrSaysTheBuildLacksIt) {
  // A bad option is refused the same way in every build.
  auto bad = openTsSource("testpattern:?fps=0");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto source = openTsSource("testpattern:?size=160x120&fps=10&bitrate=200k&preset=ultrafast");
#if BRAID_HAVE_TESTPATTERN
  ASSERT_TRUE(source) << source.error().describe();
  ASSERT_NE((*source)->encoderControl(), nullptr);
  EXPECT_EQ((*source)->encoderControl()->requestedBitrate(), 200'000u);
  EXPECT_FALSE((*source)->finished());
#else
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(source.error().context.find("without the test pattern"), std::string::npos);
#endif
}

}  // namespace
}  // namespace braid::edge
