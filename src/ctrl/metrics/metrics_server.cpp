#include "ctrl/metrics/metrics_server.h"

#include <prometheus/exposer.h>

#include <exception>

namespace braid::ctrl {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  // prometheus-cpp reports a bind failure by throwing; this is the boundary where it
  // becomes an error value.
  try {
    server->exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kIo, "metrics endpoint " + address + ": " + e.what());
  }
  auto ports = server->exposer_->GetListeningPorts();
  if (ports.empty()) return fail(ErrorCode::kIo, "metrics endpoint " + address + ": not listening");
  server->port_ = static_cast<uint16_t>(ports.front());
  return server;
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::add(const std::shared_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable);
}

}  // namespace braid::ctrl
