#pragma once

#include <array>
#include <cstdint>

namespace braid::dp {

// Tuning of ClockOffsetEstimator. The defaults suit cellular paths with up to ±200 ppm between the
// edge's and the gateway's clocks.
struct ClockOffsetConfig {
  // Width of one minimum-filter bucket, by gateway arrival time.
  uint64_t bucketNs = 1'000'000'000;
  // Buckets in the sliding window (the current one included), 1..kMaxWindowBuckets. A longer window
  // rides out longer congestion episodes; a shorter one lags less when the offset grows by drift
  // (the lag is at most window × drift, 1 ms for 10 s at 100 ppm).
  uint32_t windowBuckets = 10;
  // Fastest the estimate may move once settled. Must exceed the clocks' drift (200 ppm) to follow
  // it; small enough that the playout rate changes invisibly (0.05 %).
  uint32_t slewPpm = 500;
  // For this long after the first sample the estimate converges faster: the first packets may have
  // queued, and a 2 % faster or slower output while the buffer fills is still no burst or stall.
  uint64_t warmupNs = 10'000'000'000;
  uint32_t warmupSlewPpm = 20'000;
};

// Estimates offset = gateway arrival time − edge media time, so that a media timestamp maps to the
// gateway clock as mediaTs + offset. The minimum of (arrival − mediaTs) over a sliding window of
// buckets is the sample least inflated by queueing, retransmission or reordering; the published
// offset follows that minimum at a bounded rate, so that drift is tracked while jumps of the raw
// minimum (a bucket with a lucky packet leaving the window, a route change) never burst or stall
// the output. Single owner thread; noexcept, no allocation.
class ClockOffsetEstimator {
 public:
  static constexpr uint32_t kMaxWindowBuckets = 64;

  // Builds an estimator without an estimate. Out-of-range config values are clamped.
  explicit ClockOffsetEstimator(const ClockOffsetConfig& config = {}) noexcept;

  // Feeds one packet: its gateway arrival time and its media timestamp. A retransmission is used
  // only while there is no estimate yet (it measures the repair delay, not the offset). Owner
  // thread.
  void observe(uint64_t arrivalNs, uint64_t mediaTsUs, bool retransmission = false) noexcept;

  // True once a packet has been observed. Owner thread.
  bool hasEstimate() const noexcept { return hasEstimate_; }

  // The smoothed offset (gateway ns − media ns); meaningful only if hasEstimate(). Owner thread.
  int64_t offsetNs() const noexcept { return offsetNs_; }

  // The raw windowed minimum the estimate follows, for diagnostics. Owner thread.
  int64_t windowMinNs() const noexcept {
    return currentMinNs_ < olderMinNs_ ? currentMinNs_ : olderMinNs_;
  }

  // Forgets everything (e.g. a new media epoch). Owner thread.
  void reset() noexcept;

 private:
  struct Bucket {
    uint64_t index = 0;
    int64_t minNs = 0;
    bool valid = false;
  };

  void rollTo(uint64_t bucketIndex) noexcept;
  void slewTo(uint64_t nowNs) noexcept;

  ClockOffsetConfig config_;
  std::array<Bucket, kMaxWindowBuckets> history_{};
  bool hasEstimate_ = false;
  int64_t offsetNs_ = 0;
  uint64_t firstNs_ = 0;
  uint64_t lastSlewNs_ = 0;
  uint64_t currentIndex_ = 0;
  int64_t currentMinNs_ = 0;
  int64_t olderMinNs_ = 0;  // minimum of the completed buckets still inside the window
};

// Media timestamps are clamped to this (31 years) so that µs → ns never overflows.
inline constexpr uint64_t kMaxMediaTsUs = 1'000'000'000'000'000ULL;

// The media time of a timestamp in ns, as a signed value for offset arithmetic.
inline int64_t mediaTimeNs(uint64_t mediaTsUs) noexcept {
  return static_cast<int64_t>((mediaTsUs < kMaxMediaTsUs ? mediaTsUs : kMaxMediaTsUs) * 1000);
}

}  // namespace braid::dp
