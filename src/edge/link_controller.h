#pragma once

// What the edge knows about one link, from in-band feedback only, and how fast it may send on
// it: RTT (RFC 6298 SRTT/RTTVAR and a 10 s windowed minimum), delivery rate and loss from the
// gateway's per-link receive reports, a pacing rate set by a delay-gradient and delivery-rate
// controller, and the link's phase. A link whose reports stop advancing while it carries
// traffic is down, however good its last RTT looked: a measurement without recent delivery is
// not evidence. See docs/transport.md.

#include <cstdint>

namespace braid::edge {

enum class LinkPhase : uint8_t {
  kProbe,  // not yet shown to deliver: keepalives only
  kLive,   // carries media
  kDown,   // stopped delivering: keepalives only, until a report shows delivery again
};
const char* linkPhaseName(LinkPhase phase);

struct LinkControllerConfig {
  double initialBps = 1'000'000;  // pacing rate of a link that just went live (pre-warm)
  double minBps = 200'000;
  double maxBps = 500'000'000;
  uint64_t queueDelayTargetNs = 80'000'000;  // standing queue the controller allows
  double pacingGain = 1.25;                  // pacing rate over the delivered rate
  double drainFactor = 0.9;                  // rate = delivery × this when the queue grows
  uint32_t reportsToGoLive = 2;              // advancing reports before media goes on it
  uint64_t minSilenceNs = 200'000'000;       // no delivery this long (and 2 SRTT + 100 ms): down
};

class LinkController {
 public:
  explicit LinkController(const LinkControllerConfig& config = {}) : config_(config) {}

  // A datagram of `bytes` sent on the link at `nowNs` with per-link sequence `linkSeq`
  // (media, retransmissions, control). Sender thread.
  void onSent(uint64_t nowNs, uint64_t bytes, uint64_t linkSeq) noexcept;
  // A round-trip sample (echoed send timestamp to now, minus the gateway's hold time).
  void onRttSample(uint64_t nowNs, uint64_t rttUs) noexcept;
  // One receive report of this link (from an ACK that may have come on any link).
  void onReport(uint64_t nowNs, uint64_t highestLinkSeq, uint64_t packetsReceived,
                uint64_t packetsLost, uint64_t bytesReceived) noexcept;
  // The gateway answered a keepalive sent on this link: in-band proof that the link works
  // (what takes a probing or down link back to live).
  void onProbeAnswer(uint64_t nowNs) noexcept;
  // The handshake just succeeded over this link: it is proven, start it live (pre-warmed).
  void markProven(uint64_t nowNs) noexcept { setPhase(LinkPhase::kLive, nowNs); }
  // Feedback (an ACK) arrived without a report for this link. Down detection happens only
  // here and in onReport: a link is judged by feedback that arrives and does not show its
  // delivery, never by missing feedback (which may be the return path's fault, and would
  // condemn every link at once).
  void onFeedbackWithoutReport(uint64_t nowNs) noexcept;
  // Whether media is waiting at the sender (so a link that delivered all it was given may
  // have more capacity than it showed). Sender thread, every loop pass.
  void setBacklogged(bool backlogged) noexcept { backlogged_ = backlogged; }
  // The link's socket failed or the session restarted: back to probing.
  void reset(uint64_t nowNs) noexcept;

  // How long until `bytes` may be sent under the pacing rate (0: now).
  uint64_t waitNs(uint64_t nowNs, uint64_t bytes) noexcept;
  // When `bytes` sent as soon as the pacer allows would arrive (sender clock): the wait, the
  // link's base one-way delay (min RTT / 2), and the time to drain what is already in flight
  // on it at its delivery rate (ECF/BLEST: a packet queued behind others arrives after them).
  uint64_t expectedDeliveryNs(uint64_t nowNs, uint64_t bytes) noexcept;
  // Bytes sent and not yet reported received (from per-link sequences, so a lost ACK does
  // not inflate it).
  double inflightBytes() const noexcept;

  LinkPhase phase() const { return phase_; }
  double paceBps() const { return paceBps_; }
  double srttUs() const { return srttUs_; }
  double rttvarUs() const { return rttvarUs_; }
  double minRttUs() const { return minRttUs_; }
  double deliveryBps() const { return deliveryBps_; }
  double lossRate() const { return lossRate_; }
  uint64_t lastDeliveryNs() const { return lastDeliveryNs_; }

 private:
  void refill(uint64_t nowNs) noexcept;
  void checkStalled(uint64_t nowNs) noexcept;
  void setPhase(LinkPhase phase, uint64_t nowNs) noexcept;

  LinkControllerConfig config_;
  LinkPhase phase_ = LinkPhase::kProbe;
  // RTT
  double srttUs_ = 0;
  double rttvarUs_ = 0;
  double minRttUs_ = 0;     // min of the current and the previous 10 s window
  double windowMinUs_ = 0;  // current window's min
  double prevWindowMinUs_ = 0;
  uint64_t windowStartNs_ = 0;
  // Delivery
  bool haveReport_ = false;
  bool backlogged_ = false;
  uint64_t highestSeq_ = 0;
  uint64_t lastReportNs_ = 0;
  uint64_t lastDeliveryNs_ = 0;  // a report last showed new packets delivered
  double deliveryBps_ = 0;
  double maxDeliveryBps_ = 0;
  double windowMaxBps_ = 0;
  double prevWindowMaxBps_ = 0;
  uint64_t deliveryWindowStartNs_ = 0;
  double lossRate_ = 0;
  uint32_t goodReports_ = 0;
  // Sending
  uint64_t lastSentSeq_ = 0;
  bool sentAny_ = false;
  double avgPacketBytes_ = 1200;
  uint64_t firstUnreportedSendNs_ = 0;  // oldest send not yet covered by a delivering report
  // Pacing
  double paceBps_ = 0;
  double tokens_ = 0;  // bytes; may go negative (retransmissions borrow)
  uint64_t lastRefillNs_ = 0;
};

}  // namespace braid::edge
