#pragma once

// braid-edge's config file: typed struct, TOML loading with whole-file validation, the
// effective config for --check-config, and the SIGHUP diff. Keys are listed in docs/config.md
// (kept equal to edgeSchema() by a test).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrl/config/schema.h"
#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::ctrl {

// Links carry no more than this many per session (the wire's link ID space in this version).
inline constexpr size_t kMaxConfigLinks = 16;

// One [[links]] table: a network path to the gateway.
struct LinkConfig {
  std::string name = {};  // shown at the gateway and in metrics labels
  std::optional<std::string> device =
      std::nullopt;  // SO_BINDTODEVICE interface; unset: routing decides
  std::optional<std::string> bind =
      std::nullopt;  // local HOST:PORT; unset: any address, ephemeral port
  std::optional<std::string> gateway = std::nullopt;  // this link's remote; unset: edge.gateway
  std::string priority = "normal";  // primary, normal or backup (carries media only as needed)

  bool operator==(const LinkConfig&) const = default;
};

// Member initializers are the documented defaults; every member has one, so partial
// designated initializers stay clear of g++ 12's -Wmissing-field-initializers.
struct EdgeConfig {
  std::string gateway = {};
  std::string keyFile = {};
  std::string input = {};
  uint32_t latencyMs = 500;
  uint32_t wireSize = static_cast<uint32_t>(proto::kDefaultWirePacketSize);
  std::string aead = "auto";
  // proto::kRekeySequenceThreshold (sealed_channel.h would pull in the crypto headers).
  uint64_t rekeyAfterPackets = proto::kMaxLinkSeq - (uint64_t{1} << 16);
  // The encoder bit-rate target (edge/bitrate_controller.h): its range, and the share of
  // the bond's capacity it aims at.
  uint64_t encoderMinBitrate = 300'000;
  uint64_t encoderMaxBitrate = 8'000'000;
  double encoderSafetyMargin = 0.8;
  std::string logLevel = "info";
  double statsIntervalSeconds = 1.0;
  std::vector<LinkConfig> links = {};
  bool fecEnabled = true;
  uint32_t fecMaxBlock = 32;
  double fecMinRepairRatio = 0.05;
  double fecMaxRepairRatio = 0.5;

  bool operator==(const EdgeConfig&) const = default;
};

// The edge's keys, in file order. Any thread (built once, then read-only).
const Schema<EdgeConfig>& edgeSchema();

// Parses and validates a whole edge config; `name` is the file name errors carry.
// Any thread. Returns the config, or one error per problem sorted by line.
[[nodiscard]] ConfigResult<EdgeConfig> checkEdgeConfig(std::string_view text,
                                                       std::string_view name);

// checkEdgeConfig() with the errors joined into one kParse Error, one per line.
[[nodiscard]] Result<EdgeConfig> parseEdgeConfig(std::string_view text, std::string_view name);

// Reads and validates the file at `path` (errors name it as given). Any thread.
// Returns the config, or a kIo / kParse Error listing every problem.
[[nodiscard]] Result<EdgeConfig> loadEdgeConfig(const std::string& path);

// The config as TOML with every default written out (for --check-config); parsing it gives
// back `config`. Any thread.
std::string renderEffective(const EdgeConfig& config);

// Keys that differ, each marked live-reloadable or restart-only (for SIGHUP). Any thread.
std::vector<ConfigChange> diffConfig(const EdgeConfig& before, const EdgeConfig& after);

// The rows of docs/config.md's edge table. Any thread.
std::vector<KeyDoc> edgeConfigKeys();

}  // namespace braid::ctrl
