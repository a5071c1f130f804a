#include "linkem/trace.h"

#include <gtest/gtest.h>

namespace braid::linkem {
namespace {

TEST(Trace, ParsesMillisecondsAndLoopsWithTheLastTimestamp) {
  auto trace = parseTrace("0\n0\n3\n\n7\n10\n", "t");
  ASSERT_TRUE(trace) << trace.error().context;
  EXPECT_EQ(trace->opportunityMs, (std::vector<uint32_t>{0, 0, 3, 7, 10}));
  EXPECT_EQ(trace->periodMs, 10u);
  // Loop k holds 10k + {0, 0, 3, 7, 10}; the opportunity at 10 ends loop 0 and the next loop's
  // two at 10 + 0 follow it.
  EXPECT_EQ(trace->opportunitiesBetween(0, 1), 2u);
  EXPECT_EQ(trace->opportunitiesBetween(0, 10), 4u);
  EXPECT_EQ(trace->opportunitiesBetween(0, 11), 7u);
  EXPECT_EQ(trace->opportunitiesBetween(10, 20), 5u);
  EXPECT_EQ(trace->opportunitiesBetween(0, 1000), 499u);  // loop 99 ends at 1000
  EXPECT_EQ(trace->opportunitiesBetween(5, 5), 0u);
}

TEST(Trace, EveryBadLineIsNamed) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"1\n2\nx\n", "t:3: expected a millisecond count, got \"x\""},
           Case{"5\n4\n", "t:2: 4 is before the line above (5); timestamps must not decrease"},
           Case{"1\n-3\n", "t:2: expected a millisecond count, got \"-3\""},
           Case{"1 2\n", "t:1: expected a millisecond count, got \"1 2\""},
           Case{"\n\n", "t: the trace has no opportunities"},
           Case{"0\n0\n", "t: the last timestamp is 0, so the trace has no period"},
           Case{"99999999999\n", "t:1: 99999999999 ms is beyond the longest trace taken (24 h)"},
       }) {
    auto trace = parseTrace(c.text, "t");
    ASSERT_FALSE(trace) << c.text;
    EXPECT_EQ(trace.error().context, c.message);
  }
}

TEST(Trace, AcceptsWindowsLineEndsAndSpaces) {
  auto trace = parseTrace(" 1\r\n2 \r\n", "t");
  ASSERT_TRUE(trace) << trace.error().context;
  EXPECT_EQ(trace->opportunityMs, (std::vector<uint32_t>{1, 2}));
}

TEST(Trace, MissingFileIsAnIoError) {
  auto trace = loadTrace("/nonexistent/trace.up");
  ASSERT_FALSE(trace);
  EXPECT_EQ(trace.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace braid::linkem
