#include "ctrl/config/linkem_config.h"

#include <map>
#include <set>

#include "ctrl/config/common_keys.h"
#include "ctrl/config/toml_reader.h"

namespace braid::ctrl {
namespace {

using C = LinkemConfig;
using L = LinkemLinkConfig;
using D = LinkemDirectionConfig;
using V = LinkemEventConfig;
constexpr KeyType kInt = KeyType::kInteger;
constexpr KeyType kFloat = KeyType::kFloat;
constexpr KeyType kStr = KeyType::kString;
constexpr KeyType kEnum = KeyType::kEnum;
constexpr KeyType kAddr = KeyType::kSocketAddress;

constexpr double kMaxDelayMs = 60000;
constexpr double kMaxSeconds = 7 * 24 * 3600;

// A key of links[].up or links[].down: two levels below the table array, which the generic
// field() does not reach.
template <typename M>
Field<C> directionField(D L::*direction, M D::*member, KeySpec spec) {
  config_detail::boundUnsigned<M>(spec);
  spec.defaultValue = config_detail::toValue(D{}.*member);
  return {.spec = std::move(spec),
          .get = [direction, member](
                     const C& c,
                     size_t i) { return config_detail::toValue((c.links[i].*direction).*member); },
          .set =
              [direction, member](C& c, size_t i, const Value& v) {
                config_detail::fromValue(v, (c.links[i].*direction).*member);
              },
          .count = nullptr,
          .resize = nullptr};
}

void addDirection(Schema<C>& s, const std::string& name, D L::*dir, const std::string& what) {
  auto k = [&](const std::string& leaf, KeyType type, const std::string& description) {
    return key("links[]." + name + "." + leaf, type, what + ": " + description);
  };
  s.push_back(directionField(
      dir, &D::trace, k("trace", KeyType::kPath, "Mahimahi trace file (not set: constant rate)")));
  s.push_back(
      directionField(dir, &D::traceScale,
                     k("trace_scale", kFloat, "trace opportunity size factor").range(0.01, 100)));
  s.push_back(directionField(dir, &D::traceOffsetMs,
                             k("trace_offset_ms", kInt, "start this far into the trace")));
  s.push_back(directionField(
      dir, &D::rateKbps,
      k("rate_kbps", kInt, "constant rate (0: no bottleneck)").range(0, 100'000'000)));
  s.push_back(directionField(
      dir, &D::delayMs, k("delay_ms", kFloat, "one-way propagation delay").range(0, kMaxDelayMs)));
  s.push_back(
      directionField(dir, &D::jitterMs,
                     k("jitter_ms", kFloat, "delay jitter scale (FIFO)").range(0, kMaxDelayMs)));
  s.push_back(directionField(
      dir, &D::jitter,
      k("jitter", kEnum, "jitter distribution").oneOf({"uniform", "exponential", "normal"})));
  s.push_back(
      directionField(dir, &D::loss, k("loss", kFloat, "random loss probability").range(0, 1)));
  s.push_back(directionField(
      dir, &D::geP,
      k("ge_p", kFloat, "Gilbert-Elliott P(good to bad) per packet (0: off)").range(0, 1)));
  s.push_back(directionField(dir, &D::geR,
                             k("ge_r", kFloat, "Gilbert-Elliott P(bad to good)").range(0, 1)));
  s.push_back(
      directionField(dir, &D::geLossGood,
                     k("ge_loss_good", kFloat, "loss probability in the good state").range(0, 1)));
  s.push_back(
      directionField(dir, &D::geLossBad,
                     k("ge_loss_bad", kFloat, "loss probability in the bad state").range(0, 1)));
  s.push_back(directionField(dir, &D::queueBytes,
                             k("queue_bytes", kInt, "drop-tail queue bound in bytes (0: none)")));
  s.push_back(directionField(
      dir, &D::queuePackets,
      k("queue_packets", kInt, "drop-tail queue bound in packets (0: none)").range(0, 1'000'000)));
  s.push_back(
      directionField(dir, &D::minSize,
                     k("min_size", kInt, "drop UDP payloads smaller than this").range(0, 65535)));
  s.push_back(directionField(
      dir, &D::reorder,
      k("reorder", kFloat, "probability a packet is held and overtaken").range(0, 1)));
  s.push_back(directionField(
      dir, &D::reorderMs,
      k("reorder_ms", kFloat, "how long a reordered packet is held").range(0, kMaxDelayMs)));
}

Schema<C> makeSchema() {
  Schema<C> s = {
      field(&C::seed, key("scenario.seed", kInt, "seed of every random draw")),
      field(&C::durationS, key("scenario.duration_s", kFloat,
                               "stop after this long (0: run "
                               "until SIGINT or SIGTERM)")
                               .range(0, kMaxSeconds)),
      field(&C::gateway, key("scenario.gateway", kAddr,
                             "where uplink packets go (required here or as --gateway)")),
      field(&C::record, key("scenario.record", KeyType::kPath, "per-packet CSV record file")),
      field(&C::overheadBytes,
            key("scenario.overhead_bytes", kInt, "bytes charged per packet on top of its payload")
                .range(0, 1000)),
      field(&C::poolPackets, key("scenario.pool_packets", kInt,
                                 "packets linkem can hold at once, all links together")
                                 .range(64, 4'000'000)),
      field(&C::logLevel,
            key("log.level", kEnum, "least severe level logged").oneOf(logLevelChoices())),
      field(&C::statsIntervalSeconds, key("log.stats_interval_s", kFloat,
                                          "seconds between stats lines on stdout (0: at exit)")
                                          .range(0, 3600)),
      tableArray(&C::links, key("links", KeyType::kTableArray, "the emulated links")
                                .range(1, static_cast<double>(kMaxLinkemLinks))
                                .mandatory()),
      field(&C::links, &L::name,
            key("links[].name", kStr, "link name used by events and the record")
                .checkedBy(checkLinkName)
                .mandatory()),
      field(&C::links, &L::listen,
            key("links[].listen", kAddr, "address the edge sends this link to").mandatory()),
      field(&C::links, &L::device,
            key("links[].device", kStr, "interface the listen socket is bound to (SO_BINDTODEVICE)")
                .checkedBy(checkInterfaceName)),
      field(&C::links, &L::source,
            key("links[].source", kAddr, "local address of the socket towards the gateway")),
      field(&C::links, &L::gateway,
            key("links[].gateway", kAddr, "this link's gateway (not set: scenario.gateway)")),
  };
  addDirection(s, "up", &L::up, "edge to gateway");
  addDirection(s, "down", &L::down, "gateway to edge");
  auto more = Schema<C>{
      tableArray(
          &C::events,
          key("events", KeyType::kTableArray, "timed events (docs/linkem.md)").range(0, 10000)),
      field(&C::events, &V::link, key("events[].link", kStr, "name of the link").mandatory()),
      field(&C::events, &V::atS,
            key("events[].at_s", kFloat, "seconds after start").range(0, kMaxSeconds).mandatory()),
      field(&C::events, &V::kind,
            key("events[].kind", kEnum, "what happens")
                .oneOf({"outage", "rate_step", "delay_step", "delay_swing", "handover", "rebind",
                        "death"})
                .mandatory()),
      field(&C::events, &V::direction,
            key("events[].direction", kEnum, "which direction it acts on")
                .oneOf({"both", "up", "down"})),
      field(&C::events, &V::durationS,
            key("events[].duration_s", kFloat,
                "outage and handover length; death and swing: 0 means for ever")
                .range(0, kMaxSeconds)),
      field(&C::events, &V::rateKbps,
            key("events[].rate_kbps", kInt, "rate_step: new constant rate").range(0, 100'000'000)),
      field(&C::events, &V::traceScale,
            key("events[].trace_scale", kFloat, "rate_step: new trace scale").range(0, 100)),
      field(&C::events, &V::delayMs,
            key("events[].delay_ms", kFloat, "delay_step and handover: new delay; swing: lowest")
                .range(0, kMaxDelayMs)),
      field(
          &C::events, &V::delayMaxMs,
          key("events[].delay_max_ms", kFloat, "delay_swing: highest delay").range(0, kMaxDelayMs)),
      field(&C::events, &V::periodS,
            key("events[].period_s", kFloat, "delay_swing: period").range(0, kMaxSeconds)),
      field(&C::events, &V::reorder,
            key("events[].reorder", kFloat, "handover: reordering probability").range(0, 1)),
      field(&C::events, &V::reorderMs,
            key("events[].reorder_ms", kFloat, "handover: how long reordered packets are held")
                .range(0, kMaxDelayMs)),
      field(&C::events, &V::reorderWindowS,
            key("events[].reorder_window_s", kFloat, "handover: how long reordering lasts")
                .range(0, kMaxSeconds)),
  };
  s.insert(s.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return s;
}

void checkDirection(const D& d, const std::string& prefix, ReadResult& read) {
  if (d.trace && d.rateKbps > 0 && !read.anyBad({prefix + ".trace", prefix + ".rate_kbps"})) {
    read.fail(prefix + ".rate_kbps", "a trace sets the rate; set trace or rate_kbps, not both");
  }
  if (d.geP > 0 && d.geR == 0 && !read.anyBad({prefix + ".ge_r"})) {
    read.fail(prefix + ".ge_r", "ge_r = 0 would leave the bad state never; must be above 0");
  }
}

void checkEvent(const C& c, const V& e, size_t i, const std::map<std::string, size_t>& links,
                ReadResult& read) {
  std::string p = "events[" + std::to_string(i) + "]";
  auto bad = [&](const std::string& leaf, const std::string& message) {
    // Report at the event's table when the key itself is absent.
    std::string k = p + "." + leaf;
    read.fail(read.lines.count(k) ? k : p, message);
  };
  if (read.anyBad({p + ".link", p + ".kind"})) return;
  auto link = links.find(e.link);
  if (link == links.end()) {
    bad("link", renderValue(e.link) + " is not the name of any [[links]] table");
    return;
  }
  const L& l = c.links[link->second];
  if (e.kind == "outage" || e.kind == "handover") {
    if (e.durationS <= 0) bad("duration_s", e.kind + " needs duration_s above 0");
  }
  if ((e.kind == "delay_step" || e.kind == "handover" || e.kind == "delay_swing") && !e.delayMs) {
    bad("delay_ms", e.kind + " needs delay_ms");
  }
  if (e.kind == "delay_swing") {
    if (e.periodS <= 0) bad("period_s", "delay_swing needs period_s above 0");
    if (e.delayMs && e.delayMaxMs <= *e.delayMs) {
      bad("delay_max_ms", "delay_swing needs delay_max_ms above delay_ms");
    }
  }
  if (e.kind == "rate_step") {
    bool upTrace = l.up.trace.has_value(), downTrace = l.down.trace.has_value();
    bool wantsTrace = (e.direction != "down" && upTrace) || (e.direction != "up" && downTrace);
    bool wantsRate = (e.direction != "down" && !upTrace) || (e.direction != "up" && !downTrace);
    if (wantsTrace && e.traceScale < 0.01) {
      bad("trace_scale", "rate_step on a trace-driven direction needs trace_scale (0.01..100)");
    }
    if (wantsRate && e.rateKbps == 0) {
      bad("rate_kbps", "rate_step on a constant-rate direction needs rate_kbps above 0");
    }
  }
  if (e.kind == "rebind" && e.direction != "both") {
    bad("direction", "rebind moves the link's source in both directions; leave direction out");
  }
}

void crossCheck(const C& c, ReadResult& read) {
  std::map<std::string, size_t> names;
  std::map<std::pair<std::string, std::string>, size_t> listens;
  for (size_t i = 0; i < c.links.size(); ++i) {
    std::string p = "links[" + std::to_string(i) + "]";
    if (!read.anyBad({p + ".name"})) {
      auto [it, fresh] = names.emplace(c.links[i].name, i);
      if (!fresh) {
        read.fail(p + ".name", renderValue(c.links[i].name) + " is already the name of links[" +
                                   std::to_string(it->second) + "]");
      }
    }
    bool ephemeral = c.links[i].listen.ends_with(":0");  // port 0: the kernel picks
    if (!ephemeral && !read.anyBad({p + ".listen"})) {
      // One address may serve several links only when each is bound to its own device.
      auto [it, fresh] =
          listens.emplace(std::make_pair(c.links[i].listen, c.links[i].device.value_or("")), i);
      if (!fresh) {
        read.fail(p + ".listen", renderValue(c.links[i].listen) +
                                     " is already the listen "
                                     "address of links[" +
                                     std::to_string(it->second) + "]");
      }
    }
    checkDirection(c.links[i].up, p + ".up", read);
    checkDirection(c.links[i].down, p + ".down", read);
  }
  for (size_t i = 0; i < c.events.size(); ++i) checkEvent(c, c.events[i], i, names, read);
}

}  // namespace

const Schema<LinkemConfig>& linkemSchema() {
  static const Schema<LinkemConfig> schema = makeSchema();
  return schema;
}

ConfigResult<LinkemConfig> checkLinkemConfig(std::string_view text, std::string_view name) {
  return buildConfig(linkemSchema(), text, name, crossCheck);
}

Result<LinkemConfig> loadLinkemConfig(const std::string& path) {
  return loadConfigFile<LinkemConfig>(path, checkLinkemConfig);
}

std::string renderEffective(const LinkemConfig& config) {
  return "# braid-linkem effective scenario (every default written out)\n\n" +
         renderToml(specsOf(linkemSchema()), flatten(linkemSchema(), config));
}

std::vector<KeyDoc> linkemConfigKeys() {
  return documentKeys(specsOf(linkemSchema()));
}

}  // namespace braid::ctrl
