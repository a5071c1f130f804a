// braid-gateway: the ingest server. Wires config, keys, the worker and stats together.

#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "braid_config.h"
#include "ctrl/keys.h"
#include "ctrl/logging.h"
#include "ctrl/signals.h"
#include "dataplane/gateway/gateway_stats.h"
#include "dataplane/gateway/worker.h"
#include "dataplane/proto/crypto/aead.h"
#include "spdlog/spdlog.h"
#if BRAID_HAVE_METRICS
#include "ctrl/metrics/gateway_collector.h"
#include "ctrl/metrics/metrics_server.h"
#endif

namespace {

using namespace braid;

constexpr int kExitConfig = 2;

struct RunOptions {
  std::string listen = "0.0.0.0:7400";
  std::string keysPath;
  std::string secretPath = "braid-gateway.secret";
  std::string output;
  std::string aead = "auto";
  std::string logLevel = "info";
  unsigned gatewayId = 1;
  unsigned minLatencyMs = 50;
  unsigned maxLatencyMs = 10000;
  unsigned feedbackMs = 50;
  unsigned keepaliveMs = 1000;
  unsigned idleTimeoutMs = 10000;
  double handshakesPerSecond = 200;
  double statsInterval = 1.0;
  std::string metricsListen;
};

int runKeygen(uint32_t keyId, const std::string& out, bool overwrite) {
  auto key = ctrl::generateKey(keyId);
  if (!key) {
    std::fprintf(stderr, "braid-gateway keygen: %s\n", key.error().describe().c_str());
    return 1;
  }
  auto written = ctrl::writeKeyFile(out, *key, overwrite);
  if (!written) {
    std::fprintf(stderr, "braid-gateway keygen: %s\n", written.error().describe().c_str());
    return 1;
  }
  std::printf("wrote key %u to %s (mode 0600); give this file to the edge and add its line "
              "to the gateway's --keys file\n",
              keyId, out.c_str());
  return 0;
}

int runGateway(const RunOptions& options) {
  if (auto logging = ctrl::setupLogging(options.logLevel, "braid-gateway"); !logging) {
    std::fprintf(stderr, "braid-gateway: %s\n", logging.error().describe().c_str());
    return kExitConfig;
  }
  auto listen = dp::parseSocketAddress(options.listen);
  if (!listen) {
    spdlog::error("--listen: {}", listen.error().describe());
    return kExitConfig;
  }
  if (options.output.empty()) {
    spdlog::error("--output is required (file:PATH or udp://HOST:PORT)");
    return kExitConfig;
  }
  if (options.keysPath.empty()) {
    spdlog::error("--keys is required (create keys with 'braid-gateway keygen')");
    return kExitConfig;
  }
  auto keys = ctrl::loadKeyFile(options.keysPath);
  if (!keys) {
    spdlog::error("{}", keys.error().describe());
    return kExitConfig;
  }
  auto secret = ctrl::loadOrCreateSecret(options.secretPath);
  if (!secret) {
    spdlog::error("{}", secret.error().describe());
    return kExitConfig;
  }
  auto backend = proto::parseAeadBackend(options.aead);
  if (!backend) {
    spdlog::error("--aead: {}", backend.error().describe());
    return kExitConfig;
  }
  if (!proto::aeadBackendAvailable(*backend)) {
    spdlog::error("--aead {}: not available in this build or on this CPU", options.aead);
    return kExitConfig;
  }
  if (options.gatewayId == 0 || options.gatewayId > 0xffff) {
    spdlog::error("--gateway-id must be 1..65535");
    return kExitConfig;
  }

  std::vector<proto::ResponderKey> responderKeys;
  for (const auto& key : *keys) responderKeys.push_back({.id = key.id, .key = key.key});
  proto::ResponderConfig responderConfig{
      .minLatencyMs = static_cast<uint16_t>(options.minLatencyMs),
      .maxLatencyMs = static_cast<uint16_t>(options.maxLatencyMs),
      .keepaliveMs = static_cast<uint16_t>(options.keepaliveMs),
      .feedbackMs = static_cast<uint16_t>(options.feedbackMs),
      .idleTimeoutMs = options.idleTimeoutMs,
      .handshakesPerSecond = options.handshakesPerSecond,
      .handshakeBurst = options.handshakesPerSecond * 2,
      .backend = *backend,
  };
  auto responder = proto::HandshakeResponder::create(*secret, responderKeys, responderConfig);
  if (!responder) {
    spdlog::error("{}", responder.error().describe());
    return kExitConfig;
  }
  dp::SessionRegistry registry;
  auto worker = dp::Worker::create(
      dp::WorkerOptions{.listen = *listen,
                        .gatewayId = static_cast<uint16_t>(options.gatewayId),
                        .outputUrl = options.output,
                        .channel = {.backend = *backend},
                        .registry = &registry},
      std::move(*responder));
  if (!worker) {
    spdlog::error("{}", worker.error().describe());
    return 1;
  }
  auto signals = ctrl::SignalWatcher::create();
  if (!signals) {
    spdlog::error("{}", signals.error().describe());
    return 1;
  }
#if BRAID_HAVE_METRICS
  std::unique_ptr<ctrl::MetricsServer> metrics;
  std::shared_ptr<ctrl::GatewayCollector> collector;
  if (!options.metricsListen.empty()) {
    auto server = ctrl::MetricsServer::start(options.metricsListen);
    if (!server) {
      spdlog::error("--metrics-listen: {}", server.error().describe());
      return kExitConfig;
    }
    metrics = std::move(*server);
    collector = std::make_shared<ctrl::GatewayCollector>(
        std::vector<const dp::WorkerCounters*>{&(*worker)->counters()}, &registry);
    metrics->add(collector);
    spdlog::info("metrics on http://{}:{}/metrics",
                 options.metricsListen.substr(0, options.metricsListen.rfind(':')),
                 metrics->port());
  }
#else
  if (!options.metricsListen.empty()) {
    spdlog::error("--metrics-listen: this build has no Prometheus support (meson -Dmetrics)");
    return kExitConfig;
  }
#endif
  spdlog::info("braid-gateway {} listening on {} ({} keys, AEAD {}, output {})", BRAID_VERSION,
               dp::toString((*worker)->localAddress()), keys->size(),
               proto::aeadBackendName(*backend), options.output);

  std::atomic<bool> stop{false};
  std::thread workerThread([&] { (*worker)->run(stop); });
  dp::GatewayStatsPrinter stats;
  auto intervalMs = static_cast<long>(options.statsInterval * 1000);
  int exitCode = 0;
  for (;;) {
    auto signal = signals->wait(std::chrono::milliseconds(intervalMs > 0 ? intervalMs : 1000));
    if (signal && (*signal == SIGINT || *signal == SIGTERM)) {
      spdlog::info("signal {}: shutting down", *signal);
      break;
    }
    if (signal && *signal == SIGHUP) {
      spdlog::info("SIGHUP: configuration reload arrives with the typed config; nothing changed");
    }
    if (intervalMs > 0) stats.print((*worker)->counters(), false);
  }
  stop.store(true);
  workerThread.join();
  (*worker)->shutdown();
  stats.print((*worker)->counters(), true);
  std::fflush(stdout);
  return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto blocked = braid::ctrl::blockShutdownSignals(); !blocked) {
    std::fprintf(stderr, "braid-gateway: %s\n", blocked.error().describe().c_str());
    return 1;
  }
  CLI::App app{"braid-gateway: receives bonded Braid sessions, authenticates, reorders and "
               "plays them out at the negotiated latency to an output."};
  app.require_subcommand(0, 1);
  RunOptions options;
  app.add_option("--listen", options.listen, "UDP address to receive on (HOST:PORT)")
      ->capture_default_str();
  app.add_option("--keys", options.keysPath, "pre-shared key file (lines from 'keygen')");
  app.add_option("--secret-file", options.secretPath,
                 "gateway secret (created 0600 if absent; keep it across restarts)")
      ->capture_default_str();
  app.add_option("--output", options.output,
                 "output: file:PATH or udp://HOST:PORT; {key} is replaced by the edge key ID");
  app.add_option("--aead", options.aead, "AES-256-GCM implementation: auto, ipsec-mb, openssl")
      ->capture_default_str();
  app.add_option("--gateway-id", options.gatewayId, "gateway ID carried in session IDs (1-65535)")
      ->capture_default_str();
  app.add_option("--min-latency-ms", options.minLatencyMs, "lowest target latency granted")
      ->capture_default_str();
  app.add_option("--max-latency-ms", options.maxLatencyMs, "highest target latency granted")
      ->capture_default_str();
  app.add_option("--feedback-ms", options.feedbackMs, "ACK/receive-report interval")
      ->capture_default_str();
  app.add_option("--keepalive-ms", options.keepaliveMs, "keepalive interval told to edges")
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", options.idleTimeoutMs, "close sessions silent this long")
      ->capture_default_str();
  app.add_option("--handshake-rate", options.handshakesPerSecond,
                 "authenticated handshakes per second (spoofed ones never cost more than a "
                 "cookie)")
      ->capture_default_str();
  app.add_option("--stats-interval", options.statsInterval,
                 "seconds between stats lines on stdout (0: only at exit)")
      ->capture_default_str();
  app.add_option("--log-level", options.logLevel, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--metrics-listen", options.metricsListen,
                 "serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port)");

  auto* keygen = app.add_subcommand("keygen", "write a new pre-shared key file for one edge");
  uint32_t keyId = 0;
  std::string keyOut;
  bool overwrite = false;
  keygen->add_option("--key-id", keyId, "key ID (1-4294967295)")->required();
  keygen->add_option("--out", keyOut, "file to create (mode 0600)")->required();
  keygen->add_flag("--force", overwrite, "overwrite an existing file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitConfig;
  }
  if (keygen->parsed()) return runKeygen(keyId, keyOut, overwrite);
  return runGateway(options);
}
