#pragma once

// What the edge knows about one link, from in-band feedback only, and how fast it may send on
// it: RTT (RFC 6298 SRTT/RTTVAR and a 10 s windowed minimum), the forward queueing delay, its
// trend and percentiles, delivery rate, loss and loss bursts from the gateway's per-link receive
// reports, a packet-train capacity estimate, a pacing rate set by a delay-gradient and
// delivery-rate controller, and the link's lifecycle phase. A measurement without recent
// delivery is not evidence: a link whose reports stop advancing while it carries traffic is
// demoted however good its last RTT looked. See docs/transport.md.

#include <array>
#include <cstdint>

#include "dataplane/proto/wire/control_messages.h"

namespace braid::edge {

// init → probe → warm → live → degrade → cooldown → (warm …); reset from anywhere back to probe.
enum class LinkPhase : uint8_t {
  kInit,      // no session yet: nothing sent but handshakes
  kProbe,     // joined, proving itself with keepalives and one packet train: no media
  kWarm,      // proven: carries media from a low pre-warm rate up, not yet trusted
  kLive,      // carries media
  kDegrade,   // demoted (stall, delay spike, loss burst, throughput collapse): no media
  kCooldown,  // recovered, sitting out its penalty: no media, probed
  kReset,     // silent too long: measurements dropped, the session re-joins it
};
const char* linkPhaseName(LinkPhase phase);
inline bool carriesMedia(LinkPhase phase) {
  return phase == LinkPhase::kWarm || phase == LinkPhase::kLive;
}

// Why a link was last demoted.
enum class DemoteReason : uint8_t { kNone, kStall, kDelay, kLossBurst, kCollapse };
const char* demoteReasonName(DemoteReason reason);

struct LinkControllerConfig {
  double initialBps = 1'000'000;  // pacing rate of a warming link without a train estimate
  double minBps = 200'000;
  double maxBps = 500'000'000;
  uint64_t queueDelayTargetNs = 25'000'000;  // standing queue the controller allows
  double pacingGain = 1.15;                  // pacing rate over the delivered rate
  double drainFactor = 0.9;                  // rate = delivery × this when the queue grows
  // While media waits and the queue is short, the pace probes up to this multiple of the
  // smoothed delivery. 1.5 when one queue feeds the bond: a link's delivery then shows its
  // share of the stream, not what it could carry. 1.25 (BBR's probing gain) when the link is
  // saturated on its own (the link test), where delivery is the link's capacity and 1.5×
  // it reached the bottleneck as 10 ms bursts well over its rate.
  double maxPaceOverDelivery = 1.5;
  // The same bound in startup (from warm until the queue first builds), where the rate may
  // double in a few reports so that a stream does not back up behind a link finding its rate.
  // maxPaceOverDelivery where each link is saturated on its own (the link test): there a
  // startup that lasted, the queue kept short by the in-flight cap, let each report's worth
  // out at twice the rate, 10 ms bursts of 6–7 packets on a 3 Mbit/s link.
  double startupMaxPaceOverDelivery = 2.0;
  // While media waits at the sender, the pacer lets out at least this multiple of the
  // smoothed delivery (0: off), and the in-flight cap is what holds the link's queue. Off where
  // each link sends as its own pacer allows (the link test): every link is backlogged there.
  double backloggedPaceOverDelivery = 2.0;
  // The same while the link shows no standing queue (under a quarter of the target): it
  // delivered all it was given, so its delivery is what it was let carry. 3 in a bond: after
  // the LTE traces' crunch a link whose capacity came back grew at 2x its delivery per round
  // trip while the stream backed up at the sender, and the backlog's packets, sent with the
  // little budget left, played late when another link faltered. The in-flight cap still
  // bounds what a wrong guess can queue.
  double backloggedPaceWithoutQueue = 3.0;
  // The in-flight cap over rate × (path + a report interval + the queue target), as BBR's
  // cwnd gain. In a bond a link's rate shows its share of the stream: a cap of exactly that
  // share's round trip could not let the share grow, and shrank it whenever a round trip ran
  // long. 1 where each link is saturated on its own (the link test), its rate its capacity.
  double inflightCapGain = 2.0;
  // The pacer's bucket in packets. Two when one queue feeds the bond: with one, a link whose
  // turn came while the scheduler waited on another lost the time it sat ready (its bucket
  // was full), and at 200 ms the bond fell behind its input. One when each link sends as its
  // own pacer allows (the link test), where no turn is lost.
  double burstPackets = 2;
  // The weight a report's delivery sample above the smoothed rate gets while the link shows
  // no standing queue (under a quarter of the target); 1/4 otherwise. 1/2 in a bond: a link
  // whose capacity returns after a crunch grows into it in half the reports, while the stream
  // waits at the sender. 1/4 where each link is saturated on its own (the link test), whose
  // delivery is its capacity already and whose burst bound a faster rise would risk.
  double riseGainWithoutQueue = 0.5;
  uint32_t answersToWarm = 2;           // in-band answers before a probing link warms
  uint64_t trainWaitNs = 500'000'000;   // how long a probing link waits for its train
  uint64_t warmNs = 1'000'000'000;      // warm this long (and delivering) before live
  uint32_t reportsToLive = 3;           // delivering reports while warm
  uint64_t minSilenceNs = 100'000'000;  // no delivery this long (and 2 SRTT + 50 ms)
  // Demotion on delay: the forward delay above this share of the latency target (what it
  // carries could no longer play in time); back only below the lower share (hysteresis).
  double delayDemoteShare = 0.8;
  double delayRecoverShare = 0.6;
  // … for this long: a cellular queue spike that passes within it is the scheduler's to route
  // around (it sees the queue in the expected delivery), a rise that lasts is the link's.
  uint64_t delayDemoteAfterNs = 1'000'000'000;
  // A loss burst: at least this many lost, and this share of the packets lost, over the
  // reports of the last burstWindowNs. A fade lasts that long; the clusters of a bursty but
  // steady link (Gilbert–Elliott bad states of a packet or two, which FEC is there to repair)
  // do not, and demoting for them took a working link from a short bond (docs/transport.md).
  uint32_t burstLostPackets = 4;
  double burstLossShare = 0.5;
  uint64_t burstWindowNs = 200'000'000;
  // A demoted link recovers only with its loss (smoothed over ~10 reports) below this: a
  // steadily lossy link that FEC covers may return, one in a fade may not.
  double recoverLossShare = 0.25;
  double collapseShare = 0.2;                // delivery below this share of the recent peak …
  uint64_t collapseNs = 300'000'000;         // … for this long, while given enough to do better
  uint64_t firstPenaltyNs = 1'000'000'000;   // cooldown after a first demotion; doubles per
  uint64_t maxPenaltyNs = 30'000'000'000;    // demotion up to this, and halves for every
  uint64_t penaltyDecayNs = 10'000'000'000;  // this long live without one
  uint64_t resetAfterNs = 5'000'000'000;     // no answer at all this long: reset
  // Media has waited at the sender this long: the bond is short of capacity, and a link
  // cooling down returns as soon as it has recovered (after firstPenaltyNs at least). The
  // growing penalty keeps a marginal link out while the others carry the stream; when they
  // cannot, a link that works again is worth more than the hysteresis.
  uint64_t shortBondReturnNs = 300'000'000;
  // A stall undone (TCP's F-RTO, RFC 5682, for a spurious timeout): when within this long of
  // the demotion a report shows the link delivering past where it stopped, without loss and
  // with a delay the latency target absorbs, the silence was a gap (the T-Mobile trace's
  // 160 ms at 79.2 s, the ATT trace's dips to 0.7 Mbit/s), not a death: the link is back in
  // the phase it left at once, with the penalty it had before. A repeat offender's gap too:
  // the ATT link's fourth stall, at 13.9 s, was one, and its second of cooldown and second
  // warm at a low rate, while the bond needed all three links, cost 1 100–1 900 TS packets
  // (bench/RESULTS.md). 0: off. A dead link delivers nothing, or shows the loss.
  uint64_t stallUndoWithinNs = 500'000'000;
  // A capacity fall is believed when this many reports in a row show the link delivering
  // under half its smoothed rate with its queue above the target, on every link that carries
  // media at once (the session checks the bond, EdgeSession::followBondFall): the link's rates
  // then take the latest report's instead of a quarter of the way per report. A step of the
  // whole bond (8 -> 2 Mbit/s) otherwise had each link paced and capped at the old rate for
  // 3-5 more reports, and what it took then played late. Two, not one: a single report under
  // half the rate with a queue is a cellular link between grants (the LTE traces), which the
  // next report makes up for. 0: off.
  uint32_t fallReports = 2;

  // Each link saturated on its own (the link test, Scheduling::kPerLink): the values the
  // fields above give for it.
  static LinkControllerConfig linkTest() {
    LinkControllerConfig config;
    config.maxPaceOverDelivery = 1.25;
    config.startupMaxPaceOverDelivery = 1.25;
    config.backloggedPaceOverDelivery = 0;  // every link is always backlogged there
    config.backloggedPaceWithoutQueue = 0;
    config.inflightCapGain = 1;
    config.burstPackets = 1;
    config.riseGainWithoutQueue = 0.25;
    return config;
  }
};

class LinkController {
 public:
  // In-flight bytes not yet covered by a report: up to one feedback interval (50 ms by
  // default). Both the in-flight cap and the path of expected delivery allow for them.
  static constexpr uint64_t kReportAllowanceNs = 50'000'000;

  explicit LinkController(const LinkControllerConfig& config = {}) : config_(config) {}

  // The session's latency target, which sets the delay demotion thresholds.
  void setLatencyTarget(uint64_t latencyNs) noexcept { latencyNs_ = latencyNs; }
  // The session is up and the link joined it: start proving it.
  void startProbing(uint64_t nowNs) noexcept;
  // The handshake just succeeded over this link: it is proven, start it warm.
  void markProven(uint64_t nowNs) noexcept { setPhase(LinkPhase::kWarm, nowNs); }
  // The link's socket failed or the session restarted: back to init, measurements dropped.
  void reset(uint64_t nowNs) noexcept;
  // After kReset the session re-joined the link: probe again (the penalty is kept).
  void restartProbing(uint64_t nowNs) noexcept;

  // A datagram of `bytes` sent on the link at `nowNs` with per-link sequence `linkSeq`
  // (media, retransmissions, control). Sender thread.
  void onSent(uint64_t nowNs, uint64_t bytes, uint64_t linkSeq) noexcept;
  // A round-trip sample (echoed send timestamp to now, minus the gateway's hold time).
  void onRttSample(uint64_t nowNs, uint64_t rttUs) noexcept;
  // One receive report of this link (from an ACK that may have come on any link).
  void onReport(uint64_t nowNs, const proto::LinkReport& report) noexcept;
  // The gateway answered a keepalive sent on this link: in-band proof that the link works.
  void onProbeAnswer(uint64_t nowNs) noexcept;
  // Feedback (an ACK) arrived without a report for this link. Stall detection happens only
  // here and in onReport: a link is judged by feedback that arrives and does not show its
  // delivery, never by missing feedback (which may be the return path's fault, and would
  // condemn every link at once).
  void onFeedbackWithoutReport(uint64_t nowNs) noexcept;
  // Time-driven transitions (cooldown over, warm long enough, silent too long). Every pass.
  void tick(uint64_t nowNs) noexcept;
  // Whether media is waiting at the sender (so a link that delivered all it was given may
  // have more capacity than it showed). Sender thread, every loop pass.
  void setBacklogged(bool backlogged) noexcept { backlogged_ = backlogged; }
  // Whether the sender has shed media lately: the bond is short of the stream by evidence,
  // and what a link's queue holds can no longer be shed. Sender thread, every loop pass.
  void setShedding(bool shedding) noexcept { shedding_ = shedding; }
  // The bond's links drain one at a time: drains in step (links go warm together) halved the
  // whole bond for a round trip every few seconds, which a 200 ms target cannot absorb.
  // Null: this link alone. Kept across reset().
  struct DrainSlot {
    uint64_t busyUntilNs = 0;
  };
  void setDrainSlot(DrainSlot* slot) noexcept { drainSlot_ = slot; }
  // Whether this is the only link carrying media: it is then never demoted (a bad link is
  // better than none; the others' return takes the load off it).
  void setSoleCarrier(bool sole) noexcept { soleCarrier_ = sole; }

  // Whether the last fallReports reports each showed the link delivering under half its
  // smoothed rate with its queue above the target (see LinkControllerConfig::fallReports).
  bool showsFall() const noexcept {
    return config_.fallReports > 0 && fallStreak_ >= config_.fallReports;
  }
  // Every link of the bond shows a fall: take the latest report's delivery as the link's rate
  // now and pace and cap by it.
  void believeFall(uint64_t nowNs) noexcept;
  // Whether the session should send a packet train now, and that it did (train `id`).
  bool wantsTrain() const noexcept;
  void onTrainSent(uint64_t nowNs, uint64_t trainId) noexcept;

  // How long until `bytes` may be sent under the pacing rate and in-flight cap (0: now).
  uint64_t waitNs(uint64_t nowNs, uint64_t bytes) noexcept;
  // When `bytes` sent as soon as the pacer allows would arrive (sender clock): the wait, the
  // link's base one-way delay (min RTT / 2), and the time to drain what is already in flight
  // on it at its delivery rate (ECF/BLEST: a packet queued behind others arrives after them).
  uint64_t expectedDeliveryNs(uint64_t nowNs, uint64_t bytes) noexcept;
  // The expected delivery, and (cautiousNs) the same with the queue draining at the link's
  // smoothed delivery instead of its recent peak: when it would land if the link went on as it
  // has lately, not as it can at best. One pass for both (the scheduler ranks on both).
  struct DeliveryEstimate {
    uint64_t expectedNs;
    uint64_t cautiousNs;
  };
  DeliveryEstimate deliveryEstimateNs(uint64_t nowNs, uint64_t bytes) noexcept;
  // Bytes sent and not yet reported received (from per-link sequences, so a lost ACK does
  // not inflate it).
  double inflightBytes() const noexcept;
  // The per-link sequence of the latest datagram sent on the link.
  uint64_t lastSentSeq() const noexcept { return lastSentSeq_; }
  // When the datagram sent with per-link sequence `linkSeq` would reach the gateway if it is
  // still queued on the link, at the rate the link's reports have moved past its sequences
  // over the last ~200 ms: 0 when the link has delivered past it (it was lost, not queued),
  // UINT64_MAX when the link has not been moving. A cellular link whose rate falls holds
  // what it took for far longer than its last measured delay.
  uint64_t queuedArrivalNs(uint64_t linkSeq, uint64_t nowNs) const noexcept;

  LinkPhase phase() const { return phase_; }
  DemoteReason lastDemoteReason() const { return demoteReason_; }
  uint32_t demotions() const { return demotions_; }
  // Stalls found to be gaps and undone (stallUndoWithinNs).
  uint32_t stallsUndone() const { return stallsUndone_; }
  uint64_t penaltyNs() const { return penaltyNs_; }
  // The congestion controller's rate (the pacer lets out more while media waits at the sender).
  double paceBps() const { return paceBps_; }
  // What the pacer lets out now: the pace, or more while media waits at the sender.
  double pacerBps() const { return pacerBps_; }
  double srttUs() const { return srttUs_; }
  double rttvarUs() const { return rttvarUs_; }
  double minRttUs() const { return minRttUs_; }
  double deliveryBps() const { return deliveryBps_; }
  // What left the link's queue per second: delivered plus lost (a packet lost on the radio
  // took its turn at the bottleneck too). What is in flight drains at this rate.
  double servedBps() const { return servedBps_; }
  double lossRate() const { return lossRate_; }
  double trainBps() const { return trainBps_; }
  // The forward (edge → gateway) one-way delay estimate: base (min RTT / 2) plus the queue
  // the gateway saw on the link, or SRTT less the return half, whichever is larger.
  double forwardDelayUs() const noexcept;
  // The gateway's latest queueing delay on the link, its trend (µs per second, smoothed) and
  // the 95th percentile of the last 64 reports' queueing delays.
  double queueDelayUs() const { return queueDelayUs_; }
  // The queue that did not drain over the last round trip (what the pacing controller
  // steers): the minimum of the reports' queue delays over max(min RTT, 50 ms).
  double standingQueueUs() const { return standingQueueUs_; }
  double queueTrendUsPerS() const { return queueTrendUsPerS_; }
  double jitterP95Us() const noexcept;

 private:
  // The share of its train's rate a warming link starts at (more for a never-demoted one).
  double warmShareOfTrain() const noexcept;
  // The rate a link is taken to have where its delivery does not show one yet.
  double unmeasuredRateBps() const noexcept;
  void refill(uint64_t nowNs) noexcept;
  void checkStalled(uint64_t nowNs) noexcept;
  // A stall's demotion taken back when a report shows it was a gap (stallUndoWithinNs).
  void undoStallIfGap(uint64_t nowNs, const proto::LinkReport& report) noexcept;
  void updatePacing(uint64_t nowNs) noexcept;
  void demote(DemoteReason reason, uint64_t nowNs) noexcept;
  // The gateway's latest queue delay on the link is past half the latency target.
  bool queuePastLatencyShare() const noexcept;
  // The backlog pacer and the doubled in-flight cap are off: the queue is past that share, or
  // the sender sheds.
  bool backlogPushGivesWay() const noexcept;
  // The standing queue is under a quarter of the target: the link delivered all it was given.
  bool showsNoStandingQueue() const noexcept;
  bool delayRecovered() const noexcept;
  bool recovered() const noexcept;
  bool relapsed() const noexcept;
  bool inLossBurst(uint64_t nowNs) const noexcept;
  void setPhase(LinkPhase phase, uint64_t nowNs) noexcept;
  void clearMeasurements() noexcept;

  LinkControllerConfig config_;
  LinkPhase phase_ = LinkPhase::kInit;
  uint64_t phaseSinceNs_ = 0;
  uint64_t latencyNs_ = 500'000'000;
  // Lifecycle
  uint32_t answers_ = 0;  // in-band answers since the phase began
  uint32_t deliveringReports_ = 0;
  uint64_t lastAnswerNs_ = 0;  // a probe answer or a delivering report
  DemoteReason demoteReason_ = DemoteReason::kNone;
  uint32_t demotions_ = 0;
  uint64_t penaltyNs_ = 0;
  // What a stall's demotion left, for its undo (stallUndoWithinNs): the phase, the delivery
  // it stopped at, and the penalty and its decay as they were before it.
  struct StallUndo {
    uint64_t atNs = 0;  // 0: nothing to undo
    LinkPhase phase = LinkPhase::kLive;
    uint64_t highestSeq = 0;
    uint64_t penaltyNs = 0;
    uint64_t penaltyDecayFromNs = 0;
  } stallUndo_;
  uint32_t stallsUndone_ = 0;
  uint64_t cooldownUntilNs_ = 0;
  uint64_t penaltyDecayFromNs_ = 0;
  uint64_t collapseSinceNs_ = 0;
  uint64_t delayHighSinceNs_ = 0;
  // Packet train
  uint64_t trainId_ = 0;
  uint64_t trainSentNs_ = 0;
  double trainBps_ = 0;
  // RTT
  double srttUs_ = 0;
  double rttvarUs_ = 0;
  double minRttUs_ = 0;     // min of the current and the previous 10 s window
  double windowMinUs_ = 0;  // current window's min
  double prevWindowMinUs_ = 0;
  uint64_t windowStartNs_ = 0;
  uint64_t baseSeenNs_ = 0;  // last round trip near the minimum: the queue was empty then
  // Forward queueing delay, from the gateway
  double queueDelayUs_ = 0;
  // The latest reports' queue delays (each the last packet's of its interval), for the
  // standing queue: their minimum over a round trip.
  struct QueueSample {
    uint64_t atNs = 0;
    uint32_t queueUs = 0;
  };
  std::array<QueueSample, 16> recentQueue_{};
  uint32_t recentQueueCount_ = 0;
  double standingQueueUs_ = 0;
  double smoothedQueueUs_ = 0;  // EWMA (1/4 per report) of the reports' largest queue delays
  double queueTrendUsPerS_ = 0;
  std::array<uint32_t, 64> queueSamples_{};
  uint32_t queueSampleCount_ = 0;
  // Delivery
  bool haveReport_ = false;
  bool backlogged_ = false;
  bool shedding_ = false;
  uint64_t backloggedSinceNs_ = 0;  // 0: media is not waiting at the sender
  bool soleCarrier_ = false;
  uint64_t highestSeq_ = 0;
  uint64_t lastReportNs_ = 0;
  // The highest delivered link sequence as the latest reports showed it, for the rate at
  // which the link's queue moves now (queuedArrivalNs).
  struct ProgressSample {
    uint64_t atNs = 0;
    uint64_t highestSeq = 0;
  };
  std::array<ProgressSample, 32> progress_{};
  uint32_t progressCount_ = 0;
  double deliveryBps_ = 0;
  double servedBps_ = 0;
  double lastDeliverySampleBps_ = 0;
  double lastServedSampleBps_ = 0;
  uint32_t fallStreak_ = 0;  // reports in a row showing a fall (showsFall)
  double maxDeliveryBps_ = 0;
  double windowMaxBps_ = 0;
  double prevWindowMaxBps_ = 0;
  uint64_t deliveryWindowStartNs_ = 0;
  double rateSampleBytes_ = 0;  // delivered since rateSampleSinceNs_, for peak samples
  uint64_t rateSampleSinceNs_ = 0;
  double lossRate_ = 0;
  struct LossSample {
    uint64_t atNs = 0;
    uint32_t received = 0;
    uint32_t lost = 0;
  };
  std::array<LossSample, 32> lossSamples_{};  // the latest reports' counts, for loss bursts
  uint32_t lossSampleCount_ = 0;
  double sendBps_ = 0;  // smoothed rate we sent at, per report interval
  double intervalSentBytes_ = 0;
  // Sending
  uint64_t lastSentSeq_ = 0;
  bool sentAny_ = false;
  double avgPacketBytes_ = 1200;
  uint64_t firstUnreportedSendNs_ = 0;       // oldest send not yet covered by a delivering report
  std::array<uint64_t, 256> sendNsBySeq_{};  // send time of link sequence s at [s % 256]
  // Pacing
  double paceBps_ = 0;    // the congestion controller's rate
  double pacerBps_ = 0;   // what the pacer lets out: paceBps_, more while media waits
  double tokens_ = 0;     // bytes; may go negative (retransmissions borrow)
  bool startup_ = false;  // warm and the queue has not built yet: the rate ramps fast
  uint64_t lastDrainNs_ = 0;
  uint64_t drainUntilNs_ = 0;
  DrainSlot* drainSlot_ = nullptr;
  uint64_t lastRefillNs_ = 0;
};

}  // namespace braid::edge
