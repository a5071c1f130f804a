#include "edge/link_test.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "dataplane/clock.h"
#include "edge/media/packetizer.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace braid::edge {
namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr uint64_t kSampleNs = 10 * kNsPerMs;
constexpr uint64_t kMinWarmupNs = 2'000 * kNsPerMs;
// The synthetic input keeps at most this many chunks waiting: always enough for the sender
// (it refills every millisecond), and few enough that a chunk is fresh when it is sent, so
// the gateway plays it out as normal media instead of discarding it as late.
constexpr size_t kQueuedChunks = 64;
constexpr size_t kRingChunks = 2 * kQueuedChunks;
constexpr size_t kTsPacket = 188;
// Per datagram on the wire beyond the UDP payload: IPv4 or IPv6 header plus UDP header.
constexpr double kIpv4UdpHeader = 28;
constexpr double kIpv6UdpHeader = 48;

// A chunk of TS null packets (PID 0x1FFF) as large as the session's DATA packets carry. They
// are sent as they are (the link test needs full-size packets): the body's null-run list is
// empty (docs/protocol.md §5.1), and the gateway plays them out like any other packet.
MediaChunk syntheticChunk(size_t wirePacketSize) {
  MediaChunk chunk;
  size_t room = std::min(MediaChunk::kCapacity, wirePacketSize - kDataOverhead);
  size_t packets = std::max<size_t>(1, (room - 1) / kTsPacket);
  chunk.bytes[0] = 0x00;  // no null runs
  chunk.tsOffset = 1;
  chunk.size = static_cast<uint16_t>(1 + packets * kTsPacket);
  std::memset(chunk.bytes.data() + 1, 0xff, chunk.size - 1);
  for (size_t i = 0; i < packets; ++i) {
    uint8_t* p = chunk.bytes.data() + 1 + i * kTsPacket;
    p[0] = 0x47;
    p[1] = 0x1f;
    p[2] = 0xff;
    p[3] = 0x10;  // payload only, continuity counter 0 (ignored for null packets)
  }
  return chunk;
}

// Keeps the ring topped up with fresh synthetic chunks until `stop`. Input thread.
void fillSynthetic(dp::SpscRing<MediaChunk>& ring, const MediaChunk& chunk,
                   const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    uint64_t nowNs = dp::monotonicNs();
    for (size_t i = ring.size(); i < kQueuedChunks && ring.writable() > 0; ++i) {
      MediaChunk& slot = ring.writeSlot(0);
      slot.entryNs = nowNs;
      slot.size = chunk.size;
      slot.tsOffset = chunk.tsOffset;
      slot.flags = 0;
      slot.accessUnit = 0;
      slot.shed = false;
      std::memcpy(slot.bytes.data(), chunk.bytes.data(), chunk.size);
      ring.publish(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

struct Totals {
  uint64_t bytes = 0;
  uint64_t packets = 0;
  uint64_t lost = 0;
};

Totals totalsOf(const EdgeLinkCounters& c) {
  return {c.reportedBytes.read(), c.reportedPackets.read(), c.reportedLost.read()};
}

double percentile(std::vector<uint32_t>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto index = static_cast<size_t>(q * static_cast<double>(values.size() - 1));
  return values[index];
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

}  // namespace

Result<LinkTestReport> runLinkTest(EdgeSessionOptions session, const LinkTestOptions& options,
                                   const std::function<bool()>& interrupted) {
  session.scheduling = Scheduling::kPerLink;
  session.retransmit = false;  // synthetic media is worth nothing twice
  dp::SpscRing<MediaChunk> ring(kRingChunks);
  auto created = EdgeSession::create(session, ring);
  if (!created) return tl::unexpected(created.error());
  EdgeSession& s = **created;
  const EdgeCounters& counters = s.counters();
  size_t links = session.links.size();  // no reloads here: link IDs are their indexes

  std::atomic<bool> stop{false};
  std::atomic<bool> inputDone{false};
  MediaChunk chunk = syntheticChunk(session.wirePacketSize);
  std::thread sender([&] { s.run(stop, inputDone); });
  std::thread input([&] { fillSynthetic(ring, chunk, stop); });
  auto finish = [&] {
    stop.store(true);
    input.join();
    sender.join();
  };

  uint64_t startNs = dp::monotonicNs();
  while (!s.everEstablished()) {
    if (interrupted() || dp::monotonicNs() - startNs > options.handshakeTimeoutNs) {
      finish();
      return fail(ErrorCode::kTimeout,
                  fmt::format("no session with the gateway after {:.1f} s: it is unreachable, "
                              "not running, or does not know this key",
                              static_cast<double>(dp::monotonicNs() - startNs) / 1e9));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  LinkTestReport report;
  report.establishedNs = dp::monotonicNs();
  uint64_t warmupNs =
      std::clamp(options.durationNs / 3, std::min(kMinWarmupNs, options.durationNs / 2),
                 options.durationNs / 2);
  uint64_t endNs = report.establishedNs + options.durationNs;
  report.windowStartNs = report.establishedNs;
  spdlog::info(
      "link test: session up, saturating {} link(s) for {:.1f} s (measured after {:.1f} s)", links,
      static_cast<double>(options.durationNs) / 1e9, static_cast<double>(warmupNs) / 1e9);

  std::vector<Totals> base(links);
  for (size_t i = 0; i < links; ++i) base[i] = totalsOf(counters.links[i]);
  std::vector<std::vector<uint32_t>> rtts(links);
  std::vector<std::vector<uint32_t>> paces(links);  // kbit/s
  bool inWindow = false;
  uint64_t nowNs = report.establishedNs;
  while (nowNs < endNs && !interrupted()) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(kSampleNs));
    nowNs = dp::monotonicNs();
    if (!inWindow && nowNs >= report.establishedNs + warmupNs) {
      inWindow = true;
      report.windowStartNs = nowNs;
      for (size_t i = 0; i < links; ++i) {
        base[i] = totalsOf(counters.links[i]);
        rtts[i].clear();
        paces[i].clear();
      }
    }
    // (Sampled from the start, so that a test interrupted during its ramp-up reports those.)
    for (size_t i = 0; i < links; ++i) {
      auto rtt = static_cast<uint32_t>(counters.links[i].lastRttUs.read());
      if (rtt > 0) rtts[i].push_back(rtt);
      paces[i].push_back(static_cast<uint32_t>(counters.links[i].paceBps.read() / 1000));
    }
  }
  report.windowEndNs = dp::monotonicNs();
  if (nowNs < endNs) {
    spdlog::warn("link test interrupted after {:.1f} s{}",
                 static_cast<double>(report.windowEndNs - report.establishedNs) / 1e9,
                 inWindow ? "" : ": the figures include the ramp-up");
  }
  double seconds = static_cast<double>(report.windowEndNs - report.windowStartNs) / 1e9;
  for (size_t i = 0; i < links; ++i) {
    const EdgeLinkCounters& c = counters.links[i];
    Totals end = totalsOf(c);
    LinkTestLinkResult r;
    r.name = session.links[i].name;
    r.packetsDelivered = end.packets - base[i].packets;
    r.packetsLost = end.lost - base[i].lost;
    auto delivered = static_cast<double>(end.bytes - base[i].bytes);
    dp::SocketAddress gateway =
        session.links[i].gateway.isUnspecified() ? session.gateway : session.links[i].gateway;
    double header = gateway.family() == AF_INET6 ? kIpv6UdpHeader : kIpv4UdpHeader;
    if (seconds > 0) {
      r.goodputBps = delivered * 8 / seconds;
      r.capacityBps = (delivered + header * static_cast<double>(r.packetsDelivered)) * 8 / seconds;
    }
    uint64_t counted = r.packetsDelivered + r.packetsLost;
    r.lossRatio =
        counted > 0 ? static_cast<double>(r.packetsLost) / static_cast<double>(counted) : 0;
    r.minRttMs = static_cast<double>(c.minRttUs.read()) / 1000;
    r.srttMs = static_cast<double>(c.srttUs.read()) / 1000;
    r.rttSamples = rtts[i].size();
    r.rttP50Ms = percentile(rtts[i], 0.50) / 1000;
    r.rttP95Ms = percentile(rtts[i], 0.95) / 1000;
    r.queueP95Ms = std::max(0.0, r.rttP95Ms - r.minRttMs);
    r.paceP50Bps = percentile(paces[i], 0.50) * 1000;
    r.paceMaxBps = percentile(paces[i], 1.0) * 1000;
    r.dataPackets = c.dataPackets.read();
    r.downs = c.downs.read();
    report.links.push_back(std::move(r));
  }
  finish();
  return report;
}

std::string formatLinkTestText(const LinkTestReport& report) {
  std::string out;
  double seconds = static_cast<double>(report.windowEndNs - report.windowStartNs) / 1e9;
  for (const LinkTestLinkResult& r : report.links) {
    out += fmt::format(
        "link {}: capacity {:.2f} Mbit/s (payload {:.2f}) over the last {:.1f} s; rtt min "
        "{:.1f} / srtt {:.1f} / p50 {:.1f} / p95 {:.1f} ms (queueing p95 {:.1f} ms); loss "
        "{:.2f} % ({} of {}); pacing rate p50 {:.2f} / max {:.2f} Mbit/s; {} data packets sent, "
        "down {} times\n",
        r.name, r.capacityBps / 1e6, r.goodputBps / 1e6, seconds, r.minRttMs, r.srttMs, r.rttP50Ms,
        r.rttP95Ms, r.queueP95Ms, r.lossRatio * 100, r.packetsLost,
        r.packetsLost + r.packetsDelivered, r.paceP50Bps / 1e6, r.paceMaxBps / 1e6, r.dataPackets,
        r.downs);
  }
  return out;
}

std::string formatLinkTestJson(const LinkTestReport& report) {
  std::string out = fmt::format(
      "{{\"established_ns\": {}, \"window_start_ns\": {}, \"window_end_ns\": {}, \"links\": [",
      report.establishedNs, report.windowStartNs, report.windowEndNs);
  for (size_t i = 0; i < report.links.size(); ++i) {
    const LinkTestLinkResult& r = report.links[i];
    out += fmt::format(
        "{}\n  {{\"name\": {}, \"capacity_mbps\": {:.4f}, \"payload_mbps\": {:.4f}, "
        "\"min_rtt_ms\": {:.2f}, \"srtt_ms\": {:.2f}, \"rtt_p50_ms\": {:.2f}, \"rtt_p95_ms\": "
        "{:.2f}, \"queue_p95_ms\": {:.2f}, \"rtt_samples\": {}, \"loss_pct\": {:.4f}, "
        "\"pace_p50_mbps\": {:.4f}, \"pace_max_mbps\": {:.4f}, \"packets_delivered\": {}, "
        "\"packets_lost\": {}, \"data_packets\": {}, \"downs\": {}}}",
        i == 0 ? "" : ",", jsonString(r.name), r.capacityBps / 1e6, r.goodputBps / 1e6, r.minRttMs,
        r.srttMs, r.rttP50Ms, r.rttP95Ms, r.queueP95Ms, r.rttSamples, r.lossRatio * 100,
        r.paceP50Bps / 1e6, r.paceMaxBps / 1e6, r.packetsDelivered, r.packetsLost, r.dataPackets,
        r.downs);
  }
  return out + "\n]}\n";
}

}  // namespace braid::edge
