#include "linkem/scenario.h"

#include <cmath>
#include <map>

namespace braid::linkem {
namespace {

uint64_t msToNs(double ms) {
  return static_cast<uint64_t>(std::llround(ms * 1e6));
}
uint64_t sToNs(double s) {
  return static_cast<uint64_t>(std::llround(s * 1e9));
}

Jitter jitterKind(const std::string& name) {
  if (name == "exponential") return Jitter::kExponential;
  if (name == "normal") return Jitter::kNormal;
  return Jitter::kUniform;
}

EventKind eventKind(const std::string& name) {
  static const std::map<std::string, EventKind> kinds = {
      {"outage", EventKind::kOutage},        {"rate_step", EventKind::kRateStep},
      {"delay_step", EventKind::kDelayStep}, {"delay_swing", EventKind::kDelaySwing},
      {"handover", EventKind::kHandover},    {"rebind", EventKind::kRebind},
      {"death", EventKind::kDeath}};
  return kinds.at(name);  // the schema admits only these names
}

class TraceCache {
 public:
  explicit TraceCache(std::string baseDir) : baseDir_(std::move(baseDir)) {}

  Result<const Trace*> get(const std::string& path, const std::string& key,
                           std::vector<std::unique_ptr<Trace>>& owned) {
    std::string full = path.front() == '/' || baseDir_.empty() ? path : baseDir_ + "/" + path;
    if (auto it = loaded_.find(full); it != loaded_.end()) return it->second;
    auto trace = loadTrace(full);
    if (!trace) return fail(trace.error().code, key + ": " + trace.error().context);
    owned.push_back(std::make_unique<Trace>(std::move(*trace)));
    loaded_[full] = owned.back().get();
    return owned.back().get();
  }

 private:
  std::string baseDir_;
  std::map<std::string, const Trace*> loaded_;
};

Result<DirectionModelConfig> directionModel(const ctrl::LinkemDirectionConfig& d,
                                            const std::string& key, uint32_t overheadBytes,
                                            TraceCache& traces, Scenario& scenario) {
  DirectionModelConfig m{
      .trace = nullptr,
      .traceScale = d.traceScale,
      .traceOffsetMs = d.traceOffsetMs,
      .rateBitsPerSecond = uint64_t{d.rateKbps} * 1000,
      .overheadBytes = overheadBytes,
      .delayNs = msToNs(d.delayMs),
      .jitterNs = msToNs(d.jitterMs),
      .jitter = jitterKind(d.jitter),
      .loss = d.loss,
      .geP = d.geP,
      .geR = d.geR,
      .geLossGood = d.geLossGood,
      .geLossBad = d.geLossBad,
      .queueBytes = d.queueBytes,
      .queuePackets = d.queuePackets,
      .minSize = d.minSize,
      .reorder = d.reorder,
      .reorderNs = msToNs(d.reorderMs),
  };
  if (d.trace) {
    auto trace = traces.get(*d.trace, key + ".trace", scenario.traces);
    if (!trace) return tl::unexpected(trace.error());
    m.trace = *trace;
  }
  return m;
}

Result<dp::SocketAddress> address(const std::string& text, const std::string& key) {
  auto parsed = dp::parseSocketAddress(text);
  if (!parsed) return fail(ErrorCode::kParse, key + ": " + parsed.error().context);
  return *parsed;
}

}  // namespace

Result<Scenario> buildScenario(const ctrl::LinkemConfig& config, const std::string& baseDir) {
  Scenario scenario;
  scenario.relay.seed = config.seed;
  scenario.relay.poolPackets = config.poolPackets;
  scenario.relay.recordPath = config.record.value_or("");
  scenario.relay.durationNs = sToNs(config.durationS);
  TraceCache traces(baseDir);
  std::map<std::string, size_t> byName;
  for (size_t i = 0; i < config.links.size(); ++i) {
    const ctrl::LinkemLinkConfig& l = config.links[i];
    std::string key = "links[" + std::to_string(i) + "]";
    RelayLinkConfig link;
    link.name = l.name;
    link.device = l.device.value_or("");
    auto listen = address(l.listen, key + ".listen");
    if (!listen) return tl::unexpected(listen.error());
    link.listen = *listen;
    std::optional<std::string> gateway = l.gateway ? l.gateway : config.gateway;
    if (!gateway) {
      return fail(ErrorCode::kParse, key +
                                         ".gateway: no gateway address: set scenario.gateway, "
                                         "this link's gateway, or --gateway");
    }
    auto gw = address(*gateway, l.gateway ? key + ".gateway" : "scenario.gateway");
    if (!gw) return tl::unexpected(gw.error());
    link.gateway = *gw;
    if (l.source) {
      auto source = address(*l.source, key + ".source");
      if (!source) return tl::unexpected(source.error());
      link.source = *source;
    }
    auto up = directionModel(l.up, key + ".up", config.overheadBytes, traces, scenario);
    if (!up) return tl::unexpected(up.error());
    auto down = directionModel(l.down, key + ".down", config.overheadBytes, traces, scenario);
    if (!down) return tl::unexpected(down.error());
    link.up = *up;
    link.down = *down;
    byName[l.name] = i;
    scenario.relay.links.push_back(std::move(link));
  }
  for (const ctrl::LinkemEventConfig& e : config.events) {
    RelayLinkConfig& link = scenario.relay.links[byName.at(e.link)];  // checked by the schema
    ModelEvent event{.kind = eventKind(e.kind),
                     .atNs = sToNs(e.atS),
                     .durationNs = sToNs(e.durationS),
                     .rateBitsPerSecond = uint64_t{e.rateKbps} * 1000,
                     .traceScale = e.traceScale,
                     .delayNs = msToNs(e.delayMs.value_or(0)),
                     .delayMaxNs = msToNs(e.delayMaxMs),
                     .periodNs = sToNs(e.periodS),
                     .reorder = e.reorder,
                     .reorderNs = msToNs(e.reorderMs),
                     .reorderWindowNs = sToNs(e.reorderWindowS)};
    if (event.kind == EventKind::kRebind) {
      link.rebindAtNs.push_back(event.atNs);
      continue;
    }
    if (e.direction != "down") link.upEvents.push_back(event);
    if (e.direction != "up") link.downEvents.push_back(event);
  }
  return scenario;
}

}  // namespace braid::linkem
