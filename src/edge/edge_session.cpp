#include "edge/edge_session.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <tuple>

#include "dataplane/clock.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/handshake_messages.h"
#include "dataplane/proto/wire/sealed_header.h"
#include "spdlog/spdlog.h"

namespace braid::edge {

using proto::DropReason;
using proto::PacketType;

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr uint64_t kFirstRetryNs = 250 * kNsPerMs;
constexpr uint64_t kMaxRetryNs = 1'000 * kNsPerMs;
// After the input ends, wait this long beyond the latency for the last acknowledgements.
constexpr uint64_t kDrainGraceNs = 2'000 * kNsPerMs;
// Copies kept for ARQ: 10 s of 6 Mbit/s in 1200-byte packets; a power of two.
constexpr uint32_t kRetransmitPackets = 8192;
// A resent copy must arrive this much before the playout deadline, on top of the link's
// queueing delay above its fastest round trip.
constexpr uint64_t kResendMarginNs = 10 * kNsPerMs;
// Sequences looked up per NACK (a NACK holds at most 64 ranges of any length).
constexpr uint64_t kMaxResendsPerNack = 1024;
// Links not carrying media are probed with a keepalive this often (idle links are measured,
// and a probing or down link proves itself through the answers).
constexpr uint64_t kProbeIntervalNs = 100 * kNsPerMs;
constexpr uint64_t kFastProbeIntervalNs = 50 * kNsPerMs;
constexpr uint64_t kMaxWaitNs = 1 * kNsPerMs;
constexpr uint64_t kGaugeIntervalNs = 20 * kNsPerMs;
// The longest a file input waits for the links to finish their probes (a train and its answer
// take a few hundred milliseconds; a link that cannot answer must not hold the stream).
constexpr uint64_t kSettleLimitNs = 1500 * kNsPerMs;
constexpr uint64_t kRepairMarginNs = 30 * kNsPerMs;  // a repair's pacing and the decode
// What a resend needs besides two base round trips of the slowest media link: the gateway's
// reorder wait before its NACK, the copy's pacing and a margin.
constexpr uint64_t kResendSlackNs = 100 * kNsPerMs;
// A backlogged sender's blocks aim at this residual (the policy's own is 1e-3).
constexpr double kBackloggedResidualTarget = 1e-2;
// Packets in a capacity-probing train (PROBE): enough for the dispersion to average over a
// few of a cellular scheduler's grants, short enough not to matter to a 1 s queue.
constexpr uint64_t kTrainPackets = 8;
// A removed link's socket stays open this long: feedback the gateway sent on it before it
// saw the link go quiet still arrives (it then picks the links it hears from).
constexpr uint64_t kRetireGraceNs = 1'000 * kNsPerMs;
// Link changes the mailbox holds: two reloads that remove and add every link.
constexpr size_t kLinkCommandSlots = 4 * proto::kMaxLinks;

}  // namespace

const char* edgeStateName(EdgeState state) {
  switch (state) {
    case EdgeState::kHandshaking:
      return "handshaking";
    case EdgeState::kEstablished:
      return "established";
    case EdgeState::kDraining:
      return "draining";
    case EdgeState::kClosed:
      return "closed";
  }
  return "unknown";
}

Result<std::unique_ptr<EdgeSession>> EdgeSession::create(const EdgeSessionOptions& options,
                                                         dp::SpscRing<MediaChunk>& input) {
  if (options.links.empty() || options.links.size() > proto::kMaxLinks) {
    return fail(ErrorCode::kInvalidArgument,
                "an edge session needs 1 to " + std::to_string(proto::kMaxLinks) + " links");
  }
  std::unique_ptr<EdgeSession> session(new EdgeSession(options, input));
  for (size_t i = 0; i < options.links.size(); ++i) {
    auto socket = openLinkSocket(options.links[i], options.gateway);
    if (!socket) return tl::unexpected(socket.error());
    Link& l = session->slots_[i];
    l.options = options.links[i];
    l.options.gateway = linkGateway(options.links[i], options.gateway);
    l.id = static_cast<uint8_t>(i);
    l.socket = std::move(*socket);
    l.controller = session->newLinkController();
    l.state = SlotState::kActive;
  }
  auto retransmit = dp::RetransmitBuffer::create(dp::RetransmitConfig{
      .capacity = kRetransmitPackets,
      .maxPayload = static_cast<uint32_t>(options.wirePacketSize),
  });
  if (!retransmit) return tl::unexpected(retransmit.error());
  session->retransmit_ = std::move(*retransmit);
  // The link test's synthetic media is worth nothing twice, let alone protected.
  if (options.fec.enabled && options.scheduling == Scheduling::kEarliestDelivery) {
    auto fec = dp::FecBlockEncoder::create(dp::FecEncoderConfig{
        .maxSources = options.fec.maxBlock,
        .maxPayload = std::min(MediaChunk::kCapacity, options.wirePacketSize - kDataOverheadBytes),
    });
    if (!fec) return tl::unexpected(fec.error());
    session->fec_ = std::move(*fec);
  }
  return session;
}

EdgeSession::EdgeSession(const EdgeSessionOptions& options, dp::SpscRing<MediaChunk>& input)
    : options_(options),
      input_(input),
      linkCommands_(kLinkCommandSlots),
      fecPolicy_(options.fec.policy) {}

void EdgeSession::setState(EdgeState state) {
  state_ = state;
  counters_.state.store(static_cast<uint8_t>(state), std::memory_order_relaxed);
}

bool EdgeSession::sendDatagram(Link& link, std::span<const uint8_t> datagram, uint64_t nowNs) {
  EdgeLinkCounters& c = counters_.links[link.id];
  // The sequence the channel just sealed this datagram with (0 for handshake packets).
  uint64_t linkSeq = channel_ ? channel_->nextSendSequence(link.id) : 0;
  linkSeq = linkSeq > 0 ? linkSeq - 1 : 0;
  if (!link.socket.sendTo(datagram, link.options.gateway)) {
    counters_.sendErrors.add();
    c.sendErrors.add();
    return false;
  }
  counters_.packetsSent.add();
  counters_.udpBytesSent.add(datagram.size());
  c.packetsSent.add();
  c.udpBytesSent.add(datagram.size());
  link.controller.onSent(nowNs, datagram.size(), linkSeq);
  link.lastSentNs = nowNs;
  return true;
}

void EdgeSession::startHandshake(uint64_t nowNs, bool rekey) {
  if (rekey) {
    // A rekey goes on the link most likely to deliver it now.
    if (Link* best = bestLink(nowNs, proto::kHandshakeInitSize)) handshakeLink_ = best->id;
  }
  auto initiator = proto::HandshakeInitiator::start(
      options_.keyId, options_.psk, links_[handshakeLink_].id, options_.latencyMs,
      rekey ? sessionId_ : proto::SessionId{}, options_.channel.backend);
  if (!initiator) {
    spdlog::error("handshake: {}", initiator.error().describe());
    nextInitNs_ = nowNs + kMaxRetryNs;
    return;
  }
  initiator_.emplace(std::move(*initiator));
  initiatorIsRekey_ = rekey;
  handshakeStartedNs_ = nowNs;
  if (handshakeBackoffNs_ == 0) handshakeBackoffNs_ = kFirstRetryNs;
  sendInit(nowNs);
}

void EdgeSession::sendInit(uint64_t nowNs) {
  std::array<uint8_t, proto::kHandshakeInitSize> packet{};
  size_t size = initiator_->writeInit(packet, dp::realtimeNs());
  if (size == 0) return;
  sendDatagram(links_[handshakeLink_], std::span<const uint8_t>(packet.data(), size), nowNs);
  counters_.handshakePackets.add();
  nextInitNs_ = nowNs + handshakeBackoffNs_;
}

void EdgeSession::lose(const char* why, uint64_t nowNs) {
  spdlog::warn("session {:016x} lost ({}): handshaking again", sessionId_.value, why);
  channel_.reset();
  sessionId_ = {};
  counters_.sessionId.store(0, std::memory_order_relaxed);
  initiator_.reset();
  handshakeBackoffNs_ = kFirstRetryNs;
  for (Link& link : links_) {
    link.joined = false;
    link.controller.reset(nowNs);
  }
  setState(EdgeState::kHandshaking);
  startHandshake(nowNs, false);
}

void EdgeSession::onAccept(const proto::EstablishedSession& established, uint64_t nowNs) {
  counters_.handshakes.add();
  handshakeBackoffNs_ = 0;
  initiator_.reset();
  lastHeardNs_ = nowNs;
  if (initiatorIsRekey_ && channel_) {
    if (auto rekeyed = channel_->rekey(established.keys, established.linkId, nowNs); !rekeyed) {
      lose("rekey failed", nowNs);
      return;
    }
    counters_.rekeys.add();
    spdlog::info("session {:016x} rekeyed", sessionId_.value);
    return;
  }
  auto channel = proto::SealedChannel::create(proto::Role::kEdge, established.keys,
                                              established.linkId, nowNs, options_.channel);
  if (!channel) {
    spdlog::error("session keys: {}", channel.error().describe());
    return;
  }
  channel_.emplace(std::move(*channel));
  sessionId_ = established.sessionId;
  resetToken_ = established.secrets.resetToken;
  latencyMs_ = established.latencyMs;
  keepaliveNs_ = uint64_t{std::max<uint16_t>(established.secrets.keepaliveMs, 50)} * kNsPerMs;
  peerTimeoutNs_ = std::max<uint64_t>(3 * keepaliveNs_, 3'000 * kNsPerMs);
  counters_.sessionId.store(sessionId_.value, std::memory_order_relaxed);
  firstSeqOfSession_ = nextMediaSeq_;
  ackedSeq_ = nextMediaSeq_;
  setState(EdgeState::kEstablished);
  establishedNs_ = nowNs;
  feedbackFilter_.reset();
  everEstablished_.store(true, std::memory_order_release);
  Link& proven = links_[handshakeLink_];
  for (Link& link : links_) {
    link.controller.setLatencyTarget(uint64_t{latencyMs_} * kNsPerMs);
    if (&link != &proven) link.controller.startProbing(nowNs);
  }
  proven.controller.markProven(nowNs);
  spdlog::info("session {:016x} established on link {} ({}), latency {} ms, {} links",
               sessionId_.value, proven.id, proven.options.name, latencyMs_, links_.size());
  for (Link& link : links_) sendJoin(link, nowNs);

  // Media that waited through the handshake longer than half the latency cannot play
  // in time; sending it would only delay what can.
  uint64_t staleBefore = nowNs - std::min<uint64_t>(nowNs, uint64_t{latencyMs_} * kNsPerMs / 2);
  size_t stale = 0;
  while (stale < input_.readable() && input_.readSlot(stale).entryNs < staleBefore) ++stale;
  if (stale > 0) dropStale(StaleReason::kHandshake, stale, nowNs);
}

void EdgeSession::dropStale(StaleReason why, size_t count, uint64_t nowNs, Link* earliest) {
  counters_.staleDiscarded.add(count);
  if (!staleLogLimiter_.take(nowNs)) {
    staleUnlogged_ += count;
    input_.consume(count);
    return;
  }
  // A drop makes a hole in the output and is logged a few times a second at most: not the
  // per-packet path. The line is put together on the stack all the same.
  const MediaChunk& first = input_.readSlot(0);
  const uint64_t latencyNs = uint64_t{latencyMs_} * kNsPerMs;
  const uint64_t bytes = first.size + kDataOverheadBytes;
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  auto msAfter = [](uint64_t ns, uint64_t fromNs) {
    return (static_cast<double>(ns) - static_cast<double>(fromNs)) / 1e6;
  };
  std::array<char, 640> text{};
  char* out = text.data();
  char* const end = text.data() + text.size() - 1;
  auto put = [&]<typename... Args>(fmt::format_string<Args...> format, Args&&... args) {
    out = fmt::format_to_n(out, static_cast<size_t>(end - out), format, std::forward<Args>(args)...)
              .out;
  };
  put("{} chunk(s) of media dropped as stale", count);
  switch (why) {
    case StaleReason::kHandshake:
      put(": waited through the handshake past half the latency ({} ms)", latencyMs_ / 2);
      break;
    case StaleReason::kPlayoutPassed:
      put(": waited {:.0f} ms at the sender, past the latency ({} ms)",
          msAfter(nowNs, first.entryNs), latencyMs_);
      break;
    case StaleReason::kNoLinkInTime:
      put(": after {:.0f} ms at the sender, the earliest link, {} ({}), would land it {:.0f} ms "
          "after its playout time",
          msAfter(nowNs, first.entryNs), earliest->id, earliest->options.name,
          msAfter(earliest->controller.expectedDeliveryNs(nowNs, bytes),
                  first.entryNs + latencyNs));
      break;
  }
  if (staleUnlogged_ > 0) put(" ({} more since the last such line)", staleUnlogged_);
  staleUnlogged_ = 0;
  put("; media links:");
  for (Link& link : links_) {
    if (!carriesMedia(link.controller.phase())) continue;
    LinkController& c = link.controller;
    const uint64_t landsNs = c.expectedDeliveryNs(nowNs, bytes);
    put(" {} {} pace {:.2f} Mbit/s, {:.1f} kB in flight, waits {:.0f} ms, lands in {:.0f} ms;",
        link.options.name, linkPhaseName(c.phase()), c.pacerBps() / 1e6, c.inflightBytes() / 1e3,
        ms(c.waitNs(nowNs, bytes)), msAfter(landsNs, nowNs));
  }
  *out = '\0';
  spdlog::warn("{}", std::string_view(text.data(), static_cast<size_t>(out - text.data())));
  input_.consume(count);
}

void EdgeSession::sendJoin(Link& link, uint64_t nowNs) {
  proto::Join join;
  if (!join.setName(link.options.name)) join.setName("link");
  std::array<uint8_t, 64> body{};
  if (size_t size = join.encode(body); size > 0) {
    sendControl(link, PacketType::kJoin, std::span(body).first(size), nowNs);
    link.joined = true;
    link.lastProbeNs = nowNs;
  }
}

void EdgeSession::sendControl(Link& link, PacketType type, std::span<const uint8_t> body,
                              uint64_t nowNs, size_t paddedSize) {
  if (!channel_) return;
  std::array<uint8_t, dp::kDatagramCapacity> packet{};
  proto::PacketPrefix prefix{.type = type, .sessionId = sessionId_, .linkId = link.id};
  size_t size = channel_->seal(prefix, sendTimestampUs(nowNs), nullptr, body, packet,
                               std::max(paddedSize, proto::kMinControlPacketSize));
  if (size == 0) return;
  if (sendDatagram(link, std::span<const uint8_t>(packet.data(), size), nowNs)) {
    counters_.controlPackets.add();
  }
}

EdgeSession::Link* EdgeSession::bestLink(uint64_t nowNs, uint64_t bytes, int avoid,
                                         uint64_t landByNs, uint64_t* expectedNs) {
  // One pass, ranked by (backup, avoided, at risk, expected delivery): a backup link only when
  // no other link carries media (readyLinkBefore takes it when the input backs up behind the
  // others), and `avoid` only when no other link of its rank is there.
  //
  // With `landByNs` (the packet's deadline less the resend reserve), a link is at risk when
  // the packet would land by then only if the link drained its queue at its recent peak, not at
  // what it has delivered lately. The peak is right for ranking (a queue drains at what the link
  // can carry; ranking on the smoothed rate left links idle while media went stale at the sender),
  // but an on-off cellular link whose queue has just emptied shows its burst as its peak, takes
  // packets on it and pauses again: on the LTE traces those were the packets that came late.
  // So such a link gives way to one that lands the packet in time either way, and is still
  // taken when no link does.
  Link* best = nullptr;
  std::tuple<bool, bool, bool, uint64_t> bestRank{true, true, true, UINT64_MAX};
  for (Link& link : links_) {
    if (!carriesMedia(link.controller.phase())) continue;
    const LinkController::DeliveryEstimate lands = link.controller.deliveryEstimateNs(nowNs, bytes);
    const bool atRisk = landByNs > 0 && lands.cautiousNs > landByNs;
    std::tuple<bool, bool, bool, uint64_t> rank{link.options.priority == LinkPriority::kBackup,
                                                link.id == avoid, atRisk, lands.expectedNs};
    if (best == nullptr || rank < bestRank) {
      best = &link;
      bestRank = rank;
    }
  }
  if (expectedNs != nullptr && best != nullptr) *expectedNs = std::get<3>(bestRank);
  return best;
}

uint64_t EdgeSession::resendReserveNs() {
  // A quarter of the budget stays for a retransmission or a late repair (30 ms at least);
  // only the 30 ms for a repair when a retransmission could not fit in that quarter anyway
  // (no link's round trip is that short): at 200 ms over 120 ms round trips the quarter kept
  // the sender from links that would have landed its packets, and it dropped them as stale.
  uint64_t minRttNs = UINT64_MAX;
  for (Link& link : links_) {
    if (carriesMedia(link.controller.phase()) && link.controller.minRttUs() > 0) {
      minRttNs = std::min(minRttNs, static_cast<uint64_t>(link.controller.minRttUs() * 1000));
    }
  }
  const uint64_t quarter = uint64_t{latencyMs_} * kNsPerMs / 4;
  return std::max<uint64_t>(kRepairMarginNs, quarter >= minRttNs ? quarter : 0);
}

EdgeSession::Link* EdgeSession::readyLinkBefore(uint64_t nowNs, uint64_t bytes,
                                                uint64_t deadlineNs) {
  const uint64_t margin = resendReserveNs();
  Link* best = nullptr;
  uint64_t bestAt = UINT64_MAX;
  for (Link& link : links_) {
    if (!carriesMedia(link.controller.phase())) continue;
    if (link.controller.waitNs(nowNs, bytes) > 0) continue;
    uint64_t at = link.controller.expectedDeliveryNs(nowNs, bytes);
    if (at + margin <= deadlineNs && at < bestAt) {
      bestAt = at;
      best = &link;
    }
  }
  return best;
}

uint64_t EdgeSession::sendMedia(uint64_t nowNs) {
  uint64_t latencyNs = uint64_t{latencyMs_} * kNsPerMs;
  // A block's repairs go before newer media: they protect older packets.
  if (fec_) {
    if (uint64_t wait = serviceFec(nowNs, false); wait > 0) return wait;
  }
  shedForDeadline(nowNs);
  const uint64_t reserveNs = resendReserveNs();
  while (input_.readable() > 0) {
    MediaChunk& chunk = input_.readSlot(0);
    if (takeShed(chunk)) {
      input_.consume(1);
      continue;
    }
    if (chunk.entryNs + latencyNs <= nowNs) {
      // Its playout time has passed before it left: sending it would only delay what can
      // still play. (It is a hole at the gateway either way; counted here as stale.)
      dropStale(StaleReason::kPlayoutPassed, 1, nowNs);
      continue;
    }
    uint64_t bytes = chunk.size + kDataOverheadBytes;
    uint64_t landsNs = 0;
    Link* link = bestLink(nowNs, bytes, -1, chunk.entryNs + latencyNs - reserveNs, &landsNs);
    if (link == nullptr) return kMaxWaitNs;  // no live link: the input waits (and may go stale)
    if (landsNs > chunk.entryNs + latencyNs) {
      // Not even the earliest link lands it before it plays: it would arrive late and take
      // the room of packets that can still make it.
      dropStale(StaleReason::kNoLinkInTime, 1, nowNs, link);
      continue;
    }
    if (uint64_t wait = link->controller.waitNs(nowNs, bytes); wait > 0) {
      // The fastest link is busy. Waiting for it is right while it keeps up; but when the
      // links it prefers are full, the input backs up and every packet behind ends late.
      // A slower link that can take the packet now and still land it well before its
      // deadline (leaving time for a retransmission) carries it instead.
      bool backedUp = nowNs - chunk.entryNs > kBackloggedAfterNs;
      link = backedUp ? readyLinkBefore(nowNs, bytes, chunk.entryNs + latencyNs) : nullptr;
      if (link == nullptr) return wait;
    }
    sendChunk(*link, chunk, nowNs);
    if (pendingRepairs_.active()) {
      if (uint64_t wait = sendRepairs(nowNs); wait > 0) return wait;
    }
  }
  counters_.nextSeq.set(nextMediaSeq_);
  return 0;
}

uint64_t EdgeSession::sendMediaPerLink(uint64_t nowNs) {
  if (!channel_) return kMaxWaitNs;
  // Passes over the links until none can send: each sends as its own pacer allows, so every
  // link stays saturated and a slow link never holds back a fast one.
  while (input_.readable() > 0) {
    bool sent = false;
    uint64_t minWait = kMaxWaitNs;
    for (Link& link : links_) {
      if (input_.readable() == 0) return 0;
      if (!carriesMedia(link.controller.phase())) continue;
      MediaChunk& chunk = input_.readSlot(0);
      uint64_t wait = link.controller.waitNs(nowNs, kDataOverheadBytes + chunk.size);
      if (wait > 0) {
        minWait = std::min(minWait, wait);
        continue;
      }
      sendChunk(link, chunk, nowNs);
      sent = true;
    }
    if (!sent) return minWait;
  }
  return 0;
}

void EdgeSession::sendChunk(Link& link, MediaChunk& chunk, uint64_t nowNs) {
  // Before sealing and storing: a retransmitted or duplicated copy carries the same bytes.
  if (anyCcShift_) rewriteContinuity(chunk);
  if (chunk.accessUnit > lastSentAccessUnit_) lastSentAccessUnit_ = chunk.accessUnit;
  std::array<uint8_t, dp::kDatagramCapacity> packet{};
  const auto flags = static_cast<uint8_t>(chunk.flags | (fec_ ? proto::flag::kFec : 0));
  proto::PacketPrefix prefix{
      .type = PacketType::kData, .sessionId = sessionId_, .linkId = link.id, .flags = flags};
  proto::MediaFields media{
      .mediaSeq = nextMediaSeq_,
      .mediaTsUs = options_.wireClock.mediaTsUs(chunk.entryNs, options_.epochNs)};
  const std::span<const uint8_t> payload(chunk.bytes.data(), chunk.size);
  size_t size = channel_->seal(prefix, sendTimestampUs(nowNs), &media, payload, packet);
  bool copied = false;
  if (size > 0 && sendDatagram(link, std::span<const uint8_t>(packet.data(), size), nowNs)) {
    retransmit_->store(nextMediaSeq_, media.mediaTsUs, chunk.flags,
                       std::span<const uint8_t>(chunk.bytes.data(), chunk.size),
                       chunk.entryNs + uint64_t{latencyMs_} * kNsPerMs, nowNs, link.id,
                       link.controller.lastSentSeq());
    // Media is the TS bytes: the null-run list in front of them is overhead like the header.
    counters_.mediaBytesSent.add(chunk.size - chunk.tsOffset);
    counters_.dataPackets.add();
    counters_.links[link.id].dataPackets.add();
    if ((chunk.flags & (proto::flag::kKeyframe | proto::flag::kCodecConfig | proto::flag::kPsi)) &&
        duplicatesCritical(nowNs)) {
      // While media waits at the sender a copy would take the room of the packets behind
      // it (a keyframe's copies double the stream for its length): FEC protects it then.
      if (nowNs - chunk.entryNs > kBackloggedAfterNs) {
        counters_.duplicatesSkipped.add();
      } else {
        copied = sendCriticalCopy(link, prefix, media,
                                  std::span<const uint8_t>(chunk.bytes.data(), chunk.size), nowNs);
      }
    }
  } else if (size == 0) {
    counters_.sendErrors.add();
  }
  // A packet the kernel refused is gone like one lost on the link: FEC and ARQ repair it.
  if (fec_) protect(link, nextMediaSeq_, media.mediaTsUs, chunk.entryNs, payload, copied, nowNs);
  ++nextMediaSeq_;
  counters_.nextSeq.set(nextMediaSeq_);
  input_.consume(1);
}

void EdgeSession::protect(const Link& link, uint64_t seq, uint64_t mediaTsUs, uint64_t entryNs,
                          std::span<const uint8_t> payload, bool copied, uint64_t nowNs) {
  if (!fec_->empty() && seq != fec_->nextSeq()) closeFecBlock(nowNs);
  if (fec_->empty()) {
    blockEntryNs_ = entryNs;
    blockLinkPackets_ = {};
    blockCopies_ = 0;
  }
  if (!fec_->add(seq, mediaTsUs, payload, nowNs)) return;
  ++blockLinkPackets_[link.id];
  if (copied) ++blockCopies_;
  if (fec_->full()) closeFecBlock(nowNs);
}

void EdgeSession::closeFecBlock(uint64_t nowNs) {
  if (fec_->empty()) return;
  if (pendingRepairs_.active()) {
    // The last block's repairs are still waiting (no link could take them): they are older
    // and the buffer they live in is about to be reused.
    counters_.repairsDropped.add(pendingRepairs_.block.m - pendingRepairs_.next);
  }
  const uint32_t k = fec_->sources();
  uint32_t repairs = resendFitsLatency() ? fecPolicy_.repairsWithResendFor(k, nowNs, blockCopies_)
                                         : fecPolicy_.repairsFor(k, nowNs, blockCopies_);
  // While media waits at the sender the links are the bottleneck: repairs would take their
  // room from the media they protect and make every later packet later (at a link's start,
  // on a lossy link, that cost resends their deadline). Then a block gets what a looser
  // residual target asks: one repair for all was where the 200 ms scenario lost its blocks.
  const bool backlogged =
      input_.readable() > 0 && nowNs - input_.readSlot(0).entryNs > kBackloggedAfterNs;
  if (backlogged) {
    uint32_t afforded =
        fecPolicy_.affordableRepairsFor(k, nowNs, kBackloggedResidualTarget, blockCopies_);
    if (afforded < repairs) {
      counters_.repairsTrimmed.add(repairs - afforded);
      repairs = afforded;
    }
  }
  auto block = fec_->close(repairs);
  if (!block) {
    spdlog::error("fec: {}", block.error().describe());
    pendingRepairs_ = {};
    return;
  }
  pendingRepairs_ = PendingRepairs{
      .block = *block, .next = 0, .entryNs = blockEntryNs_, .sourcesOnLink = blockLinkPackets_};
  sentBlocks_.closed(block->firstSeq, block->k);
  counters_.fecBlocks.add();
  counters_.repairPermille.set(block->m * 1000 / block->k);
}

bool EdgeSession::resendFitsLatency() const {
  // The gateway NACKs after its reorder wait and the copy crosses the slowest media link: with
  // two of its base round trips and that much slack inside the latency, a resend still plays.
  if (!options_.retransmit) return false;
  double slowestMinRttUs = 0;
  for (const Link& link : links_) {
    if (carriesMedia(link.controller.phase())) {
      slowestMinRttUs = std::max(slowestMinRttUs, link.controller.minRttUs());
    }
  }
  const double latencyUs = static_cast<double>(latencyMs_) * 1000;
  return slowestMinRttUs > 0 &&
         latencyUs > 2 * slowestMinRttUs + static_cast<double>(kResendSlackNs) / 1000;
}

uint64_t EdgeSession::repairsDueNs(uint64_t latencyNs) {
  // Also closes when its repairs would otherwise land too late for its first source (which
  // may have waited at the sender): its entry + latency - the slowest carrier's one-way delay
  // - a margin; but never before a tenth of the latency (a block of one or two sources and
  // its repairs would cost more than resending).
  double oneWayUs = 0;
  for (Link& link : links_) {
    if (carriesMedia(link.controller.phase())) {
      oneWayUs = std::max(oneWayUs, link.controller.srttUs() / 2);
    }
  }
  const uint64_t neededNs = static_cast<uint64_t>(oneWayUs * 1000) + kRepairMarginNs;
  const uint64_t dueNs = blockEntryNs_ + (latencyNs > neededNs ? latencyNs - neededNs : 0);
  return std::max(dueNs, fec_->openedNs() + latencyNs / 10);
}

uint64_t EdgeSession::serviceFec(uint64_t nowNs, bool flush) {
  // A block closes early when its first packet has waited this long: its repairs then still
  // land well inside the playout budget, which counts from the links' fastest transit.
  const uint64_t latencyNs = uint64_t{latencyMs_} * kNsPerMs;
  const uint64_t budgetNs = latencyNs * 2 / 5;
  if (!pendingRepairs_.active() && !fec_->empty() &&
      (flush || nowNs - fec_->openedNs() >= budgetNs || nowNs >= repairsDueNs(latencyNs))) {
    closeFecBlock(nowNs);
  }
  return sendRepairs(nowNs);
}

uint64_t EdgeSession::sendRepairs(uint64_t nowNs) {
  PendingRepairs& pending = pendingRepairs_;
  if (!pending.active()) return 0;
  const dp::FecRepairBlock& block = pending.block;
  if (pending.entryNs + uint64_t{latencyMs_} * kNsPerMs <= nowNs) {
    counters_.repairsDropped.add(block.m - pending.next);
    pending.next = block.m;
    return 0;
  }
  while (pending.active()) {
    std::array<uint8_t, dp::kDatagramCapacity> body{};
    proto::RepairHeader header{.blockId = block.blockId,
                               .k = static_cast<uint8_t>(block.k),
                               .m = static_cast<uint8_t>(block.m),
                               .index = static_cast<uint8_t>(pending.next),
                               .firstSeq = block.firstSeq};
    size_t used = header.encodeWithSymbol(block.repair(pending.next), body);
    if (used == 0) {
      pending.next = block.m;
      return 0;
    }
    const uint64_t bytes = used + kDataOverheadBytes;
    // Spread the block: not on the link that carries most of its sources (its outage would
    // take the repairs along), then round robin over the others by expected delivery, so one
    // link's outage costs the block as few symbols as the links allow.
    uint8_t heaviest = 0;
    for (uint8_t id = 0; id < proto::kMaxLinks; ++id) {
      if (pending.sourcesOnLink[id] > pending.sourcesOnLink[heaviest]) heaviest = id;
    }
    Link* best = nullptr;
    std::tuple<bool, bool, uint16_t, uint64_t> bestRank{true, true, UINT16_MAX, UINT64_MAX};
    for (Link& link : links_) {
      if (!carriesMedia(link.controller.phase())) continue;
      std::tuple<bool, bool, uint16_t, uint64_t> rank{
          link.options.priority == LinkPriority::kBackup, link.id == heaviest,
          pending.repairsOnLink[link.id], link.controller.expectedDeliveryNs(nowNs, bytes)};
      if (best == nullptr || rank < bestRank) {
        best = &link;
        bestRank = rank;
      }
    }
    if (best == nullptr) return kMaxWaitNs;
    // Repairs borrow from their link's pacer (as resends do) rather than wait for it: waiting
    // would hold every newer packet, on every link, behind the one link chosen for the repair.
    // The debt delays that link's next packets, so its rate over a block stays paced.
    std::array<uint8_t, dp::kDatagramCapacity> packet{};
    proto::PacketPrefix prefix{.type = PacketType::kRepair,
                               .sessionId = sessionId_,
                               .linkId = best->id,
                               .flags = proto::flag::kFec};
    proto::MediaFields media{.mediaSeq = block.firstSeq, .mediaTsUs = block.blockTsUs};
    size_t size = channel_->seal(prefix, sendTimestampUs(nowNs), &media,
                                 std::span<const uint8_t>(body.data(), used), packet);
    ++pending.repairsOnLink[best->id];
    ++pending.next;
    if (size == 0) {
      counters_.sendErrors.add();
      continue;
    }
    if (sendDatagram(*best, std::span<const uint8_t>(packet.data(), size), nowNs)) {
      sentBlocks_.repairLeft();
      counters_.repairPackets.add();
      counters_.repairBytes.add(size);
      counters_.links[best->id].repairs.add();
    }
  }
  return 0;
}

void EdgeSession::onNack(const proto::Nack& nack, uint64_t nowNs) {
  if (state_ != EdgeState::kEstablished && state_ != EdgeState::kDraining) return;
  uint64_t looked = 0;
  const double loss = fecPolicy_.lossRate(nowNs);
  for (const proto::SeqRange& range : nack.rangeList()) {
    for (uint64_t seq = range.first; seq < range.first + range.count; ++seq) {
      if (looked++ >= kMaxResendsPerNack) return;
      // What the block's repairs will rebuild needs no second copy (sent_fec_blocks.h).
      if (fec_ && sentBlocks_.coveredByRepairs(seq, loss)) {
        counters_.nacksLeftToFec.add();
        continue;
      }
      resend(seq, nowNs, retransmit_->linkOf(seq), /*throttle=*/true);
    }
  }
}

bool EdgeSession::resend(uint64_t seq, uint64_t nowNs, int lostOn, bool throttle) {
  if (!options_.retransmit) return false;
  // The copy goes on the link with the earliest expected delivery, not the one that lost the
  // original while another is live; it does not wait for the pacer (it borrows).
  Link* link = bestLink(nowNs, kDataOverheadBytes + options_.wirePacketSize, lostOn);
  if (link == nullptr) link = &links_[handshakeLink_];
  const LinkController& c = link->controller;
  auto extraDelayNs =
      static_cast<uint64_t>(std::max(0.0, c.srttUs() - c.minRttUs()) / 2 * 1000) + kResendMarginNs;
  auto roundTripNs = throttle ? static_cast<uint64_t>(c.srttUs() * 1000) : 0;
  if (throttle && lostOn >= 0 && links_[lostOn].active() &&
      carriesMedia(links_[lostOn].controller.phase())) {
    // The original may be queued on its link, not lost: a NACK sent before it could have
    // arrived asks for a packet on its way, and a copy would only take room from the media.
    // Where it is in the link's queue (its per-link sequence against the highest the link
    // delivered) and how fast that queue moves now say when it arrives. Not the link's
    // measured forward delay: when a cellular link's rate falls, what it holds takes far
    // longer than the delay its last packets met, and waiting on that delay let the LTE
    // bond's stuck packets pass their deadline with their NACKs refused (docs/transport.md).
    // A packet the link delivered past was lost, and one that arrives too late is as good as
    // lost: both are sent again now.
    const LinkController& original = links_[lostOn].controller;
    const dp::RetransmitBuffer::Packet* held = retransmit_->find(seq);
    if (held != nullptr) {
      const uint64_t arrivalNs = original.queuedArrivalNs(held->linkSeq, nowNs);
      if (arrivalNs != 0 && arrivalNs != UINT64_MAX && arrivalNs > held->lastSentNs &&
          arrivalNs + kResendMarginNs < held->deadlineNs) {
        roundTripNs =
            std::max(roundTripNs, arrivalNs - held->lastSentNs +
                                      static_cast<uint64_t>(original.minRttUs() / 2 * 1000) +
                                      kResendMarginNs);
      }
    }
  }
  const dp::RetransmitBuffer::Packet* packet = retransmit_->takeForResend(
      seq, nowNs, extraDelayNs, roundTripNs, link->id, channel_->nextSendSequence(link->id));
  if (packet == nullptr) {
    counters_.retransmitsRefused.add();
    return false;
  }
  std::array<uint8_t, dp::kDatagramCapacity> out{};
  proto::PacketPrefix prefix{
      .type = PacketType::kData,
      .sessionId = sessionId_,
      .linkId = link->id,
      .flags = static_cast<uint8_t>(packet->flags | proto::flag::kRetransmit)};
  proto::MediaFields media{.mediaSeq = packet->seq, .mediaTsUs = packet->mediaTsUs};
  size_t size = channel_->seal(prefix, sendTimestampUs(nowNs), &media,
                               std::span<const uint8_t>(packet->payload, packet->size), out);
  if (size == 0 || !sendDatagram(*link, std::span<const uint8_t>(out.data(), size), nowNs)) {
    return false;
  }
  counters_.retransmits.add();
  counters_.retransmitBytes.add(size);
  counters_.links[link->id].retransmits.add();
  return true;
}

void EdgeSession::rescue(Link& dead, uint64_t nowNs) {
  // What the link took and the gateway has not acknowledged is probably stuck in it: send it
  // again on the others now rather than wait for each hole's NACK, which for a link that died
  // with a full queue comes too late. The gateway drops the copies it already has.
  uint64_t rescued = 0;
  for (uint64_t seq = ackedSeq_; seq < nextMediaSeq_; ++seq) {
    if (retransmit_->linkOf(seq) != dead.id) continue;
    if (resend(seq, nowNs, dead.id, /*throttle=*/false)) ++rescued;
  }
  if (rescued > 0) {
    spdlog::info("link {} ({}): {} unacknowledged packets sent again on the other links", dead.id,
                 dead.options.name, rescued);
  }
}

void EdgeSession::countReport(Link& link, const proto::LinkReport& report, uint64_t nowNs) {
  fecPolicy_.onReport(nowNs, report.packetsReceived, report.packetsLost);
  EdgeLinkCounters& c = counters_.links[link.id];
  c.reportedPackets.add(report.packetsReceived);
  c.reportedLost.add(report.packetsLost);
  c.reportedBytes.add(report.bytesReceived);
}

void EdgeSession::onAck(const proto::Ack& ack, uint32_t gatewaySendTsUs, uint64_t nowNs) {
  if (ack.cumulativeSeq > ackedSeq_ && ack.cumulativeSeq <= nextMediaSeq_) {
    ackedSeq_ = ack.cumulativeSeq;
    counters_.ackedSeq.set(ackedSeq_);
    retransmit_->release(ackedSeq_);
  }
  // The second copy of an ACK (or one overtaken by a newer ACK) repeats reports already taken.
  if (!feedbackFilter_.take(gatewaySendTsUs)) {
    counters_.acksRepeated.add();
    return;
  }
  uint32_t nowUs = sendTimestampUs(nowNs);
  std::array<bool, proto::kMaxLinks> reported{};
  for (const proto::LinkReport& report : ack.linkReports()) {
    if (report.linkId < reported.size()) reported[report.linkId] = true;
    if (report.linkId >= proto::kMaxLinks || !links_[report.linkId].active()) continue;
    LinkController& c = links_[report.linkId].controller;
    // A report that came back through another link mixes that link's return delay into this
    // link's round trip. Taking only same-link reports was tried: the links that do not carry
    // the ACKs then get too few samples and the LTE-trace scenario lost twice as much, so
    // every report is a sample (correcting by the return link's base delay is open work).
    if (report.echoedSendTsUs != 0) {
      uint64_t rtt = static_cast<uint32_t>(nowUs - report.echoedSendTsUs);
      rtt = rtt > report.holdTimeUs ? rtt - report.holdTimeUs : 0;
      c.onRttSample(nowNs, rtt);
      counters_.links[report.linkId].lastRttUs.set(rtt);
    }
    countReport(links_[report.linkId], report, nowNs);
    c.onReport(nowNs, report);
  }
  for (Link& link : links_) {
    if (!reported[link.id]) link.controller.onFeedbackWithoutReport(nowNs);
  }
  followBondFall(reported, nowNs);
}

void EdgeSession::followBondFall(const std::array<bool, proto::kMaxLinks>& reported,
                                 uint64_t nowNs) {
  // Only when every link that carries media shows the fall in this ACK's reports: the whole
  // bond's capacity stepped down (a link's own dips are its grants, or its queue: the
  // scheduler routes around those).
  std::array<LinkController*, proto::kMaxLinks> falling{};
  size_t carriers = 0;
  for (Link& link : links_) {
    if (!link.active() || !carriesMedia(link.controller.phase())) continue;
    if (!reported[link.id] || !link.controller.showsFall()) return;
    falling[carriers++] = &link.controller;
  }
  if (carriers < 2) return;
  double beforeBps = 0, afterBps = 0;
  for (size_t i = 0; i < carriers; ++i) {
    beforeBps += falling[i]->deliveryBps();
    falling[i]->believeFall(nowNs);
    afterBps += falling[i]->deliveryBps();
  }
  counters_.bondFalls.add();
  spdlog::info(
      "every link's delivery fell at once: the bond's rate taken from the latest "
      "reports, {:.2f} -> {:.2f} Mbit/s over {} links",
      beforeBps / 1e6, afterBps / 1e6, carriers);
}

void EdgeSession::onSealed(Link& link, std::span<uint8_t> datagram, uint64_t nowNs) {
  if (!channel_) return;
  auto session = proto::peekSessionId(datagram);
  if (session != sessionId_) {
    counters_.rxDrops.add();
    return;
  }
  auto opened = channel_->open(datagram, nowNs);
  if (!opened) {
    counters_.rxDrops.add();
    return;
  }
  lastHeardNs_ = nowNs;
  switch (opened->header.prefix.type) {
    case PacketType::kAck: {
      auto ack = proto::Ack::parse(opened->plaintext);
      if (!ack) {
        counters_.rxDrops.add();
        return;
      }
      onAck(*ack, opened->header.sendTsUs, nowNs);
      return;
    }
    case PacketType::kKeepalive: {
      auto keepalive = proto::Keepalive::parse(opened->plaintext);
      if (!keepalive || keepalive->echoedSendTsUs == 0) return;
      uint64_t rtt = static_cast<uint32_t>(sendTimestampUs(nowNs) - keepalive->echoedSendTsUs);
      rtt = rtt > keepalive->holdTimeUs ? rtt - keepalive->holdTimeUs : 0;
      link.controller.onRttSample(nowNs, rtt);
      counters_.links[link.id].lastRttUs.set(rtt);
      link.controller.onProbeAnswer(nowNs);
      return;
    }
    case PacketType::kNack: {
      auto nack = proto::Nack::parse(opened->plaintext);
      if (!nack) {
        counters_.rxDrops.add();
        return;
      }
      counters_.nacksReceived.add();
      onNack(*nack, nowNs);
      return;
    }
    case PacketType::kClose:
      lose("the gateway closed the session", nowNs);
      return;
    default:
      return;
  }
}

void EdgeSession::sendCloses(proto::CloseReason reason) {
  proto::Close close{.reason = reason};
  std::array<uint8_t, 16> body{};
  const size_t size = close.encode(body);
  if (size == 0) return;
  // Nothing acknowledges a CLOSE, and a lost one leaves the gateway holding the session until
  // its idle timeout (10 s by default): every link carries proto::kCloseCopies of it, a few ms
  // apart so that one loss burst does not take them all. The gateway takes the first and ignores
  // the rest.
  for (int copy = 0; copy < proto::kCloseCopies; ++copy) {
    if (copy > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(proto::kCloseSpacingNs));
    for (Link& link : links_) {
      sendControl(link, PacketType::kClose, std::span(body).first(size), dp::monotonicNs());
    }
  }
}

void EdgeSession::onDatagram(Link& link, std::span<uint8_t> datagram, uint64_t nowNs) {
  auto prefix = proto::parsePrefix(datagram);
  if (!prefix) {
    counters_.rxDrops.add();
    return;
  }
  switch (prefix->type) {
    case PacketType::kHandshakeCookie:
      if (initiator_ && initiator_->onCookie(datagram)) {
        sendInit(nowNs);
      } else {
        counters_.rxDrops.add();
      }
      return;
    case PacketType::kHandshakeAccept: {
      if (!initiator_) {
        counters_.rxDrops.add();
        return;
      }
      auto established = initiator_->onAccept(datagram);
      if (!established) {
        counters_.rxDrops.add();
        return;
      }
      onAccept(*established, nowNs);
      return;
    }
    case PacketType::kStatelessReset: {
      auto reset = proto::StatelessReset::parse(datagram);
      if (!reset || !channel_ || reset->sessionId != sessionId_ ||
          !proto::constantTimeEqual(reset->token, resetToken_)) {
        counters_.rxDrops.add();
        return;
      }
      counters_.resetsReceived.add();
      lose("stateless reset from the gateway", nowNs);
      return;
    }
    default:
      onSealed(link, datagram, nowNs);
  }
}

void EdgeSession::maintainLinks(uint64_t nowNs) {
  // Per-link scheduling serves a synthetic input that is never empty: always backlogged.
  bool backlogged =
      input_.readable() > 0 && (options_.scheduling == Scheduling::kPerLink ||
                                nowNs - input_.readSlot(0).entryNs > kBackloggedAfterNs);
  size_t carriers = 0;
  size_t probing = 0;
  for (const Link& link : links_) {
    carriers += carriesMedia(link.controller.phase()) ? 1 : 0;
    probing += link.controller.phase() == LinkPhase::kProbe ? 1 : 0;
  }
  if (state_ == EdgeState::kEstablished && !linksSettled_.load(std::memory_order_relaxed) &&
      (probing == 0 || nowNs - establishedNs_ >= kSettleLimitNs)) {
    linksSettled_.store(true, std::memory_order_release);
  }
  for (Link& link : links_) {
    LinkController& c = link.controller;
    c.setBacklogged(backlogged);
    c.setShedding(lastShedNs_ != 0 && nowNs - lastShedNs_ < kShedHoldsLinksNs);
    c.setSoleCarrier(carriers == 1 && carriesMedia(c.phase()));
    if (channel_) c.tick(nowNs);
    LinkPhase phase = c.phase();
    if (phase != link.reportedPhase) {
      if (phase == LinkPhase::kDegrade && carriesMedia(link.reportedPhase)) {
        spdlog::info(
            "link {} ({}): {} -> degrade ({}; forward delay {:.0f} ms, loss {:.1f} %, "
            "penalty {:.1f} s)",
            link.id, link.options.name, linkPhaseName(link.reportedPhase),
            demoteReasonName(c.lastDemoteReason()), c.forwardDelayUs() / 1000, c.lossRate() * 100,
            static_cast<double>(c.penaltyNs()) / 1e9);
        counters_.links[link.id].downs.add();
        rescue(link, nowNs);
      } else if (c.stallsUndone() != link.reportedStallsUndone) {
        spdlog::info(
            "link {} ({}): {} -> {}: the stall was a gap, it delivers again without loss "
            "(forward delay {:.0f} ms); demotion undone",
            link.id, link.options.name, linkPhaseName(link.reportedPhase), linkPhaseName(phase),
            c.forwardDelayUs() / 1000);
      } else {
        spdlog::info("link {} ({}): {} -> {} (srtt {:.1f} ms, pace {:.2f} Mbit/s{})", link.id,
                     link.options.name, linkPhaseName(link.reportedPhase), linkPhaseName(phase),
                     c.srttUs() / 1000, c.paceBps() / 1e6,
                     phase == LinkPhase::kWarm && c.trainBps() > 0
                         ? fmt::format(", train {:.2f} Mbit/s", c.trainBps() / 1e6)
                         : std::string());
      }
      link.reportedPhase = phase;
    }
    // Counted apart from the phase change: a demotion and its undo can both fall between two
    // ticks, and the link then never shows another phase here.
    if (c.stallsUndone() != link.reportedStallsUndone) {
      counters_.links[link.id].stallsUndone.add(c.stallsUndone() - link.reportedStallsUndone);
      link.reportedStallsUndone = c.stallsUndone();
    }
    if (!channel_) continue;
    if (phase == LinkPhase::kReset) {
      // Silent too long: join again (the gateway may never have seen the JOIN, or a NAT
      // dropped the mapping) and prove the link from scratch.
      link.joined = false;
      c.restartProbing(nowNs);
      phase = c.phase();
    }
    if (!link.joined) sendJoin(link, nowNs);
    if (c.wantsTrain()) sendTrain(link, nowNs);
    // Idle, probing and demoted links get a keepalive: it holds the NAT mapping, measures the
    // link while it carries nothing, and its answers prove a link before media goes on it.
    uint64_t interval = carriesMedia(phase) ? kProbeIntervalNs : kFastProbeIntervalNs;
    if (nowNs - link.lastSentNs >= interval && nowNs - link.lastProbeNs >= interval) {
      proto::Keepalive keepalive{};
      std::array<uint8_t, 32> body{};
      if (size_t size = keepalive.encode(body); size > 0) {
        sendControl(link, PacketType::kKeepalive, std::span(body).first(size), nowNs);
      }
      link.lastProbeNs = nowNs;
    }
  }
}

void EdgeSession::sendTrain(Link& link, uint64_t nowNs) {
  // Back to back at full packet size: the gateway measures their arrival spacing, which the
  // link's bottleneck sets (docs/transport.md, link lifecycle).
  uint64_t trainId = ++lastTrainId_;
  for (uint64_t i = 0; i < kTrainPackets; ++i) {
    proto::Probe probe{.trainId = trainId, .index = i, .count = kTrainPackets};
    std::array<uint8_t, 32> body{};
    size_t size = probe.encode(body);
    if (size == 0) return;
    sendControl(link, PacketType::kProbe, std::span(body).first(size), nowNs,
                options_.wirePacketSize);
  }
  counters_.probePackets.add(kTrainPackets);
  link.controller.onTrainSent(nowNs, trainId);
}

void EdgeSession::logRetransmitSummary() {
  const dp::RetransmitCounters& r = retransmit_->counters();
  spdlog::info(
      "retransmissions: {} sent ({} bytes); refused: {} too late, {} over budget, {} "
      "already acknowledged or overwritten, {} within a round trip of the last copy",
      r.resent.read(), r.resentBytes.read(), r.tooLate.read(), r.overBudget.read(),
      r.notHeld.read(), r.throttled.read());
}

void EdgeSession::publishLinkGauges(uint64_t nowNs) {
  counters_.lossPermille.set(static_cast<uint64_t>(fecPolicy_.lossRate(nowNs) * 1000));
  counters_.burstCenti.set(static_cast<uint64_t>(fecPolicy_.burstLength(nowNs) * 100));
  uint64_t live = 0;
  double bestSrtt = 0;
  for (Link& link : links_) {
    LinkController& c = link.controller;
    EdgeLinkCounters& g = counters_.links[link.id];
    g.phase.set(static_cast<uint64_t>(c.phase()));
    g.paceBps.set(static_cast<uint64_t>(c.paceBps()));
    g.srttUs.set(static_cast<uint64_t>(c.srttUs()));
    g.minRttUs.set(static_cast<uint64_t>(c.minRttUs()));
    g.deliveryBps.set(static_cast<uint64_t>(c.deliveryBps()));
    g.lossPerMille.set(static_cast<uint64_t>(c.lossRate() * 1000));
    g.forwardDelayUs.set(static_cast<uint64_t>(c.forwardDelayUs()));
    g.queueDelayUs.set(static_cast<uint64_t>(c.queueDelayUs()));
    g.jitterP95Us.set(static_cast<uint64_t>(c.jitterP95Us()));
    g.inflightBytes.set(static_cast<uint64_t>(c.inflightBytes()));
    g.trainBps.set(static_cast<uint64_t>(c.trainBps()));
    g.scoreUs.set(
        carriesMedia(c.phase())
            ? (c.expectedDeliveryNs(nowNs, kDataOverheadBytes + options_.wirePacketSize) - nowNs) /
                  1000
            : 0);
    if (carriesMedia(c.phase())) {
      ++live;
      if (bestSrtt == 0 || (c.srttUs() > 0 && c.srttUs() < bestSrtt)) bestSrtt = c.srttUs();
    }
  }
  counters_.liveLinks.set(live);
  counters_.srttUs.set(static_cast<uint64_t>(bestSrtt));
}

void EdgeSession::waitForInput(uint64_t timeoutNs) {
  std::array<pollfd, proto::kMaxLinks> fds{};
  size_t n = 0;
  for (const Link& link : slots_) {
    if (link.state != SlotState::kFree) fds[n++] = {link.socket.fd(), POLLIN, 0};
  }
  const uint64_t plannedNs = std::min(timeoutNs, kMaxWaitNs);
  timespec ts{0, static_cast<long>(plannedNs)};
  const uint64_t waitedFromNs = dp::monotonicNs();
  stallWatch_.begin(waitedFromNs);
  ::ppoll(fds.data(), n, &ts, nullptr);
  if (auto stall = stallWatch_.end(waitedFromNs, dp::monotonicNs(), plannedNs)) {
    noteStall(*stall, true);
  }
}

void EdgeSession::noteStall(const dp::Stall& stall, bool inWait) {
  dp::tallyStall(stall, counters_.senderStalls, counters_.longestSenderStallUs);
  if (!stallLogLimiter_.take(dp::monotonicNs())) return;
  dp::StallUsageText usage{};
  spdlog::warn("sender stalled {:.1f} ms {}: {}", static_cast<double>(stall.heldNs) / 1e6,
               inWait ? "past a wait" : "in a pass", dp::describeStallUsage(stall, usage));
}

bool EdgeSession::postLinkChanges(std::vector<LinkCommand>&& commands) {
  if (commands.empty()) return true;
  if (linkCommands_.writable(commands.size()) < commands.size()) return false;
  for (size_t i = 0; i < commands.size(); ++i) linkCommands_.writeSlot(i) = std::move(commands[i]);
  // One publish: the sender sees a reload whole, never half of it.
  linkCommands_.publish(commands.size());
  return true;
}

void EdgeSession::applyLinkCommands(uint64_t nowNs) {
  size_t n = linkCommands_.readable();
  if (n == 0) return;
  std::array<uint8_t, proto::kMaxLinks> removed{};
  size_t removedCount = 0;
  for (size_t i = 0; i < n; ++i) {
    // Moved out: a socket not taken by a link closes here, not in the ring's slot.
    LinkCommand command = std::move(linkCommands_.readSlot(i));
    const LinkChange& change = command.change;
    if (change.id >= proto::kMaxLinks) continue;
    if (change.kind == LinkChange::Kind::kRemove) {
      Link& link = links_[change.id];
      if (!link.active()) continue;
      removeLink(link, change.why, nowNs);
      if (removedCount < removed.size()) removed[removedCount++] = change.id;
    } else if (change.kind == LinkChange::Kind::kUpdate) {
      Link& link = links_[change.id];
      if (!link.active()) continue;
      link.options.priority = change.options.priority;
      spdlog::info("link {} ({}): {}", link.id, link.options.name, change.why);
    } else {
      addLink(command, nowNs);
    }
  }
  linkCommands_.consume(n);
  // The handshake link is the fallback of resend() and the first to try for a handshake.
  if (!links_[handshakeLink_].active()) handshakeLink_ = nextActiveLink(handshakeLink_);
  // What a removed link took and the gateway has not acknowledged goes again on the others
  // now (after the additions: a link replaced by a new one may be the only other).
  for (size_t i = 0; i < removedCount; ++i) {
    Link& link = links_[removed[i]];
    if (link.state == SlotState::kRetiring && channel_) rescue(link, nowNs);
  }
  publishLinkGauges(nowNs);
}

void EdgeSession::addLink(LinkCommand& command, uint64_t nowNs) {
  const LinkChange& change = command.change;
  Link& link = links_[change.id];
  if (link.state == SlotState::kRetiring) {
    // Every other ID is in use: the ID is taken back before its grace ends (the protocol
    // allows it, docs/protocol.md §3.3: the channel continues the ID's per-link sequence).
    if (channel_) rescue(link, nowNs);
    closeSlot(link);
  } else if (link.active()) {
    spdlog::error("link {}: ID already in use by {}; {} not added", change.id, link.options.name,
                  change.options.name);
    return;
  }
  link.options = change.options;
  link.options.gateway = linkGateway(change.options, options_.gateway);
  link.id = change.id;
  link.socket = std::move(command.socket);
  link.controller = newLinkController();
  link.controller.reset(nowNs);
  link.controller.setLatencyTarget(uint64_t{latencyMs_} * kNsPerMs);
  if (channel_) link.controller.startProbing(nowNs);
  link.joined = false;
  link.lastSentNs = 0;
  link.lastProbeNs = 0;
  link.reportedPhase = LinkPhase::kInit;
  link.state = SlotState::kActive;
  // maintainLinks sends its JOIN (once a session is up) and probes it until it is proven.
  spdlog::info("link {} ({}) added ({}): probing to {}", link.id, link.options.name, change.why,
               dp::toString(link.options.gateway));
}

LinkController EdgeSession::newLinkController() {
  LinkController controller(options_.scheduling == Scheduling::kPerLink
                                ? LinkControllerConfig::linkTest()
                                : LinkControllerConfig{});
  controller.setDrainSlot(&drainSlot_);
  return controller;
}

void EdgeSession::removeLink(Link& link, const std::string& why, uint64_t nowNs) {
  // The protocol has no per-link close (CLOSE ends the session): the link just stops sending,
  // and the gateway stops using it once it has not heard from it (feedback goes on the links
  // heard from most recently).
  link.state = SlotState::kRetiring;
  link.retireAtNs = nowNs + kRetireGraceNs;
  spdlog::info("link {} ({}) removed ({}): no new media on it; socket closes in {} ms", link.id,
               link.options.name, why, kRetireGraceNs / kNsPerMs);
}

void EdgeSession::retireLinks(uint64_t nowNs) {
  for (Link& link : slots_) {
    if (link.state == SlotState::kRetiring && nowNs >= link.retireAtNs) {
      spdlog::debug("link {} ({}): socket closed", link.id, link.options.name);
      closeSlot(link);
    }
  }
}

void EdgeSession::closeSlot(Link& link) {
  link.socket = dp::UdpSocket();
  link.state = SlotState::kFree;
}

size_t EdgeSession::nextActiveLink(size_t id) const {
  for (size_t step = 1; step <= proto::kMaxLinks; ++step) {
    size_t next = (id + step) % proto::kMaxLinks;
    if (links_[next].active()) return next;
  }
  return id;
}

void EdgeSession::run(const std::atomic<bool>& stop, const std::atomic<bool>& inputDone) {
  // The first handshake goes on the first primary link, else the first that is not a backup.
  int firstNormal = -1, firstPrimary = -1;
  for (const Link& link : links_) {
    if (link.options.priority == LinkPriority::kPrimary && firstPrimary < 0) firstPrimary = link.id;
    if (link.options.priority == LinkPriority::kNormal && firstNormal < 0) firstNormal = link.id;
  }
  if (firstPrimary >= 0 || firstNormal >= 0) {
    handshakeLink_ = static_cast<size_t>(firstPrimary >= 0 ? firstPrimary : firstNormal);
  }
  startHandshake(dp::monotonicNs(), false);
  uint64_t nextGaugesNs = 0;
  // A pass that held the sender stalled it like a late wake does.
  auto endPass = [this](uint64_t passFromNs) {
    if (auto stall = stallWatch_.end(passFromNs, dp::monotonicNs(), 0)) noteStall(*stall, false);
  };
  while (!stop.load(std::memory_order_relaxed)) {
    uint64_t nowNs = dp::monotonicNs();
    stallWatch_.begin(nowNs);
    applyLinkCommands(nowNs);
    for (Link& link : slots_) {
      if (link.state == SlotState::kFree) continue;  // retiring links are still read
      int n = link.socket.receiveBatch(rx_);
      for (int i = 0; i < n; ++i) onDatagram(link, rx_.datagram(i), nowNs);
    }

    if (initiator_ && nowNs >= nextInitNs_) {
      // No answer: a fresh attempt (a resend with the same nonce would hit the gateway's
      // replay cache if only our accept was lost), on the next link if this one is silent.
      handshakeBackoffNs_ = std::min(handshakeBackoffNs_ * 2, kMaxRetryNs);
      if (!initiatorIsRekey_) handshakeLink_ = nextActiveLink(handshakeLink_);
      startHandshake(nowNs, initiatorIsRekey_);
    }
    uint64_t waitNs = kMaxWaitNs;
    if (channel_) {
      maintainLinks(nowNs);
      if (state_ == EdgeState::kEstablished) {
        waitNs = options_.scheduling == Scheduling::kPerLink ? sendMediaPerLink(nowNs)
                                                             : sendMedia(nowNs);
      } else if (state_ == EdgeState::kDraining && fec_) {
        waitNs = serviceFec(nowNs, /*flush=*/true);  // the last, partial block
      }
      if (nowNs - lastHeardNs_ > peerTimeoutNs_) {
        lose("nothing heard from the gateway", nowNs);
        continue;
      }
      if (!initiator_ && channel_->rekeyDue(nowNs)) startHandshake(nowNs, true);
      if (inputDone.load(std::memory_order_acquire) && input_.readable() == 0) {
        if (state_ == EdgeState::kEstablished) {
          setState(EdgeState::kDraining);
          drainStartedNs_ = nowNs;
        }
        bool acked = ackedSeq_ >= nextMediaSeq_;
        bool gaveUp = nowNs - drainStartedNs_ > uint64_t{latencyMs_} * kNsPerMs + kDrainGraceNs;
        if (acked || gaveUp) {
          if (gaveUp) spdlog::warn("input ended; not every packet was acknowledged");
          sendCloses(proto::CloseReason::kNormal);
          setState(EdgeState::kClosed);
          publishLinkGauges(nowNs);
          logRetransmitSummary();
          return;
        }
      }
    }
    if (nowNs >= nextGaugesNs) {
      retireLinks(nowNs);
      publishLinkGauges(nowNs);
      nextGaugesNs = nowNs + kGaugeIntervalNs;
    }
    endPass(nowNs);
    if (waitNs == 0 && channel_ && state_ == EdgeState::kEstablished && input_.readable() > 0) {
      continue;
    }
    waitForInput(waitNs == 0 ? kMaxWaitNs : waitNs);
  }
  if (channel_) sendCloses(proto::CloseReason::kShutdown);
  publishLinkGauges(dp::monotonicNs());
  logRetransmitSummary();
  setState(EdgeState::kClosed);
}

}  // namespace braid::edge
