#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "dataplane/counter.h"

namespace braid::dp {

// What the calling thread has used so far (getrusage(RUSAGE_THREAD)).
struct ThreadUsage {
  uint64_t cpuNs = 0;        // user + system time
  uint64_t preemptions = 0;  // involuntary context switches: the CPU was given to another
  uint64_t blocks = 0;       // voluntary ones: the thread waited (I/O, a lock, a fault)
  // Page faults: a first touch of fresh memory (a buffer zeroed, a mapping populated) costs
  // one per 4 KiB page; a major one also waited for storage.
  uint64_t pageFaults = 0;
  uint64_t majorFaults = 0;
};
ThreadUsage currentThreadUsage() noexcept;

// A pass, or a sleep that ended too late, during which the thread did not read its port or
// sockets.
struct Stall {
  uint64_t heldNs = 0;    // how long the port waited beyond what was planned
  uint64_t windowNs = 0;  // the span `used` covers: the stall and up to 10 ms before it
  ThreadUsage used;       // what the thread used over that span
  // Ran less than half the span: the thread was off its CPU (preempted or blocked), so the
  // machine, not the work it did, held the port.
  bool offCpu() const noexcept { return used.cpuNs * 2 < windowNs; }
};

// What the thread used through a stall, as the warnings that report one say it ("of the last
// 30.0 ms it ran 28.0 ms, preempted 1 times, …, (on its CPU: its own work)"). Written into
// `out`, not allocated: packet threads call it. The part of `out` written.
std::string_view describeStallUsage(const Stall& stall, std::span<char> out) noexcept;
// Room for that line with any realistic figures (a longer one is cut, never overrun).
using StallUsageText = std::array<char, 200>;

// Counts a stall into a thread's metrics: how many, and the longest held (µs, a gauge).
inline void tallyStall(const Stall& stall, OwnedCounter& stalls, OwnedCounter& longestUs) noexcept {
  stalls.add();
  const uint64_t heldUs = stall.heldNs / 1'000;
  if (heldUs > longestUs.read()) longestUs.set(heldUs);
}

// Finds the stalls of a packet thread (a gateway worker, docs/gateway.md §5; the edge's
// sender, docs/transport.md) at the cost of one clock read per pass and one getrusage() at
// most every 10 ms, and says whether the thread was running through them: a long pass on its
// CPU is its own work (sessions opening), one off it is the machine (another process on its
// core, a blocking write). One thread only: the one it watches.
class StallWatch {
 public:
  // Under half the lowest latency a session is usually granted (50 ms).
  static constexpr uint64_t kStallNs = 20'000'000;
  static constexpr uint64_t kSampleEveryNs = 10'000'000;

  explicit StallWatch(ThreadUsage (*usage)() noexcept = currentThreadUsage) noexcept
      : usage_(usage) {}

  // Before a pass or a sleep that starts at `nowNs`.
  void begin(uint64_t nowNs) noexcept {
    if (sampleNs_ != 0 && nowNs - sampleNs_ < kSampleEveryNs) return;
    sample_ = usage_();
    sampleNs_ = nowNs;
  }

  // After it: it started at `startNs`, ended at `endNs` and was meant to last `plannedNs` (a
  // sleep's length; 0 for a pass). The stall, if the port waited kStallNs or more past that.
  std::optional<Stall> end(uint64_t startNs, uint64_t endNs, uint64_t plannedNs) noexcept {
    const uint64_t spentNs = endNs > startNs ? endNs - startNs : 0;
    if (spentNs < plannedNs + kStallNs) return std::nullopt;
    const ThreadUsage now = usage_();
    Stall stall{.heldNs = spentNs - plannedNs,
                .windowNs = endNs - sampleNs_,
                .used = {.cpuNs = now.cpuNs - sample_.cpuNs,
                         .preemptions = now.preemptions - sample_.preemptions,
                         .blocks = now.blocks - sample_.blocks,
                         .pageFaults = now.pageFaults - sample_.pageFaults,
                         .majorFaults = now.majorFaults - sample_.majorFaults}};
    sample_ = now;
    sampleNs_ = endNs;
    return stall;
  }

 private:
  ThreadUsage (*usage_)() noexcept;
  ThreadUsage sample_;
  uint64_t sampleNs_ = 0;
};

}  // namespace braid::dp
