#pragma once

#include <span>
#include <string_view>

#include "dataplane/gateway/worker_counters.h"

namespace braid::dp {

// Prints one `key=value` stats line per call on stdout (for the demo, logs and tests), the
// sums over every worker's counters, then `extra` (fields of the backend, " key=value ...").
// Control thread.
class GatewayStatsPrinter {
 public:
  void print(std::span<const WorkerCounters* const> workers, bool final,
             std::string_view extra = {});

 private:
  uint64_t startNs_ = 0;
  uint64_t lastNs_ = 0;
  uint64_t lastOutputBytes_ = 0;
};

}  // namespace braid::dp
