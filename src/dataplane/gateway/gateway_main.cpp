// braid-gateway: the ingest server. Wires config, keys, the workers and stats together.

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <thread>

#include "braid_config.h"
#include "ctrl/config/gateway_config.h"
#include "ctrl/keys.h"
#include "ctrl/logging.h"
#include "ctrl/signals.h"
#include "dataplane/gateway/gateway_stats.h"
#include "dataplane/gateway/recovery_trace.h"
#include "dataplane/gateway/worker.h"
#include "dataplane/io/kernel_udp_port.h"
#include "dataplane/proto/crypto/aead.h"
#include "spdlog/spdlog.h"
#if BRAID_HAVE_XDP
#include "dataplane/gateway/xdp_backend.h"
#endif
#if BRAID_HAVE_DPDK
#include "dataplane/io/dpdk_port.h"
#endif
#if BRAID_HAVE_METRICS
#include "ctrl/metrics/gateway_collector.h"
#include "ctrl/metrics/metrics_server.h"
#endif

namespace {

using namespace braid;

constexpr int kExitConfig = 2;
// Output rings the output pool keeps mapped and populated for the workers' new sessions
// (docs/gateway.md §3): a reconnecting fleet takes them while the pool's thread maps more.
constexpr size_t kReadyOutputRings = 4;

struct RunOptions {
  std::string configPath;
  // Re-applies the explicit command-line options (they win over the file, also on SIGHUP).
  std::function<void(struct RunOptions&)> cliOverrides;
  std::string listen = "0.0.0.0:7400";
  std::string keysPath;
  std::string secretPath = "braid-gateway.secret";
  std::vector<dp::OutputTarget> outputs;
  std::string aead = "auto";
  std::string logLevel = "info";
  unsigned gatewayId = 1;
  unsigned workers = 1;
  unsigned outputThreads = 1;
  double outputLingerSeconds = 30;
  std::string backend = "kernel";  // "kernel", "af_xdp" or "dpdk"
  std::string xdpInterface;        // af_xdp: the interface (empty: not set)
  std::string dpdkEalArgs;         // dpdk: the EAL arguments (empty: not set)
  unsigned dpdkPort = 0;           // dpdk: the ethdev port ID
  int dpdkExceptionPort = -1;      // dpdk: the exception path's ethdev port ID (-1: none)
  std::string recoveryTracePath;   // --recovery-trace (tests, troubleshooting): empty for none
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
  std::printf(
      "wrote key %u to %s (mode 0600); give this file to the edge and add its line "
      "to the gateway's --keys file\n",
      keyId, out.c_str());
  return 0;
}

// Fills `options` from a config file's values.
void applyConfig(const ctrl::GatewayConfig& c, RunOptions& options) {
  options.listen = c.listen;
  options.keysPath = c.keysFile;
  options.secretPath = c.secretFile;
  options.outputs.clear();
  for (const auto& output : c.outputs) {
    options.outputs.push_back(dp::OutputTarget{.url = output.url, .keyId = output.keyId});
  }
  options.aead = c.aead;
  options.logLevel = c.logLevel;
  options.gatewayId = c.gatewayId;
  options.workers = c.workers;
  options.outputThreads = c.outputThreads;
  options.outputLingerSeconds = c.outputLingerSeconds;
  options.backend = c.backend;
  options.xdpInterface = c.xdpInterface.value_or("");
  options.dpdkEalArgs = c.dpdkEalArgs.value_or("");
  options.dpdkPort = c.dpdkPort;
  options.dpdkExceptionPort = c.dpdkExceptionPort ? static_cast<int>(*c.dpdkExceptionPort) : -1;
  options.minLatencyMs = c.minLatencyMs;
  options.maxLatencyMs = c.maxLatencyMs;
  options.feedbackMs = c.feedbackMs;
  options.keepaliveMs = c.keepaliveMs;
  options.idleTimeoutMs = c.idleTimeoutMs;
  options.handshakesPerSecond = c.handshakesPerSecond;
  options.statsInterval = c.statsIntervalSeconds;
  options.metricsListen = c.metricsListen;
}

// The running options as a config (to render for --check-config and to diff on SIGHUP).
ctrl::GatewayConfig toConfig(const RunOptions& options) {
  ctrl::GatewayConfig c;
  c.listen = options.listen;
  c.keysFile = options.keysPath;
  c.secretFile = options.secretPath;
  for (const auto& output : options.outputs) c.outputs.push_back({output.url, output.keyId});
  c.aead = options.aead;
  c.logLevel = options.logLevel;
  c.gatewayId = options.gatewayId;
  c.workers = options.workers;
  c.outputThreads = options.outputThreads;
  c.outputLingerSeconds = options.outputLingerSeconds;
  c.backend = options.backend;
  if (!options.xdpInterface.empty()) c.xdpInterface = options.xdpInterface;
  if (!options.dpdkEalArgs.empty()) c.dpdkEalArgs = options.dpdkEalArgs;
  c.dpdkPort = options.dpdkPort;
  if (options.dpdkExceptionPort >= 0) {
    c.dpdkExceptionPort = static_cast<uint32_t>(options.dpdkExceptionPort);
  }
  c.minLatencyMs = options.minLatencyMs;
  c.maxLatencyMs = options.maxLatencyMs;
  c.feedbackMs = options.feedbackMs;
  c.keepaliveMs = options.keepaliveMs;
  c.idleTimeoutMs = options.idleTimeoutMs;
  c.handshakesPerSecond = options.handshakesPerSecond;
  c.statsIntervalSeconds = options.statsInterval;
  c.metricsListen = options.metricsListen;
  return c;
}

// SIGHUP: reads the config file again and applies what can change at run time (log level,
// keys, outputs); reports keys that need a restart. A bad file changes nothing.
void reload(RunOptions& options, std::span<const std::unique_ptr<dp::Worker>> workers) {
  if (options.configPath.empty()) {
    spdlog::info("SIGHUP: no --config file; re-reading the key file only");
  }
  ctrl::GatewayConfig before;
  ctrl::GatewayConfig after;
  if (!options.configPath.empty()) {
    auto loaded = ctrl::loadGatewayConfig(options.configPath);
    if (!loaded) {
      spdlog::error("SIGHUP: {} is not valid, nothing changed:\n{}", options.configPath,
                    loaded.error().context);
      return;
    }
    RunOptions reloaded;
    applyConfig(*loaded, reloaded);
    if (options.cliOverrides) options.cliOverrides(reloaded);
    after = toConfig(reloaded);
    before = toConfig(options);
  }
  for (const ctrl::ConfigChange& change : ctrl::diffConfig(before, after)) {
    if (change.reload == ctrl::Reload::kRestart) {
      spdlog::warn("SIGHUP: {} changed ({} -> {}): needs a restart, still using {}", change.key,
                   change.before, change.after, change.before);
    } else {
      spdlog::info("SIGHUP: {} changed ({} -> {}): applied", change.key, change.before,
                   change.after);
    }
  }
  if (!options.configPath.empty()) {
    if (after.logLevel != options.logLevel) {
      if (auto level = ctrl::parseLogLevel(after.logLevel)) spdlog::set_level(*level);
      options.logLevel = after.logLevel;
    }
    options.statsInterval = after.statsIntervalSeconds;
    std::vector<dp::OutputTarget> outputs;
    for (const auto& output : after.outputs) outputs.push_back({output.url, output.keyId});
    bool outputsChanged = outputs.size() != options.outputs.size();
    for (size_t i = 0; !outputsChanged && i < outputs.size(); ++i) {
      outputsChanged =
          outputs[i].url != options.outputs[i].url || outputs[i].keyId != options.outputs[i].keyId;
    }
    if (outputsChanged) {
      options.outputs = outputs;
      for (const auto& worker : workers) {
        if (!worker->post([outputs](dp::Worker& w) mutable { w.setOutputs(std::move(outputs)); })) {
          spdlog::error("SIGHUP: worker {}'s mailbox is full; its outputs not changed",
                        worker->index());
        }
      }
    }
    options.keysPath = after.keysFile;
  }
  // The key file is re-read on every SIGHUP: its contents change more often than its path.
  auto keys = ctrl::loadKeyFile(options.keysPath);
  if (!keys) {
    spdlog::error("SIGHUP: keys not reloaded: {}", keys.error().describe());
    return;
  }
  std::vector<proto::ResponderKey> responderKeys;
  for (const auto& key : *keys) responderKeys.push_back({.id = key.id, .key = key.key});
  size_t count = responderKeys.size();
  for (const auto& worker : workers) {
    if (!worker->post([keysForWorker = responderKeys](dp::Worker& w) mutable {
          w.setKeys(std::move(keysForWorker));
        })) {
      spdlog::error("SIGHUP: worker {}'s mailbox is full; its keys not changed", worker->index());
      return;
    }
  }
  spdlog::info("SIGHUP: {} keys loaded from {} (used by new handshakes)", count, options.keysPath);
  spdlog::debug("SIGHUP: reload done");
}

int runGateway(RunOptions& options) {
  if (auto logging = ctrl::setupLogging(options.logLevel, "braid-gateway"); !logging) {
    std::fprintf(stderr, "braid-gateway: %s\n", logging.error().describe().c_str());
    return kExitConfig;
  }
  auto listen = dp::parseSocketAddress(options.listen);
  if (!listen) {
    spdlog::error("--listen: {}", listen.error().describe());
    return kExitConfig;
  }
  if (options.outputs.empty()) {
    spdlog::error(
        "no output: give --output (file:PATH or udp://HOST:PORT) or [[outputs]] in "
        "the config");
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

  if (options.workers == 0 || options.workers > dp::kMaxWorkers) {
    spdlog::error("--workers must be 1..{}", dp::kMaxWorkers);
    return kExitConfig;
  }
  if (options.backend != "kernel" && options.backend != "af_xdp" && options.backend != "dpdk") {
    spdlog::error("--backend must be kernel, af_xdp or dpdk, not '{}'", options.backend);
    return kExitConfig;
  }
#if BRAID_HAVE_DPDK
  // Declared before the workers: their ports use its mbuf pool, and it stops the device and
  // the EAL after they are gone.
  std::unique_ptr<dp::DpdkDevice> dpdk;
  if (options.backend == "dpdk") {
    if (options.dpdkPort > 0xffff) {
      spdlog::error("--dpdk-port {}: not a DPDK port ID", options.dpdkPort);
      return kExitConfig;
    }
    std::optional<uint16_t> exceptionPort;
    if (options.dpdkExceptionPort >= 0) {
      exceptionPort = static_cast<uint16_t>(options.dpdkExceptionPort);
    }
    auto created =
        dp::DpdkDevice::create(options.dpdkEalArgs, static_cast<uint16_t>(options.dpdkPort),
                               *listen, options.workers, exceptionPort);
    if (!created) {
      spdlog::error("backend dpdk: {}", created.error().context);
      return 1;
    }
    dpdk = std::move(*created);
    spdlog::info("DPDK port {} ({}) with {} queue pair(s); {}", options.dpdkPort,
                 dpdk->driverName(), dpdk->queueCount(),
                 exceptionPort
                     ? fmt::format("frames for the kernel go to DPDK port {}", *exceptionPort)
                     : std::string("no exception port: frames for the kernel are "
                                   "dropped (dpdk_other_dropped)"));
  }
#else
  if (options.backend == "dpdk") {
    spdlog::error("--backend dpdk: this build has no DPDK support (meson -Ddpdk)");
    return kExitConfig;
  }
#endif
#if BRAID_HAVE_XDP
  // Declared before the workers: their ports share its state, and it detaches the program
  // after they are gone.
  std::unique_ptr<dp::XdpBackend> xdp;
  if (options.backend == "af_xdp") {
    auto created = dp::XdpBackend::create(options.xdpInterface, *listen, options.workers);
    if (!created) {
      spdlog::error("backend af_xdp: {}", created.error().context);
      return 1;
    }
    xdp = std::move(*created);
  }
#else
  if (options.backend == "af_xdp") {
    spdlog::error("--backend af_xdp: this build has no AF_XDP support (meson -Dxdp)");
    return kExitConfig;
  }
#endif
  // Worker `index`'s receive/transmit backend.
  auto makePort = [&](unsigned index,
                      const dp::SocketAddress& bindTo) -> Result<std::unique_ptr<dp::PacketPort>> {
#if BRAID_HAVE_XDP
    if (xdp) return xdp->makePort(index);
#endif
#if BRAID_HAVE_DPDK
    if (dpdk) return dpdk->makePort(index);
#endif
    (void)index;
    auto port = dp::KernelUdpPort::create(dp::KernelUdpPortOptions{.listen = bindTo});
    if (!port) return tl::unexpected(port.error());
    return std::unique_ptr<dp::PacketPort>(std::move(*port));
  };

  std::vector<proto::ResponderKey> responderKeys;
  for (const auto& key : *keys) responderKeys.push_back({.id = key.id, .key = key.key});
  // Every worker answers the handshakes of its share of the keys (docs/gateway.md §3): the
  // gateway-wide rate is split between them.
  double perWorkerRate = options.handshakesPerSecond / options.workers;
  proto::ResponderConfig responderConfig{
      .minLatencyMs = static_cast<uint16_t>(options.minLatencyMs),
      .maxLatencyMs = static_cast<uint16_t>(options.maxLatencyMs),
      .keepaliveMs = static_cast<uint16_t>(options.keepaliveMs),
      .feedbackMs = static_cast<uint16_t>(options.feedbackMs),
      .idleTimeoutMs = options.idleTimeoutMs,
      .handshakesPerSecond = perWorkerRate,
      .handshakeBurst = perWorkerRate * 2,
      .backend = *backend,
  };
  dp::SessionRegistry registry;
  dp::OutputClaims claims;
  // Declared before the workers: their sessions' outputs are drained by it until they close.
  auto outputPool =
      dp::OutputPool::start({.threads = options.outputThreads,
                             .readyRings = kReadyOutputRings,
                             .readyRingChunks = dp::WorkerOptions{}.outputQueueChunks});
  if (!outputPool) {
    spdlog::error("--output-threads: {}", outputPool.error().describe());
    return kExitConfig;
  }
  // Declared before the workers too: they take their sessions' arenas from it and give them
  // back until their sessions are gone.
  auto arenas = dp::ArenaPool::start(
      dp::GatewaySession::arenaBytes(dp::WorkerOptions{}.jitterCapacity), options.workers);
  if (!arenas) {
    spdlog::error("{}", arenas.error().describe());
    return 1;
  }
  std::vector<std::unique_ptr<dp::Worker>> workers;
  // One trace ring per worker (each is single-producer), drained here into the file.
  std::vector<std::unique_ptr<dp::RecoveryTrace>> traces;
  std::FILE* traceFile = nullptr;
  if (!options.recoveryTracePath.empty()) {
    traceFile = std::fopen(options.recoveryTracePath.c_str(), "w");
    if (traceFile == nullptr) {
      spdlog::error("--recovery-trace {}: {}", options.recoveryTracePath, std::strerror(errno));
      return kExitConfig;
    }
    std::fprintf(traceFile, "session,media_seq,mechanism\n");
  }
  for (unsigned index = 0; index < options.workers; ++index) {
    if (traceFile != nullptr) traces.push_back(std::make_unique<dp::RecoveryTrace>());
    auto responder = proto::HandshakeResponder::create(*secret, responderKeys, responderConfig);
    if (!responder) {
      spdlog::error("{}", responder.error().describe());
      return kExitConfig;
    }
    // The first socket may take an ephemeral port (tests); the others join its port.
    dp::SocketAddress bindTo = workers.empty() ? *listen : workers.front()->localAddress();
    auto port = makePort(index, bindTo);
    if (!port) {
      spdlog::error("{}", port.error().describe());
      return 1;
    }
    auto worker = dp::Worker::create(
        dp::WorkerOptions{
            .gatewayId = static_cast<uint16_t>(options.gatewayId),
            .workerIndex = static_cast<uint8_t>(index),
            .workerCount = static_cast<uint8_t>(options.workers),
            .outputs = options.outputs,
            .outputPool = outputPool->get(),
            .arenas = arenas->get(),
            .outputLingerNs = static_cast<uint64_t>(options.outputLingerSeconds * 1e9),
            .channel = {.backend = *backend},
            .registry = &registry,
            .claims = &claims,
            .recoveryTrace = traceFile != nullptr ? traces.back().get() : nullptr},
        std::move(*responder), std::move(*port));
    if (!worker) {
      spdlog::error("{}", worker.error().describe());
      return 1;
    }
    workers.push_back(std::move(*worker));
  }
  if (auto connected = dp::Worker::connect(workers); !connected) {
    spdlog::error("{}", connected.error().describe());
    return 1;
  }
  std::vector<const dp::WorkerCounters*> workerCounters;
  for (const auto& worker : workers) workerCounters.push_back(&worker->counters());
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
    collector = std::make_shared<ctrl::GatewayCollector>(workerCounters, &registry);
#if BRAID_HAVE_XDP
    if (xdp) {
      collector->setXdpFilter([backend = xdp.get()]() -> std::optional<ctrl::XdpFilterTotals> {
        auto stats = backend->readStats();
        if (!stats) return std::nullopt;
        ctrl::XdpFilterTotals totals{.redirected = stats->packets(BRAID_XDP_REDIRECTED),
                                     .dropped = {}};
        for (int s = BRAID_XDP_DROP_TOO_SHORT; s < BRAID_XDP_STAT_COUNT; ++s) {
          auto stat = static_cast<braid_xdp_stat>(s);
          totals.dropped.emplace_back(dp::xdpStatName(stat), stats->packets(stat));
        }
        return totals;
      });
    }
#endif
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
  spdlog::info(
      "braid-gateway {} listening on {} ({} keys, AEAD {}, {} worker(s), backend {}, {} "
      "output(s) on {} output thread(s), first {})",
      BRAID_VERSION, dp::toString(workers.front()->localAddress()), keys->size(),
      proto::aeadBackendName(*backend), workers.size(), options.backend, options.outputs.size(),
      options.outputThreads, options.outputs.front().url);

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (const auto& worker : workers) {
    threads.emplace_back([&stop, w = worker.get()] {
      std::string name = "braid-worker" + std::to_string(w->index());
      pthread_setname_np(pthread_self(), name.c_str());
      w->run(stop);
    });
  }
  dp::GatewayStatsPrinter stats;
  // The backend's own fields on the stats line (AF_XDP: the junk filter's counts by reason).
  auto backendFields = [&]() -> std::string {
#if BRAID_HAVE_XDP
    if (xdp) return xdp->statsFields();
#endif
#if BRAID_HAVE_DPDK
    if (dpdk) return dpdk->statsFields();
#endif
    return {};
  };
  auto drainTraces = [&traces, traceFile] {
    for (const auto& trace : traces) {
      trace->drain([traceFile](const dp::RecoveryEvent& e) {
        std::fprintf(traceFile, "%016llx,%llu,%s\n", (unsigned long long)e.sessionId,
                     (unsigned long long)e.mediaSeq, dp::recoveryMechanismName(e.mechanism));
      });
    }
  };
  auto intervalMs = static_cast<long>(options.statsInterval * 1000);
  int exitCode = 0;
  for (;;) {
    // The trace rings are drained at least every 200 ms, so they rarely fill.
    long waitMs = intervalMs > 0 ? intervalMs : 1000;
    if (traceFile != nullptr) waitMs = std::min(waitMs, 200L);
    auto signal = signals->wait(std::chrono::milliseconds(waitMs));
    drainTraces();
    if (signal && (*signal == SIGINT || *signal == SIGTERM)) {
      spdlog::info("signal {}: shutting down", *signal);
      break;
    }
    if (signal && *signal == SIGHUP) reload(options, workers);
    if (intervalMs > 0) stats.print(workerCounters, false, backendFields());
  }
  stop.store(true);
  for (std::thread& thread : threads) thread.join();
  for (const auto& worker : workers) worker->shutdown();
  if (traceFile != nullptr) {
    drainTraces();
    uint64_t dropped = 0;
    for (const auto& trace : traces) dropped += trace->dropped();
    if (dropped > 0) spdlog::warn("recovery trace: {} events dropped (ring full)", dropped);
    std::fclose(traceFile);
  }
  stats.print(workerCounters, true, backendFields());
  std::fflush(stdout);
  return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto blocked = braid::ctrl::blockShutdownSignals(); !blocked) {
    std::fprintf(stderr, "braid-gateway: %s\n", blocked.error().describe().c_str());
    return 1;
  }
  CLI::App app{
      "braid-gateway: receives bonded Braid sessions, authenticates, reorders and "
      "plays them out at the negotiated latency to an output."};
  app.require_subcommand(0, 1);
  RunOptions options;
  std::string outputUrl;
  bool checkConfig = false;
  app.add_option("--config", options.configPath,
                 "TOML config file (docs/config.md); command-line options override it");
  app.add_flag("--check-config", checkConfig,
               "validate the configuration, print it with every default filled in, and exit");
  app.add_option("--listen", options.listen, "UDP address to receive on (HOST:PORT)")
      ->capture_default_str();
  app.add_option("--keys", options.keysPath, "pre-shared key file (lines from 'keygen')");
  app.add_option("--secret-file", options.secretPath,
                 "gateway secret (created 0600 if absent; keep it across restarts)")
      ->capture_default_str();
  app.add_option(
      "--output", outputUrl,
      "output: file:PATH, udp://HOST:PORT or null:; {key} is replaced by the edge key ID");
  app.add_option("--aead", options.aead, "AES-256-GCM implementation: auto, ipsec-mb, openssl")
      ->capture_default_str();
  app.add_option("--gateway-id", options.gatewayId, "gateway ID carried in session IDs (1-65535)")
      ->capture_default_str();
  app.add_option("--workers", options.workers,
                 "worker threads, one SO_REUSEPORT socket each on the listen address (1-64)")
      ->capture_default_str();
  app.add_option("--output-threads", options.outputThreads,
                 "threads that write the outputs, shared by all sessions (1-64)")
      ->capture_default_str();
  app.add_option("--output-linger-s", options.outputLingerSeconds,
                 "seconds an output stays open with no session; a file reopened later for the "
                 "same key is appended to (1-86400)")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  app.add_option("--backend", options.backend,
                 "receive backend: kernel (UDP sockets), af_xdp (XDP program on "
                 "--xdp-interface, worker i on rx queue i; root) or dpdk (DPDK port "
                 "--dpdk-port, worker i on queue pair i; root)")
      ->capture_default_str();
  app.add_option("--xdp-interface", options.xdpInterface,
                 "af_xdp: the interface to attach to (needs as many rx queues as workers)");
  app.add_option("--dpdk-eal-args", options.dpdkEalArgs,
                 "dpdk: EAL arguments, e.g. \"--no-huge -m 256 --no-pci --no-shconf "
                 "--vdev=net_af_packet0,iface=eth1,qpairs=2\"");
  app.add_option("--dpdk-port", options.dpdkPort, "dpdk: the ethdev port ID")
      ->capture_default_str();
  app.add_option("--dpdk-exception-port", options.dpdkExceptionPort,
                 "dpdk: ethdev port ID of the path to the kernel (a net_tap vdev): frames that "
                 "are not Braid, ARP or ping for the gateway go there, and what the kernel "
                 "sends there goes out (not given: they are dropped)")
      ->check(CLI::Range(0, 1023));
  app.add_option("--recovery-trace", options.recoveryTracePath,
                 "write one CSV line per recovered media packet (session, sequence, mechanism: "
                 "arq or fec) to PATH, off the packet path (tests, troubleshooting)");
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

  // The file gives the base values, explicit command-line options override them.
  RunOptions effective;
  effective.configPath = options.configPath;
  if (!options.configPath.empty()) {
    auto config = ctrl::loadGatewayConfig(options.configPath);
    if (!config) {
      std::fprintf(stderr, "braid-gateway: %s\n", config.error().context.c_str());
      return kExitConfig;
    }
    applyConfig(*config, effective);
  } else {
    effective.metricsListen.clear();  // without a config file, metrics only on request
  }
  std::set<std::string> givenNames;
  for (const char* name : {"--listen",
                           "--keys",
                           "--secret-file",
                           "--output",
                           "--aead",
                           "--gateway-id",
                           "--workers",
                           "--output-threads",
                           "--output-linger-s",
                           "--backend",
                           "--xdp-interface",
                           "--dpdk-eal-args",
                           "--dpdk-port",
                           "--dpdk-exception-port",
                           "--min-latency-ms",
                           "--max-latency-ms",
                           "--feedback-ms",
                           "--keepalive-ms",
                           "--idle-timeout-ms",
                           "--handshake-rate",
                           "--stats-interval",
                           "--log-level",
                           "--metrics-listen"}) {
    if (app.get_option(name)->count() > 0) givenNames.insert(name);
  }
  effective.cliOverrides = [options, outputUrl, givenNames](RunOptions& e) {
    auto given = [&givenNames](const char* name) { return givenNames.count(name) > 0; };
    if (given("--listen")) e.listen = options.listen;
    if (given("--keys")) e.keysPath = options.keysPath;
    if (given("--secret-file")) e.secretPath = options.secretPath;
    if (given("--output")) e.outputs = {dp::OutputTarget{.url = outputUrl, .keyId = {}}};
    if (given("--aead")) e.aead = options.aead;
    if (given("--gateway-id")) e.gatewayId = options.gatewayId;
    if (given("--workers")) e.workers = options.workers;
    if (given("--output-threads")) e.outputThreads = options.outputThreads;
    if (given("--output-linger-s")) e.outputLingerSeconds = options.outputLingerSeconds;
    if (given("--backend")) e.backend = options.backend;
    if (given("--xdp-interface")) e.xdpInterface = options.xdpInterface;
    if (given("--dpdk-eal-args")) e.dpdkEalArgs = options.dpdkEalArgs;
    if (given("--dpdk-port")) e.dpdkPort = options.dpdkPort;
    if (given("--dpdk-exception-port")) e.dpdkExceptionPort = options.dpdkExceptionPort;
    if (given("--min-latency-ms")) e.minLatencyMs = options.minLatencyMs;
    if (given("--max-latency-ms")) e.maxLatencyMs = options.maxLatencyMs;
    if (given("--feedback-ms")) e.feedbackMs = options.feedbackMs;
    if (given("--keepalive-ms")) e.keepaliveMs = options.keepaliveMs;
    if (given("--idle-timeout-ms")) e.idleTimeoutMs = options.idleTimeoutMs;
    if (given("--handshake-rate")) e.handshakesPerSecond = options.handshakesPerSecond;
    if (given("--stats-interval")) e.statsInterval = options.statsInterval;
    if (given("--log-level")) e.logLevel = options.logLevel;
    if (given("--metrics-listen")) e.metricsListen = options.metricsListen;
  };
  effective.cliOverrides(effective);
  if (checkConfig) {
    std::printf("%s", ctrl::renderEffective(toConfig(effective)).c_str());
    return 0;
  }
  return runGateway(effective);
}
