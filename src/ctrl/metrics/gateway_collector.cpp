#include "ctrl/metrics/gateway_collector.h"

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
    {"braid_gateway_late_packets_total", "DATA packets that arrived after their playout time",
     &dp::WorkerCounters::late},
    {"braid_gateway_too_far_ahead_packets_total",
     "DATA packets beyond the jitter buffer's window", &dp::WorkerCounters::tooFarAhead},
    {"braid_gateway_skipped_packets_total", "media sequences missing at their playout deadline",
     &dp::WorkerCounters::skipped},
    {"braid_gateway_played_packets_total", "media packets played out",
     &dp::WorkerCounters::played},
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
    {"braid_gateway_admission_refused_total", "authenticated handshakes refused admission",
     &dp::WorkerCounters::admissionRefused},
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
  auto sessions = gaugeFamily(families, "braid_gateway_sessions", "live sessions");
  auto replay = gaugeFamily(families, "braid_gateway_handshake_state_entries",
                            "remembered authenticated handshakes (replay cache)");
  for (size_t w = 0; w < workers_.size(); ++w) {
    sessions.add({{"worker", std::to_string(w)}},
                 static_cast<double>(workers_[w]->sessionsActive.read()));
    replay.add({{"worker", std::to_string(w)}},
               static_cast<double>(workers_[w]->handshakeStateEntries.read()));
  }
  return families;
}

}  // namespace braid::ctrl
