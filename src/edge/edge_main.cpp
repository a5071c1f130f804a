// braid-edge: the sender. Wires the media input, the session (handshake, sealing, link)
// and the stats printer together.

#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "braid_config.h"
#include "ctrl/config/edge_config.h"
#include "ctrl/keys.h"
#include "ctrl/logging.h"
#include "ctrl/signals.h"
#include "dataplane/clock.h"
#include "dataplane/proto/crypto/aead.h"
#include "edge/edge_session.h"
#include "edge/encoder_feedback.h"
#include "edge/input_pump.h"
#include "edge/link_test.h"
#include "edge/media/open_ts_source.h"
#include "edge/media/packetizer.h"
#include "edge/media/test_pattern_options.h"
#include "edge/stats_table.h"
#include "edge/wire_clock.h"
#include "spdlog/spdlog.h"
#if BRAID_HAVE_METRICS
#include "ctrl/metrics/counter_collector.h"
#include "ctrl/metrics/metrics_server.h"
#endif

namespace {

using namespace braid;

constexpr int kExitConfig = 2;
constexpr size_t kRingChunks = 4096;  // ~5 s of 8 Mbit/s: covers a re-handshake

struct Options {
  std::string configPath;
  std::string gateway;
  std::string keyPath;
  std::string input;
  std::string bind;
  std::string device;
  std::string linkName = "link0";
  std::string aead = "auto";
  std::string logLevel = "info";
  unsigned latencyMs = 500;
  unsigned wireSize = static_cast<unsigned>(proto::kDefaultWirePacketSize);
  double statsInterval = 1.0;
  std::string statsTable;
  bool noPace = false;
  uint64_t rekeyAfterPackets = proto::kRekeySequenceThreshold;
  std::string metricsListen;
  std::string clockSkew;  // --clock-skew (tests): empty for the real clock
  bool fecEnabled = true;
  uint32_t fecMaxBlock = 32;
  double fecMinRepairRatio = 0.05;
  double fecMaxRepairRatio = 0.5;
  uint64_t encoderMinBitrate = ctrl::EdgeConfig{}.encoderMinBitrate;
  uint64_t encoderMaxBitrate = ctrl::EdgeConfig{}.encoderMaxBitrate;
  double encoderSafetyMargin = ctrl::EdgeConfig{}.encoderSafetyMargin;
  // From the config file's [[links]]; when it has none (or no file), one link made of
  // --link-name, --device and --bind.
  std::vector<ctrl::LinkConfig> links;
  // Re-applies the explicit command-line options (they win over the file, also on SIGHUP).
  std::function<void(Options&)> cliOverrides;
};

// The media-awareness fields of the stats line: deleted null and filler packets, the TS bytes
// left after deletion, critical copies, shed access units.
std::string mediaStatsFields(const edge::EdgeCounters& c, const edge::InputPumpCounters& in) {
  return fmt::format(
      " chunks={} ts_bytes={} nulls_deleted={} filler_deleted={} access_units={} "
      "droppable_units={} duplicates={} duplicate_bytes={} duplicates_skipped={} "
      "shed_access_units={} shed_bytes={}",
      in.chunks.read(), in.tsBytes.read(), in.media.nullsDeleted.read(),
      in.media.fillerDeleted.read(), in.media.accessUnits.read(),
      in.media.droppableAccessUnits.read(), c.duplicates.read(), c.duplicateBytes.read(),
      c.duplicatesSkipped.read(), c.shedAccessUnits.read(), c.shedBytes.read());
}
// What the stats line reports about the encoder target and the built-in encoder.
struct EncoderStats {
  const edge::EncoderFeedbackCounters& feedback;
  const edge::EncoderCounters* encoder;  // nullptr: an external encoder
  uint64_t lastOutputBytes = 0;
};

// One stats line, and one per link while there are several (the links configured now: a link
// removed by a reload is no longer shown, one added shows from the next line on).
void printStats(const edge::EdgeCounters& c, const edge::InputPumpCounters& in,
                const edge::LinkSet& links, EncoderStats& enc, uint64_t startNs, uint64_t& lastNs,
                uint64_t& lastBytes, bool final) {
  uint64_t nowNs = dp::monotonicNs();
  uint64_t bytes = c.udpBytesSent.read();
  double seconds = static_cast<double>(nowNs - lastNs) / 1e9;
  double mbps = seconds > 0 ? static_cast<double>(bytes - lastBytes) * 8 / seconds / 1e6 : 0;
  uint64_t encoderBytes = enc.encoder != nullptr ? enc.encoder->outputBytes.read() : 0;
  double encoderMbps =
      seconds > 0 && enc.encoder != nullptr
          ? static_cast<double>(encoderBytes - enc.lastOutputBytes) * 8 / seconds / 1e6
          : 0;
  enc.lastOutputBytes = encoderBytes;
  lastNs = nowNs;
  lastBytes = bytes;
  uint64_t media = c.mediaBytesSent.read();
  const char* kind = final ? "final" : "stats";
  double t = static_cast<double>(nowNs - startNs) / 1e9;
  std::printf(
      "%s t=%.2f state=%s session=%016llx send_mbps=%.2f input_bytes=%llu media_bytes=%llu "
      "udp_bytes=%llu overhead=%.3f data_packets=%llu next_seq=%llu acked_seq=%llu srtt_ms=%.1f "
      "live_links=%llu handshakes=%llu rekeys=%llu resets=%llu stale_dropped=%llu ring_full=%llu "
      "send_errors=%llu nacks=%llu acks_repeated=%llu retransmits=%llu retransmit_bytes=%llu "
      "retransmits_refused=%llu nacks_left_to_fec=%llu fec_blocks=%llu repairs=%llu "
      "repair_bytes=%llu "
      "repairs_dropped=%llu repairs_trimmed=%llu repair_ratio=%.3f fec_loss=%.3f fec_burst=%.2f "
      "bond_falls=%llu stalls=%llu longest_stall_ms=%.1f%s "
      "target_bps=%llu "
      "capacity_bps=%llu",
      kind, t, edge::edgeStateName(static_cast<edge::EdgeState>(c.state.load())),
      (unsigned long long)c.sessionId.load(), mbps, (unsigned long long)in.bytes.read(),
      (unsigned long long)media, (unsigned long long)bytes,
      media > 0 ? static_cast<double>(bytes) / static_cast<double>(media) : 0.0,
      (unsigned long long)c.dataPackets.read(), (unsigned long long)c.nextSeq.read(),
      (unsigned long long)c.ackedSeq.read(), static_cast<double>(c.srttUs.read()) / 1000.0,
      (unsigned long long)c.liveLinks.read(), (unsigned long long)c.handshakes.read(),
      (unsigned long long)c.rekeys.read(), (unsigned long long)c.resetsReceived.read(),
      (unsigned long long)c.staleDiscarded.read(), (unsigned long long)in.ringFull.read(),
      (unsigned long long)c.sendErrors.read(), (unsigned long long)c.nacksReceived.read(),
      (unsigned long long)c.acksRepeated.read(), (unsigned long long)c.retransmits.read(),
      (unsigned long long)c.retransmitBytes.read(), (unsigned long long)c.retransmitsRefused.read(),
      (unsigned long long)c.nacksLeftToFec.read(), (unsigned long long)c.fecBlocks.read(),
      (unsigned long long)c.repairPackets.read(), (unsigned long long)c.repairBytes.read(),
      (unsigned long long)c.repairsDropped.read(), (unsigned long long)c.repairsTrimmed.read(),
      static_cast<double>(c.repairPermille.read()) / 1000,
      static_cast<double>(c.lossPermille.read()) / 1000,
      static_cast<double>(c.burstCenti.read()) / 100, (unsigned long long)c.bondFalls.read(),
      (unsigned long long)c.senderStalls.read(),
      static_cast<double>(c.longestSenderStallUs.read()) / 1e3, mediaStatsFields(c, in).c_str(),
      (unsigned long long)enc.feedback.targetBps.read(),
      (unsigned long long)enc.feedback.capacityBps.read());
  if (enc.encoder != nullptr) {
    // The built-in encoder: what it produced over this interval, and what it runs at.
    std::printf(
        " encoder_mbps=%.3f encoder_bps=%llu encoder_frames=%llu encoder_keyframes=%llu "
        "encoder_rate_changes=%llu",
        encoderMbps, (unsigned long long)enc.encoder->bitrateBps.read(),
        (unsigned long long)enc.encoder->frames.read(),
        (unsigned long long)enc.encoder->keyframes.read(),
        (unsigned long long)enc.encoder->bitrateChanges.read());
  }
  std::printf("\n");
  if (links.size() > 1) {
    for (uint8_t i = 0; i < proto::kMaxLinks; ++i) {
      const edge::EdgeLinkOptions* link = links.find(i);
      if (link == nullptr) continue;
      const edge::EdgeLinkCounters& l = c.links[i];
      std::printf(
          "%s-link t=%.1f link=%u name=%s state=%s pace_mbps=%.2f delivery_mbps=%.2f "
          "srtt_ms=%.1f min_rtt_ms=%.1f owd_ms=%.1f queue_ms=%.1f jitter_p95_ms=%.1f "
          "loss=%.3f inflight_bytes=%llu score_ms=%.1f data_packets=%llu retransmits=%llu "
          "repairs=%llu udp_bytes=%llu downs=%llu stalls_undone=%llu\n",
          kind, t, unsigned{i}, link->name.c_str(),
          edge::linkPhaseName(static_cast<edge::LinkPhase>(l.phase.read())),
          static_cast<double>(l.paceBps.read()) / 1e6,
          static_cast<double>(l.deliveryBps.read()) / 1e6,
          static_cast<double>(l.srttUs.read()) / 1000,
          static_cast<double>(l.minRttUs.read()) / 1000,
          static_cast<double>(l.forwardDelayUs.read()) / 1000,
          static_cast<double>(l.queueDelayUs.read()) / 1000,
          static_cast<double>(l.jitterP95Us.read()) / 1000,
          static_cast<double>(l.lossPerMille.read()) / 1000,
          (unsigned long long)l.inflightBytes.read(), static_cast<double>(l.scoreUs.read()) / 1000,
          (unsigned long long)l.dataPackets.read(), (unsigned long long)l.retransmits.read(),
          (unsigned long long)l.repairs.read(), (unsigned long long)l.udpBytesSent.read(),
          (unsigned long long)l.downs.read(), (unsigned long long)l.stallsUndone.read());
    }
  }
  std::fflush(stdout);
}

void applyConfig(const ctrl::EdgeConfig& c, Options& o) {
  o.gateway = c.gateway;
  o.keyPath = c.keyFile;
  o.input = c.input;
  o.latencyMs = c.latencyMs;
  o.wireSize = c.wireSize;
  o.aead = c.aead;
  o.rekeyAfterPackets = c.rekeyAfterPackets;
  o.logLevel = c.logLevel;
  o.statsInterval = c.statsIntervalSeconds;
  o.fecEnabled = c.fecEnabled;
  o.fecMaxBlock = c.fecMaxBlock;
  o.fecMinRepairRatio = c.fecMinRepairRatio;
  o.fecMaxRepairRatio = c.fecMaxRepairRatio;
  o.encoderMinBitrate = c.encoderMinBitrate;
  o.encoderMaxBitrate = c.encoderMaxBitrate;
  o.encoderSafetyMargin = c.encoderSafetyMargin;
  if (!c.links.empty()) {
    o.linkName = c.links.front().name;
    o.device = c.links.front().device.value_or("");
    o.bind = c.links.front().bind.value_or("");
  }
}

ctrl::EdgeConfig toConfig(const Options& o, const std::vector<ctrl::LinkConfig>& fileLinks) {
  ctrl::EdgeConfig c;
  c.gateway = o.gateway;
  c.keyFile = o.keyPath;
  c.input = o.input;
  c.latencyMs = o.latencyMs;
  c.wireSize = o.wireSize;
  c.aead = o.aead;
  c.rekeyAfterPackets = o.rekeyAfterPackets;
  c.logLevel = o.logLevel;
  c.statsIntervalSeconds = o.statsInterval;
  c.fecEnabled = o.fecEnabled;
  c.fecMaxBlock = o.fecMaxBlock;
  c.fecMinRepairRatio = o.fecMinRepairRatio;
  c.fecMaxRepairRatio = o.fecMaxRepairRatio;
  c.encoderMinBitrate = o.encoderMinBitrate;
  c.encoderMaxBitrate = o.encoderMaxBitrate;
  c.encoderSafetyMargin = o.encoderSafetyMargin;
  c.links = fileLinks;
  if (c.links.empty()) c.links.push_back(ctrl::LinkConfig{.name = o.linkName});
  c.links.front().name = o.linkName;
  if (!o.device.empty()) c.links.front().device = o.device;
  if (!o.bind.empty()) c.links.front().bind = o.bind;
  return c;
}

// The [[links]] as the session takes them (addresses parsed). Any thread.
Result<std::vector<edge::EdgeLinkOptions>> toLinkOptions(const std::vector<ctrl::LinkConfig>& in) {
  std::vector<edge::EdgeLinkOptions> links;
  for (const ctrl::LinkConfig& l : in) {
    edge::EdgeLinkOptions link{.name = l.name, .bindDevice = l.device.value_or("")};
    auto priority = edge::parseLinkPriority(l.priority);
    if (!priority) {
      return fail(ErrorCode::kInvalidArgument, "link " + l.name + ": priority: '" + l.priority +
                                                   "' is not primary, normal or backup");
    }
    link.priority = *priority;
    for (auto [text, out, what] : {std::tuple{l.bind, &link.bindAddress, "bind"},
                                   std::tuple{l.gateway, &link.gateway, "gateway"}}) {
      if (!text) continue;
      auto parsed = dp::parseSocketAddress(*text);
      if (!parsed) {
        return fail(parsed.error().code,
                    "link " + l.name + ": " + what + ": " + parsed.error().describe());
      }
      *out = *parsed;
    }
    links.push_back(std::move(link));
  }
  return links;
}

#if BRAID_HAVE_METRICS
ctrl::CounterCollector::Labels linkLabels(uint8_t id, const std::string& name) {
  return {{"link", std::to_string(id)}, {"name", name}};
}

// The media-awareness metrics: deletion, access units, critical copies, shedding.
void registerMediaMetrics(ctrl::CounterCollector& collector, const edge::EdgeCounters& c,
                          const edge::InputPumpCounters& in) {
  collector.counter("braid_edge_input_ts_bytes_total",
                    "TS bytes of the input left after null and filler deletion", &in.tsBytes);
  collector.counter("braid_edge_deleted_null_packets_total",
                    "TS null packets deleted before sending", &in.media.nullsDeleted);
  collector.counter("braid_edge_deleted_filler_packets_total",
                    "filler-only video packets deleted before sending", &in.media.fillerDeleted);
  collector.counter("braid_edge_access_units_total", "video access units in the input",
                    &in.media.accessUnits);
  collector.counter("braid_edge_droppable_access_units_total",
                    "video access units tagged non-reference", &in.media.droppableAccessUnits);
  collector.counter("braid_edge_duplicate_packets_total",
                    "second copies of critical DATA packets (keyframe, codec config, PSI)",
                    &c.duplicates);
  collector.counter("braid_edge_duplicate_bytes_total", "UDP payload bytes of those copies",
                    &c.duplicateBytes);
  collector.counter("braid_edge_duplicates_skipped_total",
                    "critical copies not sent because media waited at the sender",
                    &c.duplicatesSkipped);
  collector.counter("braid_edge_shed_access_units_total",
                    "non-reference access units shed whole under overload", &c.shedAccessUnits);
  collector.counter("braid_edge_shed_bytes_total", "TS bytes of the shed access units",
                    &c.shedBytes);
}

// Registers the per-link series of link `id`. Control thread.
void addLinkMetrics(ctrl::CounterCollector& collector, const edge::EdgeLinkCounters& l, uint8_t id,
                    const std::string& name) {
  ctrl::CounterCollector::Labels link = linkLabels(id, name);
  collector.counter("braid_edge_link_sent_bytes_total",
                    "UDP payload bytes sent (media, headers, tags, control)", &l.udpBytesSent,
                    link);
  collector.counter("braid_edge_link_sent_packets_total", "UDP datagrams sent", &l.packetsSent,
                    link);
  collector.counter("braid_edge_link_data_packets_total", "DATA packets sent", &l.dataPackets,
                    link);
  collector.counter("braid_edge_link_retransmits_total", "DATA copies resent on the link",
                    &l.retransmits, link);
  collector.counter("braid_edge_link_send_errors_total", "datagrams the kernel refused",
                    &l.sendErrors, link);
  collector.counter("braid_edge_link_demotions_total",
                    "times the link was demoted (stall, delay, loss burst, collapse), undone "
                    "demotions included",
                    &l.downs, link);
  collector.counter("braid_edge_link_stalls_undone_total",
                    "stall demotions taken back: a report within 500 ms showed delivery past the "
                    "stall without loss (a gap, not a dead link)",
                    &l.stallsUndone, link);
  collector.gauge("braid_edge_link_state",
                  "link phase: 0 init, 1 probe, 2 warm, 3 live, 4 degrade, 5 cooldown, 6 reset "
                  "(2 and 3 carry media)",
                  &l.phase, link);
  collector.gauge("braid_edge_link_one_way_delay_seconds",
                  "forward one-way delay estimate (base + queue the gateway saw)",
                  &l.forwardDelayUs, link, 1e-6);
  collector.gauge("braid_edge_link_queue_delay_seconds",
                  "queueing delay the gateway saw on the link (one way)", &l.queueDelayUs, link,
                  1e-6);
  collector.gauge("braid_edge_link_jitter_p95_seconds",
                  "95th percentile of the queueing delay over the last 64 reports", &l.jitterP95Us,
                  link, 1e-6);
  collector.gauge("braid_edge_link_inflight_bytes", "bytes sent and not yet reported",
                  &l.inflightBytes, link);
  collector.gauge("braid_edge_link_train_rate_bytes_per_second",
                  "capacity estimate of the last packet train", &l.trainBps, link, 0.125);
  collector.gauge("braid_edge_link_score_seconds",
                  "scheduler score: expected delivery delay of a full packet sent now", &l.scoreUs,
                  link, 1e-6);
  collector.gauge("braid_edge_link_rtt_seconds", "smoothed round-trip time", &l.srttUs, link, 1e-6);
  collector.gauge("braid_edge_link_min_rtt_seconds", "lowest round-trip time (10-20 s)",
                  &l.minRttUs, link, 1e-6);
  collector.gauge("braid_edge_link_pacing_rate_bytes_per_second",
                  "rate the link's pacer and congestion control allow", &l.paceBps, link, 0.125);
  collector.gauge("braid_edge_link_delivery_rate_bytes_per_second",
                  "rate the gateway reports receiving on the link", &l.deliveryBps, link, 0.125);
  collector.gauge("braid_edge_link_loss_ratio", "smoothed loss ratio from receive reports",
                  &l.lossPerMille, link, 1e-3);
}
#endif

// What a reload touches besides the options: the link set and whoever shows it.
struct ReloadTargets {
  edge::LinkSet& links;
  edge::EdgeSession& session;
  edge::EncoderFeedback& encoder;
  const dp::SocketAddress& gateway;
  std::function<void(std::span<const edge::LinkChange>)> onLinksChanged;
};

// Makes `desired` the session's link set: plans the changes by link name, opens the added
// links' sockets here, and posts everything to the sender thread at once. Any failure
// changes nothing. Control thread. Returns false if the links were not changed.
bool reloadLinks(const std::vector<ctrl::LinkConfig>& desired, ReloadTargets& t) {
  auto wanted = toLinkOptions(desired);
  if (!wanted) {
    spdlog::error("SIGHUP: links not changed: {}", wanted.error().describe());
    return false;
  }
  auto plan = t.links.plan(*wanted);
  if (!plan) {
    spdlog::error("SIGHUP: links not changed: {}", plan.error().context);
    return false;
  }
  if (plan->empty()) return true;
  std::vector<edge::LinkCommand> commands;
  for (const edge::LinkChange& change : *plan) {
    edge::LinkCommand& command =
        commands.emplace_back(edge::LinkCommand{.change = change, .socket = {}});
    if (change.kind != edge::LinkChange::Kind::kAdd) continue;
    auto socket = edge::openLinkSocket(change.options, t.gateway);
    if (!socket) {
      spdlog::error("SIGHUP: links not changed: {}", socket.error().describe());
      return false;
    }
    command.socket = std::move(*socket);
  }
  if (!t.session.postLinkChanges(std::move(commands))) {
    spdlog::error("SIGHUP: links not changed: the sender has not yet taken the last reload");
    return false;
  }
  for (const edge::LinkChange& change : *plan) {
    const char* what = change.kind == edge::LinkChange::Kind::kAdd      ? "added as"
                       : change.kind == edge::LinkChange::Kind::kRemove ? "removed, was"
                                                                        : "kept as";
    spdlog::info("SIGHUP: link {} {} link ID {} ({})", change.options.name, what, change.id,
                 change.why);
  }
  t.links.apply(*plan);
  if (t.onLinksChanged) t.onLinksChanged(*plan);
  spdlog::info("SIGHUP: {} links now", t.links.size());
  return true;
}

// SIGHUP: reads the config file again and applies what can change while streaming (log
// level, stats interval, the [[links]]); reports keys that need a restart. A bad file
// changes nothing. Control thread.
void reload(Options& options, ReloadTargets& targets) {
  if (options.configPath.empty()) {
    spdlog::info("SIGHUP: no --config file, nothing to reload");
    return;
  }
  auto loaded = ctrl::loadEdgeConfig(options.configPath);
  if (!loaded) {
    spdlog::error("SIGHUP: {} is not valid, nothing changed:\n{}", options.configPath,
                  loaded.error().context);
    return;
  }
  Options reloaded;
  applyConfig(*loaded, reloaded);
  if (options.cliOverrides) options.cliOverrides(reloaded);
  ctrl::EdgeConfig before = toConfig(options, options.links);
  ctrl::EdgeConfig after = toConfig(reloaded, loaded->links);
  for (const ctrl::ConfigChange& change : ctrl::diffConfig(before, after)) {
    if (change.key.rfind("links", 0) == 0) continue;  // reported link by link below
    if (change.reload == ctrl::Reload::kRestart) {
      spdlog::warn("SIGHUP: {} changed ({} -> {}): needs a restart, still using {}", change.key,
                   change.before, change.after, change.before);
    } else {
      spdlog::info("SIGHUP: {} changed ({} -> {}): applied", change.key, change.before,
                   change.after);
    }
  }
  if (after.logLevel != options.logLevel) {
    if (auto level = ctrl::parseLogLevel(after.logLevel)) spdlog::set_level(*level);
    options.logLevel = after.logLevel;
  }
  options.statsInterval = after.statsIntervalSeconds;
  if (after.encoderMinBitrate != before.encoderMinBitrate ||
      after.encoderMaxBitrate != before.encoderMaxBitrate ||
      after.encoderSafetyMargin != before.encoderSafetyMargin) {
    options.encoderMinBitrate = after.encoderMinBitrate;
    options.encoderMaxBitrate = after.encoderMaxBitrate;
    options.encoderSafetyMargin = after.encoderSafetyMargin;
    targets.encoder.reconfigure(after.encoderMinBitrate, after.encoderMaxBitrate,
                                after.encoderSafetyMargin);
  }
  if (after.links != before.links && reloadLinks(after.links, targets)) {
    options.links = after.links;
    options.linkName = reloaded.linkName;
    options.device = reloaded.device;
    options.bind = reloaded.bind;
  }
}

// The session options both streaming and the link test start from: the gateway, links, key,
// AEAD and sizes of `options`, checked. Logs what is wrong and returns nullopt (exit 2).
std::optional<edge::EdgeSessionOptions> sessionOptionsFrom(const Options& options) {
  auto gateway = dp::parseSocketAddress(options.gateway);
  if (!gateway) {
    spdlog::error("--gateway: {}", gateway.error().describe());
    return std::nullopt;
  }
  auto links = toLinkOptions(options.links);
  if (!links) {
    spdlog::error("{}", links.error().context);
    return std::nullopt;
  }
  auto key = ctrl::loadEdgeKeyFile(options.keyPath);
  if (!key) {
    spdlog::error("{}", key.error().describe());
    return std::nullopt;
  }
  auto backend = proto::parseAeadBackend(options.aead);
  if (!backend || !proto::aeadBackendAvailable(*backend)) {
    spdlog::error("--aead {}: unknown, or not available in this build or on this CPU",
                  options.aead);
    return std::nullopt;
  }
  if (options.latencyMs < 20 || options.latencyMs > 60000) {
    spdlog::error("--latency-ms must be 20..60000");
    return std::nullopt;
  }
  if (options.wireSize < 400 || options.wireSize > proto::kMaxPacketSize) {
    spdlog::error("--wire-size must be 400..{}", proto::kMaxPacketSize);
    return std::nullopt;
  }
  return edge::EdgeSessionOptions{
      .gateway = *gateway,
      .links = *links,
      .keyId = key->id,
      .psk = key->key,
      .latencyMs = static_cast<uint16_t>(options.latencyMs),
      .wirePacketSize = options.wireSize,
      .channel = {.backend = *backend, .rekeySequenceThreshold = options.rekeyAfterPackets},
      .fec = {.enabled = options.fecEnabled,
              .maxBlock = options.fecMaxBlock,
              .policy = {.floorRatio = options.fecMinRepairRatio,
                         .ceilingRatio = options.fecMaxRepairRatio}}};
}

int runEdge(Options& options) {
  if (auto logging = ctrl::setupLogging(options.logLevel, "braid-edge"); !logging) {
    std::fprintf(stderr, "braid-edge: %s\n", logging.error().describe().c_str());
    return kExitConfig;
  }
  edge::ClockSkew skew{};
  if (!options.clockSkew.empty()) {
    auto parsed = edge::parseClockSkew(options.clockSkew);
    if (!parsed) {
      spdlog::error("--clock-skew: {}", parsed.error().describe());
      return kExitConfig;
    }
    skew = *parsed;
  }
  auto prepared = sessionOptionsFrom(options);
  if (!prepared) return kExitConfig;
  auto source = edge::openTsSource(options.input,
                                   edge::TsInputOptions{.pace = !options.noPace, .clock = nullptr});
  if (!source) {
    spdlog::error("--input: {}", source.error().describe());
    return kExitConfig;
  }
  auto packetizer = edge::Packetizer::create(
      edge::PacketizerOptions{.maxPayload = options.wireSize - edge::kDataOverhead -
                                            (options.fecEnabled ? edge::kRepairReserve : 0)});
  if (!packetizer) {
    spdlog::error("{}", packetizer.error().describe());
    return kExitConfig;
  }
  auto signals = ctrl::SignalWatcher::create();
  if (!signals) {
    spdlog::error("{}", signals.error().describe());
    return 1;
  }

  dp::SpscRing<edge::MediaChunk> ring(kRingChunks);
  uint64_t startNs = dp::monotonicNs();
  prepared->epochNs = startNs;
  prepared->wireClock = edge::WireClock(skew, startNs);
  auto session = edge::EdgeSession::create(*prepared, ring);
  if (!session) {
    spdlog::error("{}", session.error().describe());
    return 1;
  }
  spdlog::info("braid-edge {} sending {} to {} (key {}, latency {} ms, AEAD {})", BRAID_VERSION,
               options.input, options.gateway, prepared->keyId, options.latencyMs,
               proto::aeadBackendName(prepared->channel.backend));
  if (!options.clockSkew.empty()) {
    spdlog::warn(
        "--clock-skew: wire timestamps from a clock {} ms off that drifts {} ppm (a test aid)",
        skew.offsetNs / 1'000'000, static_cast<double>(skew.ppb) / 1000);
  }

#if BRAID_HAVE_METRICS
  std::unique_ptr<ctrl::MetricsServer> metrics;
  std::shared_ptr<ctrl::CounterCollector> collector;
#endif
  edge::InputPump pump(**source, *packetizer, ring);
  // The encoder target: the built-in encoder starts from its URL's bit rate (within the
  // limits) and follows it; an external encoder can only read it (metric, stats line).
  edge::EncoderControl* encoderControl = (*source)->encoderControl();
  edge::EncoderFeedback encoderFeedback(
      edge::BitrateControllerConfig{
          .minBps = options.encoderMinBitrate,
          .maxBps = options.encoderMaxBitrate,
          .initialBps = encoderControl != nullptr ? encoderControl->requestedBitrate() : 0,
          .safetyMargin = options.encoderSafetyMargin},
      encoderControl);
  // Media waiting at the sender, in bytes: whole chunks in the input ring (each at most one
  // payload; they are full but for the last one of a burst).
  const uint64_t chunkBytes =
      (options.wireSize - edge::kDataOverhead) / edge::kTsPacketSize * edge::kTsPacketSize;
  if (!options.metricsListen.empty()) {
#if BRAID_HAVE_METRICS
    auto server = ctrl::MetricsServer::start(options.metricsListen);
    if (!server) {
      spdlog::error("--metrics-listen: {}", server.error().describe());
      return kExitConfig;
    }
    metrics = std::move(*server);
    collector = std::make_shared<ctrl::CounterCollector>();
    const edge::EdgeCounters& c = (*session)->counters();
    for (size_t i = 0; i < prepared->links.size(); ++i) {
      addLinkMetrics(*collector, c.links[i], static_cast<uint8_t>(i), prepared->links[i].name);
    }
    collector->counter("braid_edge_sent_bytes_total", "UDP payload bytes sent on all links",
                       &c.udpBytesSent);
    collector->counter("braid_edge_retransmits_total", "DATA copies resent for NACKs",
                       &c.retransmits);
    collector->counter("braid_edge_nacks_left_to_fec_total",
                       "NACKed sequences not resent because their FEC block's repairs can "
                       "rebuild them",
                       &c.nacksLeftToFec);
    collector->counter("braid_edge_media_bytes_total", "TS bytes sent as media", &c.mediaBytesSent);
    collector->counter("braid_edge_repair_packets_total", "FEC repair packets sent",
                       &c.repairPackets);
    collector->counter("braid_edge_repair_bytes_total", "UDP payload bytes of FEC repair packets",
                       &c.repairBytes);
    collector->counter("braid_edge_fec_blocks_total", "FEC blocks closed", &c.fecBlocks);
    collector->counter("braid_edge_bond_falls_total",
                       "capacity falls every link showed at once, followed at the latest "
                       "reports' rates",
                       &c.bondFalls);
    collector->counter("braid_edge_stale_dropped_total",
                       "media chunks dropped at the sender because they could no longer play "
                       "in time (the log says why)",
                       &c.staleDiscarded);
    collector->counter("braid_edge_sender_stalls_total",
                       "passes or waits of the sender thread that ended 20 ms or more late",
                       &c.senderStalls);
    collector->gaugeFn("braid_edge_sender_longest_stall_seconds",
                       "the longest stall of the sender thread",
                       [&c] { return static_cast<double>(c.longestSenderStallUs.read()) / 1e6; });
    collector->counter("braid_edge_repairs_dropped_total",
                       "repair packets not sent because their block was past its deadline",
                       &c.repairsDropped);
    collector->gaugeFn("braid_edge_repair_ratio",
                       "repair packets per media packet of the last FEC block",
                       [&c] { return static_cast<double>(c.repairPermille.read()) / 1000; });
    collector->gaugeFn("braid_edge_fec_loss_ratio",
                       "packet loss across the bond that the FEC rate follows",
                       [&c] { return static_cast<double>(c.lossPermille.read()) / 1000; });
    registerMediaMetrics(*collector, c, pump.counters());
    collector->counter("braid_edge_data_packets_total", "DATA packets sent", &c.dataPackets);
    collector->gauge("braid_edge_next_media_sequence", "next media sequence to send", &c.nextSeq);
    collector->gauge("braid_edge_acked_media_sequence",
                     "media sequence acknowledged by the gateway", &c.ackedSeq);
    collector->counter("braid_edge_handshakes_total", "completed handshakes", &c.handshakes);
    collector->counter("braid_edge_rekeys_total", "completed rekeys", &c.rekeys);
    collector->counter("braid_edge_stateless_resets_total", "valid resets from the gateway",
                       &c.resetsReceived);
    collector->counter("braid_edge_input_bytes_total", "TS bytes read from the input",
                       &pump.counters().bytes);
    collector->counter("braid_edge_input_overflow_chunks_total",
                       "input chunks dropped because the sender fell behind",
                       &pump.counters().ringFull);
    collector->gaugeFn(
        "braid_edge_session_live", "1 while a session with the gateway is established", [&c] {
          auto state = static_cast<edge::EdgeState>(c.state.load(std::memory_order_relaxed));
          return state == edge::EdgeState::kEstablished || state == edge::EdgeState::kDraining
                     ? 1.0
                     : 0.0;
        });
    const edge::EncoderFeedbackCounters& f = encoderFeedback.counters();
    collector->gauge("braid_edge_target_bitrate_bps",
                     "encoder target bit rate (TS): what the bond carries x safety margin / "
                     "overhead; the test pattern follows it, an external encoder should",
                     &f.targetBps);
    collector->gauge("braid_edge_bond_capacity_bps",
                     "sum over media links of what their congestion control allows (UDP bit/s)",
                     &f.capacityBps);
    collector->gauge("braid_edge_bond_delivery_bps",
                     "sum over media links of the delivery rate the gateway reports (UDP bit/s)",
                     &f.deliveryBps);
    collector->gauge("braid_edge_overhead_ratio",
                     "UDP payload bytes / media bytes sent over the last second",
                     &f.overheadPerMille, {}, 1e-3);
    collector->counter("braid_edge_target_bitrate_changes_total",
                       "times the encoder target moved (beyond its dead band)", &f.targetChanges);
    if (encoderControl != nullptr) {
      const edge::EncoderCounters& e = encoderControl->encoderCounters();
      collector->counter("braid_edge_encoder_frames_total", "test-pattern frames encoded",
                         &e.frames);
      collector->counter("braid_edge_encoder_keyframes_total", "test-pattern keyframes encoded",
                         &e.keyframes);
      collector->gauge("braid_edge_encoder_bitrate_bps",
                       "bit rate (TS) the test-pattern encoder runs at now", &e.bitrateBps);
      collector->counter("braid_edge_encoder_bitrate_changes_total",
                         "bit-rate changes applied to the running test-pattern encoder",
                         &e.bitrateChanges);
      collector->counter("braid_edge_encoder_output_bytes_total",
                         "TS bytes the test-pattern encoder produced", &e.outputBytes);
      collector->counter("braid_edge_encoder_busy_seconds_total",
                         "time the test pattern spent generating, encoding and muxing frames",
                         &e.encodeUs, {}, 1e-6);
    }
    metrics->add(collector);
    spdlog::info("metrics on http://{}:{}/metrics",
                 options.metricsListen.substr(0, options.metricsListen.rfind(':')),
                 metrics->port());
#else
    spdlog::error("--metrics-listen: this build has no Prometheus support (meson -Dmetrics)");
    return kExitConfig;
#endif
  }

  std::atomic<bool> stop{false};
  // Closes the input only: the sender then drains what was read (a stop by signal).
  std::atomic<bool> inputStop{false};
  std::atomic<bool> inputDone{false};
  std::atomic<bool> inputFailed{false};
  std::atomic<bool> senderDone{false};
  // A file waits for the first session and the links' probes, so that none of it is lost to
  // the handshake or goes out on the one link warm so far; a live input (UDP) runs from the
  // start, since its sender cannot be paused anyway.
  std::atomic<bool> alwaysOpen{true};
  bool isFile = options.input.rfind("udp://", 0) != 0;
  std::thread inputThread([&] {
    std::atomic<bool> gate{false};
    std::thread gateWatcher([&] {
      while (!stop.load() && !inputStop.load() && !(*session)->linksSettled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      gate.store(true);
    });
    bool okRun = pump.run(inputStop, isFile ? gate : alwaysOpen);
    gateWatcher.join();
    if (!okRun) inputFailed.store(true);
    inputDone.store(true, std::memory_order_release);
  });
  std::thread senderThread([&] {
    (*session)->run(stop, inputDone);
    senderDone.store(true);
  });

  edge::LinkSet linkSet(prepared->links);
  ReloadTargets reloadTargets{
      .links = linkSet,
      .session = **session,
      .encoder = encoderFeedback,
      .gateway = prepared->gateway,
      .onLinksChanged = [&](std::span<const edge::LinkChange> changes) {
#if BRAID_HAVE_METRICS
        if (!collector) return;
        for (const edge::LinkChange& change : changes) {
          if (change.kind == edge::LinkChange::Kind::kRemove) {
            collector->removeLabeled(linkLabels(change.id, change.options.name));
          } else if (change.kind == edge::LinkChange::Kind::kAdd) {
            addLinkMetrics(*collector, (*session)->counters().links[change.id], change.id,
                           change.options.name);
          }
        }
#else
        (void)changes;
#endif
      }};
  std::optional<edge::StatsTable> table;
  if (!options.statsTable.empty()) {
    // Room for the links at start and two more added by a reload.
    auto opened = edge::StatsTable::open(options.statsTable,
                                         std::min<size_t>(linkSet.size() + 2, proto::kMaxLinks));
    if (opened) {
      table.emplace(std::move(*opened));
    } else {
      spdlog::warn("{}; streaming without it", opened.error().describe());
    }
  }
  constexpr uint64_t kTableIntervalNs = 50'000'000;  // 20 Hz
  uint64_t nextTableNs = startNs;
  uint64_t lastNs = startNs, lastBytes = 0;
  auto intervalNs = [&options] { return static_cast<uint64_t>(options.statsInterval * 1e9); };
  uint64_t nextStatsNs = startNs + intervalNs();
  uint64_t nextEncoderTickNs = startNs;
  EncoderStats encoderStats{
      .feedback = encoderFeedback.counters(),
      .encoder = encoderControl != nullptr ? &encoderControl->encoderCounters() : nullptr};
  // A stop by signal finishes the stream: the input closes, and what was read is still sent,
  // NACKs answered, until the gateway acknowledged all of it (the session gives up at latency
  // + 2 s; this deadline covers a session that is reconnecting). Without a session there is
  // nothing to finish. A second signal stops at once.
  uint64_t finishDeadlineNs = 0;
  while (!senderDone.load()) {
    auto signal = signals->wait(std::chrono::milliseconds(table ? 10 : 20));
    if (signal && (*signal == SIGINT || *signal == SIGTERM)) {
      auto state = static_cast<edge::EdgeState>(
          (*session)->counters().state.load(std::memory_order_relaxed));
      bool streaming =
          state == edge::EdgeState::kEstablished || state == edge::EdgeState::kDraining;
      if (finishDeadlineNs != 0 || !streaming) {
        spdlog::info("signal {}: closing the session", *signal);
        break;
      }
      finishDeadlineNs = dp::monotonicNs() + (uint64_t{options.latencyMs} + 5'000) * 1'000'000;
      spdlog::info(
          "signal {}: finishing the stream: input closed, sending what was read until the "
          "gateway has it (at most {} ms; another signal stops at once)",
          *signal, options.latencyMs + 5'000);
      inputStop.store(true);
    }
    if (finishDeadlineNs != 0 && dp::monotonicNs() >= finishDeadlineNs) {
      spdlog::warn("the stream did not finish in time; closing the session");
      break;
    }
    if (signal && *signal == SIGHUP) {
      uint64_t interval = intervalNs();
      reload(options, reloadTargets);
      if (intervalNs() != interval) nextStatsNs = dp::monotonicNs() + intervalNs();
    }
    if (uint64_t now = dp::monotonicNs(); now >= nextEncoderTickNs) {
      encoderFeedback.tick(now, (*session)->counters(), linkSet, ring.size() * chunkBytes);
      nextEncoderTickNs = std::max(nextEncoderTickNs + edge::EncoderFeedback::kTickNs, now);
    }
    if (table && dp::monotonicNs() >= nextTableNs) {
      table->draw((*session)->counters(), linkSet,
                  static_cast<double>(dp::monotonicNs() - startNs) / 1e9);
      nextTableNs = dp::monotonicNs() + kTableIntervalNs;
    }
    if (intervalNs() > 0 && dp::monotonicNs() >= nextStatsNs) {
      printStats((*session)->counters(), pump.counters(), linkSet, encoderStats, startNs, lastNs,
                 lastBytes, false);
      nextStatsNs += intervalNs();
    }
  }
  stop.store(true);
  inputStop.store(true);
  inputThread.join();
  senderThread.join();
  printStats((*session)->counters(), pump.counters(), linkSet, encoderStats, startNs, lastNs,
             lastBytes, true);
  if (inputFailed.load()) return 1;
  return 0;
}

// `braid-edge link-test`: the same gateway, key, links and AEAD as a session, synthetic
// media instead of the input (edge/link_test.h). Prints the per-link figures on stdout;
// returns 0, 1 if no session came up, 2 on a bad configuration.
int runLinkTestCommand(const Options& options, double seconds, bool json) {
  if (auto logging = ctrl::setupLogging(options.logLevel, "braid-edge"); !logging) {
    std::fprintf(stderr, "braid-edge: %s\n", logging.error().describe().c_str());
    return kExitConfig;
  }
  auto prepared = sessionOptionsFrom(options);
  if (!prepared) return kExitConfig;
  auto signals = ctrl::SignalWatcher::create();
  if (!signals) {
    spdlog::error("{}", signals.error().describe());
    return 1;
  }
  spdlog::info("braid-edge {} link test of {} link(s) to {} for {:.1f} s (key {})", BRAID_VERSION,
               prepared->links.size(), options.gateway, seconds, prepared->keyId);
  prepared->epochNs = dp::monotonicNs();
  auto report = edge::runLinkTest(
      *prepared, edge::LinkTestOptions{.durationNs = static_cast<uint64_t>(seconds * 1e9)},
      [&signals] {
        auto signal = signals->wait(std::chrono::milliseconds(0));
        return signal && (*signal == SIGINT || *signal == SIGTERM);
      });
  if (!report) {
    spdlog::error("link test: {}", report.error().describe());
    return 1;
  }
  std::string text = json ? edge::formatLinkTestJson(*report) : edge::formatLinkTestText(*report);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto blocked = braid::ctrl::blockShutdownSignals(); !blocked) {
    std::fprintf(stderr, "braid-edge: %s\n", blocked.error().describe().c_str());
    return 1;
  }
  CLI::App app{
      "braid-edge: sends one live MPEG-TS feed to a braid-gateway, sealed and "
      "authenticated, over the edge's links."};
  app.footer(
      "SIGINT/SIGTERM finish the stream: the input closes and what was read is still sent "
      "until the gateway has all of it (at most latency + 5 s); a second signal stops at once. "
      "SIGHUP reloads --config.");
  Options options;
  bool checkConfig = false;
  app.add_option("--config", options.configPath,
                 "TOML config file (docs/config.md); command-line options override it");
  app.add_flag("--check-config", checkConfig,
               "validate the configuration, print it with every default filled in, and exit");
  app.add_option("--gateway", options.gateway, "gateway address HOST:PORT");
  app.add_option("--key", options.keyPath, "this edge's key file (from 'braid-gateway keygen')");
  app.add_option(
      "--input", options.input,
      "media input: file:PATH[?loop=1] (paced by PCR), PATH, udp://HOST:PORT, or "
      "testpattern:[?bitrate=4M&size=1280x720&fps=30&gop=1&preset=veryfast&duration=S] (the "
      "built-in encoder: lavfi testsrc2 + libx264 with 2 B-frames, its bit rate "
      "following the bond; docs/config.md)");
  app.add_option("--latency-ms", options.latencyMs, "target end-to-end latency to ask for")
      ->capture_default_str();
  app.add_option("--bind", options.bind, "local address of the link (HOST:PORT)");
  app.add_option("--device", options.device, "network interface to bind the link to");
  app.add_option("--link-name", options.linkName, "name of the link shown at the gateway")
      ->capture_default_str();
  app.add_option("--wire-size", options.wireSize, "largest UDP payload sent, bytes")
      ->capture_default_str();
  app.add_option("--aead", options.aead, "AES-256-GCM implementation: auto, ipsec-mb, openssl")
      ->capture_default_str();
  app.add_flag("--no-pace", options.noPace, "send a file as fast as possible (tests)");
  bool noFec = false;
  app.add_flag("--no-fec", noFec,
               "send no FEC repair packets (ARQ only; same as fec.enabled = false)");
  app.add_option("--rekey-after-packets", options.rekeyAfterPackets,
                 "handshake new keys once any link has sent this many packets under the "
                 "current keys (default: near the 2^48 sequence limit)")
      ->check(CLI::Range(uint64_t{100}, proto::kRekeySequenceThreshold));
  app.add_option("--stats-interval", options.statsInterval,
                 "seconds between stats lines on stdout (0: only at exit)")
      ->capture_default_str();
  app.add_option("--stats-table", options.statsTable,
                 "draw a live per-link table (state, rates, RTT, one-way delay, jitter p95, "
                 "loss, in flight, score) 20 times a second at the top of the terminal PATH, "
                 "e.g. /dev/tty; log lines scroll below it");
  app.add_option("--log-level", options.logLevel, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--metrics-listen", options.metricsListen,
                 "serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port)");
  app.add_option("--clock-skew", options.clockSkew,
                 "TEST/DIAGNOSTIC AID, never for production: OFFSET_MS:PPM makes every timestamp "
                 "this edge puts on the wire (send and media timestamps) come from a clock that "
                 "reads OFFSET_MS ms ahead of the real monotonic clock at start (negative: behind) "
                 "and drifts PPM ppm from it (e.g. 3600000:100), to check that the gateway copes "
                 "with unrelated clocks; |OFFSET_MS| <= 1000000000, |PPM| <= 1000");
  double linkTestSeconds = 10;
  bool linkTestJson = false;
  CLI::App* linkTest = app.add_subcommand(
      "link-test",
      "test the links instead of streaming: handshake with the gateway as a session would "
      "(same --config, links, --key, --gateway), then saturate every link with synthetic "
      "media paced by that link's own congestion control, and print per link its capacity "
      "(delivered rate over the test minus its ramp-up), RTT (min, smoothed, p50, p95) and "
      "loss. No --input. Exits 0, or 1 if the gateway does not answer within 5 s");
  linkTest->fallthrough();
  linkTest->add_option("--duration", linkTestSeconds, "seconds of saturating traffic")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  linkTest->add_flag("--json", linkTestJson, "print the figures as one JSON object");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitConfig;
  }
  // The file gives the base values, explicit command-line options override them.
  Options effective;
  std::vector<ctrl::LinkConfig> fileLinks;
  if (!options.configPath.empty()) {
    auto config = ctrl::loadEdgeConfig(options.configPath);
    if (!config) {
      std::fprintf(stderr, "braid-edge: %s\n", config.error().context.c_str());
      return kExitConfig;
    }
    applyConfig(*config, effective);
    fileLinks = config->links;
  }
  std::vector<std::string> given;
  for (const char* name : {"--gateway", "--key", "--input", "--latency-ms", "--bind", "--device",
                           "--link-name", "--wire-size", "--aead", "--rekey-after-packets",
                           "--stats-interval", "--log-level", "--no-fec"}) {
    if (app.get_option(name)->count() > 0) given.push_back(name);
  }
  effective.cliOverrides = [cli = options, given](Options& o) {
    for (const std::string& n : given) {
      if (n == "--gateway") o.gateway = cli.gateway;
      if (n == "--key") o.keyPath = cli.keyPath;
      if (n == "--input") o.input = cli.input;
      if (n == "--latency-ms") o.latencyMs = cli.latencyMs;
      if (n == "--bind") o.bind = cli.bind;
      if (n == "--device") o.device = cli.device;
      if (n == "--link-name") o.linkName = cli.linkName;
      if (n == "--wire-size") o.wireSize = cli.wireSize;
      if (n == "--aead") o.aead = cli.aead;
      if (n == "--rekey-after-packets") o.rekeyAfterPackets = cli.rekeyAfterPackets;
      if (n == "--stats-interval") o.statsInterval = cli.statsInterval;
      if (n == "--log-level") o.logLevel = cli.logLevel;
      if (n == "--no-fec") o.fecEnabled = false;
    }
  };
  effective.cliOverrides(effective);
  effective.noPace = options.noPace;
  effective.metricsListen = options.metricsListen;
  effective.statsTable = options.statsTable;
  effective.clockSkew = options.clockSkew;
  effective.configPath = options.configPath;
  effective.links = toConfig(effective, fileLinks).links;
  if (checkConfig) {
    // The config reader checks the input's form; the test pattern's options are the edge's.
    if (edge::isTestPatternUrl(effective.input)) {
      if (auto pattern = edge::parseTestPatternUrl(effective.input); !pattern) {
        std::fprintf(stderr, "braid-edge: edge.input: %s\n", pattern.error().context.c_str());
        return kExitConfig;
      }
    }
    std::printf("%s", ctrl::renderEffective(toConfig(effective, fileLinks)).c_str());
    return 0;
  }
  if (linkTest->parsed()) {
    for (auto [value, flag] : {std::pair{&effective.gateway, "--gateway (or edge.gateway)"},
                               std::pair{&effective.keyPath, "--key (or edge.key_file)"}}) {
      if (value->empty()) {
        std::fprintf(stderr, "braid-edge: %s is required\n", flag);
        return kExitConfig;
      }
    }
    return runLinkTestCommand(effective, linkTestSeconds, linkTestJson);
  }
  for (auto [value, flag] : {std::pair{&effective.gateway, "--gateway (or edge.gateway)"},
                             std::pair{&effective.keyPath, "--key (or edge.key_file)"},
                             std::pair{&effective.input, "--input (or edge.input)"}}) {
    if (value->empty()) {
      std::fprintf(stderr, "braid-edge: %s is required\n", flag);
      return kExitConfig;
    }
  }
  return runEdge(effective);
}
