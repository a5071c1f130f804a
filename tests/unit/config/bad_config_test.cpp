// Bad configs, table-driven: each row is a whole file and the exact errors it must produce,
// one per problem, sorted by line.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ctrl/config/edge_config.h"
#include "ctrl/config/gateway_config.h"

namespace braid::ctrl {
namespace {

using ::testing::ElementsAreArray;

enum class Binary { kGateway, kEdge };

struct BadConfig {
  const char* name;
  Binary binary;
  const char* text;
  std::vector<std::string> errors;
};

void PrintTo(const BadConfig& row, std::ostream* os) {
  *os << row.name;
}

const BadConfig kBadConfigs[] = {
    {"UnknownKeyWithSuggestion",
     Binary::kGateway,
     "[gateway]\nlisen = \"0.0.0.0:1\"\nkeys_file = \"k\"\n[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:2: gateway.lisen: unknown key (did you mean gateway.listen?)"}},
    {"UnknownTableAndTopLevelKey",
     Binary::kGateway,
     "verbose = true\n[gatway]\nlisten = \"0.0.0.0:1\"\n[gateway]\nkeys_file = \"k\"\n"
     "[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:1: verbose: unknown key", "g.toml:2: gatway: unknown key (did you mean gateway?)"}},
    {"UnknownKeyInArrayTable",
     Binary::kEdge,
     "[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\n"
     "[[links]]\nname = \"a\"\ndevise = \"eth0\"\n",
     {"e.toml:7: links[0].devise: unknown key (did you mean device?)"}},
    {"WrongTypes",
     Binary::kGateway,
     "[gateway]\nlisten = 7400\ngateway_id = \"1\"\nkeys_file = \"k\"\n[session]\n"
     "handshake_rate = \"fast\"\n[log]\nlevel = 3\n[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:2: gateway.listen: expected a string, got an integer",
      "g.toml:3: gateway.gateway_id: expected an integer, got a string",
      "g.toml:6: session.handshake_rate: expected a number, got a string",
      "g.toml:8: log.level: expected a string, got an integer"}},
    {"TableExpected",
     Binary::kGateway,
     "latency = 5\n[gateway]\nkeys_file = \"k\"\n[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:1: latency: expected a table, got an integer"}},
    {"ArrayOfTablesExpected",
     Binary::kEdge,
     "[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\n[links]\nname = "
     "\"a\"\n",
     {"e.toml:5: links: expected an array of tables ([[links]]), got a table"}},
    {"OutOfRange",
     Binary::kGateway,
     "[gateway]\ngateway_id = 70000\nkeys_file = \"k\"\n[latency]\nmin_ms = 5\n[session]\n"
     "handshake_rate = 0.5\n[log]\nstats_interval_s = nan\n[[outputs]]\nurl = \"file:o.ts\"\n"
     "key_id = 0\n",
     {"g.toml:2: gateway.gateway_id: 70000 is above the maximum 65535",
      "g.toml:5: latency.min_ms: 5 is below the minimum 20",
      "g.toml:7: session.handshake_rate: 0.5 is below the minimum 1",
      "g.toml:9: log.stats_interval_s: nan is not a finite number",
      "g.toml:12: outputs[0].key_id: 0 is below the minimum 1"}},
    {"WorkersOutOfRange",
     Binary::kGateway,
     "[gateway]\nworkers = 0\nkeys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:2: gateway.workers: 0 is below the minimum 1"}},
    {"TooManyWorkers",
     Binary::kGateway,
     "[gateway]\nworkers = 65\nkeys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:2: gateway.workers: 65 is above the maximum 64"}},
    {"UnknownBackend",
     Binary::kGateway,
     "[gateway]\nbackend = \"netmap\"\nkeys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:2: gateway.backend: \"netmap\" is not one of kernel, af_xdp, dpdk"}},
    {"DpdkWithoutEalArgs",
     Binary::kGateway,
     "[gateway]\nbackend = \"dpdk\"\nkeys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:2: gateway.backend: dpdk needs gateway.dpdk_eal_args (the EAL arguments)"}},
    {"DpdkPortOutOfRange",
     Binary::kGateway,
     "[gateway]\nbackend = \"dpdk\"\ndpdk_eal_args = \"--no-huge\"\ndpdk_port = 1024\n"
     "keys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:4: gateway.dpdk_port: 1024 is above the maximum 1023"}},
    {"AfXdpWithoutInterface",
     Binary::kGateway,
     "[gateway]\nbackend = \"af_xdp\"\nkeys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:2: gateway.backend: af_xdp needs gateway.xdp_interface (the interface to attach "
      "to)"}},
    {"BadXdpInterfaceName",
     Binary::kGateway,
     "[gateway]\nbackend = \"af_xdp\"\nxdp_interface = \"much-too-long-name0\"\n"
     "keys_file = \"k\"\n[[outputs]]\nurl = \"null:\"\n",
     {"g.toml:3: gateway.xdp_interface: \"much-too-long-name0\" is not an interface name (1-15 "
      "bytes, no '/', ':' or spaces)"}},
    {"KeyIdAboveUint32",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\n[[outputs]]\nurl = \"file:o.ts\"\nkey_id = 4294967296\n",
     {"g.toml:5: outputs[0].key_id: 4294967296 is above the maximum 4294967295"}},
    {"BadEnum",
     Binary::kEdge,
     "[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\naead = \"aes\"\n"
     "[log]\nlevel = \"verbose\"\n[[links]]\nname = \"a\"\npriority = \"high\"\n",
     {"e.toml:5: edge.aead: \"aes\" is not one of auto, ipsec-mb, openssl",
      "e.toml:7: log.level: \"verbose\" is not one of trace, debug, info, warn, error, critical, "
      "off",
      "e.toml:10: links[0].priority: \"high\" is not one of primary, normal, backup"}},
    {"BadAddresses",
     Binary::kGateway,
     "[gateway]\nlisten = \"0.0.0.0\"\nkeys_file = \"k\"\n[metrics]\nlisten = "
     "\"example.com:9464\"\n"
     "[[outputs]]\nurl = \"udp://host\"\n[[outputs]]\nurl = \"srt://host:1\"\n",
     {"g.toml:2: gateway.listen: \"0.0.0.0\" is not a socket address (expected IPV4:PORT or "
      "[IPV6]:PORT)",
      "g.toml:5: metrics.listen: \"example.com:9464\" is not a socket address (expected "
      "IPV4:PORT or [IPV6]:PORT)",
      "g.toml:7: outputs[0].url: \"udp://host\" is not an output (expected file:PATH, PATH, "
      "udp://HOST:PORT or null:)",
      "g.toml:9: outputs[1].url: \"srt://host:1\" is not an output (expected file:PATH, PATH, "
      "udp://HOST:PORT or null:)"}},
    {"BadEdgeStrings",
     Binary::kEdge,
     "[edge]\ngateway = \"[::1]:99999\"\nkey_file = \"\"\ninput = \"rtmp://x/y\"\n"
     "[[links]]\nname = \"lte a\"\ndevice = \"a/b\"\nbind = \"[::1:0\"\n",
     {"e.toml:2: edge.gateway: \"[::1]:99999\" is not a socket address (expected IPV4:PORT or "
      "[IPV6]:PORT)",
      "e.toml:3: edge.key_file: must not be empty",
      "e.toml:4: edge.input: \"rtmp://x/y\" is not an input (expected file:PATH[?loop=1], PATH, "
      "udp://[HOST]:PORT or testpattern:[?KEY=VALUE&...])",
      "e.toml:6: links[0].name: \"lte a\" is not a link name (1-32 of A-Z a-z 0-9 _ - .)",
      "e.toml:7: links[0].device: \"a/b\" is not an interface name (1-15 bytes, no '/', ':' or "
      "spaces)",
      "e.toml:8: links[0].bind: \"[::1:0\" is not a socket address (expected IPV4:PORT or "
      "[IPV6]:PORT)"}},
    {"MissingRequired",
     Binary::kEdge,
     "[edge]\nlatency_ms = 300\n[[links]]\ndevice = \"eth0\"\n",
     {"e.toml:1: edge.gateway: required key is missing",
      "e.toml:1: edge.input: required key is missing",
      "e.toml:1: edge.key_file: required key is missing",
      "e.toml:3: links[0].name: required key is missing"}},
    {"EmptyFile",
     Binary::kGateway,
     "",
     {"g.toml: gateway.keys_file: required key is missing",
      "g.toml: outputs: required key is missing"}},
    {"EncoderLimits",
     Binary::kEdge,
     "[edge]\ngateway = \"127.0.0.1:1\"\nkey_file = \"k\"\ninput = \"testpattern:fps=25\"\n"
     "[encoder]\nmin_bitrate = 9000000\nmax_bitrate = 8000000\nsafety_margin = 1.5\n"
     "[[links]]\nname = \"a\"\n",
     {"e.toml:4: edge.input: \"testpattern:fps=25\" is not an input (expected file:PATH[?loop=1], "
      "PATH, udp://[HOST]:PORT or testpattern:[?KEY=VALUE&...])",
      "e.toml:6: encoder.min_bitrate: 9000000 is above encoder.max_bitrate (8000000)",
      "e.toml:8: encoder.safety_margin: 1.5 is above the maximum 1"}},
    {"LatencyMinAboveMax",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\n[latency]\nmin_ms = 500\nmax_ms = 200\n"
     "[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:4: latency.min_ms: 500 is above latency.max_ms (200)"}},
    {"MinAboveDefaultMax",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\n[latency]\nmin_ms = 20000\n[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:4: latency.min_ms: 20000 is above latency.max_ms (10000)"}},
    {"NoComboErrorOnTopOfARangeError",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\n[latency]\nmin_ms = 500\nmax_ms = 10\n"
     "[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:5: latency.max_ms: 10 is below the minimum 20"}},
    {"IdleTimeoutNotAboveKeepalive",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\n[session]\nkeepalive_ms = 5000\nidle_timeout_ms = 5000\n"
     "[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:5: session.idle_timeout_ms: 5000 must be above session.keepalive_ms (5000)"}},
    {"DuplicateOutputs",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\n[[outputs]]\nurl = \"file:o.ts\"\n[[outputs]]\n"
     "url = \"file:o.ts\"\nkey_id = 2\n[[outputs]]\nurl = \"file:o.ts\"\n",
     {"g.toml:9: outputs[2].url: \"file:o.ts\" with the same key_id is already outputs[0]"}},
    {"DuplicateLinkNames",
     Binary::kEdge,
     "[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\n"
     "[[links]]\nname = \"lte\"\n[[links]]\nname = \"wifi\"\n[[links]]\nname = \"lte\"\n",
     {"e.toml:10: links[2].name: \"lte\" is already the name of links[0]"}},
    {"OnlyBackupLinks",
     Binary::kEdge,
     "[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\n"
     "[[links]]\nname = \"a\"\npriority = \"backup\"\n",
     {"e.toml:5: links: every link is a backup link; at least one must be primary or normal"}},
    {"NoLinks",
     Binary::kEdge,
     "links = []\n[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\n",
     {"e.toml:1: links: 0 tables, at least 1 required"}},
    {"SyntaxError",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\nlisten = \n",
     {"g.toml:3: TOML syntax error: Error while parsing key-value pair: expected value, saw "
      "'\\n'"}},
    // toml++ 3.3 asserted here instead of reporting (found by fuzz_config).
    {"BrokenTableHeader",
     Binary::kEdge,
     "[[\nlinks]]\nname = \"a\"\n",
     {"e.toml:1: TOML syntax error: Error while parsing key: expected bare key starting character "
      "or string delimiter, saw '\\n'"}},
    // toml++ 3.3 reached __builtin_unreachable() on these (found by fuzz_config).
    {"NonAsciiOutsideStrings",
     Binary::kGateway,
     "# caf\u00e9 in a comment is fine\n[gateway]\nkeys_file = \"caf\u00e9\"\n"
     "s = \'\'\'\n\u00e9\n\'\'\'\n\u00e9 = 1\n",
     {"g.toml:7: TOML syntax error: Error while parsing root table: expected keys, tables, "
      "whitespace or comments, saw '\u00e9'"}},
    {"NonAsciiInABareValue",
     Binary::kEdge,
     "[edge]\nwire_size = 1'n\ufefc200\n",
     {"e.toml:2: TOML syntax error: Error while parsing decimal integer: expected digit, saw "
      "'''"}},
    {"DuplicateKeyIsASyntaxError",
     Binary::kGateway,
     "[gateway]\nkeys_file = \"k\"\nkeys_file = \"j\"\n",
     {"g.toml:3: TOML syntax error: Error while parsing key-value pair: cannot redefine "
      "existing string 'keys_file'"}},
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, GivesEachExactError) {
  const BadConfig& row = GetParam();
  std::vector<ConfigError> errors;
  if (row.binary == Binary::kGateway) {
    auto config = checkGatewayConfig(row.text, "g.toml");
    ASSERT_FALSE(config) << renderEffective(*config);
    errors = config.error();
  } else {
    auto config = checkEdgeConfig(row.text, "e.toml");
    ASSERT_FALSE(config) << renderEffective(*config);
    errors = config.error();
  }
  std::vector<std::string> described;
  for (const ConfigError& e : errors) described.push_back(e.describe());
  EXPECT_THAT(described, ElementsAreArray(row.errors));
}

INSTANTIATE_TEST_SUITE_P(Config, BadConfigTest, ::testing::ValuesIn(kBadConfigs),
                         [](const ::testing::TestParamInfo<BadConfig>& row) {
                           return std::string(row.param.name);
                         });

TEST(BadConfig, SeventeenLinksAreTooMany) {
  std::string text = "[edge]\ngateway = \"192.0.2.1:1\"\nkey_file = \"k\"\ninput = \"in.ts\"\n";
  for (int i = 0; i < 17; ++i) text += "[[links]]\nname = \"l" + std::to_string(i) + "\"\n";
  auto config = checkEdgeConfig(text, "e.toml");
  ASSERT_FALSE(config);
  ASSERT_EQ(config.error().size(), 1u);
  EXPECT_EQ(config.error()[0].describe(), "e.toml:5: links: 17 tables, at most 16 allowed");
  EXPECT_EQ(config.error()[0].key, "links");
  EXPECT_EQ(config.error()[0].line, 5u);
}

}  // namespace
}  // namespace braid::ctrl
