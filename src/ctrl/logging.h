#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dataplane/proto/result.h"

namespace braid::ctrl {

// Parses trace, debug, info, warn (or warning), error, critical or off.
// Any thread. Returns the level or a kInvalidArgument error that lists the valid names.
[[nodiscard]] Result<spdlog::level::level_enum> parseLogLevel(std::string_view level);

// Replaces spdlog's default logger with one that writes "<ISO time> [<level>] <message>" to
// stderr, named `programName`, at `level` (see parseLogLevel). Call once from main before
// threads start; logging itself is thread-safe. Returns an error for an unknown level.
[[nodiscard]] Result<void> setupLogging(std::string_view level,
                                        std::string_view programName = "braid");

// Token bucket for messages a peer can trigger (bad packets, failed handshakes): at most
// `burst` messages at once and `perSecond` on average; the rest are counted, and the next
// message that passes reports how many were suppressed. Lock-free (one CAS loop), so any
// number of threads may share one limiter.
class RateLimitedLog {
 public:
  using Clock = std::chrono::steady_clock;

  // A `perSecond` below one per ~11 days (or not a number) means one per ~11 days; `burst` 0
  // means 1.
  RateLimitedLog(double perSecond, uint32_t burst) noexcept;

  RateLimitedLog(const RateLimitedLog&) = delete;
  RateLimitedLog& operator=(const RateLimitedLog&) = delete;

  // Takes a token at `now`. Any thread. Returns std::nullopt if the message must be dropped
  // (it is counted), otherwise how many messages were dropped since the last one that passed.
  std::optional<uint64_t> admit(Clock::time_point now) noexcept;

  // admit() at the current time, for callers that only need yes or no; the suppressed count
  // stays pending until takeSuppressed() or the next admit(). Any thread.
  bool allow() noexcept;

  // Returns and clears the number of messages dropped since the last one that passed. Any thread.
  uint64_t takeSuppressed() noexcept { return pending_.exchange(0, std::memory_order_relaxed); }

  // Messages dropped since construction (for metrics). Any thread.
  uint64_t suppressedTotal() const noexcept { return total_.load(std::memory_order_relaxed); }

  // Logs through the default logger if a token is available, appending
  // " (N similar messages suppressed)" when earlier ones were dropped. Any thread.
  template <typename... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
    if (!spdlog::should_log(level)) return;
    std::optional<uint64_t> suppressed = admit(Clock::now());
    if (!suppressed) return;
    std::string message = fmt::format(format, std::forward<Args>(args)...);
    if (*suppressed > 0) {
      fmt::format_to(std::back_inserter(message), " ({} similar messages suppressed)", *suppressed);
    }
    spdlog::log(level, "{}", message);
  }

 private:
  bool takeToken(int64_t nowNs) noexcept;

  // Generic cell rate algorithm: one atomic "theoretical arrival time" replaces the
  // (tokens, last refill) pair, so a single CAS keeps the bucket consistent across threads.
  int64_t intervalNs_;
  int64_t toleranceNs_;
  std::atomic<int64_t> tatNs_{0};
  std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> total_{0};
};

}  // namespace braid::ctrl
