// libFuzzer target: the three config readers on arbitrary text must return a config or errors,
// never crash; a config that parses must render to text that parses back to itself.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ctrl/config/edge_config.h"
#include "ctrl/config/gateway_config.h"
#include "ctrl/config/linkem_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto gateway = braid::ctrl::checkGatewayConfig(text, "fuzz.toml"); gateway) {
    auto again = braid::ctrl::checkGatewayConfig(braid::ctrl::renderEffective(*gateway), "r");
    if (!again || !(*again == *gateway)) std::abort();
  }
  if (auto edge = braid::ctrl::checkEdgeConfig(text, "fuzz.toml"); edge) {
    auto again = braid::ctrl::checkEdgeConfig(braid::ctrl::renderEffective(*edge), "r");
    if (!again || !(*again == *edge)) std::abort();
  }
  if (auto scenario = braid::ctrl::checkLinkemConfig(text, "fuzz.toml"); scenario) {
    auto again = braid::ctrl::checkLinkemConfig(braid::ctrl::renderEffective(*scenario), "r");
    if (!again || !(*again == *scenario)) std::abort();
  }
  return 0;
}
