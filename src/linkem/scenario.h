#pragma once

// Turns a checked scenario file (ctrl::LinkemConfig) into the relay's plain config: reads the
// traces (relative paths against the scenario's folder), resolves addresses, converts units
// and hands each event to the direction(s) it acts on.

#include <memory>
#include <string>
#include <vector>

#include "ctrl/config/linkem_config.h"
#include "dataplane/proto/result.h"
#include "linkem/relay.h"
#include "linkem/trace.h"

namespace braid::linkem {

struct Scenario {
  RelayConfig relay;
  std::vector<std::unique_ptr<Trace>> traces;  // the models point into these
};

// `baseDir` resolves relative trace paths ("" : the working directory). Returns the scenario,
// or a kParse / kIo Error naming the key (e.g. "links[0].up.trace: ...").
[[nodiscard]] Result<Scenario> buildScenario(const ctrl::LinkemConfig& config,
                                             const std::string& baseDir);

}  // namespace braid::linkem
