#pragma once

// braid-linkem's scenario file: links with an uplink and a downlink model each, timed events,
// a seed. Typed struct, TOML loading with whole-file validation (same engine as the other
// binaries), the effective scenario for --check-config. Keys are listed in docs/config.md and
// explained in docs/linkem.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrl/config/schema.h"
#include "dataplane/proto/result.h"

namespace braid::ctrl {

inline constexpr size_t kMaxLinkemLinks = 16;

// One direction of one link (`up.*`: edge → gateway, `down.*`: gateway → edge).
struct LinkemDirectionConfig {
  std::optional<std::string> trace = std::nullopt;  // Mahimahi trace; not set: constant rate
  double traceScale = 1.0;
  uint32_t traceOffsetMs = 0;
  uint32_t rateKbps = 0;  // 0: no bottleneck
  double delayMs = 0;
  double jitterMs = 0;
  std::string jitter = "uniform";
  double loss = 0;
  double geP = 0;
  double geR = 1;
  double geLossGood = 0;
  double geLossBad = 1;
  uint32_t queueBytes = 0;
  uint32_t queuePackets = 1000;
  uint32_t minSize = 0;
  double reorder = 0;
  double reorderMs = 10;

  bool operator==(const LinkemDirectionConfig&) const = default;
};

struct LinkemLinkConfig {
  std::string name = {};
  std::string listen = {};                            // where the edge sends this link
  std::optional<std::string> device = std::nullopt;   // SO_BINDTODEVICE of the listen socket
  std::optional<std::string> source = std::nullopt;   // local address towards the gateway
  std::optional<std::string> gateway = std::nullopt;  // overrides scenario.gateway
  LinkemDirectionConfig up = {};
  LinkemDirectionConfig down = {};

  bool operator==(const LinkemLinkConfig&) const = default;
};

struct LinkemEventConfig {
  std::string link = {};
  double atS = 0;
  std::string kind = {};
  std::string direction = "both";
  double durationS = 0;
  uint32_t rateKbps = 0;
  double traceScale = 0;
  std::optional<double> delayMs = std::nullopt;
  double delayMaxMs = 0;
  double periodS = 0;
  double reorder = 0.2;
  double reorderMs = 20;
  double reorderWindowS = 1;

  bool operator==(const LinkemEventConfig&) const = default;
};

struct LinkemConfig {
  uint64_t seed = 1;
  double durationS = 0;
  std::optional<std::string> gateway = std::nullopt;
  std::optional<std::string> record = std::nullopt;
  uint32_t overheadBytes = 28;
  uint32_t poolPackets = 32768;
  std::string logLevel = "info";
  double statsIntervalSeconds = 1.0;
  std::vector<LinkemLinkConfig> links = {};
  std::vector<LinkemEventConfig> events = {};

  bool operator==(const LinkemConfig&) const = default;
};

// The scenario's keys, in file order. Any thread.
const Schema<LinkemConfig>& linkemSchema();

// Parses and validates a whole scenario (keys, ranges, links named by events, per-kind event
// keys, trace vs rate). Trace files are read by braid-linkem itself. Any thread.
[[nodiscard]] ConfigResult<LinkemConfig> checkLinkemConfig(std::string_view text,
                                                           std::string_view name);
[[nodiscard]] Result<LinkemConfig> loadLinkemConfig(const std::string& path);

// The scenario as TOML with every default written out. Any thread.
std::string renderEffective(const LinkemConfig& config);

// The rows of docs/config.md's linkem table. Any thread.
std::vector<KeyDoc> linkemConfigKeys();

}  // namespace braid::ctrl
