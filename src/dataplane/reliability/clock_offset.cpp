#include "dataplane/reliability/clock_offset.h"

#include <algorithm>
#include <limits>

namespace braid::dp {

namespace {

constexpr int64_t kNoMin = std::numeric_limits<int64_t>::max();
// Slewing in steps of at least this much elapsed time keeps integer rounding from freezing the
// estimate when packets arrive microseconds apart.
constexpr uint64_t kSlewQuantumNs = 1'000'000;

}  // namespace

ClockOffsetEstimator::ClockOffsetEstimator(const ClockOffsetConfig& config) noexcept
    : config_(config) {
  config_.bucketNs = std::max<uint64_t>(config_.bucketNs, 1'000'000);
  config_.windowBuckets = std::clamp<uint32_t>(config_.windowBuckets, 1, kMaxWindowBuckets);
  reset();
}

void ClockOffsetEstimator::reset() noexcept {
  history_.fill(Bucket{});
  hasEstimate_ = false;
  offsetNs_ = 0;
  firstNs_ = 0;
  lastSlewNs_ = 0;
  currentIndex_ = 0;
  currentMinNs_ = kNoMin;
  olderMinNs_ = kNoMin;
}

void ClockOffsetEstimator::observe(uint64_t arrivalNs, uint64_t mediaTsUs,
                                   bool retransmission) noexcept {
  const int64_t sample = static_cast<int64_t>(arrivalNs) - mediaTimeNs(mediaTsUs);
  const uint64_t index = arrivalNs / config_.bucketNs;
  if (!hasEstimate_) {
    hasEstimate_ = true;
    offsetNs_ = sample;
    firstNs_ = arrivalNs;
    lastSlewNs_ = arrivalNs;
    currentIndex_ = index;
    currentMinNs_ = sample;
    olderMinNs_ = kNoMin;
    return;
  }
  if (index > currentIndex_) rollTo(index);
  // A retransmitted packet left the edge long after its media time: its sample says nothing about
  // the offset, only about the repair delay.
  if (!retransmission) currentMinNs_ = std::min(currentMinNs_, sample);
  slewTo(arrivalNs);
}

void ClockOffsetEstimator::rollTo(uint64_t index) noexcept {
  if (currentMinNs_ != kNoMin) {
    history_[currentIndex_ % kMaxWindowBuckets] = Bucket{currentIndex_, currentMinNs_, true};
  }
  currentIndex_ = index;
  currentMinNs_ = kNoMin;
  olderMinNs_ = kNoMin;
  // The window is the current bucket and the windowBuckets − 1 before it.
  const uint64_t oldest =
      index >= config_.windowBuckets - 1 ? index - (config_.windowBuckets - 1) : 0;
  for (const Bucket& b : history_) {
    if (b.valid && b.index >= oldest && b.index < index)
      olderMinNs_ = std::min(olderMinNs_, b.minNs);
  }
}

void ClockOffsetEstimator::slewTo(uint64_t nowNs) noexcept {
  if (nowNs < lastSlewNs_ + kSlewQuantumNs) return;
  const int64_t target = windowMinNs();
  if (target == kNoMin) return;  // only retransmissions since the window emptied
  const uint64_t elapsed = nowNs - lastSlewNs_;
  lastSlewNs_ = nowNs;
  const bool warm = nowNs - firstNs_ < config_.warmupNs;
  const uint64_t ppm = warm ? config_.warmupSlewPpm : config_.slewPpm;
  // Elapsed time is capped at an hour so that the product stays far inside 64 bits.
  const uint64_t cappedElapsed = std::min<uint64_t>(elapsed, 3'600'000'000'000ULL);
  const int64_t maxStep = static_cast<int64_t>(cappedElapsed / 1000 * ppm / 1000);
  const int64_t diff = target - offsetNs_;
  offsetNs_ += std::clamp(diff, -maxStep, maxStep);
}

}  // namespace braid::dp
