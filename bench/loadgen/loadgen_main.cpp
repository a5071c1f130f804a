// braid-loadgen: synthetic load for braid-gateway (docs/gateway.md, bench/RESULTS.md).
//
//   keygen  writes N keys into one gateway key file (the generator reads the same file)
//   run     N authenticated sessions of M links each at a stated rate per session, with
//           optional loss (sequences never sent), reorder and FEC repairs; sealed live, or all
//           sealed before the clock starts (--preseal) so the generator's own cost stays low
//   verify  checks a gateway output of one session for order, gaps and content
//   flood   junk of every kind the gateway's XDP filter drops, plus HS_INITs of unknown keys,
//           at stated rates; prints what it sent per kind
//
// `run` prints one summary line `loadgen key=value ...` at the end.

#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ctrl/keys.h"
#include "dataplane/clock.h"
#include "dataplane/proto/wire/data_body.h"
#include "junk_flood.h"
#include "raw_udp_sender.h"
#include "synthetic_session.h"

namespace {

using namespace braid;

struct RunOptions {
  std::string gateway = "127.0.0.1:7400";
  std::string keysPath;
  std::vector<std::string> bind = {"127.0.0.1"};
  size_t sessions = 1;
  size_t handshakeThreads = 1;  // sessions handshaking at once (an edge fleet reconnecting)
  size_t links = 2;
  double rateMbps = 1.0;  // per session, wire bytes
  size_t packetBytes = 1200;
  double seconds = 10;
  double loss = 0;
  double reorder = 0;
  std::string fec;  // "K,M": blocks of K sources and M repairs; empty: no FEC
  bool preseal = false;
  size_t rawBatch = 0;  // --preseal through one raw socket, this many datagrams per sendmmsg
  size_t maxPresealMb = 2048;
  unsigned latencyMs = 500;
  unsigned seed = 1;
  bool close = true;
  std::string aead = "auto";
  std::string report;
};

// Sealed datagrams are the payload plus this much (prefix, sealed header, media sequence and
// timestamp varints of up to 4 bytes each, GCM tag): --packet-bytes is the wire size.
constexpr size_t kSealOverhead = 12 + 10 + 4 + 4 + 16;

// A REPAIR's plaintext is at most this much more than its DATA's: header varints and the
// symbol's length and time.
constexpr size_t kRepairExtraBytes = 32;

// A DATA body is a null-run list (one byte: no runs) and whole 188-byte TS packets
// (docs/protocol.md §5.1): the payload is as many TS packets as fit in the wire size.
size_t payloadBytesFor(size_t packetBytes) {
  return (packetBytes - kSealOverhead - 1) / proto::kTsPacketSize * proto::kTsPacketSize;
}

struct SessionPlan {
  uint64_t nextSeq = 0;
  bool holding = false;  // a sequence held back to be sent after its successor
  uint64_t heldSeq = 0;
  uint64_t heldAtUs = 0;
  uint64_t sent = 0;
  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t lastSeq = 0;
  uint64_t linkTurn = 0;
  // --fec: every sequence, sent or lost, joins the open block, as at the edge; a full block's
  // repairs are the session's next packets.
  std::unique_ptr<dp::FecBlockEncoder> fec;
  dp::FecRepairBlock block{};  // valid until the next add: no sequence joins while repairs wait
  uint32_t repairsLeft = 0;
  uint64_t repairsSent = 0;
  uint32_t lostInBlock = 0;
  uint64_t recoverable = 0;  // lost sequences whose block has enough repairs to rebuild them
};

struct Planned {
  uint32_t session = 0;
  uint8_t link = 0;
  uint64_t seq = 0;
  uint64_t atUs = 0;
  int32_t repair = -1;  // a repair symbol's index in plan.block; -1: DATA of `seq`
};

// Sequence `seq` (timestamped `atUs`) joins the session's open FEC block; a full block closes
// with the encoder's maxRepairs repairs.
void protect(SessionPlan& plan, const bench::SyntheticSession& session, uint64_t seq, uint64_t atUs,
             size_t payloadBytes, bool lost) {
  if (!plan.fec) return;
  std::array<uint8_t, dp::kDatagramCapacity> body;
  size_t size = session.writeBody(seq, payloadBytes, body);
  if (size == 0 || !plan.fec->add(seq, atUs, std::span(body).first(size), 0)) return;
  plan.lostInBlock += lost ? 1 : 0;
  if (!plan.fec->full()) return;
  auto block = plan.fec->close(plan.fec->config().maxRepairs);
  if (!block) return;
  plan.block = *block;
  plan.repairsLeft = block->m;
  if (plan.lostInBlock <= block->m) plan.recoverable += plan.lostInBlock;
  plan.lostInBlock = 0;
}

// The next packet of a session, sent at media time `atUs`: loss skips sequences (never sent,
// though FEC covers them), reorder sends a sequence's successor first, a closed FEC block's
// repairs follow its last source.
Planned nextPacket(SessionPlan& plan, uint32_t index, const bench::SyntheticSession& session,
                   const RunOptions& o, size_t payloadBytes, uint64_t atUs, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  Planned p{.session = index,
            .link = static_cast<uint8_t>(plan.linkTurn++ % o.links),
            .seq = 0,
            .atUs = atUs};
  if (plan.holding) {
    plan.holding = false;
    p.seq = plan.heldSeq;
    p.atUs = plan.heldAtUs;
    return p;
  }
  for (;;) {
    if (plan.repairsLeft > 0) {
      p.repair = static_cast<int32_t>(plan.block.m - plan.repairsLeft--);
      return p;
    }
    uint64_t seq = plan.nextSeq++;
    bool lost = o.loss > 0 && u(rng) < o.loss;
    protect(plan, session, seq, atUs, payloadBytes, lost);
    if (lost) {
      ++plan.lost;
      continue;
    }
    // Reordered only inside a block: its successor must not join the next block while this
    // one's repairs wait.
    if (o.reorder > 0 && plan.repairsLeft == 0 && u(rng) < o.reorder) {
      plan.holding = true;
      plan.heldSeq = seq;
      plan.heldAtUs = atUs;
      seq = plan.nextSeq++;
      protect(plan, session, seq, atUs, payloadBytes, false);
      ++plan.reordered;
    }
    p.seq = seq;
    return p;
  }
}

// Seals what nextPacket planned into `out`; returns its size (0: failed).
size_t sealPlanned(const Planned& p, SessionPlan& plan, bench::SyntheticSession& session,
                   size_t payloadBytes, uint64_t slotAtUs, std::span<uint8_t> out) {
  if (p.repair >= 0) {
    return session.sealRepair(plan.block, static_cast<uint32_t>(p.repair), p.link, slotAtUs, out);
  }
  plan.lastSeq = std::max(plan.lastSeq, p.seq);
  return session.sealData(p.seq, p.link, p.atUs, payloadBytes, out,
                          plan.fec ? proto::flag::kFec : uint8_t{0});
}

void sleepUntil(uint64_t dueNs) {
  timespec ts{static_cast<time_t>(dueNs / 1'000'000'000), static_cast<long>(dueNs % 1'000'000'000)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

void raiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int runKeygen(size_t count, uint32_t firstKeyId, const std::string& out) {
  std::string text = "# braid-loadgen keys: " + std::to_string(count) + " synthetic edges\n";
  for (size_t i = 0; i < count; ++i) {
    auto key = ctrl::generateKey(firstKeyId + static_cast<uint32_t>(i));
    if (!key) {
      std::fprintf(stderr, "braid-loadgen keygen: %s\n", key.error().describe().c_str());
      return 1;
    }
    text += ctrl::formatKeyLine(*key);
  }
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::fprintf(stderr, "braid-loadgen keygen: cannot write %s (exists?)\n", out.c_str());
    if (fd >= 0) ::close(fd);
    return 1;
  }
  ::close(fd);
  std::printf("wrote %zu keys (IDs %u..%zu) to %s\n", count, firstKeyId, firstKeyId + count - 1,
              out.c_str());
  return 0;
}

int runVerify(const std::string& path, size_t payloadBytes, uint32_t keyId, bool allowGaps) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "braid-loadgen verify: cannot read %s\n", path.c_str());
    return 2;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  bench::StreamCheck c = bench::verifyStream(bytes, payloadBytes, keyId);
  std::printf(
      "verify file=%s packets=%llu first=%llu last=%llu gaps=%llu reordered=%llu "
      "corrupt=%llu\n",
      path.c_str(), (unsigned long long)c.packets, (unsigned long long)c.firstSeq,
      (unsigned long long)c.lastSeq, (unsigned long long)c.gaps, (unsigned long long)c.reordered,
      (unsigned long long)c.corrupt);
  bool good = c.packets > 0 && c.corrupt == 0 && c.reordered == 0 && (allowGaps || c.gaps == 0);
  return good ? 0 : 1;
}

int runLoad(const RunOptions& o) {
  raiseFileLimit();
  auto gateway = dp::parseSocketAddress(o.gateway);
  if (!gateway) {
    std::fprintf(stderr, "--gateway: %s\n", gateway.error().describe().c_str());
    return 2;
  }
  auto backend = proto::parseAeadBackend(o.aead);
  if (!backend) {
    std::fprintf(stderr, "--aead: %s\n", backend.error().describe().c_str());
    return 2;
  }
  auto keys = ctrl::loadKeyFile(o.keysPath);
  if (!keys) {
    std::fprintf(stderr, "%s\n", keys.error().describe().c_str());
    return 2;
  }
  if (keys->size() < o.sessions) {
    std::fprintf(stderr, "%s has %zu keys, %zu sessions need one each\n", o.keysPath.c_str(),
                 keys->size(), o.sessions);
    return 2;
  }
  if (o.packetBytes < kSealOverhead + 1 + proto::kTsPacketSize ||
      o.packetBytes > dp::kDatagramCapacity) {
    std::fprintf(stderr, "--packet-bytes must be %zu..%zu\n",
                 kSealOverhead + 1 + proto::kTsPacketSize, dp::kDatagramCapacity);
    return 2;
  }
  const size_t payloadBytes = payloadBytesFor(o.packetBytes);
  unsigned fecSources = 0, fecRepairs = 0;
  if (!o.fec.empty()) {
    char tail = 0;
    if (std::sscanf(o.fec.c_str(), "%u,%u%c", &fecSources, &fecRepairs, &tail) != 2 ||
        fecSources == 0 || fecSources > dp::ReedSolomonCodec::kMaxSource || fecRepairs == 0 ||
        fecRepairs > dp::ReedSolomonCodec::kMaxRepair) {
      std::fprintf(stderr, "--fec: want K,M with K 1..%u sources and M 1..%u repairs, got '%s'\n",
                   dp::ReedSolomonCodec::kMaxSource, dp::ReedSolomonCodec::kMaxRepair,
                   o.fec.c_str());
      return 2;
    }
    if (o.packetBytes + kRepairExtraBytes > dp::kDatagramCapacity) {
      std::fprintf(stderr, "--fec: --packet-bytes must be at most %zu (a REPAIR is larger)\n",
                   dp::kDatagramCapacity - kRepairExtraBytes);
      return 2;
    }
  }

  std::optional<bench::RawUdpSender> raw;
  if (o.rawBatch > 0) {
    if (!o.preseal) {
      std::fprintf(stderr, "--raw-batch needs --preseal\n");
      return 2;
    }
    auto opened = bench::RawUdpSender::open(*gateway);
    if (!opened) {
      std::fprintf(stderr, "--raw-batch: %s\n", opened.error().describe().c_str());
      return 2;
    }
    raw.emplace(std::move(*opened));
  }

  std::vector<std::unique_ptr<bench::SyntheticSession>> sessions(o.sessions);
  uint64_t handshakeStart = dp::monotonicNs();
  for (size_t i = 0; i < o.sessions; ++i) {
    auto bind = dp::parseSocketAddress(o.bind[i % o.bind.size()] + ":0");
    if (!bind) {
      std::fprintf(stderr, "--bind: %s\n", bind.error().describe().c_str());
      return 2;
    }
    auto session = bench::SyntheticSession::open(
        bench::SyntheticSessionOptions{.gateway = *gateway,
                                       .bind = *bind,
                                       .keyId = (*keys)[i].id,
                                       .psk = (*keys)[i].key,
                                       .links = o.links,
                                       .latencyMs = static_cast<uint16_t>(o.latencyMs),
                                       .backend = *backend});
    if (!session) {
      std::fprintf(stderr, "session %zu: %s\n", i, session.error().describe().c_str());
      return 1;
    }
    sessions[i] = std::move(*session);
  }
  // Thread t handshakes sessions t, t + T, ...: with T > 1 the INITs of T edges reach the
  // gateway together, as when a fleet reconnects after a gateway restart.
  std::atomic<size_t> failedHandshakes{0};
  {
    std::vector<std::thread> handshakers;
    const size_t threads = std::min(o.handshakeThreads, o.sessions);
    for (size_t t = 0; t < threads; ++t) {
      handshakers.emplace_back([&, t] {
        for (size_t i = t; i < o.sessions; i += threads) {
          if (auto done = sessions[i]->handshake(10'000'000'000); !done) {
            std::fprintf(stderr, "session %zu: %s\n", i, done.error().describe().c_str());
            failedHandshakes.fetch_add(1);
          }
        }
      });
    }
    for (auto& thread : handshakers) thread.join();
  }
  if (failedHandshakes.load() > 0) return 1;
  double handshakeSeconds = static_cast<double>(dp::monotonicNs() - handshakeStart) / 1e9;

  // Packets are spread evenly: global packet g goes to session g mod N at t0 + g / rate. The
  // rate is of DATA packets; FEC adds its repairs (M per K sources) on top.
  const double sessionPps = o.rateMbps * 1e6 / (static_cast<double>(o.packetBytes) * 8);
  const double fecFactor =
      fecSources > 0 ? 1.0 + static_cast<double>(fecRepairs) / fecSources : 1.0;
  const double totalPps = sessionPps * static_cast<double>(o.sessions) * fecFactor;
  const uint64_t total = static_cast<uint64_t>(totalPps * o.seconds);
  const double intervalNs = 1e9 / totalPps;
  std::vector<SessionPlan> plans(o.sessions);
  for (SessionPlan& plan : plans) {
    if (fecSources == 0) break;  // no FEC: no encoders
    auto fec = dp::FecBlockEncoder::create(dp::FecEncoderConfig{
        .maxSources = fecSources, .maxRepairs = fecRepairs, .maxPayload = payloadBytes + 1});
    if (!fec) {
      std::fprintf(stderr, "--fec: %s\n", fec.error().describe().c_str());
      return 2;
    }
    plan.fec = std::move(*fec);
  }
  std::mt19937_64 rng(o.seed);
  auto slotAtUs = [&](uint64_t g) {
    return static_cast<uint64_t>(static_cast<double>(g) * intervalNs / 1000) + 1'000'000;
  };

  struct Sealed {
    uint32_t session;
    uint8_t link;
    bool repair;
    uint16_t size;
    uint64_t offset;
  };
  std::vector<Sealed> presealed;
  std::vector<uint8_t> arena;
  // A REPAIR is larger than the DATA it protects (its header, the symbol's length and time).
  // Sent raw, a slot starts with the datagram's IPv4 and UDP headers.
  const size_t headerBytes = raw ? bench::RawUdpSender::kHeaderBytes : 0;
  const size_t slotBytes = headerBytes + o.packetBytes + (fecSources > 0 ? kRepairExtraBytes : 0);
  if (o.preseal) {
    uint64_t bytes = total * slotBytes;
    if (bytes > uint64_t{o.maxPresealMb} << 20) {
      std::fprintf(stderr, "--preseal: %.0f MB needed, above --max-preseal-mb %zu\n",
                   static_cast<double>(bytes) / (1 << 20), o.maxPresealMb);
      return 2;
    }
    arena.resize(bytes);
    presealed.reserve(total);
    for (uint64_t g = 0; g < total; ++g) {
      uint32_t index = static_cast<uint32_t>(g % o.sessions);
      Planned p =
          nextPacket(plans[index], index, *sessions[index], o, payloadBytes, slotAtUs(g), rng);
      uint64_t offset = g * slotBytes + headerBytes;
      size_t size = sealPlanned(p, plans[index], *sessions[index], payloadBytes, slotAtUs(g),
                                std::span(arena).subspan(offset, slotBytes - headerBytes));
      if (raw && size > 0) {
        auto source = sessions[index]->localAddress(p.link);
        if (!source || !raw->writeHeaders(*source, size,
                                          std::span(arena)
                                              .subspan(offset - headerBytes)
                                              .first<bench::RawUdpSender::kHeaderBytes>())) {
          std::fprintf(stderr, "--raw-batch: session %u link %u has no IPv4 source address\n",
                       index, unsigned{p.link});
          return 2;
        }
      }
      presealed.push_back(Sealed{.session = index,
                                 .link = p.link,
                                 .repair = p.repair >= 0,
                                 .size = static_cast<uint16_t>(size),
                                 .offset = offset});
    }
  }

  std::array<uint8_t, dp::kDatagramCapacity> packet{};
  uint64_t sent = 0;
  uint64_t sendErrors = 0;
  uint64_t wireBytes = 0;
  uint64_t maxLateNs = 0;
  const uint64_t t0 = dp::monotonicNs() + 20'000'000;
  // Benchmarks start measuring the gateway here (handshakes and pre-sealing are done).
  std::printf("loadgen sending packets=%llu\n", (unsigned long long)total);
  std::fflush(stdout);
  auto dueAt = [&](uint64_t g) {
    return t0 + static_cast<uint64_t>(static_cast<double>(g) * intervalNs);
  };
  std::vector<std::span<const uint8_t>> frames;
  std::vector<const Sealed*> batch;
  frames.reserve(o.rawBatch);
  batch.reserve(o.rawBatch);
  for (uint64_t g = 0; raw && g < total;) {
    // Everything due by now goes in one sendmmsg (at most --raw-batch): the schedule is kept
    // to within the sleep's granularity.
    uint64_t now = dp::monotonicNs();
    if (now + 50'000 < dueAt(g)) {
      sleepUntil(dueAt(g));
      now = dp::monotonicNs();
    }
    if (now > dueAt(g)) maxLateNs = std::max(maxLateNs, now - dueAt(g));
    frames.clear();
    batch.clear();
    uint64_t end = g;
    while (end < total && frames.size() < o.rawBatch && (end == g || dueAt(end) <= now)) {
      const Sealed& s = presealed[end++];
      if (s.size == 0) {  // sealing failed
        ++sendErrors;
        continue;
      }
      batch.push_back(&s);
      frames.push_back(
          std::span<const uint8_t>(arena.data() + s.offset - headerBytes, headerBytes + s.size));
    }
    size_t done = raw->send(frames);
    sendErrors += batch.size() - done;
    for (size_t i = 0; i < done; ++i) {
      const Sealed& s = *batch[i];
      ++sent;
      ++(s.repair ? plans[s.session].repairsSent : plans[s.session].sent);
      wireBytes += s.size;
    }
    g = end;
  }
  for (uint64_t g = 0; !raw && g < total; ++g) {
    uint64_t dueNs = dueAt(g);
    uint64_t now = dp::monotonicNs();
    if (now + 50'000 < dueNs) {
      sleepUntil(dueNs);
    } else if (now > dueNs) {
      maxLateNs = std::max(maxLateNs, now - dueNs);
    }
    uint32_t index;
    uint8_t link;
    bool repair;
    std::span<const uint8_t> datagram;
    if (o.preseal) {
      const Sealed& s = presealed[g];
      index = s.session;
      link = s.link;
      repair = s.repair;
      datagram = std::span<const uint8_t>(arena.data() + s.offset, s.size);
    } else {
      index = static_cast<uint32_t>(g % o.sessions);
      Planned p =
          nextPacket(plans[index], index, *sessions[index], o, payloadBytes, slotAtUs(g), rng);
      link = p.link;
      repair = p.repair >= 0;
      size_t size =
          sealPlanned(p, plans[index], *sessions[index], payloadBytes, slotAtUs(g), packet);
      datagram = std::span<const uint8_t>(packet.data(), size);
    }
    if (datagram.empty() || !sessions[index]->send(link, datagram)) {
      ++sendErrors;
      continue;
    }
    ++sent;
    ++(repair ? plans[index].repairsSent : plans[index].sent);
    wireBytes += datagram.size();
  }
  const double elapsed = static_cast<double>(dp::monotonicNs() - t0) / 1e9;

  if (o.close) {
    // Let the last packets arrive, then end the sessions: the gateway plays out what it
    // holds at once.
    sleepUntil(dp::monotonicNs() + 200'000'000);
    for (auto& session : sessions) {
      uint64_t atUs = static_cast<uint64_t>(o.seconds * 1e6) + 1'200'000;
      for (uint8_t link = 0; link < session->links(); ++link) {
        if (size_t size = session->sealClose(link, atUs, packet); size > 0) {
          session->send(link, std::span<const uint8_t>(packet.data(), size));
        }
      }
    }
  }

  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t repairs = 0;
  uint64_t recoverable = 0;
  for (const SessionPlan& plan : plans) {
    lost += plan.lost;
    reordered += plan.reordered;
    repairs += plan.repairsSent;
    recoverable += plan.recoverable;
  }
  if (!o.report.empty()) {
    std::ofstream out(o.report);
    out << "# key_id session_id sent last_seq lost reordered repairs recoverable\n";
    for (size_t i = 0; i < sessions.size(); ++i) {
      char id[17];
      std::snprintf(id, sizeof(id), "%016llx", (unsigned long long)sessions[i]->sessionId().value);
      out << sessions[i]->keyId() << ' ' << id << ' ' << plans[i].sent << ' ' << plans[i].lastSeq
          << ' ' << plans[i].lost << ' ' << plans[i].reordered << ' ' << plans[i].repairsSent << ' '
          << plans[i].recoverable << '\n';
    }
  }
  std::printf(
      "loadgen sessions=%zu links=%zu mode=%s packets=%llu send_errors=%llu lost=%llu "
      "reordered=%llu seconds=%.3f offered_pps=%.0f achieved_pps=%.0f offered_mbps=%.2f "
      "achieved_mbps=%.2f mean_wire_bytes=%.1f payload_bytes=%zu max_late_ms=%.2f "
      "handshake_s=%.3f fec=%s repairs=%llu recoverable=%llu\n",
      o.sessions, o.links,
      raw         ? "preseal-raw"
      : o.preseal ? "preseal"
                  : "live",
      (unsigned long long)sent, (unsigned long long)sendErrors, (unsigned long long)lost,
      (unsigned long long)reordered, elapsed, totalPps, static_cast<double>(sent) / elapsed,
      totalPps * static_cast<double>(o.packetBytes) * 8 / 1e6,
      static_cast<double>(wireBytes) * 8 / elapsed / 1e6,
      sent > 0 ? static_cast<double>(wireBytes) / static_cast<double>(sent) : 0.0, payloadBytes,
      static_cast<double>(maxLateNs) / 1e6, handshakeSeconds, o.fec.empty() ? "off" : o.fec.c_str(),
      (unsigned long long)repairs, (unsigned long long)recoverable);
  std::fflush(stdout);
  return sendErrors == 0 ? 0 : 1;
}

int runFlood(const std::string& gateway, const std::vector<std::string>& bind, size_t ports,
             double junkPps, double initPps, double seconds) {
  auto target = dp::parseSocketAddress(gateway);
  if (!target) {
    std::fprintf(stderr, "--gateway: %s\n", target.error().describe().c_str());
    return 2;
  }
  bench::FloodOptions o{.gateway = *target,
                        .sources = {},
                        .socketsPerSource = ports,
                        .junkPps = junkPps,
                        .initPps = initPps,
                        .seconds = seconds};
  for (const std::string& address : bind) {
    auto source = dp::parseSocketAddress(address + ":0");
    if (!source) {
      std::fprintf(stderr, "--bind: %s\n", source.error().describe().c_str());
      return 2;
    }
    o.sources.push_back(*source);
  }
  auto report = bench::runFlood(o);
  if (!report) {
    std::fprintf(stderr, "braid-loadgen flood: %s\n", report.error().describe().c_str());
    return 1;
  }
  uint64_t junk = 0;
  std::string kinds;
  for (size_t k = 0; k < bench::kFloodKinds; ++k) {
    if (k < bench::kJunkKinds) junk += report->sent[k];
    kinds += " sent_";
    kinds += bench::floodKindName(static_cast<bench::FloodKind>(k));
    kinds += "=" + std::to_string(report->sent[k]);
  }
  uint64_t inits = report->sent[static_cast<size_t>(bench::FloodKind::kHandshakeInit)];
  double secs = report->seconds > 0 ? report->seconds : 1;
  std::printf(
      "flood junk=%llu inits=%llu send_errors=%llu seconds=%.3f junk_pps=%.0f init_pps=%.0f "
      "offered_junk_pps=%.0f offered_init_pps=%.0f max_late_ms=%.2f%s\n",
      (unsigned long long)junk, (unsigned long long)inits, (unsigned long long)report->sendErrors,
      report->seconds, static_cast<double>(junk) / secs, static_cast<double>(inits) / secs, junkPps,
      initPps, static_cast<double>(report->maxLateNs) / 1e6, kinds.c_str());
  std::fflush(stdout);
  return report->sendErrors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"braid-loadgen: authenticated synthetic sessions against braid-gateway"};
  app.require_subcommand(1);

  auto* keygen = app.add_subcommand("keygen", "write N keys into one gateway key file");
  size_t keyCount = 1;
  uint32_t firstKeyId = 1;
  std::string keyOut;
  keygen->add_option("--count", keyCount, "keys to write")->required();
  keygen->add_option("--first-key-id", firstKeyId, "ID of the first key")->capture_default_str();
  keygen->add_option("--out", keyOut, "file to create (mode 0600)")->required();

  auto* run = app.add_subcommand("run", "send N sessions of M links");
  RunOptions o;
  run->add_option("--gateway", o.gateway, "gateway address HOST:PORT")->capture_default_str();
  run->add_option("--keys", o.keysPath, "key file (from keygen); session i uses key i")->required();
  run->add_option("--bind", o.bind,
                  "local addresses, session i binds address i mod count (one port per link)")
      ->delimiter(',')
      ->capture_default_str();
  run->add_option("--sessions", o.sessions, "sessions")->capture_default_str();
  run->add_option("--handshake-threads", o.handshakeThreads,
                  "sessions that handshake at the same time (1: one after another)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  run->add_option("--links", o.links, "links per session (1-16)")->capture_default_str();
  run->add_option("--rate-mbps", o.rateMbps, "per-session rate, Mbit/s of wire bytes")
      ->capture_default_str();
  run->add_option("--packet-bytes", o.packetBytes, "UDP payload bytes per packet on the wire")
      ->capture_default_str();
  run->add_option("--seconds", o.seconds, "sending time")->capture_default_str();
  run->add_option("--loss", o.loss, "probability a media sequence is skipped (never sent)")
      ->capture_default_str();
  run->add_option("--reorder", o.reorder, "probability a packet is sent after its successor")
      ->capture_default_str();
  run->add_option("--fec", o.fec,
                  "K,M: every K media sequences (lost ones too) get M REPAIR packets, sent "
                  "after the block's last source on top of --rate-mbps (as braid-edge does)");
  run->add_flag("--preseal", o.preseal, "seal every packet before the clock starts");
  run->add_option("--raw-batch", o.rawBatch,
                  "with --preseal: send through one raw socket (root, IPv4), from each link's "
                  "own address and port, up to N due datagrams per sendmmsg; 0: one sendto per "
                  "datagram on the link's socket")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  run->add_option("--max-preseal-mb", o.maxPresealMb, "memory --preseal may use")
      ->capture_default_str();
  run->add_option("--latency-ms", o.latencyMs, "target latency requested")->capture_default_str();
  run->add_option("--seed", o.seed, "random seed (loss, reorder)")->capture_default_str();
  run->add_option("--aead", o.aead, "auto, ipsec-mb, openssl")->capture_default_str();
  run->add_option("--report", o.report, "write per-session counts to this file");
  bool noClose = false;
  run->add_flag("--no-close", noClose, "leave the sessions open at the end (they idle out)");

  auto* flood = app.add_subcommand(
      "flood", "send junk the XDP filter drops, plus HS_INITs of unknown keys, at stated rates");
  std::string floodGateway = "127.0.0.1:7400";
  std::vector<std::string> floodBind = {"127.0.0.1"};
  size_t floodPorts = 4;
  double junkPps = 200'000;
  double initPps = 10'000;
  double floodSeconds = 10;
  flood->add_option("--gateway", floodGateway, "gateway address HOST:PORT")->capture_default_str();
  flood->add_option("--bind", floodBind, "local addresses to send from, in turn")
      ->capture_default_str();
  flood->add_option("--ports", floodPorts, "source ports (sockets) per address")
      ->capture_default_str();
  flood
      ->add_option("--junk-pps", junkPps,
                   "junk datagrams per second (too_short, bad_version, unknown_type, bad_link_id, "
                   "sealed_too_short, bad_init, wrong_direction in turn)")
      ->capture_default_str();
  flood->add_option("--init-pps", initPps, "HS_INITs of unknown keys per second")
      ->capture_default_str();
  flood->add_option("--seconds", floodSeconds, "sending time")->capture_default_str();

  auto* verify = app.add_subcommand("verify", "check one session's gateway output");
  std::string verifyPath;
  size_t verifyPayload = payloadBytesFor(1200);
  uint32_t verifyKey = 1;
  bool allowGaps = false;
  verify->add_option("file", verifyPath, "output file")->required();
  verify->add_option("--payload-bytes", verifyPayload, "payload bytes per packet")
      ->capture_default_str();
  verify->add_option("--key-id", verifyKey, "the session's key ID")->capture_default_str();
  verify->add_flag("--allow-gaps", allowGaps, "gaps (loss) are not an error");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (keygen->parsed()) return runKeygen(keyCount, firstKeyId, keyOut);
  if (verify->parsed()) return runVerify(verifyPath, verifyPayload, verifyKey, allowGaps);
  if (flood->parsed()) {
    return runFlood(floodGateway, floodBind, floodPorts, junkPps, initPps, floodSeconds);
  }
  o.close = !noClose;
  return runLoad(o);
}
