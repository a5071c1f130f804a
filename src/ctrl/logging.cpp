#include "ctrl/logging.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

namespace braid::ctrl {

namespace {

struct LevelName {
  std::string_view name;
  spdlog::level::level_enum level;
};

constexpr std::array<LevelName, 8> kLevels = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"warning", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
}};

int64_t sinceEpochNs(RateLimitedLog::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

Result<spdlog::level::level_enum> parseLogLevel(std::string_view level) {
  for (const LevelName& entry : kLevels) {
    if (entry.name == level) return entry.level;
  }
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown log level '{}' (expected trace, debug, info, warn, error, "
                          "critical or off)",
                          level));
}

Result<void> setupLogging(std::string_view level, std::string_view programName) {
  Result<spdlog::level::level_enum> parsed = parseLogLevel(level);
  if (!parsed) return tl::unexpected(parsed.error());
  // A plain (uncoloured) sink: the output usually ends up in journald or a log file.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(programName), std::move(sink));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %n [%l] %v");
  logger->set_level(*parsed);
  // Warnings and worse reach the terminal even if the process dies right after.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return ok();
}

RateLimitedLog::RateLimitedLog(double perSecond, uint32_t burst) noexcept {
  // Bounds keep every sum below 2^63 ns: at most one message per ~11 days, bursts up to ~30 years.
  constexpr double kMaxIntervalNs = 1e15;
  constexpr double kMaxToleranceNs = 1e18;
  const double rate = perSecond > 0 ? perSecond : 0;  // Also maps NaN to 0.
  const double interval = rate > 1e9 / kMaxIntervalNs ? std::max(1e9 / rate, 1.0) : kMaxIntervalNs;
  intervalNs_ = static_cast<int64_t>(std::llround(interval));
  const double tolerance = interval * static_cast<double>(std::max<uint32_t>(burst, 1) - 1);
  toleranceNs_ = static_cast<int64_t>(std::llround(std::min(tolerance, kMaxToleranceNs)));
}

bool RateLimitedLog::takeToken(int64_t nowNs) noexcept {
  int64_t tat = tatNs_.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t start = std::max(tat, nowNs);
    if (start - nowNs > toleranceNs_) {
      pending_.fetch_add(1, std::memory_order_relaxed);
      total_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (tatNs_.compare_exchange_weak(tat, start + intervalNs_, std::memory_order_relaxed)) {
      return true;
    }
  }
}

std::optional<uint64_t> RateLimitedLog::admit(Clock::time_point now) noexcept {
  if (!takeToken(sinceEpochNs(now))) return std::nullopt;
  return takeSuppressed();
}

bool RateLimitedLog::allow() noexcept {
  return takeToken(sinceEpochNs(Clock::now()));
}

}  // namespace braid::ctrl
