#include "ctrl/metrics/gateway_collector.h"

#include <fmt/format.h>

#include <iterator>
#include <limits>
#include <string>

#include "ctrl/metrics/metric_families.h"

namespace braid::ctrl {

namespace {

using Counter = dp::OwnedCounter dp::WorkerCounters::*;

struct CounterSpec {
  const char* name;
  const char* help;
  Counter counter;
};

// One line per counter: name, help, the field it reads.
constexpr CounterSpec kCounters[] = {
    {"braid_gateway_received_packets_total", "UDP datagrams received",
     &dp::WorkerCounters::rxPackets},
    {"braid_gateway_received_bytes_total", "UDP payload bytes received",
     &dp::WorkerCounters::rxBytes},
    {"braid_gateway_data_packets_total", "authenticated DATA packets",
     &dp::WorkerCounters::dataPackets},
    {"braid_gateway_data_bytes_total", "media bytes in authenticated DATA packets",
     &dp::WorkerCounters::dataBytes},
    {"braid_gateway_duplicate_packets_total", "DATA packets received twice",
     &dp::WorkerCounters::duplicates},
    {"braid_gateway_restored_null_packets_total",
     "TS null packets put back where the edge deleted them", &dp::WorkerCounters::nullsRestored},
    {"braid_gateway_late_packets_total",
     "DATA packets that arrived after their playout time and were lost to the output",
     &dp::WorkerCounters::late},
    {"braid_gateway_late_copies_total",
     "DATA packets whose sequence had already played from another copy (nothing lost)",
     &dp::WorkerCounters::lateCopies},
    {"braid_gateway_too_far_ahead_packets_total", "DATA packets beyond the jitter buffer's window",
     &dp::WorkerCounters::tooFarAhead},
    {"braid_gateway_skipped_packets_total", "media sequences missing at their playout deadline",
     &dp::WorkerCounters::skipped},
    {"braid_gateway_played_packets_total", "media packets played out", &dp::WorkerCounters::played},
    {"braid_gateway_output_bytes_total", "bytes handed to outputs",
     &dp::WorkerCounters::outputBytes},
    {"braid_gateway_output_drops_total", "packets an output queue could not take",
     &dp::WorkerCounters::outputDrops},
    {"braid_gateway_cookies_sent_total", "stateless handshake cookies sent",
     &dp::WorkerCounters::cookiesSent},
    {"braid_gateway_handshakes_total", "sessions created by a completed handshake",
     &dp::WorkerCounters::handshakesAccepted},
    {"braid_gateway_rekeys_total", "session rekeys", &dp::WorkerCounters::rekeys},
    {"braid_gateway_stateless_resets_total", "stateless resets sent",
     &dp::WorkerCounters::resetsSent},
    {"braid_gateway_sessions_opened_total", "sessions opened", &dp::WorkerCounters::sessionsOpened},
    {"braid_gateway_sessions_closed_total", "sessions closed", &dp::WorkerCounters::sessionsClosed},
    {"braid_gateway_link_address_changes_total", "links that moved to a new address",
     &dp::WorkerCounters::linkAddressMoves},
    {"braid_gateway_amplification_limited_total",
     "packets not sent to an address because of the 3x limit",
     &dp::WorkerCounters::amplificationLimited},
    {"braid_gateway_feedback_total", "feedback rounds (ACK + receive reports) sent",
     &dp::WorkerCounters::feedbackSent},
    {"braid_gateway_nacks_total", "NACK rounds sent", &dp::WorkerCounters::nacksSent},
    {"braid_gateway_nacked_sequences_total", "media sequences asked for again",
     &dp::WorkerCounters::nackedSequences},
    {"braid_gateway_retransmitted_packets_total", "retransmitted DATA copies received",
     &dp::WorkerCounters::retransmitsReceived},
    {"braid_gateway_admission_refused_total", "authenticated handshakes refused admission",
     &dp::WorkerCounters::admissionRefused},
    {"braid_gateway_handoffs_sent_total", "datagrams handed to the worker that owns their session",
     &dp::WorkerCounters::handoffsSent},
    {"braid_gateway_handoffs_received_total", "datagrams received from other workers",
     &dp::WorkerCounters::handoffsReceived},
    {"braid_gateway_handoff_drops_total", "datagrams dropped because the owner's ring was full",
     &dp::WorkerCounters::handoffDrops},
    {"braid_gateway_handshakes_limited_total",
     "handshake inits dropped by the intake rate limit before any crypto",
     &dp::WorkerCounters::handshakesLimited},
    {"braid_gateway_idle_waits_total", "worker sleeps on its socket and rings",
     &dp::WorkerCounters::idleWaits},
    {"braid_gateway_arena_waits_total",
     "times new sessions waited for the arena pool to map a jitter-buffer arena",
     &dp::WorkerCounters::arenaWaits},
    {"braid_gateway_worker_stalls_total",
     "passes or sleeps that kept the worker from its port for 20 ms or more",
     &dp::WorkerCounters::stalls},
};

}  // namespace

std::vector<prometheus::MetricFamily> GatewayCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  for (const CounterSpec& spec : kCounters) {
    auto family = counterFamily(families, spec.name, spec.help);
    for (size_t w = 0; w < workers_.size(); ++w) {
      family.add({{"worker", std::to_string(w)}},
                 static_cast<double>((workers_[w]->*spec.counter).read()));
    }
  }
  auto drops = counterFamily(families, "braid_gateway_dropped_packets_total",
                             "packets dropped before use, by reason");
  for (size_t w = 0; w < workers_.size(); ++w) {
    for (size_t r = 0; r < workers_[w]->drops.size(); ++r) {
      drops.add({{"worker", std::to_string(w)},
                 {"reason", proto::dropReasonName(static_cast<proto::DropReason>(r))}},
                static_cast<double>(workers_[w]->drops[r].read()));
    }
  }
  // By mechanism, so FEC joins ARQ here as one more label value.
  auto recovered = counterFamily(families, "braid_gateway_recovered_packets_total",
                                 "missing media packets recovered in time, by mechanism");
  for (size_t w = 0; w < workers_.size(); ++w) {
    recovered.add({{"worker", std::to_string(w)}, {"mechanism", "arq"}},
                  static_cast<double>(workers_[w]->arqRecovered.read()));
    recovered.add({{"worker", std::to_string(w)}, {"mechanism", "fec"}},
                  static_cast<double>(workers_[w]->fecRecovered.read()));
  }
  auto repairs = counterFamily(families, "braid_gateway_repair_packets_total",
                               "FEC repair packets received (authenticated)");
  for (size_t w = 0; w < workers_.size(); ++w) {
    repairs.add({{"worker", std::to_string(w)}},
                static_cast<double>(workers_[w]->repairsReceived.read()));
  }
  auto sessions = gaugeFamily(families, "braid_gateway_sessions", "live sessions");
  auto outputs = gaugeFamily(families, "braid_gateway_open_outputs",
                             "outputs held open (closed after a while without a session)");
  auto replay = gaugeFamily(families, "braid_gateway_handshake_state_entries",
                            "remembered authenticated handshakes (replay cache)");
  auto longestStall = gaugeFamily(families, "braid_gateway_worker_longest_stall_seconds",
                                  "the longest time the worker was kept from its port");
  for (size_t w = 0; w < workers_.size(); ++w) {
    longestStall.add({{"worker", std::to_string(w)}},
                     static_cast<double>(workers_[w]->longestStallUs.read()) / 1e6);
    sessions.add({{"worker", std::to_string(w)}},
                 static_cast<double>(workers_[w]->sessionsActive.read()));
    outputs.add({{"worker", std::to_string(w)}},
                static_cast<double>(workers_[w]->outputsOpen.read()));
    replay.add({{"worker", std::to_string(w)}},
               static_cast<double>(workers_[w]->handshakeStateEntries.read()));
  }
  prometheus::MetricFamily margin{"braid_gateway_arrival_margin_seconds",
                                  "time between a DATA packet's arrival and its playout deadline",
                                  prometheus::MetricType::Histogram,
                                  {}};
  for (size_t w = 0; w < workers_.size(); ++w) {
    const dp::OwnedHistogram& h = workers_[w]->arrivalMargin;
    prometheus::ClientMetric metric;
    metric.label.push_back({"worker", std::to_string(w)});
    uint64_t cumulative = 0;
    for (size_t b = 0; b < h.buckets.size(); ++b) {
      cumulative += h.buckets[b].read();
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = b < dp::OwnedHistogram::kBoundsUs.size()
                               ? static_cast<double>(dp::OwnedHistogram::kBoundsUs[b]) / 1e6
                               : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back(bucket);
    }
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(h.sumUs.read()) / 1e6;
    margin.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(margin));
  if (xdpFilter_) {
    // Gateway-wide: the program's map is per CPU, not per worker.
    if (std::optional<XdpFilterTotals> xdp = xdpFilter_()) {
      auto dropped = counterFamily(families, "braid_gateway_xdp_dropped_packets_total",
                                   "packets the XDP junk filter dropped, by reason");
      for (const auto& [reason, packets] : xdp->dropped) {
        dropped.add({{"reason", reason}}, static_cast<double>(packets));
      }
      auto redirected =
          counterFamily(families, "braid_gateway_xdp_redirected_packets_total",
                        "packets the XDP program redirected to the workers' AF_XDP sockets");
      redirected.add({}, static_cast<double>(xdp->redirected));
    }
  }
  if (sessions_ != nullptr) collectSessions(families);
  return families;
}

void GatewayCollector::collectSessions(std::vector<prometheus::MetricFamily>& families) const {
  using SessionCounter = dp::OwnedCounter dp::SessionStats::*;
  struct Spec {
    const char* name;
    const char* help;
    SessionCounter counter;
    bool gauge;
    double scale;
  };
  static constexpr Spec kSession[] = {
      {"braid_session_data_packets_total", "authenticated DATA packets of the session",
       &dp::SessionStats::dataPackets, false, 1},
      {"braid_session_played_packets_total", "media packets played out", &dp::SessionStats::played,
       false, 1},
      {"braid_session_skipped_packets_total", "media sequences missing at their deadline",
       &dp::SessionStats::skipped, false, 1},
      {"braid_session_late_packets_total",
       "packets that arrived after their playout time and were lost to the output",
       &dp::SessionStats::late, false, 1},
      {"braid_session_late_copies_total",
       "packets whose sequence had already played from another copy", &dp::SessionStats::lateCopies,
       false, 1},
      {"braid_session_duplicate_packets_total", "packets received twice",
       &dp::SessionStats::duplicates, false, 1},
      {"braid_session_nacked_sequences_total", "media sequences the gateway asked for again",
       &dp::SessionStats::nackedSequences, false, 1},
      {"braid_session_arq_recovered_packets_total", "holes filled in time by a retransmitted copy",
       &dp::SessionStats::arqRecovered, false, 1},
      {"braid_session_fec_recovered_packets_total", "holes filled in time by FEC",
       &dp::SessionStats::fecRecovered, false, 1},
      {"braid_session_repair_packets_total", "FEC repair packets received",
       &dp::SessionStats::repairPackets, false, 1},
      {"braid_session_output_bytes_total", "bytes handed to the session's outputs",
       &dp::SessionStats::outputBytes, false, 1},
      {"braid_session_jitter_buffer_packets", "packets held in the jitter buffer",
       &dp::SessionStats::jitterDepth, true, 1},
      {"braid_session_playout_latency_seconds",
       "playout time minus arrival-clock media time of the last played packet",
       &dp::SessionStats::playoutLatencyNs, true, 1e-9},
  };
  using LinkCounter = dp::OwnedCounter dp::LinkStats::*;
  struct LinkSpec {
    const char* name;
    const char* help;
    LinkCounter counter;
    bool gauge;
    double scale;
  };
  static constexpr LinkSpec kLink[] = {
      {"braid_link_received_packets_total", "authenticated packets received on the link",
       &dp::LinkStats::packets, false, 1},
      {"braid_link_received_bytes_total", "bytes of those packets", &dp::LinkStats::bytes, false,
       1},
      {"braid_link_lost_packets_total", "gaps in the link's sequence", &dp::LinkStats::lost, false,
       1},
      {"braid_link_jitter_seconds", "interarrival jitter (RFC 3550)", &dp::LinkStats::jitterUs,
       true, 1e-6},
      {"braid_link_address_changes_total", "moves of the link to a new address",
       &dp::LinkStats::addressChanges, false, 1},
  };
  std::vector<FamilyBuilder> sessionFamilies;
  for (const Spec& spec : kSession) {
    sessionFamilies.push_back(spec.gauge ? gaugeFamily(families, spec.name, spec.help)
                                         : counterFamily(families, spec.name, spec.help));
  }
  auto target = gaugeFamily(families, "braid_session_target_latency_seconds",
                            "negotiated end-to-end latency");
  std::vector<FamilyBuilder> linkFamilies;
  for (const LinkSpec& spec : kLink) {
    linkFamilies.push_back(spec.gauge ? gaugeFamily(families, spec.name, spec.help)
                                      : counterFamily(families, spec.name, spec.help));
  }
  sessions_->forEach([&](const dp::SessionStats& stats) {
    std::string session = fmt::format("{:016x}", stats.id.value);
    std::string key = std::to_string(stats.keyId);
    for (size_t i = 0; i < std::size(kSession); ++i) {
      sessionFamilies[i].add(
          {{"session", session}, {"key", key}},
          static_cast<double>((stats.*kSession[i].counter).read()) * kSession[i].scale);
    }
    target.add({{"session", session}, {"key", key}}, stats.latencyMs / 1000.0);
    for (size_t link = 0; link < stats.links.size(); ++link) {
      const dp::LinkStats& linkStats = stats.links[link];
      if (!linkStats.known.load(std::memory_order_relaxed)) continue;
      for (size_t i = 0; i < std::size(kLink); ++i) {
        linkFamilies[i].add(
            {{"session", session}, {"link", std::to_string(link)}},
            static_cast<double>((linkStats.*kLink[i].counter).read()) * kLink[i].scale);
      }
    }
  });
}

}  // namespace braid::ctrl
