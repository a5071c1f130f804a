#pragma once

// braid-gateway's config file: typed struct, TOML loading with whole-file validation, the
// effective config for --check-config, and the SIGHUP diff. Keys are listed in docs/config.md
// (kept equal to gatewaySchema() by a test).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrl/config/schema.h"
#include "dataplane/proto/result.h"

namespace braid::ctrl {

// One [[outputs]] table: where played-out media goes.
struct OutputConfig {
  std::string url = {};  // file:PATH or udp://HOST:PORT; {key} becomes the edge key ID
  std::optional<uint32_t> keyId = std::nullopt;  // only sessions of this key; unset: every session

  bool operator==(const OutputConfig&) const = default;
};

// Member initializers are the documented defaults; every member has one, so partial
// designated initializers stay clear of g++ 12's -Wmissing-field-initializers.
struct GatewayConfig {
  std::string listen = "0.0.0.0:7400";
  uint32_t gatewayId = 1;
  uint32_t workers = 1;
  uint32_t outputThreads = 1;
  double outputLingerSeconds = 30;
  std::string backend = "kernel";                            // "kernel", "af_xdp" or "dpdk"
  std::optional<std::string> xdpInterface = std::nullopt;    // af_xdp: the interface to attach to
  std::optional<std::string> dpdkEalArgs = std::nullopt;     // dpdk: EAL command line
  uint32_t dpdkPort = 0;                                     // dpdk: ethdev port ID
  std::optional<uint32_t> dpdkExceptionPort = std::nullopt;  // dpdk: exception path's port ID
  std::string aead = "auto";
  std::string keysFile = {};
  std::string secretFile = "braid-gateway.secret";
  uint32_t minLatencyMs = 50;
  uint32_t maxLatencyMs = 10000;
  uint32_t feedbackMs = 50;
  uint32_t keepaliveMs = 1000;
  uint32_t idleTimeoutMs = 10000;
  double handshakesPerSecond = 200;
  std::string logLevel = "info";
  double statsIntervalSeconds = 1.0;
  std::string metricsListen = "127.0.0.1:9464";
  std::vector<OutputConfig> outputs = {};

  bool operator==(const GatewayConfig&) const = default;
};

// The gateway's keys, in file order. Any thread (built once, then read-only).
const Schema<GatewayConfig>& gatewaySchema();

// Parses and validates a whole gateway config; `name` is the file name errors carry.
// Any thread. Returns the config, or one error per problem sorted by line.
[[nodiscard]] ConfigResult<GatewayConfig> checkGatewayConfig(std::string_view text,
                                                             std::string_view name);

// checkGatewayConfig() with the errors joined into one kParse Error, one per line.
[[nodiscard]] Result<GatewayConfig> parseGatewayConfig(std::string_view text,
                                                       std::string_view name);

// Reads and validates the file at `path` (errors name it as given). Any thread.
// Returns the config, or a kIo / kParse Error listing every problem.
[[nodiscard]] Result<GatewayConfig> loadGatewayConfig(const std::string& path);

// The config as TOML with every default written out (for --check-config); parsing it gives
// back `config`. Any thread.
std::string renderEffective(const GatewayConfig& config);

// Keys that differ, each marked live-reloadable or restart-only (for SIGHUP). Any thread.
std::vector<ConfigChange> diffConfig(const GatewayConfig& before, const GatewayConfig& after);

// The rows of docs/config.md's gateway table. Any thread.
std::vector<KeyDoc> gatewayConfigKeys();

}  // namespace braid::ctrl
