#include "edge/encoder_feedback.h"

#include <array>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace braid::edge {
namespace {

constexpr uint64_t kLogIntervalNs = 1'000'000'000;  // target changes logged at most once a second

}  // namespace

EncoderFeedback::EncoderFeedback(const BitrateControllerConfig& config, EncoderControl* encoder)
    : controller_(config), encoder_(encoder) {
  counters_.targetBps.set(controller_.targetBps());
  counters_.overheadPerMille.set(1000);
  if (encoder_ != nullptr) encoder_->setBitrate(controller_.targetBps());
}

BitrateDecision EncoderFeedback::tick(uint64_t nowNs, const EdgeCounters& counters,
                                      const LinkSet& links, uint64_t backlogBytes) {
  std::array<BondLinkSample, proto::kMaxLinks> samples{};
  size_t n = 0;
  for (uint8_t id = 0; id < proto::kMaxLinks; ++id) {
    if (links.find(id) == nullptr) continue;
    const EdgeLinkCounters& l = counters.links[id];
    samples[n++] =
        BondLinkSample{.carriesMedia = carriesMedia(static_cast<LinkPhase>(l.phase.read())),
                       .paceBps = static_cast<double>(l.paceBps.read()),
                       .deliveryBps = static_cast<double>(l.deliveryBps.read()),
                       .queueDelayUs = static_cast<double>(l.queueDelayUs.read())};
  }
  BitrateDecision d =
      controller_.update(BondSample{.nowNs = nowNs,
                                    .links = std::span(samples.data(), n),
                                    .udpBytesSent = counters.udpBytesSent.read(),
                                    .mediaBytesSent = counters.mediaBytesSent.read(),
                                    .backlogBytes = backlogBytes});
  counters_.targetBps.set(d.targetBps);
  counters_.capacityBps.set(static_cast<uint64_t>(d.capacityBps));
  counters_.deliveryBps.set(static_cast<uint64_t>(d.deliveryBps));
  counters_.overheadPerMille.set(static_cast<uint64_t>(d.overhead * 1000));
  if (d.congested) {
    counters_.congestionTicks.add();
    if (spdlog::should_log(spdlog::level::debug)) {
      std::string queues;
      for (size_t i = 0; i < n; ++i) {
        if (samples[i].carriesMedia)
          queues += fmt::format(" {:.1f}", samples[i].queueDelayUs / 1000);
      }
      spdlog::debug(
          "encoder target: bond congested ({}): capacity {:.2f} Mbit/s, delivering {:.2f}, "
          "backlog {:.0f} ms, queues (ms){}; target {:.2f} Mbit/s",
          bitrateReasonName(d.reason), d.capacityBps / 1e6, d.deliveryBps / 1e6, d.backlogUs / 1000,
          queues, static_cast<double>(d.targetBps) / 1e6);
    }
  }
  if (d.changed) {
    counters_.targetChanges.add();
    if (encoder_ != nullptr) encoder_->setBitrate(d.targetBps);
    logPending_ = true;
  }
  // Rate-limited: a drop or a climb moves the target on many ticks in a row; one line a
  // second says where it went and why it last moved.
  if (logPending_ && nowNs - lastLogNs_ >= kLogIntervalNs) {
    spdlog::info(
        "encoder target {:.2f} Mbit/s ({}; bond capacity {:.2f} Mbit/s, delivering {:.2f}, "
        "overhead {:.3f}, sender backlog {:.0f} ms){}",
        static_cast<double>(d.targetBps) / 1e6, d.changed ? bitrateReasonName(d.reason) : "settled",
        d.capacityBps / 1e6, d.deliveryBps / 1e6, d.overhead, d.backlogUs / 1000,
        encoder_ != nullptr ? "; test pattern follows" : "");
    lastLogNs_ = nowNs;
    logPending_ = false;
  }
  return d;
}

void EncoderFeedback::reconfigure(uint64_t minBps, uint64_t maxBps, double safetyMargin) {
  uint64_t before = controller_.targetBps();
  controller_.reconfigure(minBps, maxBps, safetyMargin);
  counters_.targetBps.set(controller_.targetBps());
  if (controller_.targetBps() != before) {
    counters_.targetChanges.add();
    if (encoder_ != nullptr) encoder_->setBitrate(controller_.targetBps());
    spdlog::info("encoder target {:.2f} Mbit/s (limits now {:.2f}..{:.2f} Mbit/s)",
                 static_cast<double>(controller_.targetBps()) / 1e6,
                 static_cast<double>(minBps) / 1e6, static_cast<double>(maxBps) / 1e6);
  }
}

}  // namespace braid::edge
