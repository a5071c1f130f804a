#include "edge/fec_policy.h"

#include <algorithm>
#include <cmath>

namespace braid::edge {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint32_t kMaxRepairs = 16;
constexpr double kMaxBurst = 8;

}  // namespace

double binomialTailAbove(uint32_t n, double p, uint32_t limit) noexcept {
  if (limit >= n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // Sum the head P[X ≤ limit] term by term (n ≤ 80 here).
  double term = std::pow(1 - p, n);
  double head = term;
  for (uint32_t x = 1; x <= limit; ++x) {
    term *= static_cast<double>(n - x + 1) / x * p / (1 - p);
    head += term;
  }
  return std::max(0.0, 1 - head);
}

void FecRatePolicy::onReport(uint64_t nowNs, uint64_t received, uint64_t lost) noexcept {
  const uint64_t second = nowNs / kNsPerSecond;
  Bucket& bucket = buckets_[second % kBuckets];
  if (bucket.second != second) bucket = Bucket{.second = second};
  bucket.packets += received + lost;
  bucket.lost += lost;
  bucket.lostSquares += lost * lost;
}

template <typename F>
void FecRatePolicy::forBuckets(uint64_t nowNs, uint64_t count, F&& f) const noexcept {
  const uint64_t second = nowNs / kNsPerSecond;
  for (const Bucket& bucket : buckets_) {
    if (bucket.second <= second && second - bucket.second < count) f(bucket);
  }
}

double FecRatePolicy::lossRate(uint64_t nowNs) const noexcept {
  // The worse of the last two seconds and the last five: quick to rise when loss starts, and
  // a burst a few seconds ago still counts, but five clean seconds bring it to zero.
  auto rate = [&](uint64_t count) {
    uint64_t packets = 0, lost = 0;
    forBuckets(nowNs, count, [&](const Bucket& b) {
      packets += b.packets;
      lost += b.lost;
    });
    return packets == 0 ? 0.0 : static_cast<double>(lost) / static_cast<double>(packets);
  };
  return std::max(rate(kRecentBuckets), rate(kBuckets));
}

double FecRatePolicy::plannedLossRate(uint64_t nowNs) const noexcept {
  uint64_t counted = 0, countedLost = 0;
  forBuckets(nowNs, kBuckets, [&](const Bucket& b) {
    counted += b.packets;
    countedLost += b.lost;
  });
  if (counted >= config_.priorPackets) return lossRate(nowNs);
  // Too few counted to know: the rest count as lost at the prior rate.
  return (static_cast<double>(countedLost) +
          config_.priorLoss * static_cast<double>(config_.priorPackets - counted)) /
         static_cast<double>(config_.priorPackets);
}

double FecRatePolicy::burstLength(uint64_t nowNs) const noexcept {
  uint64_t lost = 0, squares = 0;
  forBuckets(nowNs, kBuckets, [&](const Bucket& b) {
    lost += b.lost;
    squares += b.lostSquares;
  });
  if (lost == 0) return 1;
  // A report interval holds a handful of packets per link, so a burst shows as several losses
  // in one report; independent losses mostly as one. ΣL²/ΣL is the loss-weighted mean of L.
  return std::clamp(static_cast<double>(squares) / static_cast<double>(lost), 1.0, kMaxBurst);
}

uint32_t FecRatePolicy::repairsWithResendFor(uint32_t k, uint64_t nowNs,
                                             uint32_t copied) const noexcept {
  const double loss = plannedLossRate(nowNs);
  const double target = config_.residualTarget;
  const double residual =
      loss > 0 ? std::clamp(target / loss, target, std::max(target, config_.residualWithResendMax))
               : target;
  return repairsFor(k, copied, nowNs, residual, loss);
}

uint32_t FecRatePolicy::repairsFor(uint32_t k, uint32_t copied, uint64_t nowNs,
                                   double residualTarget, double loss) const noexcept {
  if (k == 0) return 1;
  copied = std::min(copied, k);
  const auto floor = static_cast<uint32_t>(
      std::clamp(std::lround(config_.floorRatio * k), 1L, static_cast<long>(kMaxRepairs)));
  const auto ceiling =
      static_cast<uint32_t>(std::clamp(std::lround(std::ceil(config_.ceilingRatio * k)),
                                       static_cast<long>(floor), static_cast<long>(kMaxRepairs)));
  if (loss <= 0) return floor;
  // Losses come in bursts of `burst` packets: loss events are rarer by that factor and each
  // costs `burst` repairs. A copied source is lost alone, at the square of the rate.
  const double burst = burstLength(nowNs);
  const double eventRate = std::min(1.0, loss / burst);
  const double copyLoss = std::min(0.999, loss * loss);
  for (uint32_t m = floor; m <= ceiling; ++m) {
    const auto events =
        static_cast<uint32_t>(std::ceil(static_cast<double>(k - copied + m) / burst));
    // P[fail] = Σ_y P[y copied sources lost] · P[more events than the repairs left cover].
    double fail = 0;
    double copiesLostAtMost = 0;
    double term = std::pow(1 - copyLoss, copied);  // P[y = 0]
    for (uint32_t y = 0; y <= std::min(m, copied); ++y) {
      if (y > 0) term *= static_cast<double>(copied - y + 1) / y * copyLoss / (1 - copyLoss);
      copiesLostAtMost += term;
      auto eventsCovered = static_cast<uint32_t>(static_cast<double>(m - y) / burst);
      fail += term * binomialTailAbove(events, eventRate, eventsCovered);
    }
    fail += std::max(0.0, 1 - copiesLostAtMost);  // more copies lost than there are repairs
    if (fail <= residualTarget) return m;
  }
  return ceiling;
}

}  // namespace braid::edge
