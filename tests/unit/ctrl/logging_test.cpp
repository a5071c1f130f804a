#include "ctrl/logging.h"

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

namespace braid::ctrl {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimitedLog::Clock;

TEST(LogLevel, ParsesEveryName) {
  EXPECT_EQ(parseLogLevel("trace").value(), spdlog::level::trace);
  EXPECT_EQ(parseLogLevel("debug").value(), spdlog::level::debug);
  EXPECT_EQ(parseLogLevel("info").value(), spdlog::level::info);
  EXPECT_EQ(parseLogLevel("warn").value(), spdlog::level::warn);
  EXPECT_EQ(parseLogLevel("warning").value(), spdlog::level::warn);
  EXPECT_EQ(parseLogLevel("error").value(), spdlog::level::err);
  EXPECT_EQ(parseLogLevel("critical").value(), spdlog::level::critical);
  EXPECT_EQ(parseLogLevel("off").value(), spdlog::level::off);
}

TEST(LogLevel, RejectsUnknownName) {
  Result<void> result = setupLogging("verbose");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error().context,
            "unknown log level 'verbose' (expected trace, debug, info, warn, error, critical or "
            "off)");
  EXPECT_FALSE(parseLogLevel("INFO").has_value());
  EXPECT_FALSE(parseLogLevel("").has_value());
}

TEST(LogLevel, SetupInstallsDefaultLogger) {
  ASSERT_TRUE(setupLogging("debug", "braid-test").has_value());
  EXPECT_EQ(spdlog::default_logger()->name(), "braid-test");
  EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
  // Calling it again (a config reload) replaces the logger instead of failing.
  ASSERT_TRUE(setupLogging("error", "braid-test").has_value());
  EXPECT_EQ(spdlog::get_level(), spdlog::level::err);
}

TEST(RateLimitedLog, BurstThenSteadyRate) {
  RateLimitedLog limiter(/*perSecond=*/10, /*burst=*/3);
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(limiter.admit(t0), 0u);
  EXPECT_EQ(limiter.admit(t0), 0u);
  EXPECT_EQ(limiter.admit(t0), 0u);
  EXPECT_FALSE(limiter.admit(t0).has_value());
  EXPECT_FALSE(limiter.admit(t0 + 50ms).has_value());
  // One token per 100 ms: the next message passes and reports the two it replaced.
  EXPECT_EQ(limiter.admit(t0 + 100ms), 2u);
  EXPECT_FALSE(limiter.admit(t0 + 150ms).has_value());
  EXPECT_EQ(limiter.admit(t0 + 200ms), 1u);
  EXPECT_EQ(limiter.suppressedTotal(), 3u);
  // After a quiet second the whole burst is available again.
  EXPECT_EQ(limiter.admit(t0 + 2s), 0u);
  EXPECT_EQ(limiter.admit(t0 + 2s), 0u);
  EXPECT_EQ(limiter.admit(t0 + 2s), 0u);
  EXPECT_FALSE(limiter.admit(t0 + 2s).has_value());
}

TEST(RateLimitedLog, ExtremeParametersStayInRange) {
  const Clock::time_point t0 = Clock::now();
  // Zero, negative and NaN rates: the burst passes, then (almost) nothing.
  for (double rate : {0.0, -5.0, std::nan("")}) {
    RateLimitedLog limiter(rate, 2);
    EXPECT_TRUE(limiter.admit(t0).has_value());
    EXPECT_TRUE(limiter.admit(t0).has_value());
    EXPECT_FALSE(limiter.admit(t0 + 24h).has_value());
  }
  // A huge burst must not overflow the arithmetic.
  RateLimitedLog generous(1e-9, 4294967295u);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(generous.admit(t0).has_value());
  // A huge rate lets everything through.
  RateLimitedLog fast(1e12, 0);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(fast.admit(t0 + std::chrono::nanoseconds(i)).has_value());
}

TEST(RateLimitedLog, AllowLeavesCountForTakeSuppressed) {
  RateLimitedLog limiter(/*perSecond=*/0.001, /*burst=*/1);
  EXPECT_TRUE(limiter.allow());
  EXPECT_FALSE(limiter.allow());
  EXPECT_FALSE(limiter.allow());
  EXPECT_EQ(limiter.takeSuppressed(), 2u);
  EXPECT_EQ(limiter.takeSuppressed(), 0u);
  EXPECT_EQ(limiter.suppressedTotal(), 2u);
}

// Collects formatted messages for assertions.
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}
};

TEST(RateLimitedLog, LogReportsSuppressedCount) {
  auto sink = std::make_shared<CaptureSink>();
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  spdlog::set_level(spdlog::level::info);

  RateLimitedLog limiter(/*perSecond=*/0.001, /*burst=*/2);
  for (int i = 0; i < 5; ++i) limiter.log(spdlog::level::warn, "bad packet from {}", i);
  // Below the level: neither logged nor counted.
  limiter.log(spdlog::level::debug, "ignored");
  spdlog::set_default_logger(previous);

  ASSERT_EQ(sink->lines.size(), 2u);
  EXPECT_EQ(sink->lines[0], "bad packet from 0");
  EXPECT_EQ(sink->lines[1], "bad packet from 1");
  EXPECT_EQ(limiter.suppressedTotal(), 3u);

  // Once a token is back the next message carries the count.
  const Clock::time_point later = Clock::now() + 10000s;
  EXPECT_EQ(limiter.admit(later), 3u);
}

TEST(RateLimitedLog, ThreadsShareOneBucket) {
  // No refill during the test: exactly `burst` messages pass in total.
  RateLimitedLog limiter(/*perSecond=*/0.0001, /*burst=*/100);
  std::atomic<uint64_t> passed{0};
  std::atomic<uint64_t> reported{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (std::optional<uint64_t> suppressed = limiter.admit(Clock::now())) {
          passed.fetch_add(1);
          reported.fetch_add(*suppressed);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(passed.load(), 100u);
  EXPECT_EQ(limiter.suppressedTotal(), 3900u);
  // Every drop is reported exactly once: by a later message or still pending.
  EXPECT_EQ(reported.load() + limiter.takeSuppressed(), 3900u);
}

}  // namespace
}  // namespace braid::ctrl
