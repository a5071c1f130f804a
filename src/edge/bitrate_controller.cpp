#include "edge/bitrate_controller.h"

#include <algorithm>
#include <cmath>

namespace braid::edge {
namespace {

constexpr double kGrowthPeriodNs = 500'000'000;
constexpr uint64_t kMinOverheadMediaBytes = 8 * 1024;  // less moved: keep the last ratio

}  // namespace

const char* bitrateReasonName(BitrateReason reason) {
  switch (reason) {
    case BitrateReason::kNone:
      return "none";
    case BitrateReason::kCongestion:
      return "overload";
    case BitrateReason::kLinks:
      return "what the links allow";
    case BitrateReason::kGrowth:
      return "room";
  }
  return "unknown";
}

BitrateController::BitrateController(const BitrateControllerConfig& config) : config_(config) {
  config_.maxBps = std::max(config_.maxBps, config_.minBps);
  uint64_t initial = config_.initialBps == 0 ? config_.maxBps : config_.initialBps;
  published_ = std::clamp(initial, config_.minBps, config_.maxBps);
  level_ = static_cast<double>(published_);
}

void BitrateController::reconfigure(uint64_t minBps, uint64_t maxBps,
                                    double safetyMargin) noexcept {
  config_.minBps = minBps;
  config_.maxBps = std::max(maxBps, minBps);
  config_.safetyMargin = safetyMargin;
  published_ = std::clamp(published_, config_.minBps, config_.maxBps);
  level_ =
      std::clamp(level_, static_cast<double>(config_.minBps), static_cast<double>(config_.maxBps));
}

double BitrateController::overhead(const BondSample& sample) noexcept {
  history_[historyCount_++ % history_.size()] =
      Totals{.nowNs = sample.nowNs, .udp = sample.udpBytesSent, .media = sample.mediaBytesSent};
  // The oldest kept sample still inside the window (or the oldest kept, early on).
  const size_t kept = std::min(historyCount_, history_.size());
  const Totals* from = nullptr;
  for (size_t age = kept; age >= 1; --age) {
    const Totals& t = history_[(historyCount_ - age) % history_.size()];
    if (sample.nowNs - t.nowNs <= config_.overheadWindowNs) {
      from = &t;
      break;
    }
  }
  if (from != nullptr && sample.mediaBytesSent >= from->media + kMinOverheadMediaBytes &&
      sample.udpBytesSent >= from->udp) {
    double ratio = static_cast<double>(sample.udpBytesSent - from->udp) /
                   static_cast<double>(sample.mediaBytesSent - from->media);
    overhead_ = std::clamp(ratio, 1.0, 2.0);
  }
  return overhead_;
}

BitrateDecision BitrateController::update(const BondSample& sample) noexcept {
  BitrateDecision d;
  d.overhead = overhead(sample);
  const uint64_t dtNs = lastNs_ == 0 || sample.nowNs < lastNs_ ? 0 : sample.nowNs - lastNs_;
  lastNs_ = sample.nowNs;

  size_t mediaLinks = 0;
  bool allShort = true;
  bool anyLong = false;
  const auto queueTarget = static_cast<double>(config_.queueTargetUs);
  for (const BondLinkSample& link : sample.links) {
    if (!link.carriesMedia) continue;
    ++mediaLinks;
    d.capacityBps += std::max(link.paceBps, link.deliveryBps);
    d.deliveryBps += link.deliveryBps;
    // Short: where the link's own controller probes up (below half its queue target). A
    // quarter of it was tried: pacing noise on a link with room (5-10 ms) kept the target on
    // slow growth, and it took 4-5.4 s to climb back after capacity returned.
    allShort = allShort && link.queueDelayUs < queueTarget / 2;
    anyLong = anyLong || link.queueDelayUs >= queueTarget / 2;
  }
  const uint64_t previous = published_;
  double drainBps = 0;
  // The backlog three updates ago (150 ms at 20 Hz), to see whether it grows.
  const uint64_t backlogBefore = backlogHistory_[backlogCount_ % backlogHistory_.size()];
  backlogHistory_[backlogCount_++ % backlogHistory_.size()] = sample.backlogBytes;
  if (mediaLinks > 0) {
    // What the links' controllers allow now, with the headroom the probe may ask for: the
    // target never asks much more than that. At the start (before any report) it is the
    // links' pre-warm rate, and a link that stops carrying media takes its share out at once.
    const double bound = d.capacityBps / d.overhead * config_.probeHeadroom;
    if (bound < level_) {
      level_ = bound;
      d.reason = BitrateReason::kLinks;
    }
  }
  if (mediaLinks > 0 && d.deliveryBps > 0) {
    // The backlog in time at the rate the bond carries media now.
    const double mediaBps = d.deliveryBps / d.overhead;
    d.backlogUs = static_cast<double>(sample.backlogBytes) * 8 * 1e6 / mediaBps;
    const auto backlogLimitUs = static_cast<double>(config_.backlogLimitUs);
    // Overloaded: media waits at the sender longer than the limit, and not less than a moment
    // ago, while a link's queue holds — the bond carries less than the encoder makes, and
    // what it delivers is what it can carry. Media waiting while every queue is short is the
    // links' controllers catching up (ramping, or draining for a round trip, which they do
    // while media waits), not the bond's limit — unless it is three times the limit. (The
    // links' own signals alone are not enough either: a link that holds its pace at what it
    // was given, or shows a queue because its base delay rose, says nothing of the bond's
    // limit; cutting on them would make the encoder chase its own rate down.)
    const bool growing =
        sample.backlogBytes >= backlogBefore && backlogCount_ > backlogHistory_.size();
    d.congested =
        growing && ((d.backlogUs > backlogLimitUs && anyLong) || d.backlogUs > 3 * backlogLimitUs);
    if (d.congested) {
      // Capacity × margin ÷ overhead. Overloaded behind a queue that holds, every link's
      // controller paces at or below what it delivers, so the capacity is what the bond
      // delivers; a link still ramping up counts with what it allows already.
      const double ceiling = d.capacityBps / d.overhead * config_.safetyMargin;
      if (ceiling < level_) {
        level_ = ceiling;
        d.reason = BitrateReason::kCongestion;
      }
      // And send less still until the backlog is gone (within drainNs, or it plays late);
      // the level comes back once it has drained.
      drainBps =
          static_cast<double>(sample.backlogBytes) * 8 * 1e9 / static_cast<double>(config_.drainNs);
      holdUntilNs_ = sample.nowNs + config_.holdNs;
      // The capacity this overload measured: the least over its ticks (the first ones may
      // still show the rate before a drop).
      ceilingBps_ = lastCongested_ ? std::min(ceilingBps_, d.capacityBps) : d.capacityBps;
      ceilingUntilNs_ = sample.nowNs + config_.ceilingHoldNs;
    } else if (sample.nowNs >= holdUntilNs_ && dtNs > 0 && d.backlogUs <= backlogLimitUs / 2) {
      // Growing is the probe. Not past what the links' controllers allow now by more than
      // probeHeadroom: a little more makes media wait at the sender, which is what lets
      // them probe up; much more would only pile it up there. Not while media waits: they
      // are still catching up with the last step.
      const double growth = allShort ? config_.fastGrowth : config_.slowGrowth;
      double bound = d.capacityBps / d.overhead * config_.probeHeadroom;
      // The capacity came back: every link has room and they allow the ceiling ÷ margin.
      if (allShort && d.capacityBps * config_.safetyMargin >= ceilingBps_) ceilingUntilNs_ = 0;
      if (sample.nowNs < ceilingUntilNs_) {
        bound = std::min(bound, ceilingBps_ * config_.safetyMargin / d.overhead);
      }
      const double grown = std::min(
          bound, level_ * std::pow(1 + growth, static_cast<double>(dtNs) / kGrowthPeriodNs));
      if (grown > level_ && level_ < static_cast<double>(config_.maxBps)) {
        level_ = grown;
        d.reason = BitrateReason::kGrowth;
      }
    }
  }
  lastCongested_ = d.congested;
  const auto minBps = static_cast<double>(config_.minBps);
  const auto maxBps = static_cast<double>(config_.maxBps);
  level_ = std::clamp(level_, minBps, maxBps);
  const auto target =
      static_cast<uint64_t>(std::llround(std::clamp(level_ - drainBps, minBps, maxBps)));
  const double band = config_.deadBand * static_cast<double>(published_);
  if (std::fabs(static_cast<double>(target) - static_cast<double>(published_)) > band ||
      ((target == config_.minBps || target == config_.maxBps) && target != published_)) {
    published_ = target;
  }
  d.targetBps = published_;
  d.changed = published_ != previous;
  if (!d.changed) d.reason = BitrateReason::kNone;
  return d;
}

}  // namespace braid::edge
