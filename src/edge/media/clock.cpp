#include "edge/media/clock.h"

#include <time.h>

#include <cerrno>

namespace braid::edge {

uint64_t SteadyClock::nowUs() const noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

void SteadyClock::sleepUntilUs(uint64_t deadlineUs) noexcept {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(deadlineUs / 1'000'000);
  ts.tv_nsec = static_cast<long>((deadlineUs % 1'000'000) * 1000);
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

std::shared_ptr<MonotonicClock> steadyClock() {
  return std::make_shared<SteadyClock>();
}

}  // namespace braid::edge
