#pragma once

#include <cstdint>
#include <memory>

namespace braid::edge {

// Monotonic time for media pacing. Sources take it as an interface so that tests can run
// hours of media against a fake clock in milliseconds.
class MonotonicClock {
 public:
  virtual ~MonotonicClock() = default;

  // Current time in microseconds on an arbitrary monotonic epoch. Any thread.
  virtual uint64_t nowUs() const noexcept = 0;
  // Returns once nowUs() >= deadlineUs (immediately if it already is). Calling thread.
  virtual void sleepUntilUs(uint64_t deadlineUs) noexcept = 0;
};

// CLOCK_MONOTONIC; sleeps with clock_nanosleep(TIMER_ABSTIME), so a pacing loop does not
// accumulate the drift of relative sleeps.
class SteadyClock final : public MonotonicClock {
 public:
  uint64_t nowUs() const noexcept override;
  void sleepUntilUs(uint64_t deadlineUs) noexcept override;
};

// A new SteadyClock (stateless; sharing is free). Any thread.
std::shared_ptr<MonotonicClock> steadyClock();

}  // namespace braid::edge
