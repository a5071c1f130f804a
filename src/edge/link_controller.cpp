#include "edge/link_controller.h"

#include <algorithm>
#include <cmath>

namespace braid::edge {
namespace {

constexpr uint64_t kRttWindowNs = 10'000'000'000;
constexpr uint64_t kBurstNs = 5'000'000;  // the pacer lets this much of its rate out at once
constexpr double kMinBurstBytes = 2 * 1500;
constexpr uint64_t kDeliveryWindowNs = 1'000'000'000;

}  // namespace

const char* linkPhaseName(LinkPhase phase) {
  switch (phase) {
    case LinkPhase::kProbe:
      return "probe";
    case LinkPhase::kLive:
      return "live";
    case LinkPhase::kDown:
      return "down";
  }
  return "unknown";
}

void LinkController::setPhase(LinkPhase phase, uint64_t nowNs) noexcept {
  if (phase == phase_) return;
  phase_ = phase;
  goodReports_ = 0;
  if (phase == LinkPhase::kLive) {
    // Pre-warm: a returning or new link starts low and earns its rate.
    paceBps_ = std::max(config_.initialBps, std::min(deliveryBps_, config_.initialBps * 2));
    tokens_ = 0;
    lastRefillNs_ = nowNs;
    firstUnreportedSendNs_ = 0;
  }
}

void LinkController::reset(uint64_t nowNs) noexcept {
  *this = LinkController(config_);
  lastRefillNs_ = nowNs;
}

double LinkController::inflightBytes() const noexcept {
  if (!sentAny_ || !haveReport_ || lastSentSeq_ <= highestSeq_) return 0;
  return static_cast<double>(lastSentSeq_ - highestSeq_) * avgPacketBytes_;
}

void LinkController::onSent(uint64_t nowNs, uint64_t bytes, uint64_t linkSeq) noexcept {
  lastSentSeq_ = linkSeq;
  sentAny_ = true;
  avgPacketBytes_ = 0.95 * avgPacketBytes_ + 0.05 * static_cast<double>(bytes);
  refill(nowNs);
  tokens_ -= static_cast<double>(bytes);
  if (firstUnreportedSendNs_ == 0) firstUnreportedSendNs_ = nowNs;
}

void LinkController::onRttSample(uint64_t nowNs, uint64_t rttUs) noexcept {
  auto rtt = static_cast<double>(rttUs);
  if (srttUs_ == 0) {
    srttUs_ = rtt;
    rttvarUs_ = rtt / 2;
  } else {
    rttvarUs_ = 0.75 * rttvarUs_ + 0.25 * std::fabs(srttUs_ - rtt);
    srttUs_ = 0.875 * srttUs_ + 0.125 * rtt;
  }
  // Windowed minimum: a path whose base delay rose (handover, reroute) is relearned within
  // two windows instead of being judged forever against a delay it no longer has.
  if (windowStartNs_ == 0 || nowNs - windowStartNs_ > kRttWindowNs) {
    prevWindowMinUs_ = windowMinUs_;
    windowMinUs_ = rtt;
    windowStartNs_ = nowNs;
  } else {
    windowMinUs_ = std::min(windowMinUs_, rtt);
  }
  minRttUs_ = prevWindowMinUs_ > 0 ? std::min(prevWindowMinUs_, windowMinUs_) : windowMinUs_;
}

void LinkController::onReport(uint64_t nowNs, uint64_t highestLinkSeq, uint64_t packetsReceived,
                              uint64_t packetsLost, uint64_t bytesReceived) noexcept {
  // Packets counted in the report's interval are delivery (the highest sequence alone would
  // miss it after a rekey, which restarts link sequences).
  bool advanced = packetsReceived > 0;
  uint64_t intervalNs = haveReport_ ? nowNs - lastReportNs_ : 0;
  haveReport_ = true;
  lastReportNs_ = nowNs;
  if (highestLinkSeq > highestSeq_ || highestLinkSeq + (1u << 16) < highestSeq_) {
    highestSeq_ = highestLinkSeq;  // (a far lower one: link sequences restarted at a rekey)
  }
  if (advanced && packetsReceived > 0) {
    lastDeliveryNs_ = nowNs;
    firstUnreportedSendNs_ = 0;
  }
  if (packetsReceived + packetsLost > 0) {
    double loss =
        static_cast<double>(packetsLost) / static_cast<double>(packetsReceived + packetsLost);
    lossRate_ = 0.9 * lossRate_ + 0.1 * loss;
  }
  if (intervalNs >= 10'000'000) {
    double sample = static_cast<double>(bytesReceived) * 8e9 / static_cast<double>(intervalNs);
    deliveryBps_ = deliveryBps_ == 0 ? sample : 0.75 * deliveryBps_ + 0.25 * sample;
    // Windowed maximum of the delivery rate (two 1 s buckets): the link's capacity as far as
    // we have seen it lately, which app-limited intervals do not pull down.
    if (nowNs - deliveryWindowStartNs_ > kDeliveryWindowNs) {
      prevWindowMaxBps_ = windowMaxBps_;
      windowMaxBps_ = 0;
      deliveryWindowStartNs_ = nowNs;
    }
    windowMaxBps_ = std::max(windowMaxBps_, sample);
    maxDeliveryBps_ = std::max(windowMaxBps_, prevWindowMaxBps_);
    if (phase_ == LinkPhase::kLive) {
      // Pace a little above what the link has shown it delivers, so that a link we fill
      // keeps finding its capacity (each saturated report raises it by the gain); when the
      // queueing delay says it is overdriven, a little below, so the queue drains. The
      // in-flight cap bounds what a wrong estimate can cost.
      double smoothedQueueNs = (srttUs_ - minRttUs_) * 1000;
      auto target = static_cast<double>(config_.queueDelayTargetNs);
      double gain = smoothedQueueNs > target ? config_.drainFactor : config_.pacingGain;
      double paced = std::max(maxDeliveryBps_ * gain, config_.initialBps);
      // While media waits at the sender, a link whose queue is short has not shown its
      // capacity yet (it delivered what it was given): probe up from the current rate.
      if (backlogged_ && smoothedQueueNs < target) paced = std::max(paced, paceBps_ * 1.1);
      paceBps_ = std::clamp(paced, config_.minBps, config_.maxBps);
    }
  }
  if (!advanced) checkStalled(nowNs);
  if (advanced && packetsReceived > 0) {
    if (phase_ != LinkPhase::kLive && ++goodReports_ >= config_.reportsToGoLive) {
      setPhase(LinkPhase::kLive, nowNs);
    }
  }
}

void LinkController::onProbeAnswer(uint64_t nowNs) noexcept {
  if (phase_ == LinkPhase::kLive) return;
  if (++goodReports_ >= config_.reportsToGoLive) setPhase(LinkPhase::kLive, nowNs);
}

void LinkController::onFeedbackWithoutReport(uint64_t nowNs) noexcept {
  checkStalled(nowNs);
}

void LinkController::checkStalled(uint64_t nowNs) noexcept {
  if (phase_ != LinkPhase::kLive || firstUnreportedSendNs_ == 0) return;
  // Sent on it, and no report has shown anything delivered since: past a few round trips
  // that is not delay, it is a dead link.
  uint64_t silenceNs = std::max<uint64_t>(config_.minSilenceNs,
                                          static_cast<uint64_t>((2 * srttUs_ + 100'000) * 1000));
  if (nowNs - firstUnreportedSendNs_ > silenceNs && nowNs - lastDeliveryNs_ > silenceNs) {
    setPhase(LinkPhase::kDown, nowNs);
  }
}

void LinkController::refill(uint64_t nowNs) noexcept {
  if (lastRefillNs_ == 0) lastRefillNs_ = nowNs;
  double rate = paceBps_ > 0 ? paceBps_ : config_.initialBps;
  double burst = std::max(kMinBurstBytes, rate / 8 * static_cast<double>(kBurstNs) / 1e9);
  tokens_ = std::min(burst, tokens_ + rate / 8 * static_cast<double>(nowNs - lastRefillNs_) / 1e9);
  lastRefillNs_ = nowNs;
}

uint64_t LinkController::waitNs(uint64_t nowNs, uint64_t bytes) noexcept {
  refill(nowNs);
  auto need = static_cast<double>(bytes);
  double rate = paceBps_ > 0 ? paceBps_ : config_.initialBps;
  // Never more in flight than the path holds plus the allowed standing queue: a link that
  // stalls (a trace gap, a dying modem) stops taking packets instead of hiding them in its
  // queue for seconds.
  if (phase_ == LinkPhase::kLive && minRttUs_ > 0) {
    // The smoothed rate, not the peak: on a bursty link the peak would let a stall strand
    // far more than the link then delivers in time.
    double deliveryRate = std::max(deliveryBps_, config_.initialBps);
    double capBytes = std::max(
        8 * 1500.0, deliveryRate / 8 *
                        (minRttUs_ / 1e6 + static_cast<double>(config_.queueDelayTargetNs) / 1e9));
    // Capped: the time until enough of what is in flight has drained.
    double excess = inflightBytes() + need - capBytes;
    if (excess > 0) return static_cast<uint64_t>(excess * 8 / deliveryRate * 1e9) + 1;
  }
  if (tokens_ >= need) return 0;
  return static_cast<uint64_t>((need - tokens_) * 8 / rate * 1e9);
}

uint64_t LinkController::expectedDeliveryNs(uint64_t nowNs, uint64_t bytes) noexcept {
  double baseOneWayNs = (minRttUs_ > 0 ? minRttUs_ : (srttUs_ > 0 ? srttUs_ : 100'000)) * 1000 / 2;
  // A link we barely use has delivered little: floor its rate at the pre-warm rate so that
  // it is not judged unable to carry one packet.
  double rate = std::max(deliveryBps_, config_.initialBps);
  double drainNs = rate > 0 ? (inflightBytes() + static_cast<double>(bytes)) * 8 / rate * 1e9 : 0;
  return nowNs + waitNs(nowNs, bytes) + static_cast<uint64_t>(baseOneWayNs + drainNs);
}

}  // namespace braid::edge
