#include "ctrl/config/gateway_config.h"

#include <map>
#include <utility>

#include "ctrl/config/common_keys.h"
#include "ctrl/config/toml_reader.h"

namespace braid::ctrl {
namespace {

using G = GatewayConfig;
using O = OutputConfig;
constexpr KeyType kInt = KeyType::kInteger;
constexpr KeyType kFloat = KeyType::kFloat;
constexpr KeyType kEnum = KeyType::kEnum;
constexpr KeyType kPath = KeyType::kPath;
constexpr KeyType kAddr = KeyType::kSocketAddress;

Schema<G> makeSchema() {
  // One entry per key; adding a key is adding a line here, a member to the struct and a row
  // to docs/config.md (the docs test names any row that is missing).
  return {
      field(&G::listen, key("gateway.listen", kAddr, "UDP address the gateway receives links on")),
      field(&G::gatewayId,
            key("gateway.gateway_id", kInt, "gateway ID carried in session IDs").range(1, 65535)),
      field(&G::workers, key("gateway.workers", kInt,
                             "worker threads, one SO_REUSEPORT socket each on gateway.listen")
                             .range(1, 64)),
      field(&G::outputThreads,
            key("gateway.output_threads", kInt,
                "threads that write the outputs, shared by all sessions (no thread per session)")
                .range(1, 64)),
      field(&G::outputLingerSeconds,
            key("gateway.output_linger_s", kFloat,
                "seconds an output stays open with no session (a file reopened later for the "
                "same key is appended to)")
                .range(1, 86400)),
      field(&G::backend, key("gateway.backend", kEnum,
                             "receive backend: kernel (UDP sockets), af_xdp (XDP program + "
                             "AF_XDP socket per worker) or dpdk (a DPDK port, a queue pair per "
                             "worker)")
                             .oneOf({"kernel", "af_xdp", "dpdk"})),
      field(&G::xdpInterface,
            key("gateway.xdp_interface", KeyType::kString,
                "af_xdp: interface to attach to; worker i takes rx queue i (not set: kernel)")
                .checkedBy(checkInterfaceName)),
      field(&G::dpdkEalArgs,
            key("gateway.dpdk_eal_args", KeyType::kString,
                "dpdk: EAL arguments, e.g. \"--no-huge -m 256 --no-pci --no-shconf "
                "--vdev=net_af_packet0,iface=eth1\"")),
      field(&G::dpdkPort,
            key("gateway.dpdk_port", kInt, "dpdk: ethdev port ID; worker i takes queue pair i")
                .range(0, 1023)),
      field(&G::dpdkExceptionPort,
            key("gateway.dpdk_exception_port", kInt,
                "dpdk: ethdev port ID of the path to the kernel (a net_tap vdev); frames that "
                "are not Braid, ARP or ping for the gateway go there (not set: dropped)")
                .range(0, 1023)),
      field(&G::aead,
            key("gateway.aead", kEnum, "AES-256-GCM implementation").oneOf(aeadChoices())),
      field(&G::keysFile,
            key("gateway.keys_file", kPath, "pre-shared key file (lines from braid-gateway keygen)")
                .mandatory()
                .live()),
      field(&G::secretFile,
            key("gateway.secret_file", kPath, "gateway secret, created 0600 if absent")),
      field(
          &G::minLatencyMs,
          key("latency.min_ms", kInt, "lowest target latency granted to an edge").range(20, 60000)),
      field(&G::maxLatencyMs,
            key("latency.max_ms", kInt, "highest target latency granted to an edge")
                .range(20, 60000)),
      field(&G::feedbackMs,
            key("session.feedback_ms", kInt, "ACK and receive-report interval").range(10, 1000)),
      field(
          &G::keepaliveMs,
          key("session.keepalive_ms", kInt, "keepalive interval told to edges").range(100, 60000)),
      field(&G::idleTimeoutMs,
            key("session.idle_timeout_ms", kInt, "sessions silent this long close")
                .range(1000, 3600000)),
      field(&G::handshakesPerSecond, key("session.handshake_rate", kFloat,
                                         "authenticated handshakes per second (burst: twice this)")
                                         .range(1, 100000)),
      field(&G::logLevel,
            key("log.level", kEnum, "least severe level logged").oneOf(logLevelChoices()).live()),
      field(&G::statsIntervalSeconds, key("log.stats_interval_s", kFloat,
                                          "seconds between stats lines on stdout (0: at exit)")
                                          .range(0, 3600)
                                          .live()),
      field(&G::metricsListen,
            key("metrics.listen", kAddr, "HTTP address of the Prometheus /metrics endpoint")),
      tableArray(&G::outputs, key("outputs", KeyType::kTableArray, "where played-out media goes")
                                  .range(1, 64)
                                  .mandatory()
                                  .live()),
      field(&G::outputs, &O::url,
            key("outputs[].url", KeyType::kString,
                "file:PATH, PATH, udp://HOST:PORT or null: (discard); {key} becomes the key ID")
                .checkedBy(checkOutputUrl)
                .mandatory()
                .live()),
      field(&G::outputs, &O::keyId,
            key("outputs[].key_id", kInt, "only sessions of this key ID (not set: every session)")
                .atLeast(1)
                .live()),
  };
}

void crossCheck(const GatewayConfig& c, ReadResult& read) {
  if (c.minLatencyMs > c.maxLatencyMs && !read.anyBad({"latency.min_ms", "latency.max_ms"})) {
    read.fail("latency.min_ms", std::to_string(c.minLatencyMs) + " is above latency.max_ms (" +
                                    std::to_string(c.maxLatencyMs) + ")");
  }
  // A session would be closed between two keepalives that arrive on time.
  if (c.idleTimeoutMs <= c.keepaliveMs &&
      !read.anyBad({"session.idle_timeout_ms", "session.keepalive_ms"})) {
    read.fail("session.idle_timeout_ms", std::to_string(c.idleTimeoutMs) +
                                             " must be above session.keepalive_ms (" +
                                             std::to_string(c.keepaliveMs) + ")");
  }
  if (c.backend == "af_xdp" && !c.xdpInterface &&
      !read.anyBad({"gateway.backend", "gateway.xdp_interface"})) {
    read.fail("gateway.backend", "af_xdp needs gateway.xdp_interface (the interface to attach to)");
  }
  if (c.backend == "dpdk" && !c.dpdkEalArgs &&
      !read.anyBad({"gateway.backend", "gateway.dpdk_eal_args"})) {
    read.fail("gateway.backend", "dpdk needs gateway.dpdk_eal_args (the EAL arguments)");
  }
  std::map<std::pair<std::string, std::optional<uint32_t>>, size_t> seen;
  for (size_t i = 0; i < c.outputs.size(); ++i) {
    std::string at = "outputs[" + std::to_string(i) + "]";
    if (read.anyBad({at + ".url", at + ".key_id"})) continue;
    auto [it, fresh] = seen.emplace(std::make_pair(c.outputs[i].url, c.outputs[i].keyId), i);
    if (!fresh) {
      read.fail(at + ".url", renderValue(c.outputs[i].url) + " with the same key_id is already " +
                                 "outputs[" + std::to_string(it->second) + "]");
    }
  }
}

}  // namespace

const Schema<GatewayConfig>& gatewaySchema() {
  static const Schema<GatewayConfig> schema = makeSchema();
  return schema;
}

ConfigResult<GatewayConfig> checkGatewayConfig(std::string_view text, std::string_view name) {
  return buildConfig(gatewaySchema(), text, name, crossCheck);
}

Result<GatewayConfig> parseGatewayConfig(std::string_view text, std::string_view name) {
  return toResult(checkGatewayConfig(text, name));
}

Result<GatewayConfig> loadGatewayConfig(const std::string& path) {
  return loadConfigFile<GatewayConfig>(path, checkGatewayConfig);
}

std::string renderEffective(const GatewayConfig& config) {
  return "# braid-gateway effective configuration (every default written out)\n\n" +
         renderToml(specsOf(gatewaySchema()), flatten(gatewaySchema(), config));
}

std::vector<ConfigChange> diffConfig(const GatewayConfig& before, const GatewayConfig& after) {
  const auto& schema = gatewaySchema();
  return diffFlat(specsOf(schema), flatten(schema, before), flatten(schema, after));
}

std::vector<KeyDoc> gatewayConfigKeys() {
  return documentKeys(specsOf(gatewaySchema()));
}

}  // namespace braid::ctrl
