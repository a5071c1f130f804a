#include "linkem/link_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace braid::linkem {
namespace {

constexpr uint64_t kForever = std::numeric_limits<uint64_t>::max();
constexpr double kNsPerSecond = 1e9;
constexpr double kTwoPi = 6.283185307179586;

uint64_t endOf(uint64_t at, uint64_t duration) {
  return duration == 0 || at > kForever - duration ? kForever : at + duration;
}

}  // namespace

const char* dropName(Drop drop) {
  switch (drop) {
    case Drop::kNone:
      return "ok";
    case Drop::kMinSize:
      return "min_size";
    case Drop::kDead:
      return "dead";
    case Drop::kLoss:
      return "loss";
    case Drop::kBurstLoss:
      return "burst_loss";
    case Drop::kQueueFull:
      return "queue_full";
    case Drop::kPoolFull:
      return "pool_full";
    case Drop::kNoPeer:
      return "no_peer";
    case Drop::kSendError:
      return "send_error";
    case Drop::kOversize:
      return "oversize";
    case Drop::kUnsent:
      return "unsent";
  }
  return "unknown";
}

DirectionModel::DirectionModel(const DirectionModelConfig& config, std::vector<ModelEvent> events,
                               uint64_t seed, uint64_t stream)
    : config_(config),
      lossRandom_(seed, stream * 3 + 0),
      delayRandom_(seed, stream * 3 + 1),
      reorderRandom_(seed, stream * 3 + 2) {
  std::vector<Interval> blocked;
  for (const ModelEvent& e : events) {
    switch (e.kind) {
      case EventKind::kOutage:
        blocked.push_back({e.atNs, endOf(e.atNs, e.durationNs)});
        break;
      case EventKind::kDeath:
        deaths_.push_back({e.atNs, endOf(e.atNs, e.durationNs)});
        blocked.push_back(deaths_.back());
        break;
      case EventKind::kHandover: {
        uint64_t resume = endOf(e.atNs, e.durationNs);
        blocked.push_back({e.atNs, resume});
        delaySteps_.push_back({resume, static_cast<double>(e.delayNs)});
        reorderWindows_.push_back(
            {{resume, endOf(resume, e.reorderWindowNs)}, e.reorder, e.reorderNs});
        break;
      }
      case EventKind::kRateStep:
        rates_.push_back(
            {e.atNs, config.trace ? e.traceScale : static_cast<double>(e.rateBitsPerSecond)});
        break;
      case EventKind::kDelayStep:
        delaySteps_.push_back({e.atNs, static_cast<double>(e.delayNs)});
        break;
      case EventKind::kDelaySwing:
        swings_.push_back({{e.atNs, endOf(e.atNs, e.durationNs)},
                           static_cast<double>(e.delayNs),
                           static_cast<double>(e.delayMaxNs),
                           static_cast<double>(e.periodNs)});
        break;
      case EventKind::kRebind:
        break;  // the relay's business: the model's packets do not change
    }
  }
  auto byBegin = [](const Interval& a, const Interval& b) { return a.begin < b.begin; };
  std::sort(blocked.begin(), blocked.end(), byBegin);
  for (const Interval& i : blocked) {
    if (!blocked_.empty() && i.begin <= blocked_.back().end) {
      blocked_.back().end = std::max(blocked_.back().end, i.end);
    } else {
      blocked_.push_back(i);
    }
  }
  std::sort(deaths_.begin(), deaths_.end(), byBegin);
  auto byTime = [](const Step& a, const Step& b) { return a.atNs < b.atNs; };
  std::stable_sort(rates_.begin(), rates_.end(), byTime);
  std::stable_sort(delaySteps_.begin(), delaySteps_.end(), byTime);
  std::stable_sort(swings_.begin(), swings_.end(),
                   [](const Swing& a, const Swing& b) { return a.span.begin < b.span.begin; });
  std::stable_sort(reorderWindows_.begin(), reorderWindows_.end(),
                   [](const Window& a, const Window& b) { return a.span.begin < b.span.begin; });
  queue_.resize(config.queuePackets > 0 ? config.queuePackets + 1 : 1024);
}

double DirectionModel::skipBlocked(double t) const noexcept {
  // blocked_ is sorted and merged: at most one interval holds t.
  auto it = std::upper_bound(blocked_.begin(), blocked_.end(), t,
                             [](double v, const Interval& i) { return v < i.begin; });
  if (it == blocked_.begin()) return t;
  --it;
  if (t < static_cast<double>(it->end)) {
    return it->end == kForever ? std::numeric_limits<double>::infinity()
                               : static_cast<double>(it->end);
  }
  return t;
}

double DirectionModel::nextBoundary(double t) const noexcept {
  double next = std::numeric_limits<double>::infinity();
  auto blocked = std::upper_bound(blocked_.begin(), blocked_.end(), t,
                                  [](double v, const Interval& i) { return v < i.begin; });
  if (blocked != blocked_.end()) next = static_cast<double>(blocked->begin);
  auto rate = std::upper_bound(rates_.begin(), rates_.end(), t,
                               [](double v, const Step& s) { return v < s.atNs; });
  if (rate != rates_.end()) next = std::min(next, static_cast<double>(rate->atNs));
  return next;
}

double DirectionModel::rateAt(double t) const noexcept {
  double value =
      config_.trace ? config_.traceScale : static_cast<double>(config_.rateBitsPerSecond);
  auto it = std::upper_bound(rates_.begin(), rates_.end(), t,
                             [](double v, const Step& s) { return v < s.atNs; });
  if (it != rates_.begin()) value = std::prev(it)->value;
  return value;
}

double DirectionModel::finishConstantRate(double start, uint64_t wireBytes) const noexcept {
  double t = skipBlocked(start);
  double bits = static_cast<double>(wireBytes) * 8;
  while (std::isfinite(t)) {
    double rate = rateAt(t);
    if (rate <= 0) return t;  // no bottleneck: leaves as soon as the link serves at all
    double boundary = nextBoundary(t);
    double finish = t + bits / rate * kNsPerSecond;
    if (finish <= boundary) return finish;
    bits -= (boundary - t) * rate / kNsPerSecond;
    t = skipBlocked(boundary);
  }
  return t;
}

double DirectionModel::opportunityNs(uint64_t index) const noexcept {
  const Trace& trace = *config_.trace;
  uint64_t n = trace.opportunityMs.size();
  double ms = static_cast<double>((index / n) * trace.periodMs + trace.opportunityMs[index % n]);
  return (ms - static_cast<double>(config_.traceOffsetMs)) * 1e6;
}

uint64_t DirectionModel::firstOpportunityAtOrAfter(double t) const noexcept {
  double ms = std::ceil(t / 1e6 + static_cast<double>(config_.traceOffsetMs));
  return config_.trace->opportunitiesBetween(0, static_cast<uint64_t>(std::max(ms, 0.0)));
}

double DirectionModel::finishTrace(double arrival, uint64_t wireBytes, uint64_t& cursor,
                                   double& cursorBytes) const noexcept {
  uint64_t index = cursor;
  double bytes = cursorBytes;
  if (lastDeparture_ < 0 || arrival > lastDeparture_) {
    // The queue ran empty: the opportunities since the last departure were lost.
    index = firstOpportunityAtOrAfter(arrival);
    bytes = -1;  // not yet read
  }
  double need = static_cast<double>(wireBytes);
  while (true) {
    double t = opportunityNs(index);
    double resume = skipBlocked(t);
    if (!std::isfinite(resume)) return resume;
    if (resume > t) {  // opportunities inside an outage are lost
      index = firstOpportunityAtOrAfter(resume);
      bytes = -1;
      continue;
    }
    if (bytes < 0) bytes = kTraceOpportunityBytes * rateAt(t);
    if (bytes >= need) {
      cursor = index;
      cursorBytes = bytes - need;
      return t;
    }
    need -= bytes;
    ++index;
    bytes = -1;
  }
}

Drop DirectionModel::drawLoss() noexcept {
  // Both draws are taken for every packet so that one setting does not shift the other's
  // sequence: the same seed gives the same drops whatever else changes.
  bool lost = lossRandom_.chance(config_.loss);
  if (config_.geP > 0) {
    geBad_ = geBad_ ? !lossRandom_.chance(config_.geR) : lossRandom_.chance(config_.geP);
    bool burst = lossRandom_.chance(geBad_ ? config_.geLossBad : config_.geLossGood);
    if (burst && !lost) return Drop::kBurstLoss;
  }
  return lost ? Drop::kLoss : Drop::kNone;
}

void DirectionModel::drainQueue(uint64_t nowNs) noexcept {
  while (queueCount_ > 0 && queue_[queueHead_].departureNs <= nowNs) {
    queueBytes_ -= queue_[queueHead_].wireBytes;
    queueHead_ = (queueHead_ + 1) % queue_.size();
    --queueCount_;
  }
}

void DirectionModel::pushQueued(Queued q) {
  if (queueCount_ == queue_.size()) {
    std::vector<Queued> grown(queue_.size() * 2);
    for (size_t i = 0; i < queueCount_; ++i) grown[i] = queue_[(queueHead_ + i) % queue_.size()];
    queue_ = std::move(grown);
    queueHead_ = 0;
  }
  queue_[(queueHead_ + queueCount_) % queue_.size()] = q;
  ++queueCount_;
  queueBytes_ += q.wireBytes;
}

uint64_t DirectionModel::queuedBytes(uint64_t nowNs) noexcept {
  drainQueue(nowNs);
  return queueBytes_;
}

uint32_t DirectionModel::queuedPackets(uint64_t nowNs) noexcept {
  drainQueue(nowNs);
  return static_cast<uint32_t>(queueCount_);
}

bool DirectionModel::deadAt(uint64_t tNs) const noexcept {
  for (const Interval& d : deaths_) {
    if (d.begin > tNs) break;
    if (tNs < d.end) return true;
  }
  return false;
}

uint64_t DirectionModel::delayAt(uint64_t tNs) const noexcept {
  double delay = static_cast<double>(config_.delayNs);
  for (const Step& s : delaySteps_) {
    if (s.atNs > tNs) break;
    delay = s.value;
  }
  for (const Swing& s : swings_) {
    if (s.span.begin > tNs) break;
    if (tNs >= s.span.end) continue;
    double phase = static_cast<double>(tNs - s.span.begin) / s.periodNs;
    delay = s.minNs + (s.maxNs - s.minNs) * (1 - std::cos(kTwoPi * phase)) / 2;
  }
  return static_cast<uint64_t>(std::llround(delay));
}

Verdict DirectionModel::offer(uint64_t arrivalNs, uint32_t size) noexcept {
  arrivalNs = std::max(arrivalNs, lastArrivalNs_);
  lastArrivalNs_ = arrivalNs;
  if (size < config_.minSize) return {Drop::kMinSize};
  if (deadAt(arrivalNs)) return {Drop::kDead};
  if (Drop loss = drawLoss(); loss != Drop::kNone) return {loss};

  drainQueue(arrivalNs);
  uint32_t wireBytes = size + config_.overheadBytes;
  if (config_.queuePackets > 0 && queueCount_ + 1 > config_.queuePackets) {
    return {Drop::kQueueFull};
  }
  if (config_.queueBytes > 0 && queueBytes_ + wireBytes > config_.queueBytes) {
    return {Drop::kQueueFull};
  }

  auto arrival = static_cast<double>(arrivalNs);
  uint64_t cursor = traceCursor_;
  double cursorBytes = traceCursorBytes_;
  double departure = config_.trace ? finishTrace(arrival, wireBytes, cursor, cursorBytes)
                                   : finishConstantRate(std::max(arrival, busyUntil_), wireBytes);
  // A packet still queued when its link dies goes with it.
  for (const Interval& d : deaths_) {
    if (static_cast<double>(d.begin) > departure) break;
    if (d.begin > arrivalNs) return {Drop::kDead};
  }
  if (!std::isfinite(departure)) return {Drop::kDead};

  traceCursor_ = cursor;
  traceCursorBytes_ = cursorBytes;
  busyUntil_ = departure;
  lastDeparture_ = departure;
  auto departureNs = static_cast<uint64_t>(std::llround(departure));
  pushQueued({departureNs, wireBytes});

  double jitter = 0;
  auto j = static_cast<double>(config_.jitterNs);
  if (j > 0) {
    switch (config_.jitter) {
      case Jitter::kUniform:
        jitter = delayRandom_.uniform() * j;
        break;
      case Jitter::kExponential:
        jitter = delayRandom_.exponential(j);
        break;
      case Jitter::kNormal:
        jitter = delayRandom_.halfNormal(j);
        break;
    }
  }
  uint64_t fifoNs = std::max(departureNs + delayAt(departureNs) + static_cast<uint64_t>(jitter),
                             lastFifoDeliveryNs_);
  double reorder = config_.reorder;
  uint64_t holdNs = config_.reorderNs;
  for (const Window& w : reorderWindows_) {
    if (w.span.begin > departureNs) break;
    if (departureNs < w.span.end) reorder = w.probability, holdNs = w.holdNs;
  }
  if (reorder > 0 && reorderRandom_.chance(reorder)) {
    // Held back without holding the packets behind it: they overtake it.
    return {Drop::kNone, departureNs, fifoNs + holdNs};
  }
  lastFifoDeliveryNs_ = fifoNs;
  return {Drop::kNone, departureNs, fifoNs};
}

}  // namespace braid::linkem
