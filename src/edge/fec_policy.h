#pragma once

// How many repair symbols an FEC block gets. The gateway's receive reports give the loss the
// bond's packets meet (every link's reports together: a block is spread over the links, so the
// bond's loss is what a block sees) and how bursty it is. A block of k sources gets the fewest
// repairs m for which losing more than m of its k + m packets is rarer than the residual target,
// losses taken as bursts of the measured mean length; then clamped between the floor and the
// ceiling ratio. With no loss for a few seconds the window empties and m falls to the floor.
// Until the reports have counted a few hundred packets, the uncounted rest is taken as lossy
// (a prior): the first blocks of a session are protected as if the links were.

#include <array>
#include <cstdint>

namespace braid::edge {

// P[X > limit] for X ~ Binomial(n, p).
double binomialTailAbove(uint32_t n, double p, uint32_t limit) noexcept;

struct FecPolicyConfig {
  double floorRatio = 0.05;      // repairs per source on clean links (at least one per block)
  double ceilingRatio = 0.5;     // never more than this many repairs per source
  double residualTarget = 1e-3;  // aimed-for probability that a block cannot be decoded
  // Before the reports have counted priorPackets, the packets not yet counted are taken as
  // lost at this rate: a session's first blocks go out before any report, and the floor
  // left them open to the loss every later block was sized for.
  double priorLoss = 0.05;
  uint64_t priorPackets = 200;
  // When a resend can still land before the playout deadline, a block FEC cannot rebuild is
  // resent, and that copy is lost again only at the loss rate: FEC then aims at the residual
  // divided by the loss rate, at most this (ARQ carries the rest for a fraction of the room).
  double residualWithResendMax = 0.05;
};

// Sender thread only.
class FecRatePolicy {
 public:
  explicit FecRatePolicy(const FecPolicyConfig& config = {}) : config_(config) {}

  // One link's receive report: packets received and lost in its interval.
  void onReport(uint64_t nowNs, uint64_t received, uint64_t lost) noexcept;

  // Repair symbols for a block of k sources closed at nowNs: 1..16, for the configured
  // residual, the prior standing in for reports not yet counted. `copied` of the k sources
  // also went out on a second link: such a source is lost only if both copies are, so it
  // takes the square of the loss rate (and no share of a burst: the copies crossed two links).
  uint32_t repairsFor(uint32_t k, uint64_t nowNs, uint32_t copied = 0) const noexcept {
    return repairsFor(k, copied, nowNs, config_.residualTarget, plannedLossRate(nowNs));
  }
  // The same when a resend of what the block loses can still arrive in time: the target is
  // residualTarget ÷ the planned loss rate, between residualTarget and residualWithResendMax.
  uint32_t repairsWithResendFor(uint32_t k, uint64_t nowNs, uint32_t copied = 0) const noexcept;
  // What a sender short of room can still afford: a looser residual, on the measured loss
  // alone (the prior is a guess, and the room it would take is the media's).
  uint32_t affordableRepairsFor(uint32_t k, uint64_t nowNs, double residualTarget,
                                uint32_t copied = 0) const noexcept {
    return repairsFor(k, copied, nowNs, residualTarget, lossRate(nowNs));
  }

  // The measured loss rate (fraction; 0 before any report) and the mean burst length
  // (packets, ≥ 1); and the loss the full repair rate is planned for (with the prior).
  double lossRate(uint64_t nowNs) const noexcept;
  double plannedLossRate(uint64_t nowNs) const noexcept;
  double burstLength(uint64_t nowNs) const noexcept;

  const FecPolicyConfig& config() const noexcept { return config_; }

 private:
  // One second of reports: the estimate looks at the last kBuckets seconds.
  struct Bucket {
    uint64_t second = UINT64_MAX;
    uint64_t packets = 0;  // received + lost
    uint64_t lost = 0;
    uint64_t lostSquares = 0;  // Σ lost² over the reports: ΣL²/ΣL is the mean burst seen
  };
  static constexpr uint64_t kBuckets = 5;
  static constexpr uint64_t kRecentBuckets = 2;

  uint32_t repairsFor(uint32_t k, uint32_t copied, uint64_t nowNs, double residualTarget,
                      double loss) const noexcept;

  template <typename F>
  void forBuckets(uint64_t nowNs, uint64_t count, F&& f) const noexcept;

  FecPolicyConfig config_;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace braid::edge
