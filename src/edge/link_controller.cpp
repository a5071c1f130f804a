#include "edge/link_controller.h"

#include <algorithm>
#include <cmath>

namespace braid::edge {
namespace {

constexpr uint64_t kRttWindowNs = 10'000'000'000;
constexpr uint64_t kBurstNs = 1'000'000;  // the pacer lets this much of its rate out at once
constexpr double kPacketBytes = 1500;
constexpr uint64_t kDeliveryWindowNs = 1'000'000'000;
constexpr uint64_t kMinRateSampleNs = 100'000'000;
// A cooled-down link goes back to warm only if it answered this recently.
constexpr uint64_t kFreshAnswerNs = 500'000'000;
// Queue growth (µs of queueing delay per second) that stops the pacer from probing up.
constexpr double kRisingQueueUsPerS = 100'000;
// The standing queue is the least of the reports' queue delays over max(this, min RTT).
constexpr uint64_t kStandingQueueWindowNs = 50'000'000;
// A warming link's first pace, as a share of its packet train's rate.
constexpr double kFreshWarmShareOfTrain = 0.8;
constexpr double kReturningWarmShareOfTrain = 0.5;
// While the queue is short and media waits, the pacing rate grows this much per report.
constexpr double kProbeUpGain = 1.05;
// Startup (from warm until the queue first builds): the rate may double in a few reports, as
// in BBR's startup, so that a stream does not back up behind a link that is finding its rate.
constexpr double kStartupProbeUpGain = 1.25;
constexpr uint64_t kDrainEveryNs = 4'000'000'000;  // under the gateway's 5 s minimum bucket
constexpr uint64_t kMinDrainNs = 100'000'000;
// A round trip this close to the minimum shows the queue empty (the periodic drain's aim).
constexpr double kBaseSeenUs = 2'000;
constexpr double kDrainGain = 0.5;
// The span over which queuedArrivalNs measures how fast a link's reports move: a few report
// intervals, short enough to see a cellular link's rate fall within a round trip or two.
constexpr uint64_t kProgressSpanNs = 200'000'000;
// A link whose queue holds more than this share of the latency gets no more than its
// delivery's round trip in flight, whatever waits at the sender: what it holds must still
// land with room for a repair (the 8 -> 2 Mbit/s step stranded ~300 ms behind a doubled cap).
constexpr double kBacklogQueueShareOfLatency = 0.5;

}  // namespace

const char* linkPhaseName(LinkPhase phase) {
  switch (phase) {
    case LinkPhase::kInit:
      return "init";
    case LinkPhase::kProbe:
      return "probe";
    case LinkPhase::kWarm:
      return "warm";
    case LinkPhase::kLive:
      return "live";
    case LinkPhase::kDegrade:
      return "degrade";
    case LinkPhase::kCooldown:
      return "cooldown";
    case LinkPhase::kReset:
      return "reset";
  }
  return "unknown";
}

const char* demoteReasonName(DemoteReason reason) {
  switch (reason) {
    case DemoteReason::kNone:
      return "none";
    case DemoteReason::kStall:
      return "stalled";
    case DemoteReason::kDelay:
      return "delay";
    case DemoteReason::kLossBurst:
      return "loss burst";
    case DemoteReason::kCollapse:
      return "throughput collapse";
  }
  return "unknown";
}

void LinkController::setPhase(LinkPhase phase, uint64_t nowNs) noexcept {
  if (phase == phase_) return;
  phase_ = phase;
  phaseSinceNs_ = nowNs;
  answers_ = 0;
  deliveringReports_ = 0;
  collapseSinceNs_ = 0;
  delayHighSinceNs_ = 0;
  switch (phase) {
    case LinkPhase::kWarm:
      startup_ = true;
      lastDrainNs_ = nowNs;
      // Pre-warm: a returning link starts low (half what its train showed, or the initial
      // rate) and earns its rate through delivery; a link never demoted starts at most of
      // what its train showed (at a session's start every link is new, and starting them all
      // low left the stream waiting at the sender for its first second).
      paceBps_ = trainBps_ > 0
                     ? std::clamp(trainBps_ * warmShareOfTrain(), config_.minBps, config_.maxBps)
                     : config_.initialBps;
      pacerBps_ = paceBps_;
      tokens_ = 0;
      lastRefillNs_ = nowNs;
      firstUnreportedSendNs_ = 0;
      break;
    case LinkPhase::kLive:
      penaltyDecayFromNs_ = nowNs;
      break;
    case LinkPhase::kCooldown:
      cooldownUntilNs_ = nowNs + penaltyNs_;
      break;
    default:
      break;
  }
}

void LinkController::clearMeasurements() noexcept {
  LinkController fresh(config_);
  fresh.latencyNs_ = latencyNs_;
  fresh.phase_ = phase_;
  fresh.phaseSinceNs_ = phaseSinceNs_;
  fresh.demoteReason_ = demoteReason_;
  fresh.demotions_ = demotions_;
  fresh.penaltyNs_ = penaltyNs_;
  fresh.drainSlot_ = drainSlot_;
  *this = fresh;
}

void LinkController::reset(uint64_t nowNs) noexcept {
  clearMeasurements();
  setPhase(LinkPhase::kInit, nowNs);
  lastRefillNs_ = nowNs;
}

void LinkController::startProbing(uint64_t nowNs) noexcept {
  setPhase(LinkPhase::kProbe, nowNs);
}

void LinkController::restartProbing(uint64_t nowNs) noexcept {
  clearMeasurements();
  setPhase(LinkPhase::kProbe, nowNs);
  lastRefillNs_ = nowNs;
}

void LinkController::demote(DemoteReason reason, uint64_t nowNs) noexcept {
  if (!carriesMedia(phase_) || soleCarrier_) return;
  stallUndo_ = reason == DemoteReason::kStall && config_.stallUndoWithinNs > 0
                   ? StallUndo{.atNs = nowNs,
                               .phase = phase_,
                               .highestSeq = highestSeq_,
                               .penaltyNs = penaltyNs_,
                               .penaltyDecayFromNs = penaltyDecayFromNs_}
                   : StallUndo{};
  demoteReason_ = reason;
  ++demotions_;
  // The penalty doubles with every demotion and decays while the link stays live: a
  // marginal link sits out longer each time instead of oscillating in and out.
  penaltyNs_ =
      penaltyNs_ == 0 ? config_.firstPenaltyNs : std::min(2 * penaltyNs_, config_.maxPenaltyNs);
  setPhase(LinkPhase::kDegrade, nowNs);
}

bool LinkController::queuePastLatencyShare() const noexcept {
  return queueDelayUs_ * 1000 > kBacklogQueueShareOfLatency * static_cast<double>(latencyNs_);
}

bool LinkController::backlogPushGivesWay() const noexcept {
  // The backlog pacer and the doubled in-flight cap move media from the sender's queue into
  // the link's so that the link can show more capacity. Past a share of the latency in the
  // link's queue that media risks its deadline; and while the sender sheds, the bond is
  // already short of the stream: what a link's queue holds can neither be shed nor moved,
  // and the 2 x 643 kbit/s overload held 300-900 ms in each link, resent what its queues
  // made late, and went stale after 20-40 s (bench/RESULTS.md, 2026-11-29).
  return queuePastLatencyShare() || shedding_;
}

bool LinkController::showsNoStandingQueue() const noexcept {
  return standingQueueUs_ * 1000 < static_cast<double>(config_.queueDelayTargetNs) / 4;
}

double LinkController::forwardDelayUs() const noexcept {
  double base = minRttUs_ / 2;
  return std::max(base + queueDelayUs_, srttUs_ - base);
}

bool LinkController::delayRecovered() const noexcept {
  double limitUs = config_.delayRecoverShare * static_cast<double>(latencyNs_) / 1000;
  double spikeUs = minRttUs_ / 2 + smoothedQueueUs_;
  return forwardDelayUs() < limitUs && spikeUs < limitUs;
}

bool LinkController::recovered() const noexcept {
  return delayRecovered() && lossRate_ < config_.recoverLossShare;
}

bool LinkController::relapsed() const noexcept {
  // Loss has its own hysteresis: back to degrade only at a burst's share, so that one lost
  // probe of a steadily lossy link does not restart its penalty.
  return !delayRecovered() || lossRate_ >= config_.burstLossShare;
}

bool LinkController::inLossBurst(uint64_t nowNs) const noexcept {
  uint64_t received = 0, lost = 0;
  uint32_t n = std::min<uint32_t>(lossSampleCount_, lossSamples_.size());
  for (uint32_t back = 1; back <= n; ++back) {
    const LossSample& s = lossSamples_[(lossSampleCount_ - back) % lossSamples_.size()];
    if (nowNs - s.atNs >= config_.burstWindowNs) break;
    received += s.received;
    lost += s.lost;
  }
  return lost >= config_.burstLostPackets &&
         static_cast<double>(lost) >= config_.burstLossShare * static_cast<double>(received + lost);
}

double LinkController::jitterP95Us() const noexcept {
  uint32_t n = std::min<uint32_t>(queueSampleCount_, queueSamples_.size());
  if (n == 0) return 0;
  std::array<uint32_t, 64> sorted = queueSamples_;
  auto rank = static_cast<ptrdiff_t>((n * 95 + 99) / 100 - 1);
  std::nth_element(sorted.begin(), sorted.begin() + rank, sorted.begin() + n);
  return sorted[static_cast<size_t>(rank)];
}

double LinkController::inflightBytes() const noexcept {
  if (!sentAny_ || !haveReport_ || lastSentSeq_ <= highestSeq_) return 0;
  return static_cast<double>(lastSentSeq_ - highestSeq_) * avgPacketBytes_;
}

uint64_t LinkController::queuedArrivalNs(uint64_t linkSeq, uint64_t nowNs) const noexcept {
  if (!haveReport_ || linkSeq <= highestSeq_) return 0;
  // The newest sample at least kProgressSpanNs old (else the oldest held): the rate is taken up
  // to now, not to the latest report, so a link that stopped delivering slows towards zero.
  const uint32_t held = std::min<uint32_t>(progressCount_, progress_.size());
  const ProgressSample* from = nullptr;
  for (uint32_t i = 0; i < held; ++i) {
    const ProgressSample& sample = progress_[(progressCount_ - 1 - i) % progress_.size()];
    from = &sample;
    if (nowNs - sample.atNs >= kProgressSpanNs) break;
  }
  if (from == nullptr || nowNs <= from->atNs || highestSeq_ <= from->highestSeq) return UINT64_MAX;
  const double packetsPerNs =
      static_cast<double>(highestSeq_ - from->highestSeq) / static_cast<double>(nowNs - from->atNs);
  const double aheadNs = static_cast<double>(linkSeq - highestSeq_) / packetsPerNs;
  return nowNs + static_cast<uint64_t>(aheadNs + minRttUs_ * 1000 / 2);
}

void LinkController::onSent(uint64_t nowNs, uint64_t bytes, uint64_t linkSeq) noexcept {
  lastSentSeq_ = linkSeq;
  sentAny_ = true;
  avgPacketBytes_ = 0.95 * avgPacketBytes_ + 0.05 * static_cast<double>(bytes);
  refill(nowNs);
  tokens_ -= static_cast<double>(bytes);
  intervalSentBytes_ += static_cast<double>(bytes);
  sendNsBySeq_[linkSeq % sendNsBySeq_.size()] = nowNs;
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
  if (rtt <= minRttUs_ + kBaseSeenUs) baseSeenNs_ = nowNs;
}

void LinkController::onReport(uint64_t nowNs, const proto::LinkReport& report) noexcept {
  // Packets counted in the report's interval are delivery (the highest sequence alone would
  // miss it after a rekey, which restarts link sequences).
  bool delivered = report.packetsReceived > 0;
  uint64_t intervalNs = haveReport_ ? nowNs - lastReportNs_ : 0;
  haveReport_ = true;
  lastReportNs_ = nowNs;
  if (report.highestLinkSeq > highestSeq_ || report.highestLinkSeq + (1u << 16) < highestSeq_) {
    if (report.highestLinkSeq < highestSeq_) progressCount_ = 0;
    highestSeq_ = report.highestLinkSeq;  // (a far lower one: link sequences restarted)
  }
  progress_[progressCount_++ % progress_.size()] = {.atNs = nowNs, .highestSeq = highestSeq_};
  if (report.probeTrainId != 0 && report.probeTrainId == trainId_ && trainBps_ == 0) {
    trainBps_ = static_cast<double>(report.probeRateKbps) * 1000;
  }
  if (delivered) {
    lastAnswerNs_ = nowNs;
    // What is still unreported was sent from the packet after the highest one delivered on
    // (if it was sent at all): silence is timed from then, not from this report.
    firstUnreportedSendNs_ =
        lastSentSeq_ > highestSeq_ ? sendNsBySeq_[(highestSeq_ + 1) % sendNsBySeq_.size()] : 0;
    ++deliveringReports_;
    if (phase_ == LinkPhase::kProbe || phase_ == LinkPhase::kDegrade) ++answers_;
    // The gateway's queueing delay is fresh only when the report covers new packets.
    auto queue = static_cast<double>(report.queueDelayUs);
    recentQueue_[recentQueueCount_++ % recentQueue_.size()] = QueueSample{
        .atNs = nowNs,
        .queueUs = static_cast<uint32_t>(std::min<uint64_t>(report.queueDelayUs, UINT32_MAX))};
    // A burst (a block's repairs, a keyframe's copies) queues for a few milliseconds and is
    // gone by the next report or the one after; a queue the link cannot drain stays in every
    // report of a round trip. Steering by the last packet's delay held the 200 ms bond's
    // pace at its delivery whenever a report caught a burst (docs/transport.md, Pacing).
    const uint64_t windowNs =
        std::max<uint64_t>(kStandingQueueWindowNs, static_cast<uint64_t>(minRttUs_ * 1000));
    double standing = queue;
    const uint32_t held = std::min<uint32_t>(recentQueueCount_, recentQueue_.size());
    for (uint32_t i = 0; i < held; ++i) {
      const QueueSample& q = recentQueue_[i];
      if (nowNs - q.atNs <= windowNs) standing = std::min(standing, static_cast<double>(q.queueUs));
    }
    if (intervalNs >= 10'000'000 && queueSampleCount_ > 0) {
      double slope = (standing - standingQueueUs_) * 1e9 / static_cast<double>(intervalNs);
      queueTrendUsPerS_ = 0.8 * queueTrendUsPerS_ + 0.2 * slope;
    }
    standingQueueUs_ = standing;
    queueDelayUs_ = queue;
    auto intervalMaxUs = static_cast<double>(std::max(report.queueDelayMaxUs, report.queueDelayUs));
    smoothedQueueUs_ =
        queueSampleCount_ == 0 ? intervalMaxUs : 0.75 * smoothedQueueUs_ + 0.25 * intervalMaxUs;
    queueSamples_[queueSampleCount_++ % queueSamples_.size()] =
        static_cast<uint32_t>(std::min<uint64_t>(report.queueDelayMaxUs, UINT32_MAX));
  }
  if (delivered && stallUndo_.atNs != 0) undoStallIfGap(nowNs, report);
  uint64_t packets = report.packetsReceived + report.packetsLost;
  if (packets > 0) {
    double loss = static_cast<double>(report.packetsLost) / static_cast<double>(packets);
    lossRate_ = 0.9 * lossRate_ + 0.1 * loss;
    lossSamples_[lossSampleCount_++ % lossSamples_.size()] = LossSample{
        .atNs = nowNs,
        .received = static_cast<uint32_t>(std::min<uint64_t>(report.packetsReceived, UINT32_MAX)),
        .lost = static_cast<uint32_t>(std::min<uint64_t>(report.packetsLost, UINT32_MAX))};
    if (inLossBurst(nowNs)) demote(DemoteReason::kLossBurst, nowNs);
  }
  if (intervalNs >= 10'000'000) {
    double sample =
        static_cast<double>(report.bytesReceived) * 8e9 / static_cast<double>(intervalNs);
    // A link showing no standing queue delivered all it was given: a sample above the smoothed
    // rate is capacity it has, taken at a higher weight (the LTE traces: a link whose capacity
    // came back after a crunch took ~1 s to reach it at 1/4 per report, the stream waiting).
    const bool queueShort = showsNoStandingQueue();
    auto smooth = [&](double smoothed, double latest) {
      if (smoothed == 0) return latest;
      double gain = latest > smoothed && queueShort ? config_.riseGainWithoutQueue : 0.25;
      return smoothed + gain * (latest - smoothed);
    };
    const bool falling = deliveryBps_ > 0 && sample < 0.5 * deliveryBps_ &&
                         queueDelayUs_ * 1000 > static_cast<double>(config_.queueDelayTargetNs);
    fallStreak_ = falling ? fallStreak_ + 1 : 0;
    lastDeliverySampleBps_ = sample;
    deliveryBps_ = smooth(deliveryBps_, sample);
    double served = (static_cast<double>(report.bytesReceived) +
                     static_cast<double>(report.packetsLost) * avgPacketBytes_) *
                    8e9 / static_cast<double>(intervalNs);
    lastServedSampleBps_ = served;
    servedBps_ = smooth(servedBps_, served);
    double sent = intervalSentBytes_ * 8e9 / static_cast<double>(intervalNs);
    sendBps_ = 0.75 * sendBps_ + 0.25 * sent;
    intervalSentBytes_ = 0;
    // Windowed maximum of the delivery rate (two 1 s buckets): the link's capacity as far as
    // we have seen it lately, which app-limited intervals do not pull down.
    if (nowNs - deliveryWindowStartNs_ > kDeliveryWindowNs) {
      prevWindowMaxBps_ = windowMaxBps_;
      windowMaxBps_ = 0;
      deliveryWindowStartNs_ = nowNs;
    }
    // Peak samples are taken over at least a round trip (100 ms or more): a cellular link
    // delivers in scheduler grants, and a 20 ms interval that caught two of them shows a rate
    // the link does not have.
    rateSampleBytes_ += static_cast<double>(report.bytesReceived);
    if (rateSampleSinceNs_ == 0) rateSampleSinceNs_ = nowNs - intervalNs;
    auto sampleSpanNs =
        std::max<uint64_t>(kMinRateSampleNs, static_cast<uint64_t>(minRttUs_ * 1000));
    if (nowNs - rateSampleSinceNs_ >= sampleSpanNs) {
      double peak = rateSampleBytes_ * 8e9 / static_cast<double>(nowNs - rateSampleSinceNs_);
      windowMaxBps_ = std::max(windowMaxBps_, peak);
      rateSampleBytes_ = 0;
      rateSampleSinceNs_ = nowNs;
    }
    maxDeliveryBps_ = std::max(windowMaxBps_, prevWindowMaxBps_);
    if (carriesMedia(phase_)) updatePacing(nowNs);
  }
  if (carriesMedia(phase_)) {
    // Throughput collapse: delivering a small share of its recent peak while we keep sending
    // it at least twice what it delivers. (A link merely given little is not collapsing, nor
    // one whose growing delay holds more of what it was given in flight.)
    bool starved = maxDeliveryBps_ > config_.minBps &&
                   deliveryBps_ < config_.collapseShare * maxDeliveryBps_ &&
                   sendBps_ > std::max(2 * deliveryBps_, config_.minBps);
    if (!starved) {
      collapseSinceNs_ = 0;
    } else if (collapseSinceNs_ == 0) {
      collapseSinceNs_ = nowNs;
    } else if (nowNs - collapseSinceNs_ >= config_.collapseNs) {
      demote(DemoteReason::kCollapse, nowNs);
    }
  }
  if (!delivered) checkStalled(nowNs);
}

void LinkController::undoStallIfGap(uint64_t nowNs, const proto::LinkReport& report) noexcept {
  const StallUndo undo = stallUndo_;
  const bool stillDemoted = phase_ == LinkPhase::kDegrade || phase_ == LinkPhase::kCooldown;
  if (!stillDemoted || nowNs - undo.atNs > config_.stallUndoWithinNs) {
    stallUndo_ = {};
    return;
  }
  if (report.packetsLost > 0 || highestSeq_ <= undo.highestSeq || !delayRecovered()) return;
  stallUndo_ = {};
  ++stallsUndone_;
  setPhase(undo.phase, nowNs);
  // As if the demotion had not happened: its penalty and the decay it interrupted.
  penaltyNs_ = undo.penaltyNs;
  penaltyDecayFromNs_ = undo.penaltyDecayFromNs;
}

void LinkController::updatePacing(uint64_t nowNs) noexcept {
  // A delay-based rate controller on the queue the gateway measures one way on this link (so
  // the return path of the ACK that carried it does not blur it), around the delivered rate:
  // - queue above target: pace below what the link delivers, so the queue drains;
  // - queue between half the target and the target: pace at the delivered rate, hold;
  // - queue short: a little above the recent peak delivery, and, while media waits at the
  //   sender, 5 % more per report from the current rate (the link delivered all it was given
  //   and may have more), never past twice the recent peak (an unanswered probe runs away).
  // The in-flight cap (waitNs) bounds what a wrong estimate can cost when the link stalls.
  // Holding steers by the standing queue (a burst caught by one report is not one); draining
  // by the latest (a cellular link whose rate falls fills its queue within a round trip, and
  // waiting a round trip to see it standing let it grow past the latency on the LTE traces).
  double queueNs = queueSampleCount_ > 0 ? standingQueueUs_ * 1000 : (srttUs_ - minRttUs_) * 1000;
  double latestQueueNs = queueSampleCount_ > 0 ? queueDelayUs_ * 1000 : queueNs;
  auto target = static_cast<double>(config_.queueDelayTargetNs);
  double delivered = std::max(deliveryBps_, config_.minBps);
  double paced;
  // Every few seconds a saturated link drains for a round trip (BBR's ProbeRTT): a queue that
  // never empties would otherwise be learnt as base delay, by the gateway's minimum transit
  // and our minimum RTT alike, and grow unseen.
  if (queueNs > target / 2) startup_ = false;
  // A link whose round trip sits near its minimum has no standing queue to hide: it drains
  // once per RTT window, and only if no round trip of the last few seconds came near the
  // minimum (a queue that never empties would otherwise be learnt as base delay). Draining
  // a link that keeps touching its base bought nothing and cost the bond: at 200 ms the
  // three links' drains, every 10 s one after another, were where media went stale.
  // A round trip above its minimum is a standing queue only if the gateway sees one too: the
  // smoothed RTT lags a queue that has just cleared by a second, and a slow return path is not
  // a forward queue. Draining on it starved links whose queue was already empty (the LTE
  // traces near 18 s: the Verizon link, its trace back at 11 Mbit/s, paced at half its
  // delivery while media went stale at the sender; docs/transport.md, Pacing).
  // (queueNs is the gateway's standing queue once it reports one, else the RTT excess itself.)
  const bool queueStanding =
      ((srttUs_ - minRttUs_) * 1000 > target / 2 && queueNs > target / 2) ||
      (nowNs - lastDrainNs_ > kRttWindowNs && nowNs - baseSeenNs_ > kDrainEveryNs);
  if (backlogged_ && !startup_ && queueStanding && nowNs - lastDrainNs_ > kDrainEveryNs &&
      (drainSlot_ == nullptr || nowNs >= drainSlot_->busyUntilNs)) {
    lastDrainNs_ = nowNs;
    // At kDrainGain of the delivery a queue empties in twice its delay.
    drainUntilNs_ = nowNs + std::max({kMinDrainNs, static_cast<uint64_t>(srttUs_ * 1000),
                                      static_cast<uint64_t>(2 * standingQueueUs_ * 1000)});
    if (drainSlot_ != nullptr) drainSlot_->busyUntilNs = drainUntilNs_;
  }
  if (nowNs < drainUntilNs_) {
    paced = delivered * kDrainGain;
  } else if (latestQueueNs > target) {
    paced = delivered * config_.drainFactor;
  } else if (queueNs > target / 2 || queueTrendUsPerS_ > kRisingQueueUsPerS) {
    paced = std::min(paceBps_, delivered);
  } else {
    paced = std::max(maxDeliveryBps_ * config_.pacingGain, config_.initialBps);
    if (phase_ == LinkPhase::kWarm) paced = std::max(paced, paceBps_);  // warm only ramps up
    if (backlogged_ && startup_) {
      paced = std::max(paced, paceBps_ * kStartupProbeUpGain);
    } else if (backlogged_) {
      paced = std::max(paced, std::min(paceBps_ * kProbeUpGain,
                                       2 * std::max(maxDeliveryBps_, config_.initialBps)));
    }
  }
  // Never far above the smoothed delivery (twice it in startup): a cellular link's short peaks
  // are not a rate it holds, and pacing at them sends bursts its queue has to absorb.
  paced = std::min(paced,
                   (startup_ ? config_.startupMaxPaceOverDelivery : config_.maxPaceOverDelivery) *
                       std::max(deliveryBps_, unmeasuredRateBps()));
  paceBps_ = std::clamp(paced, config_.minBps, config_.maxBps);
  // Media waits at the sender: the link is given all it takes, and what it delivered shows
  // what it was let carry, not what it could. The pacer then lets out more than the rate
  // above, and the in-flight cap, which follows the deliveries, bounds the link's queue
  // (about a round trip of it at most; moving media from the sender's queue into a link's
  // costs it nothing the scheduler does not see). A pacer held near the delivery kept the bond's
  // links below the stream while their queues were short (a link's delivery could grow only as fast
  // as its pace, and its pace only 1.5× its delivery), and the sender dropped what went stale.
  pacerBps_ = paceBps_;
  if (backlogged_ && config_.backloggedPaceOverDelivery > 0 && nowNs >= drainUntilNs_ &&
      !backlogPushGivesWay()) {
    const double overDelivery = showsNoStandingQueue() ? config_.backloggedPaceWithoutQueue
                                                       : config_.backloggedPaceOverDelivery;
    pacerBps_ =
        std::clamp(std::max(paceBps_, overDelivery * std::max(deliveryBps_, unmeasuredRateBps())),
                   config_.minBps, config_.maxBps);
  }
}

void LinkController::believeFall(uint64_t nowNs) noexcept {
  deliveryBps_ = std::min(deliveryBps_, std::max(lastDeliverySampleBps_, config_.minBps));
  servedBps_ = std::min(servedBps_, std::max(lastServedSampleBps_, config_.minBps));
  fallStreak_ = 0;
  if (carriesMedia(phase_)) updatePacing(nowNs);
}

void LinkController::onProbeAnswer(uint64_t nowNs) noexcept {
  lastAnswerNs_ = nowNs;
  ++answers_;
}

void LinkController::onFeedbackWithoutReport(uint64_t nowNs) noexcept {
  checkStalled(nowNs);
}

void LinkController::checkStalled(uint64_t nowNs) noexcept {
  if (!carriesMedia(phase_) || firstUnreportedSendNs_ == 0) return;
  // Sent on it, and no report has shown it delivered: past two round trips that is not
  // delay, it is a stalled or dead link.
  uint64_t silenceNs = std::max<uint64_t>(config_.minSilenceNs,
                                          static_cast<uint64_t>((2 * srttUs_ + 50'000) * 1000));
  if (nowNs - firstUnreportedSendNs_ > silenceNs) {
    demote(DemoteReason::kStall, nowNs);
  }
}

bool LinkController::wantsTrain() const noexcept {
  // (Not the link the handshake proved, warm at once: a train is eight packets back to back,
  // and on a session's one link a burst that the media behind it waits out.)
  return phase_ == LinkPhase::kProbe && answers_ >= 1 && trainId_ == 0;
}

double LinkController::unmeasuredRateBps() const noexcept {
  // While warm, the train's measurement stands in for a delivery not yet seen: judged by the
  // initial rate, a session's new links looked too slow for the stream's first packets, and
  // the sender dropped them as stale while the links sat idle.
  return phase_ == LinkPhase::kWarm && trainBps_ > 0
             ? std::max(config_.initialBps, trainBps_ * warmShareOfTrain())
             : config_.initialBps;
}

double LinkController::warmShareOfTrain() const noexcept {
  return demotions_ == 0 ? kFreshWarmShareOfTrain : kReturningWarmShareOfTrain;
}

void LinkController::onTrainSent(uint64_t nowNs, uint64_t trainId) noexcept {
  trainId_ = trainId;
  trainSentNs_ = nowNs;
  trainBps_ = 0;
}

void LinkController::tick(uint64_t nowNs) noexcept {
  if (!backlogged_) {
    backloggedSinceNs_ = 0;
  } else if (backloggedSinceNs_ == 0) {
    backloggedSinceNs_ = nowNs;
  }
  double limitUs = config_.delayDemoteShare * static_cast<double>(latencyNs_) / 1000;
  double base = minRttUs_ / 2;
  switch (phase_) {
    case LinkPhase::kInit:
    case LinkPhase::kReset:
      return;
    case LinkPhase::kProbe: {
      bool trainDone =
          trainBps_ > 0 || (trainSentNs_ != 0 && nowNs - trainSentNs_ > config_.trainWaitNs);
      if (answers_ >= config_.answersToWarm && trainDone) {
        setPhase(LinkPhase::kWarm, nowNs);
        return;
      }
      break;
    }
    case LinkPhase::kWarm:
    case LinkPhase::kLive:
      // The forward delay (the largest queueing delay the gateway saw, smoothed over ~4
      // reports, or SRTT) past what the latency target can absorb, for a second: what the
      // link carries would soon play late.
      if (base + smoothedQueueUs_ > limitUs || srttUs_ - base > limitUs) {
        if (delayHighSinceNs_ == 0) delayHighSinceNs_ = nowNs;
        if (nowNs - delayHighSinceNs_ >= config_.delayDemoteAfterNs) {
          demote(DemoteReason::kDelay, nowNs);
          return;
        }
      } else {
        delayHighSinceNs_ = 0;
      }
      if (phase_ == LinkPhase::kWarm && nowNs - phaseSinceNs_ >= config_.warmNs &&
          deliveringReports_ >= config_.reportsToLive) {
        setPhase(LinkPhase::kLive, nowNs);
      } else if (phase_ == LinkPhase::kLive && penaltyNs_ > 0 &&
                 nowNs - penaltyDecayFromNs_ >= config_.penaltyDecayNs) {
        penaltyNs_ = penaltyNs_ / 2 < config_.firstPenaltyNs ? 0 : penaltyNs_ / 2;
        penaltyDecayFromNs_ = nowNs;
      }
      return;
    case LinkPhase::kDegrade:
      if (answers_ >= config_.answersToWarm && recovered()) {
        setPhase(LinkPhase::kCooldown, nowNs);
        return;
      }
      break;
    case LinkPhase::kCooldown:
      if (relapsed()) {
        setPhase(LinkPhase::kDegrade, nowNs);  // relapsed while sitting out
        return;
      }
      if (recovered() && nowNs - lastAnswerNs_ < kFreshAnswerNs) {
        // A link stalled once (a trace gap, a handover) and delivering again is back as soon
        // as the bond misses it; a repeat offender (a doubled penalty) sits out its first
        // penalty at least, and one demoted for delay or loss has shown more than a gap.
        const bool briefStall =
            demoteReason_ == DemoteReason::kStall && penaltyNs_ <= config_.firstPenaltyNs;
        bool bondShort = backloggedSinceNs_ != 0 &&
                         nowNs - backloggedSinceNs_ >= config_.shortBondReturnNs &&
                         (briefStall || nowNs - phaseSinceNs_ >= config_.firstPenaltyNs);
        if (nowNs >= cooldownUntilNs_ || bondShort) {
          setPhase(LinkPhase::kWarm, nowNs);
          return;
        }
      }
      break;
  }
  // Probing, degraded or cooling down, and not a word from the link for long: whatever
  // state the path is in (a rebound NAT that lost our mapping, a JOIN that never arrived),
  // start it over.
  uint64_t quietSince = std::max(lastAnswerNs_, phaseSinceNs_);
  if (nowNs - quietSince > config_.resetAfterNs) setPhase(LinkPhase::kReset, nowNs);
}

void LinkController::refill(uint64_t nowNs) noexcept {
  if (lastRefillNs_ == 0) lastRefillNs_ = nowNs;
  double rate = pacerBps_ > 0 ? pacerBps_ : config_.initialBps;
  double burst =
      std::max(config_.burstPackets * kPacketBytes, rate / 8 * static_cast<double>(kBurstNs) / 1e9);
  tokens_ = std::min(burst, tokens_ + rate / 8 * static_cast<double>(nowNs - lastRefillNs_) / 1e9);
  lastRefillNs_ = nowNs;
}

uint64_t LinkController::waitNs(uint64_t nowNs, uint64_t bytes) noexcept {
  refill(nowNs);
  auto need = static_cast<double>(bytes);
  double rate = pacerBps_ > 0 ? pacerBps_ : config_.initialBps;
  // Never more in flight than the path holds plus the allowed standing queue: a link that
  // stalls (a trace gap, a dying modem) stops taking packets instead of hiding them in its
  // queue for seconds.
  if (carriesMedia(phase_) && minRttUs_ > 0) {
    // The smoothed rate, not the peak: on a bursty link the peak would let a stall strand
    // far more than the link then delivers in time.
    // (Following 0.8 × the pace as well was tried for the 200 ms scenario: it let the pacer's
    // 1.5 × overshoot through as bursts on a constant link, failing the link test's burst bound.)
    // Served (delivered + lost), not delivered: a lost packet left the in-flight count too,
    // and on a link losing 10 % the delivered rate held the cap to what the link was given,
    // so a lossy link never grew into its capacity while the sender backlogged.
    double deliveryRate = std::max(servedBps_, unmeasuredRateBps());
    // Allowed: the path (min RTT), a report interval of packets not yet reported, and the
    // queue the pacer aims at (the cap bounds what a stall or a wrong rate can strand).
    double capBytes = std::max(
        8 * 1500.0, (backlogPushGivesWay() ? 1.0 : config_.inflightCapGain) * deliveryRate / 8 *
                        (minRttUs_ / 1e6 + static_cast<double>(kReportAllowanceNs) / 1e9 +
                         static_cast<double>(config_.queueDelayTargetNs) / 1e9));
    // Capped: the time until enough of what is in flight has drained.
    double excess = inflightBytes() + need - capBytes;
    if (excess > 0) return static_cast<uint64_t>(excess * 8 / deliveryRate * 1e9) + 1;
  }
  if (tokens_ >= need) return 0;
  return static_cast<uint64_t>((need - tokens_) * 8 / rate * 1e9);
}

uint64_t LinkController::expectedDeliveryNs(uint64_t nowNs, uint64_t bytes) noexcept {
  return deliveryEstimateNs(nowNs, bytes).expectedNs;
}

LinkController::DeliveryEstimate LinkController::deliveryEstimateNs(uint64_t nowNs,
                                                                    uint64_t bytes) noexcept {
  double baseOneWayNs = (minRttUs_ > 0 ? minRttUs_ : (srttUs_ > 0 ? srttUs_ : 100'000)) * 1000 / 2;
  // A link we barely use has delivered little: floor its rate at the pre-warm rate so that
  // it is not judged unable to carry one packet.
  // Delivered, not served: a lossy link's losses cost the bond repairs, and judged by what
  // it served the 200 ms bond's bursty link took the largest share and the repair rate rose.
  // The recent peak, not the smoothed delivery: a link's queue drains at what the link can
  // carry, and the smoothed delivery of a bonded link is its share of the stream, which took
  // the 200 ms bond's links for slower than they were and its packets for stale.
  const double deliveredBps = std::max(deliveryBps_, unmeasuredRateBps());
  const double peakBps = std::max(maxDeliveryBps_, deliveredBps);
  // What is in flight is mostly on the path, not queued ahead of this packet: a path's worth
  // of it has left the bottleneck or is on its way back as a report. Only the rest waits in
  // the queue. (Counting all of it had each link's expected delivery a whole RTT late, so at
  // 200 ms latency no second link ever looked early enough to take a packet. Leaving out also
  // what was sent since the newest report, which the gateway could not have counted yet, was
  // tried: on the LTE traces links then took packets they delivered late, 0.37–0.76 % missing
  // over 120 s against 0.10 %.)
  //
  // The path holds what the link carried over a min RTT and a report interval at the rate it
  // delivered, not at its recent peak: a link whose trace had just fallen from its peak (the
  // LTE traces near 18 s: T-Mobile, 9.4 Mbit/s at 17.2 s, 1.4-2.4 after 17.8) took its whole
  // in-flight for path and was given packets that met 430-555 ms of queue while another
  // link's queue was empty (bench/RESULTS.md, 2026-11-29).
  double pathBytes =
      deliveredBps / 8 * (minRttUs_ / 1e6 + static_cast<double>(kReportAllowanceNs) / 1e9);
  double drainBits = (std::max(0.0, inflightBytes() - pathBytes) + static_cast<double>(bytes)) * 8;
  auto landsNs = [&](double drainBps) {
    double drainNs = drainBps > 0 ? drainBits / drainBps * 1e9 : 0;
    return static_cast<uint64_t>(baseOneWayNs + drainNs);
  };
  const uint64_t startNs = nowNs + waitNs(nowNs, bytes);
  return {startNs + landsNs(peakBps), startNs + landsNs(deliveredBps)};
}

}  // namespace braid::edge
