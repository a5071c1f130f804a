#include "edge/feedback_filter.h"

#include <gtest/gtest.h>

namespace braid::edge {
namespace {

TEST(FeedbackFilter, TakesTheFirstCopyOfAnAckAndNotTheSecond) {
  FeedbackFilter filter;
  EXPECT_TRUE(filter.take(1'000));
  EXPECT_FALSE(filter.take(1'000));  // the same ACK through the other feedback link
  EXPECT_TRUE(filter.take(21'000));
  EXPECT_FALSE(filter.take(21'000));
}

TEST(FeedbackFilter, DropsAnAckOvertakenByANewerOne) {
  FeedbackFilter filter;
  EXPECT_TRUE(filter.take(41'000));
  EXPECT_FALSE(filter.take(21'000));  // the slow copy of the ACK before
  EXPECT_TRUE(filter.take(61'000));
}

TEST(FeedbackFilter, FollowsTheTimestampAcrossItsWrap) {
  FeedbackFilter filter;
  EXPECT_TRUE(filter.take(UINT32_MAX - 5'000));
  EXPECT_TRUE(filter.take(15'000));  // 20 ms later, past the wrap
  EXPECT_FALSE(filter.take(UINT32_MAX - 5'000));
  EXPECT_FALSE(filter.take(15'000));
}

TEST(FeedbackFilter, StartsOverOnAClockFarBehindAndAfterAReset) {
  FeedbackFilter filter;
  EXPECT_TRUE(filter.take(900'000'000));
  EXPECT_TRUE(filter.take(5'000));  // 15 minutes back: a restarted gateway, not a straggler
  EXPECT_TRUE(filter.take(25'000));
  filter.reset();
  EXPECT_TRUE(filter.take(25'000));
}

}  // namespace
}  // namespace braid::edge
