#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/gateway/session_registry.h"
#include "dataplane/gateway/worker_counters.h"

namespace braid::ctrl {

// The XDP junk filter's totals (AF_XDP backend), read at scrape time.
struct XdpFilterTotals {
  uint64_t redirected = 0;                                // to a worker's AF_XDP socket
  std::vector<std::pair<std::string, uint64_t>> dropped;  // packets per drop reason
};
// Reads the BPF statistics map; nullopt when it cannot (the series are left out). Called on
// the scraper's thread.
using XdpFilterReader = std::function<std::optional<XdpFilterTotals>()>;

// Turns the gateway workers' single-writer counters into Prometheus families at scrape
// time (the seastar way: the packet path never touches a prometheus-cpp object).
class GatewayCollector : public prometheus::Collectable {
 public:
  // `workers[i]` are worker i's counters; they and `sessions` (may be null) must outlive the
  // collector's registration.
  explicit GatewayCollector(std::vector<const dp::WorkerCounters*> workers,
                            const dp::SessionRegistry* sessions = nullptr)
      : workers_(std::move(workers)), sessions_(sessions) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

  // Exports the XDP program's counters too (AF_XDP backend). Before registration.
  void setXdpFilter(XdpFilterReader reader) { xdpFilter_ = std::move(reader); }

 private:
  void collectSessions(std::vector<prometheus::MetricFamily>& families) const;

  std::vector<const dp::WorkerCounters*> workers_;
  const dp::SessionRegistry* sessions_;
  XdpFilterReader xdpFilter_;
};

}  // namespace braid::ctrl
