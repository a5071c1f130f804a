// braid-linkem: the trace-driven link emulator (docs/linkem.md). Wires the scenario file,
// the command-line overrides, the relay and the stats lines together.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "braid_config.h"
#include "ctrl/config/linkem_config.h"
#include "ctrl/logging.h"
#include "ctrl/signals.h"
#include "dataplane/clock.h"
#include "linkem/relay.h"
#include "linkem/scenario.h"

namespace {

using namespace braid;

constexpr int kExitConfig = 2;

std::string directionStats(const char* name, const linkem::DirectionCounters& c, uint32_t queued) {
  return fmt::format(
      "{0}_rx={1} {0}_tx={2} {0}_tx_bytes={3} {0}_drop={4} {0}_queue={5} "
      "{0}_max_late_us={6}",
      name, c.received, c.sent, c.sentBytes, c.dropped(), queued, c.maxLateNs / 1000);
}

void printStats(const char* kind, linkem::Relay& relay, uint64_t nowNs) {
  for (size_t i = 0; i < relay.linkCount(); ++i) {
    linkem::LinkStatus s = relay.status(i, nowNs);
    std::string drops;
    for (size_t k = 1; k < linkem::kDropKinds; ++k) {
      uint64_t n = s.up.drops[k] + s.down.drops[k];
      if (n > 0) drops += fmt::format(" {}={}", linkem::dropName(static_cast<linkem::Drop>(k)), n);
    }
    std::printf("%s t=%.1f link=%s %s %s rebinds=%llu%s\n", kind, static_cast<double>(nowNs) / 1e9,
                s.name.c_str(), directionStats("up", s.up, s.upQueued).c_str(),
                directionStats("down", s.down, s.downQueued).c_str(),
                static_cast<unsigned long long>(s.rebinds), drops.c_str());
  }
  std::fflush(stdout);
}

std::string describe(const ctrl::LinkemDirectionConfig& d) {
  std::string rate = d.trace          ? "trace " + *d.trace
                     : d.rateKbps > 0 ? fmt::format("{} kbit/s", d.rateKbps)
                                      : std::string("no rate limit");
  return fmt::format("{}, {} ms", rate, d.delayMs);
}

std::string folderOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash == 0 ? 1 : slash);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto blocked = ctrl::blockShutdownSignals(); !blocked) {
    std::fprintf(stderr, "braid-linkem: %s\n", blocked.error().describe().c_str());
    return 1;
  }
  CLI::App app{
      "braid-linkem: emulates N network links between a braid-edge and a "
      "braid-gateway (Mahimahi traces or constant rate, delay, jitter, loss, queues, "
      "outages, NAT rebinding), as a UDP relay. See docs/linkem.md."};
  std::string scenarioPath, gateway, record, logLevel;
  double duration = -1, statsInterval = -1;
  uint64_t seed = 0;
  bool checkConfig = false;
  app.add_option("--scenario", scenarioPath, "scenario TOML file (docs/config.md#braid-linkem)")
      ->required();
  app.add_flag("--check-config", checkConfig,
               "validate the scenario and its traces, print it with every default, and exit");
  app.add_option("--gateway", gateway, "where uplink packets go, HOST:PORT (overrides the file)");
  app.add_option("--record", record, "write the per-packet CSV record here");
  app.add_option("--duration", duration, "stop after this many seconds (0: run until signalled)")
      ->check(CLI::Range(0.0, 7 * 24 * 3600.0));
  app.add_option("--seed", seed, "seed of every random draw (overrides the file)");
  app.add_option("--stats-interval", statsInterval, "seconds between stats lines (0: at exit)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--log-level", logLevel, "trace, debug, info, warn, error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitConfig;
  }

  auto loaded = ctrl::loadLinkemConfig(scenarioPath);
  if (!loaded) {
    std::fprintf(stderr, "braid-linkem: %s\n", loaded.error().context.c_str());
    return kExitConfig;
  }
  ctrl::LinkemConfig config = std::move(*loaded);
  if (!gateway.empty()) config.gateway = gateway;
  if (!record.empty()) config.record = record;
  if (duration >= 0) config.durationS = duration;
  if (app.get_option("--seed")->count() > 0) config.seed = seed;
  if (statsInterval >= 0) config.statsIntervalSeconds = statsInterval;
  if (!logLevel.empty()) config.logLevel = logLevel;
  auto scenario = linkem::buildScenario(config, folderOf(scenarioPath));
  if (!scenario) {
    std::fprintf(stderr, "braid-linkem: %s: %s\n", scenarioPath.c_str(),
                 scenario.error().context.c_str());
    return kExitConfig;
  }
  if (checkConfig) {
    std::printf("%s", ctrl::renderEffective(config).c_str());
    return 0;
  }
  if (auto logging = ctrl::setupLogging(config.logLevel, "braid-linkem"); !logging) {
    std::fprintf(stderr, "braid-linkem: %s\n", logging.error().describe().c_str());
    return kExitConfig;
  }
  auto signals = ctrl::SignalWatcher::create();
  if (!signals) {
    spdlog::error("{}", signals.error().describe());
    return 1;
  }
  auto relay = linkem::Relay::create(std::move(scenario->relay));
  if (!relay) {
    spdlog::error("{}", relay.error().context);
    return 1;
  }
  for (size_t i = 0; i < (*relay)->linkCount(); ++i) {
    linkem::LinkStatus s = (*relay)->status(i, 0);
    const ctrl::LinkemLinkConfig& l = config.links[i];
    spdlog::info("link {}: edge → {}{}, gateway {} from {}; up {}, down {}", s.name,
                 dp::toString(s.listen), l.device ? " on " + *l.device : "",
                 l.gateway.value_or(config.gateway.value_or("")), dp::toString(s.towardsGateway),
                 describe(l.up), describe(l.down));
  }
  spdlog::info("ready: {} links, seed {}, {}{}", (*relay)->linkCount(), config.seed,
               config.durationS > 0 ? fmt::format("for {} s", config.durationS) : "until stopped",
               config.record ? ", record " + *config.record : "");
  auto tickNs = static_cast<uint64_t>(config.statsIntervalSeconds * 1e9);
  linkem::Relay& r = **relay;
  auto ran = r.run(signals->fd(), tickNs, [&](uint64_t now) { printStats("stats", r, now); });
  auto signal = signals->wait(std::chrono::milliseconds(0));
  if (signal) spdlog::info("signal {}: stopping", *signal);
  printStats("final", r, dp::monotonicNs() - r.epochNs());
  if (!ran) {
    spdlog::error("{}", ran.error().context);
    return 1;
  }
  return 0;
}
