// Scenario files: a table of bad scenarios with their exact errors, and a good one turned into
// the relay's config (units, events per direction, traces relative to the scenario file).

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "ctrl/config/linkem_config.h"
#include "linkem/scenario.h"

namespace braid::linkem {
namespace {

std::string sourceRoot() {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  return root ? root : ".";
}

constexpr const char* kLink = R"([[links]]
name = "a"
listen = "127.0.0.1:7001"
)";

struct BadCase {
  std::string text;
  std::string error;
};

TEST(LinkemScenario, EachBadScenarioGetsItsExactError) {
  const BadCase cases[] = {
      {"[scenario]\nseed = 1\n", "s.toml: links: required key is missing"},
      {std::string(kLink) + "up.delay_m = 4\n",
       "s.toml:4: links[0].up.delay_m: unknown key (did you mean up.delay_ms?)"},
      {std::string(kLink) + "up.loss = 1.5\n",
       "s.toml:4: links[0].up.loss: 1.5 is above the maximum 1"},
      {std::string(kLink) + "up.jitter = \"pareto\"\n",
       "s.toml:4: links[0].up.jitter: \"pareto\" is not one of uniform, exponential, normal"},
      {std::string(kLink) + "up.trace = \"x.up\"\nup.rate_kbps = 100\n",
       "s.toml:5: links[0].up.rate_kbps: a trace sets the rate; set trace or rate_kbps, not both"},
      {std::string(kLink) + "down.ge_p = 0.1\ndown.ge_r = 0.0\n",
       "s.toml:5: links[0].down.ge_r: ge_r = 0 would leave the bad state never; must be above 0"},
      {std::string(kLink) + "[[links]]\nname = \"b\"\nlisten = \"127.0.0.1:7001\"\n",
       "s.toml:6: links[1].listen: \"127.0.0.1:7001\" is already the listen address of links[0]"},
      {std::string(kLink) + "[[links]]\nname = \"a\"\nlisten = \"127.0.0.1:7002\"\n",
       "s.toml:5: links[1].name: \"a\" is already the name of links[0]"},
      {std::string(kLink) +
           "[[events]]\nlink = \"zz\"\nat_s = 1\nkind = \"outage\"\nduration_s = 1\n",
       "s.toml:5: events[0].link: \"zz\" is not the name of any [[links]] table"},
      {std::string(kLink) + "[[events]]\nlink = \"a\"\nat_s = 1\nkind = \"outage\"\n",
       "s.toml:4: events[0]: outage needs duration_s above 0"},
      {std::string(kLink) + "[[events]]\nlink = \"a\"\nat_s = 1\nkind = \"delay_swing\"\n"
                            "delay_ms = 100\ndelay_max_ms = 50\nperiod_s = 30\n",
       "s.toml:9: events[0].delay_max_ms: delay_swing needs delay_max_ms above delay_ms"},
      {std::string(kLink) + "[[events]]\nlink = \"a\"\nat_s = 1\nkind = \"rate_step\"\n",
       "s.toml:4: events[0]: rate_step on a constant-rate direction needs rate_kbps above 0"},
      {std::string(kLink) + "[[events]]\nlink = \"a\"\nat_s = 1\nkind = \"teleport\"\n",
       "s.toml:7: events[0].kind: \"teleport\" is not one of outage, rate_step, delay_step, "
       "delay_swing, handover, rebind, death"},
      {std::string(kLink) + "[[events]]\nlink = \"a\"\nat_s = 1\nkind = \"rebind\"\n"
                            "direction = \"up\"\n",
       "s.toml:8: events[0].direction: rebind moves the link's source in both directions; leave "
       "direction out"},
      {"[scenario]\ngateway = \"nowhere\"\n" + std::string(kLink),
       "s.toml:2: scenario.gateway: \"nowhere\" is not a socket address (expected IPV4:PORT or "
       "[IPV6]:PORT)"},
  };
  for (const BadCase& c : cases) {
    auto checked = ctrl::checkLinkemConfig(c.text, "s.toml");
    ASSERT_FALSE(checked) << c.text;
    EXPECT_EQ(ctrl::joinErrors(checked.error()), c.error) << c.text;
  }
}

TEST(LinkemScenario, GoodScenarioBecomesTheRelayConfig) {
  std::string text = R"([scenario]
seed = 9
gateway = "127.0.0.1:7400"
[[links]]
name = "lte"
listen = "127.0.0.1:7001"
up.trace = "../tests/data/traces/Verizon-LTE-short.up"
up.delay_ms = 30
down.rate_kbps = 5000
down.jitter_ms = 2
down.jitter = "normal"
[[events]]
link = "lte"
at_s = 5
kind = "outage"
duration_s = 0.5
direction = "up"
[[events]]
link = "lte"
at_s = 7
kind = "rebind"
)";
  auto config = ctrl::checkLinkemConfig(text, "s.toml");
  ASSERT_TRUE(config) << ctrl::joinErrors(config.error());
  auto scenario = buildScenario(*config, sourceRoot() + "/docs");
  ASSERT_TRUE(scenario) << scenario.error().context;
  const RelayConfig& r = scenario->relay;
  ASSERT_EQ(r.links.size(), 1u);
  EXPECT_EQ(r.seed, 9u);
  EXPECT_NE(r.links[0].up.trace, nullptr);
  EXPECT_EQ(r.links[0].up.delayNs, 30'000'000u);
  EXPECT_EQ(r.links[0].down.rateBitsPerSecond, 5'000'000u);
  EXPECT_EQ(r.links[0].down.jitter, Jitter::kNormal);
  ASSERT_EQ(r.links[0].upEvents.size(), 1u);
  EXPECT_EQ(r.links[0].upEvents[0].durationNs, 500'000'000u);
  EXPECT_TRUE(r.links[0].downEvents.empty());
  EXPECT_EQ(r.links[0].rebindAtNs, (std::vector<uint64_t>{7'000'000'000}));
}

TEST(LinkemScenario, MissingTraceAndGatewayAreNamed) {
  auto config = ctrl::checkLinkemConfig(std::string(kLink) + "up.trace = \"nope.up\"\n", "s.toml");
  ASSERT_TRUE(config);
  auto noGateway = buildScenario(*config, "/tmp");
  ASSERT_FALSE(noGateway);
  EXPECT_EQ(noGateway.error().context,
            "links[0].gateway: no gateway address: set scenario.gateway, this link's gateway, "
            "or --gateway");
  config->gateway = "127.0.0.1:1";
  auto noTrace = buildScenario(*config, "/nonexistent");
  ASSERT_FALSE(noTrace);
  EXPECT_EQ(noTrace.error().context,
            "links[0].up.trace: /nonexistent/nope.up: No such file or directory");
}

TEST(LinkemScenario, EffectiveScenarioParsesBackToItself) {
  auto config =
      ctrl::checkLinkemConfig(std::string(kLink) +
                                  "up.rate_kbps = 3000\n[[events]]\nlink = \"a\"\nat_s = 2\n"
                                  "kind = \"delay_step\"\ndelay_ms = 80\n",
                              "s.toml");
  ASSERT_TRUE(config);
  auto again = ctrl::checkLinkemConfig(ctrl::renderEffective(*config), "effective");
  ASSERT_TRUE(again) << ctrl::joinErrors(again.error());
  EXPECT_EQ(*again, *config);
}

TEST(LinkemScenario, ExampleScenariosPass) {
  for (const char* name : {"linkem-3lte.toml"}) {
    std::string path = sourceRoot() + "/docs/examples/" + name;
    auto config = ctrl::loadLinkemConfig(path);
    ASSERT_TRUE(config) << config.error().context;
    auto scenario = buildScenario(*config, sourceRoot() + "/docs/examples");
    EXPECT_TRUE(scenario) << path << ": " << scenario.error().context;
  }
}

}  // namespace
}  // namespace braid::linkem
