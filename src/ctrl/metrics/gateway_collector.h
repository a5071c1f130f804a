#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "dataplane/gateway/session_registry.h"
#include "dataplane/gateway/worker_counters.h"

namespace braid::ctrl {

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

 private:
  void collectSessions(std::vector<prometheus::MetricFamily>& families) const;

  std::vector<const dp::WorkerCounters*> workers_;
  const dp::SessionRegistry* sessions_;
};

}  // namespace braid::ctrl
