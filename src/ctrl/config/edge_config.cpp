#include "ctrl/config/edge_config.h"

#include <algorithm>
#include <map>

#include "ctrl/config/common_keys.h"
#include "ctrl/config/toml_reader.h"

namespace braid::ctrl {
namespace {

using E = EdgeConfig;
using L = LinkConfig;
constexpr KeyType kInt = KeyType::kInteger;
constexpr KeyType kEnum = KeyType::kEnum;
constexpr KeyType kPath = KeyType::kPath;
constexpr KeyType kAddr = KeyType::kSocketAddress;

Schema<E> makeSchema() {
  // Links are reloadable: on SIGHUP the edge adds and removes links by name while streaming
  // (a link whose device, bind or gateway changed is removed and added again).
  // One entry per key; adding a key is adding a line here, a member to the struct and a row
  // to docs/config.md (the docs test names any row that is missing).
  return {
      field(&E::gateway, key("edge.gateway", kAddr, "gateway address").mandatory()),
      field(&E::keyFile,
            key("edge.key_file", kPath, "this edge's key file (from braid-gateway keygen)")
                .mandatory()),
      field(&E::input,
            key("edge.input", KeyType::kString,
                "media input: file:PATH[?loop=1] (paced by PCR), PATH, udp://HOST:PORT or "
                "testpattern:[?OPTIONS] (built-in encoder)")
                .checkedBy(checkMediaInput)
                .mandatory()),
      field(&E::latencyMs,
            key("edge.latency_ms", kInt, "target end-to-end latency to ask for").range(20, 60000)),
      field(&E::wireSize, key("edge.wire_size", kInt, "largest UDP payload sent, in bytes")
                              .range(400, static_cast<double>(proto::kMaxPacketSize))),
      field(&E::aead, key("edge.aead", kEnum, "AES-256-GCM implementation").oneOf(aeadChoices())),
      field(&E::rekeyAfterPackets,
            key("edge.rekey_after_packets", kInt,
                "handshake new keys once a link has sent this many packets under them")
                .range(100, static_cast<double>(E{}.rekeyAfterPackets))),
      field(&E::encoderMinBitrate,
            key("encoder.min_bitrate", kInt, "lowest encoder target, TS bit/s")
                .range(100'000, 100'000'000)
                .live()),
      field(&E::encoderMaxBitrate,
            key("encoder.max_bitrate", kInt, "highest encoder target, TS bit/s")
                .range(100'000, 100'000'000)
                .live()),
      field(&E::encoderSafetyMargin,
            key("encoder.safety_margin", KeyType::kFloat,
                "share of the bond's measured capacity the encoder target aims at")
                .range(0.3, 1.0)
                .live()),
      field(&E::logLevel,
            key("log.level", kEnum, "least severe level logged").oneOf(logLevelChoices()).live()),
      field(&E::statsIntervalSeconds, key("log.stats_interval_s", KeyType::kFloat,
                                          "seconds between stats lines on stdout (0: at exit)")
                                          .range(0, 3600)
                                          .live()),
      field(&E::fecEnabled, key("fec.enabled", KeyType::kBool,
                                "protect media with Reed-Solomon repair packets (adaptive rate)")),
      field(&E::fecMaxBlock, key("fec.max_block", kInt,
                                 "media packets per FEC block at most (a block also closes after "
                                 "0.4 x latency)")
                                 .range(1, 64)),
      field(&E::fecMinRepairRatio,
            key("fec.min_repair_ratio", KeyType::kFloat,
                "repair packets per media packet on clean links (at least one per block)")
                .range(0.01, 1)),
      field(&E::fecMaxRepairRatio,
            key("fec.max_repair_ratio", KeyType::kFloat,
                "repair packets per media packet at most, however lossy the links (16 per block "
                "at most)")
                .range(0.01, 1)),
      tableArray(&E::links, key("links", KeyType::kTableArray, "the network paths to the gateway")
                                .range(1, static_cast<double>(kMaxConfigLinks))
                                .mandatory()
                                .live()),
      field(&E::links, &L::name,
            key("links[].name", KeyType::kString, "link name shown at the gateway and in metrics")
                .checkedBy(checkLinkName)
                .mandatory()
                .live()),
      field(&E::links, &L::device,
            key("links[].device", KeyType::kString,
                "network interface to send on (not set: the routing table decides)")
                .checkedBy(checkInterfaceName)
                .live()),
      field(&E::links, &L::bind,
            key("links[].bind", kAddr, "local address to send from (not set: any, ephemeral port)")
                .live()),
      field(&E::links, &L::gateway,
            key("links[].gateway", kAddr,
                "gateway address this link sends to (not set: edge.gateway)")
                .live()),
      field(
          &E::links, &L::priority,
          key("links[].priority", kEnum, "backup links carry media only when the others fall short")
              .oneOf({"primary", "normal", "backup"})
              .live()),
  };
}

void crossCheck(const EdgeConfig& c, ReadResult& read) {
  if (c.encoderMinBitrate > c.encoderMaxBitrate &&
      !read.anyBad({"encoder.min_bitrate", "encoder.max_bitrate"})) {
    read.fail("encoder.min_bitrate", std::to_string(c.encoderMinBitrate) +
                                         " is above encoder.max_bitrate (" +
                                         std::to_string(c.encoderMaxBitrate) + ")");
  }
  std::map<std::string, size_t> names;
  for (size_t i = 0; i < c.links.size(); ++i) {
    std::string key = "links[" + std::to_string(i) + "].name";
    if (read.anyBad({key})) continue;
    auto [it, fresh] = names.emplace(c.links[i].name, i);
    if (!fresh) {
      read.fail(key, renderValue(c.links[i].name) + " is already the name of links[" +
                         std::to_string(it->second) + "]");
    }
  }
  if (c.fecMinRepairRatio > c.fecMaxRepairRatio &&
      !read.anyBad({"fec.min_repair_ratio", "fec.max_repair_ratio"})) {
    read.fail("fec.min_repair_ratio",
              "is above fec.max_repair_ratio (" + renderValue(c.fecMaxRepairRatio) + ")");
  }
  bool allBackup = !c.links.empty() && std::all_of(c.links.begin(), c.links.end(), [](const L& l) {
    return l.priority == "backup";
  });
  if (allBackup && !read.anyBad({"links"})) {
    read.fail("links", "every link is a backup link; at least one must be primary or normal");
  }
}

}  // namespace

const Schema<EdgeConfig>& edgeSchema() {
  static const Schema<EdgeConfig> schema = makeSchema();
  return schema;
}

ConfigResult<EdgeConfig> checkEdgeConfig(std::string_view text, std::string_view name) {
  return buildConfig(edgeSchema(), text, name, crossCheck);
}

Result<EdgeConfig> parseEdgeConfig(std::string_view text, std::string_view name) {
  return toResult(checkEdgeConfig(text, name));
}

Result<EdgeConfig> loadEdgeConfig(const std::string& path) {
  return loadConfigFile<EdgeConfig>(path, checkEdgeConfig);
}

std::string renderEffective(const EdgeConfig& config) {
  return "# braid-edge effective configuration (every default written out)\n\n" +
         renderToml(specsOf(edgeSchema()), flatten(edgeSchema(), config));
}

std::vector<ConfigChange> diffConfig(const EdgeConfig& before, const EdgeConfig& after) {
  const auto& schema = edgeSchema();
  return diffFlat(specsOf(schema), flatten(schema, before), flatten(schema, after));
}

std::vector<KeyDoc> edgeConfigKeys() {
  return documentKeys(specsOf(edgeSchema()));
}

}  // namespace braid::ctrl
