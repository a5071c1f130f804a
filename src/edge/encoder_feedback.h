#pragma once

// Encoder feedback: samples the bond from the sender's counters on the control thread, runs
// the BitrateController, turns the built-in encoder's knob when there is one (testpattern:)
// and publishes the target for everyone else (metric, stats line; an external encoder
// follows it from there).

#include <cstdint>

#include "dataplane/counter.h"
#include "edge/bitrate_controller.h"
#include "edge/edge_session.h"
#include "edge/link_set.h"
#include "edge/media/encoder_control.h"

namespace braid::edge {

// Gauges of the encoder feedback, written by the control thread, read by metrics.
struct EncoderFeedbackCounters {
  dp::OwnedCounter targetBps;         // the encoder target, TS bit/s
  dp::OwnedCounter capacityBps;       // Σ max(pace, delivery) of media links, UDP bit/s
  dp::OwnedCounter deliveryBps;       // Σ delivery of media links, UDP bit/s
  dp::OwnedCounter overheadPerMille;  // UDP payload ÷ media bytes × 1000 (last second)
  dp::OwnedCounter targetChanges;     // published target changes
  dp::OwnedCounter congestionTicks;   // ticks that found the bond congested
};

class EncoderFeedback {
 public:
  static constexpr uint64_t kTickNs = 50'000'000;  // 20 Hz

  // `encoder` (nullable: an external encoder) is set to the controller's initial target at
  // once and must outlive this object.
  EncoderFeedback(const BitrateControllerConfig& config, EncoderControl* encoder);

  // One controller step from the sender's counters of the links configured now (a removed
  // link's slot keeps stale gauges) and the media waiting at the sender. Control thread,
  // every kTickNs. Returns the decision (for tests and logs).
  BitrateDecision tick(uint64_t nowNs, const EdgeCounters& counters, const LinkSet& links,
                       uint64_t backlogBytes);

  // New limits and margin (SIGHUP); the target is kept and clamped. Control thread.
  void reconfigure(uint64_t minBps, uint64_t maxBps, double safetyMargin);

  const EncoderFeedbackCounters& counters() const { return counters_; }
  uint64_t targetBps() const { return controller_.targetBps(); }

 private:
  BitrateController controller_;
  EncoderControl* encoder_;
  EncoderFeedbackCounters counters_;
  uint64_t lastLogNs_ = 0;
  bool logPending_ = false;  // the target moved since the last line logged
};

}  // namespace braid::edge
