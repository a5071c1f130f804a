// Good configs: defaults, the examples in docs/examples, renderEffective round trips and the
// SIGHUP diff.

#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ctrl/config/edge_config.h"
#include "ctrl/config/gateway_config.h"

namespace braid::ctrl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string sourceRoot() {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  return root ? root : ".";
}

constexpr const char* kMinimalGateway = R"(
[gateway]
keys_file = "keys"
[[outputs]]
url = "udp://127.0.0.1:5000"
)";

constexpr const char* kMinimalEdge = R"(
[edge]
gateway = "192.0.2.1:7400"
key_file = "edge.key"
input = "file:in.ts"
[[links]]
name = "lte"
)";

TEST(GatewayConfig, MinimalFileTakesEveryDefault) {
  auto config = checkGatewayConfig(kMinimalGateway, "gateway.toml");
  ASSERT_TRUE(config) << joinErrors(config.error());
  GatewayConfig expected{.keysFile = "keys", .outputs = {{.url = "udp://127.0.0.1:5000"}}};
  EXPECT_EQ(*config, expected);
  EXPECT_EQ(config->listen, "0.0.0.0:7400");
  EXPECT_EQ(config->metricsListen, "127.0.0.1:9464");
  EXPECT_EQ(config->minLatencyMs, 50u);
  EXPECT_EQ(config->maxLatencyMs, 10000u);
  EXPECT_FALSE(config->outputs[0].keyId.has_value());
}

TEST(GatewayConfig, AfXdpBackendWithItsInterface) {
  auto config = checkGatewayConfig(
      "[gateway]\nbackend = \"af_xdp\"\nxdp_interface = \"eth1\"\nworkers = 2\n"
      "keys_file = \"keys\"\n[[outputs]]\nurl = \"null:\"\n",
      "gateway.toml");
  ASSERT_TRUE(config) << joinErrors(config.error());
  EXPECT_EQ(config->backend, "af_xdp");
  EXPECT_EQ(config->xdpInterface, "eth1");
  auto defaults = checkGatewayConfig(kMinimalGateway, "gateway.toml");
  ASSERT_TRUE(defaults) << joinErrors(defaults.error());
  EXPECT_EQ(defaults->backend, "kernel");
  EXPECT_FALSE(defaults->xdpInterface.has_value());
}

TEST(GatewayConfig, DpdkBackendWithEalArgsAndPort) {
  auto config = checkGatewayConfig(
      "[gateway]\nbackend = \"dpdk\"\nlisten = \"10.0.0.1:7400\"\n"
      "dpdk_eal_args = \"--no-huge -m 256 --no-pci --vdev=net_af_packet0,iface=eth1\"\n"
      "dpdk_port = 1\nworkers = 2\nkeys_file = \"keys\"\n[[outputs]]\nurl = \"null:\"\n",
      "gateway.toml");
  ASSERT_TRUE(config) << joinErrors(config.error());
  EXPECT_EQ(config->backend, "dpdk");
  EXPECT_EQ(config->dpdkEalArgs, "--no-huge -m 256 --no-pci --vdev=net_af_packet0,iface=eth1");
  EXPECT_EQ(config->dpdkPort, 1u);
  auto defaults = checkGatewayConfig(kMinimalGateway, "gateway.toml");
  ASSERT_TRUE(defaults) << joinErrors(defaults.error());
  EXPECT_FALSE(defaults->dpdkEalArgs.has_value());
  EXPECT_EQ(defaults->dpdkPort, 0u);
}

TEST(EdgeConfig, MinimalFileTakesEveryDefault) {
  auto config = checkEdgeConfig(kMinimalEdge, "edge.toml");
  ASSERT_TRUE(config) << joinErrors(config.error());
  EdgeConfig expected{.gateway = "192.0.2.1:7400",
                      .keyFile = "edge.key",
                      .input = "file:in.ts",
                      .links = {{.name = "lte"}}};
  EXPECT_EQ(*config, expected);
  EXPECT_EQ(config->wireSize, 1200u);
  EXPECT_EQ(config->rekeyAfterPackets, (uint64_t{1} << 48) - 1 - (uint64_t{1} << 16));
  EXPECT_EQ(config->links[0].priority, "normal");
  EXPECT_FALSE(config->links[0].device.has_value());
}

TEST(GatewayConfig, NonAsciiInStringsAndCommentsIsFine) {
  auto config = checkGatewayConfig(
      "# cl\u00e9s \"\u00e9\"\n[gateway]\nkeys_file = \"/etc/braid/cl\u00e9s\" # \u00e9\n"
      "[[outputs]]\nurl = '''file:/srv/\u00e9t\u00e9.ts'''\n",
      "g.toml");
  ASSERT_TRUE(config) << joinErrors(config.error());
  EXPECT_EQ(config->keysFile, "/etc/braid/cl\u00e9s");
  EXPECT_EQ(config->outputs.at(0).url, "file:/srv/\u00e9t\u00e9.ts");
  auto back = checkGatewayConfig(renderEffective(*config), "r.toml");
  ASSERT_TRUE(back) << joinErrors(back.error());
  EXPECT_EQ(*back, *config);
}

TEST(GatewayConfig, ExampleLoads) {
  auto config = loadGatewayConfig(sourceRoot() + "/docs/examples/gateway.toml");
  ASSERT_TRUE(config) << config.error().describe();
  ASSERT_EQ(config->outputs.size(), 2u);
  EXPECT_EQ(config->outputs[0].keyId, 7u);
  EXPECT_EQ(config->keysFile, "/etc/braid/keys");
}

TEST(EdgeConfig, ExampleLoads) {
  auto config = loadEdgeConfig(sourceRoot() + "/docs/examples/edge.toml");
  ASSERT_TRUE(config) << config.error().describe();
  ASSERT_EQ(config->links.size(), 3u);
  EXPECT_EQ(config->links[2].bind, "0.0.0.0:0");
  EXPECT_EQ(config->links[2].priority, "backup");
  EXPECT_EQ(config->encoderMinBitrate, 500'000u);
  EXPECT_EQ(config->encoderMaxBitrate, 6'000'000u);
  EXPECT_DOUBLE_EQ(config->encoderSafetyMargin, 0.8);
}

TEST(EdgeConfig, TestPatternInputAndEncoderKeys) {
  auto config = parseEdgeConfig(
      "[edge]\ngateway = \"127.0.0.1:7400\"\nkey_file = \"k\"\n"
      "input = \"testpattern:?bitrate=6M&size=960x540\"\n[encoder]\nmax_bitrate = 6000000\n"
      "[[links]]\nname = \"a\"\n",
      "e.toml");
  ASSERT_TRUE(config) << config.error().describe();
  EXPECT_EQ(config->input, "testpattern:?bitrate=6M&size=960x540");
  EXPECT_EQ(config->encoderMaxBitrate, 6'000'000u);
  EXPECT_EQ(config->encoderMinBitrate, EdgeConfig{}.encoderMinBitrate);
  EXPECT_TRUE(
      parseEdgeConfig("[edge]\ngateway = \"127.0.0.1:7400\"\nkey_file = \"k\"\n"
                      "input = \"testpattern:\"\n[[links]]\nname = \"a\"\n",
                      "e.toml"));
  // The encoder keys are reloaded on SIGHUP.
  EdgeConfig after = *config;
  after.encoderMaxBitrate = 4'000'000;
  after.encoderSafetyMargin = 0.7;
  auto changes = diffConfig(*config, after);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].key, "encoder.max_bitrate");
  EXPECT_EQ(changes[0].reload, Reload::kLive);
  EXPECT_EQ(changes[1].key, "encoder.safety_margin");
  EXPECT_EQ(changes[1].reload, Reload::kLive);
}

TEST(GatewayConfig, MissingFileIsAnIoError) {
  auto config = loadGatewayConfig("/nonexistent/braid/gateway.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::kIo);
  EXPECT_EQ(config.error().context,
            "/nonexistent/braid/gateway.toml: cannot open: No such file or directory");
}

TEST(GatewayConfig, ParseJoinsEveryErrorIntoOne) {
  auto config = parseGatewayConfig("[gateway]\ngateway_id = 0\n", "g.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::kParse);
  EXPECT_EQ(config.error().context,
            "g.toml:1: gateway.keys_file: required key is missing\n"
            "g.toml:2: gateway.gateway_id: 0 is below the minimum 1\n"
            "g.toml: outputs: required key is missing");
}

TEST(GatewayConfig, RenderEffectiveRoundTrips) {
  GatewayConfig config{
      .listen = "[::1]:7401",
      .gatewayId = 9,
      .aead = "openssl",
      .keysFile = "/etc/braid/keys with \"quotes\"\tand\\tab",
      .minLatencyMs = 20,
      .handshakesPerSecond = 0.1 + 1.2,  // not exactly representable
      .logLevel = "debug",
      .statsIntervalSeconds = 0,
      .outputs = {{.url = "file:a-{key}.ts", .keyId = 4000000000u}, {.url = "udp://[::1]:5000"}}};
  std::string text = renderEffective(config);
  EXPECT_THAT(text, HasSubstr("[latency]\nmin_ms = 20\nmax_ms = 10000\n"));
  EXPECT_THAT(text, HasSubstr("stats_interval_s = 0.0\n"));
  EXPECT_THAT(text, HasSubstr("\n[[outputs]]\nurl = \"udp://[::1]:5000\"\n# key_id is not set\n"));
  auto back = checkGatewayConfig(text, "rendered.toml");
  ASSERT_TRUE(back) << joinErrors(back.error()) << "\n" << text;
  EXPECT_EQ(*back, config);
}

TEST(EdgeConfig, RenderEffectiveRoundTrips) {
  auto example = loadEdgeConfig(sourceRoot() + "/docs/examples/edge.toml");
  ASSERT_TRUE(example) << example.error().describe();
  std::string text = renderEffective(*example);
  EXPECT_THAT(text, HasSubstr("rekey_after_packets = 281474976645119\n"));
  auto back = checkEdgeConfig(text, "rendered.toml");
  ASSERT_TRUE(back) << joinErrors(back.error()) << "\n" << text;
  EXPECT_EQ(*back, *example);
}

TEST(GatewayConfig, DiffClassifiesReloadableAndRestartOnly) {
  auto before = checkGatewayConfig(kMinimalGateway, "a.toml");
  ASSERT_TRUE(before);
  GatewayConfig after = *before;
  after.logLevel = "debug";
  after.listen = "0.0.0.0:7500";
  after.outputs[0].keyId = 3;
  auto changes = diffConfig(*before, after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].key, "gateway.listen");
  EXPECT_EQ(changes[0].before, "\"0.0.0.0:7400\"");
  EXPECT_EQ(changes[0].after, "\"0.0.0.0:7500\"");
  EXPECT_EQ(changes[0].reload, Reload::kRestart);
  EXPECT_EQ(changes[1].key, "log.level");
  EXPECT_EQ(changes[1].reload, Reload::kLive);
  EXPECT_EQ(changes[2].key, "outputs[0].key_id");
  EXPECT_EQ(changes[2].before, "not set");
  EXPECT_EQ(changes[2].after, "3");
  EXPECT_EQ(changes[2].reload, Reload::kLive);
  EXPECT_TRUE(needsRestart(changes));
  EXPECT_TRUE(diffConfig(*before, *before).empty());
}

// Links are reloadable: the edge adds and removes them while streaming (edge/link_set.h).
TEST(EdgeConfig, DiffOfLinksIsReloadable) {
  auto before = loadEdgeConfig(sourceRoot() + "/docs/examples/edge.toml");
  ASSERT_TRUE(before) << before.error().describe();
  EdgeConfig after = *before;
  after.links[1].device = "wwan2";
  after.links.push_back({.name = "eth", .device = "eth0"});
  auto changes = diffConfig(*before, after);
  std::vector<std::string> keys;
  for (const auto& c : changes) keys.push_back(c.key + " " + c.before + " -> " + c.after);
  EXPECT_THAT(keys,
              ElementsAre("links 3 tables -> 4 tables", "links[1].device \"wwan1\" -> \"wwan2\""));
  for (const auto& c : changes) EXPECT_EQ(c.reload, Reload::kLive) << c.key;
  EXPECT_FALSE(needsRestart(changes));
  after = *before;
  after.wireSize = 1000;
  EXPECT_TRUE(needsRestart(diffConfig(*before, after)));
}

}  // namespace
}  // namespace braid::ctrl
