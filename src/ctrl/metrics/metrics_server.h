#pragma once

#include <prometheus/collectable.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/proto/result.h"

namespace prometheus {
class Exposer;
}

namespace braid::ctrl {

// The Prometheus pull endpoint (prometheus-cpp's civetweb exposer) serving /metrics.
// Collectors are read on the exposer's own thread at scrape time.
class MetricsServer {
 public:
  // Listens on "HOST:PORT" (port 0: any free port). Control thread.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address);
  ~MetricsServer();

  // Serves `collectable` from now on; it must outlive the server or be reset first.
  void add(const std::shared_ptr<prometheus::Collectable>& collectable);
  uint16_t port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t port_ = 0;
};

}  // namespace braid::ctrl
