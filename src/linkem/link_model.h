#pragma once

// The model of one direction of one emulated link, in virtual time: size filter, link state,
// random loss (Bernoulli + Gilbert-Elliott), drop-tail queue, bottleneck (constant rate or a
// Mahimahi trace), propagation delay + FIFO jitter, optional reordering, and timed events.
// Everything that can happen to a packet is known when it arrives (FIFO service, events
// scheduled in advance), so offer() returns its fate and its departure and delivery times at
// once; the relay only has to send it at the delivery time. No sockets, no clock: tests drive
// it with any arrival times. See docs/linkem.md.

#include <cstdint>
#include <vector>

#include "linkem/random.h"
#include "linkem/trace.h"

namespace braid::linkem {

enum class Drop : uint8_t {
  kNone,
  kMinSize,
  kDead,
  kLoss,
  kBurstLoss,
  kQueueFull,
  kPoolFull,
  kNoPeer,
  kSendError,
  kOversize,  // larger than a pool slot
  kUnsent,    // still scheduled when linkem stopped
};
inline constexpr size_t kDropKinds = 11;

// "ok", "min_size", "dead", ... as the record writes them.
const char* dropName(Drop drop);

enum class Jitter : uint8_t { kUniform, kExponential, kNormal };

struct DirectionModelConfig {
  const Trace* trace = nullptr;  // set: trace-driven bottleneck; must outlive the model
  double traceScale = 1.0;
  uint64_t traceOffsetMs = 0;
  uint64_t rateBitsPerSecond = 0;  // without a trace: constant rate; 0: no bottleneck
  uint32_t overheadBytes = 28;     // charged per packet on top of the payload
  uint64_t delayNs = 0;
  uint64_t jitterNs = 0;
  Jitter jitter = Jitter::kUniform;
  double loss = 0;
  double geP = 0;  // Gilbert-Elliott: P(good -> bad) per packet; 0: off
  double geR = 1;  // P(bad -> good)
  double geLossGood = 0;
  double geLossBad = 1;
  uint64_t queueBytes = 0;    // 0: no bound in bytes
  uint32_t queuePackets = 0;  // 0: no bound in packets
  uint32_t minSize = 0;
  double reorder = 0;
  uint64_t reorderNs = 0;
};

enum class EventKind : uint8_t {
  kOutage,
  kRateStep,
  kDelayStep,
  kDelaySwing,
  kHandover,
  kRebind,
  kDeath,
};

struct ModelEvent {
  EventKind kind = EventKind::kOutage;
  uint64_t atNs = 0;
  uint64_t durationNs = 0;  // death and swing: 0 means for ever
  uint64_t rateBitsPerSecond = 0;
  double traceScale = 0;  // rate step of a trace link
  uint64_t delayNs = 0;
  uint64_t delayMaxNs = 0;
  uint64_t periodNs = 0;
  double reorder = 0;
  uint64_t reorderNs = 0;
  uint64_t reorderWindowNs = 0;
};

struct Verdict {
  Drop drop = Drop::kNone;
  uint64_t departureNs = 0;  // leaves the bottleneck (kNone only)
  uint64_t deliveryNs = 0;   // scheduled send time: departure + delay + jitter (kNone only)
};

class DirectionModel {
 public:
  // `seed` and `stream` pick this direction's random sequences. `events` in any order.
  DirectionModel(const DirectionModelConfig& config, std::vector<ModelEvent> events, uint64_t seed,
                 uint64_t stream);

  // Decides the fate of a packet of `size` payload bytes arriving at `arrivalNs` (virtual
  // time, non-decreasing across calls; an earlier time is taken as the last one). Owner
  // thread; no allocation once the queue has reached its largest size.
  Verdict offer(uint64_t arrivalNs, uint32_t size) noexcept;

  // Packets and wire bytes waiting at the bottleneck at `nowNs` (after the last offer).
  uint64_t queuedBytes(uint64_t nowNs) noexcept;
  uint32_t queuedPackets(uint64_t nowNs) noexcept;

  // The one-way delay (without jitter) that a packet leaving the bottleneck at `tNs` gets.
  uint64_t delayAt(uint64_t tNs) const noexcept;
  bool deadAt(uint64_t tNs) const noexcept;
  const DirectionModelConfig& config() const { return config_; }

 private:
  struct Interval {
    uint64_t begin = 0, end = 0;  // [begin, end); end UINT64_MAX: for ever
  };
  struct Step {
    uint64_t atNs = 0;
    double value = 0;
  };
  struct Swing {
    Interval span;
    double minNs = 0, maxNs = 0, periodNs = 0;
  };
  struct Window {
    Interval span;
    double probability = 0;
    uint64_t holdNs = 0;
  };
  struct Queued {
    uint64_t departureNs = 0;
    uint32_t wireBytes = 0;
  };

  double skipBlocked(double t) const noexcept;
  double nextBoundary(double t) const noexcept;  // next rate change or blocked start after t
  double rateAt(double t) const noexcept;        // bits/s, or trace scale
  double finishConstantRate(double start, uint64_t wireBytes) const noexcept;
  double finishTrace(double arrival, uint64_t wireBytes, uint64_t& cursor,
                     double& cursorBytes) const noexcept;
  double opportunityNs(uint64_t index) const noexcept;
  uint64_t firstOpportunityAtOrAfter(double t) const noexcept;
  Drop drawLoss() noexcept;
  void drainQueue(uint64_t nowNs) noexcept;
  void pushQueued(Queued q);

  DirectionModelConfig config_;
  std::vector<Interval> blocked_;  // the bottleneck serves nothing (outages, deaths), merged
  std::vector<Interval> deaths_;
  std::vector<Step> rates_;       // rate (bits/s) or trace scale from atNs on
  std::vector<Step> delaySteps_;  // delay from atNs on
  std::vector<Swing> swings_;
  std::vector<Window> reorderWindows_;

  Random lossRandom_;
  Random delayRandom_;
  Random reorderRandom_;
  bool geBad_ = false;

  uint64_t lastArrivalNs_ = 0;
  double busyUntil_ = 0;         // constant rate: when the bottleneck finishes the last packet
  uint64_t traceCursor_ = 0;     // trace: opportunity the last packet left at
  double traceCursorBytes_ = 0;  // bytes of it still unused
  double lastDeparture_ = -1;
  uint64_t lastFifoDeliveryNs_ = 0;

  // Accepted packets not yet departed at the last offer: a ring over a vector that grows.
  std::vector<Queued> queue_;
  size_t queueHead_ = 0;
  size_t queueCount_ = 0;
  uint64_t queueBytes_ = 0;
};

}  // namespace braid::linkem
