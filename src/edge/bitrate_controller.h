#pragma once

// The encoder's target bit rate, owned by one controller fed from the bond (design: "one
// controller owns the target bitrate, fed by the scheduler's capacity estimate, with a
// bounded recovery time after a dip"). Pure: it sees samples, never clocks or threads, so it
// is tested in virtual time.
//
// Capacity is the sum, over the links that carry media (warm or live), of what each link's
// congestion controller allows: max(pacing rate, delivery rate). A link with room shows only
// what it is given plus its controller's headroom — a link does not show a rate it is not
// offered — so the bond's capacity is measured when it is overloaded, and the target is:
//   - overloaded — media has waited at the sender longer than backlogLimitUs, no less than
//     150 ms before, behind a link whose queue holds (half the links' queue target or more;
//     or three times the limit whatever the queues say): capacity × margin ÷ overhead at
//     once, and lower still, by what drains the backlog within drainNs, until it has; no
//     growth for holdNs after. Media waiting behind short queues is the links' controllers
//     ramping up (they probe faster while media waits), and a standing queue without media
//     waiting is no overload (a link that held its pace at what it was given, or a base
//     delay that rose with a slower link, would make the encoder chase its own rate down);
//   - never more than probeHeadroom × what the links allow ÷ overhead: at the start (the
//     links' pre-warm rate), and when a link stops carrying media its share goes at once;
//   - room — otherwise the target grows toward maxBps, by fastGrowth per 500 ms while every
//     media link's queue is short (below half the queue target, where each link's
//     controller probes up: room, e.g. after capacity came back) and by slowGrowth
//     otherwise. Growing is the probe: the next overload measures the capacity again. Not
//     while media waits over half the limit. For ceilingHoldNs after an overload, not past
//     the capacity that overload measured × margin ÷ overhead: the bond was just shown to
//     carry no more, and probing straight back into it spent the margin that keyframes
//     need — unless every link's queue is short and they allow that capacity ÷ margin (it
//     came back).
// Overhead = UDP payload bytes ÷ media bytes over the last overheadWindowNs (FEC repair,
// retransmissions, headers, probes), within [1, 2]. The published target moves only by more
// than deadBand of itself (or to a limit), so the encoder is not reconfigured for noise.

#include <array>
#include <cstdint>
#include <span>

namespace braid::edge {

struct BitrateControllerConfig {
  uint64_t minBps = 300'000;
  uint64_t maxBps = 8'000'000;
  uint64_t initialBps = 0;  // target before the bond says anything (0: maxBps)
  double safetyMargin = 0.8;
  double fastGrowth = 0.4;     // per 500 ms, every media link's queue short
  double slowGrowth = 0.05;    // per 500 ms otherwise
  double probeHeadroom = 1.5;  // growth stops at this × what the links allow (÷ overhead)
  uint64_t holdNs = 500'000'000;
  double deadBand = 0.03;
  uint64_t queueTargetUs = 25'000;    // the links' congestion-control queue target
  uint64_t backlogLimitUs = 100'000;  // media waiting this long at the sender: overloaded
  uint64_t drainNs = 500'000'000;     // a backlog is drained within this (target lowered)
  uint64_t overheadWindowNs = 1'000'000'000;
  // After an overload the target grows no further than the capacity it measured there ×
  // safetyMargin for this long, unless every link's queue is short and the links allow that
  // capacity ÷ safetyMargin.
  uint64_t ceilingHoldNs = 4'000'000'000;
};

// One link as the controller sees it (from EdgeLinkCounters).
struct BondLinkSample {
  bool carriesMedia = false;  // warm or live
  double paceBps = 0;         // UDP payload bit/s its pacer allows
  double deliveryBps = 0;     // UDP payload bit/s the gateway reports receiving
  double queueDelayUs = 0;    // one-way queueing delay the gateway saw
};

struct BondSample {
  uint64_t nowNs = 0;
  std::span<const BondLinkSample> links;
  uint64_t udpBytesSent = 0;    // totals since start (EdgeCounters::udpBytesSent)
  uint64_t mediaBytesSent = 0;  // (EdgeCounters::mediaBytesSent)
  uint64_t backlogBytes = 0;    // media waiting at the sender now
};

enum class BitrateReason : uint8_t {
  kNone,        // unchanged (or within the dead band)
  kCongestion,  // overloaded: the bond carries less than the encoder makes
  kLinks,       // above what the links allow (with the probe's headroom): a link left, or start
  kGrowth,      // the bond has room: probing up
};
const char* bitrateReasonName(BitrateReason reason);

struct BitrateDecision {
  uint64_t targetBps = 0;  // the published target (TS bit/s)
  bool changed = false;    // targetBps differs from the last decision's
  BitrateReason reason = BitrateReason::kNone;
  double capacityBps = 0;  // Σ max(pace, delivery) over media links (UDP payload bit/s)
  double deliveryBps = 0;  // Σ delivery over media links
  double overhead = 1;     // UDP payload ÷ media bytes over the window
  double backlogUs = 0;    // the sender's backlog in time at the bond's media rate
  bool congested = false;  // overloaded (see above)
};

// Not thread-safe: one owner thread (the edge's control thread) calls update() every 50-100
// ms and passes the result on; readers of the target use their own copy (an atomic gauge).
class BitrateController {
 public:
  explicit BitrateController(const BitrateControllerConfig& config);

  // Takes one sample of the bond and returns the target. Allocation-free.
  BitrateDecision update(const BondSample& sample) noexcept;

  // New limits and margin (a config reload); the target is kept, clamped into the limits.
  void reconfigure(uint64_t minBps, uint64_t maxBps, double safetyMargin) noexcept;

  uint64_t targetBps() const noexcept { return published_; }
  const BitrateControllerConfig& config() const noexcept { return config_; }

 private:
  struct Totals {
    uint64_t nowNs = 0;
    uint64_t udp = 0;
    uint64_t media = 0;
  };
  // Overhead over the window ending at `now` (the last value when too little media moved).
  double overhead(const BondSample& sample) noexcept;

  BitrateControllerConfig config_;
  double level_ = 0;  // the target before the backlog's drain, continuous
  uint64_t published_ = 0;
  uint64_t lastNs_ = 0;
  uint64_t holdUntilNs_ = 0;
  // The bond's capacity (UDP payload bit/s) as the last overload measured it, the least over
  // its ticks, and until when growth stops at it × safetyMargin.
  double ceilingBps_ = 0;
  uint64_t ceilingUntilNs_ = 0;
  bool lastCongested_ = false;
  double overhead_ = 1;
  // Totals once per update, the last 64 (3.2 s at 20 Hz): enough for a 1 s window.
  std::array<Totals, 64> history_{};
  size_t historyCount_ = 0;
  // The sender's backlog of the last few updates (does it grow?).
  std::array<uint64_t, 3> backlogHistory_{};
  size_t backlogCount_ = 0;
};

}  // namespace braid::edge
