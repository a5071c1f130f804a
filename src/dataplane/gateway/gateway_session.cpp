#include "dataplane/gateway/gateway_session.h"

#include <algorithm>

#include "dataplane/output/null_restorer.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/data_body.h"

namespace braid::dp {

using proto::DropReason;
using proto::PacketType;

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr uint64_t kNsPerUs = 1'000;
// A closing session that cannot drain (the edge's last packets never came) is removed
// after its latency plus this grace.
constexpr uint64_t kCloseGraceNs = 1'000 * kNsPerMs;
// Holes are looked at this often while the jitter buffer holds anything.
constexpr uint64_t kNackIntervalNs = 10 * kNsPerMs;
constexpr uint64_t kMinReorderToleranceNs = 10 * kNsPerMs;
constexpr uint64_t kReorderMarginNs = 5 * kNsPerMs;
// A link's minimum transit is the lesser of two buckets this long: a base delay that rose
// (handover, reroute) is relearned within 10 s.
constexpr uint64_t kQueueBucketNs = 5'000 * kNsPerMs;

uint32_t sendTimestampUs(uint64_t nowNs) {
  return static_cast<uint32_t>(nowNs / kNsPerUs);
}

// A session's jitter buffer: slots of the largest datagram, so any DATA payload fits.
JitterBufferConfig jitterBufferConfig(size_t capacity, uint32_t latencyMs) {
  return JitterBufferConfig{.capacity = static_cast<uint32_t>(capacity),
                            .maxPayload = static_cast<uint32_t>(kDatagramCapacity),
                            .targetLatencyNs = uint64_t{latencyMs} * kNsPerMs};
}

NackConfig nackConfig(size_t jitterCapacity) {
  return NackConfig{.trackCapacity = static_cast<uint32_t>(jitterCapacity)};
}

// The NACK table follows the jitter buffer's storage (a multiple of 64 bytes).
size_t nackOffset(size_t jitterCapacity) noexcept {
  return JitterBuffer::storageBytes(jitterBufferConfig(jitterCapacity, 0));
}

}  // namespace

size_t GatewaySession::arenaBytes(size_t jitterCapacity) noexcept {
  return nackOffset(jitterCapacity) + NackScheduler::storageBytes(nackConfig(jitterCapacity));
}

Result<std::unique_ptr<GatewaySession>> GatewaySession::create(
    const GatewaySessionParams& params, proto::SealedChannel&& channel,
    std::vector<std::shared_ptr<Output>> outputs, WorkerCounters& counters, uint64_t nowNs,
    PayloadArena arena) {
  std::unique_ptr<GatewaySession> session(
      new GatewaySession(params, std::move(channel), std::move(outputs), counters, nowNs));
  const size_t bytes = arenaBytes(params.jitterCapacity);
  if (!arena || arena.get_deleter().bytes != bytes) arena = mapPayloadArena(bytes);
  if (!arena) {
    return fail(ErrorCode::kExhausted,
                "session: out of memory for its " + std::to_string(bytes >> 20) + " MiB arena");
  }
  const std::span<uint8_t> storage(arena.get(), bytes);
  session->arena_ = std::move(arena);
  const size_t split = nackOffset(params.jitterCapacity);
  auto jitter = JitterBuffer::createIn(jitterBufferConfig(params.jitterCapacity, params.latencyMs),
                                       storage.first(split));
  if (!jitter) return tl::unexpected(jitter.error());
  session->jitter_ = std::move(*jitter);
  auto nacks = NackScheduler::createIn(nackConfig(params.jitterCapacity), storage.subspan(split));
  if (!nacks) return tl::unexpected(nacks.error());
  session->nacks_ = std::move(*nacks);
  auto fec = FecBlockDecoder::create();
  if (!fec) return tl::unexpected(fec.error());
  session->fec_ = std::move(*fec);
  session->stats_ = std::make_shared<SessionStats>();
  session->stats_->id = params.id;
  session->stats_->keyId = params.keyId;
  session->stats_->latencyMs = params.latencyMs;
  return session;
}

GatewaySession::GatewaySession(const GatewaySessionParams& params, proto::SealedChannel&& channel,
                               std::vector<std::shared_ptr<Output>> outputs,
                               WorkerCounters& counters, uint64_t nowNs)
    : params_(params),
      channel_(std::move(channel)),
      outputs_(std::move(outputs)),
      counters_(counters),
      lastAuthenticatedNs_(nowNs),
      nextFeedbackNs_(nowNs + uint64_t{params.feedbackMs} * kNsPerMs) {}

std::optional<DropReason> GatewaySession::onSealed(std::span<uint8_t> packet,
                                                   const SocketAddress& from, uint64_t nowNs,
                                                   Transmitter& tx) noexcept {
  auto parsed = proto::parseSealed(packet);
  if (!parsed) return parsed.error();
  // DATA is decrypted straight into the jitter-buffer slot its sequence will take, when that
  // slot is free: one copy of the payload less per packet (the header's sequence is not
  // authenticated yet, so only a free slot is written; insert() makes it count).
  std::span<uint8_t> destination;
  if (parsed->header.prefix.type == PacketType::kData && jitter_) {
    destination = jitter_->freeSlotFor(parsed->media.mediaSeq, parsed->ciphertext.size());
  }
  auto opened = channel_.open(*parsed, packet, nowNs, destination);
  if (!opened) return opened.error();
  return onAuthenticated(opened->header, opened->media, opened->plaintext, from, packet.size(),
                         nowNs, tx);
}

void GatewaySession::noteArrival(Link& link, const proto::SealedHeader& header,
                                 const SocketAddress& from, size_t wireSize,
                                 uint64_t nowNs) noexcept {
  if (!link.known || !(link.address == from)) {
    // Identity is session + link ID: an authenticated packet from a new address moves
    // the link at once (NAT rebinding, carrier change). The new address is unproven,
    // so the amplification budget starts over.
    if (link.known) {
      counters_.linkAddressMoves.add();
      stats_->links[header.prefix.linkId & 15].addressChanges.add();
    }
    link.known = true;
    link.address = from;
    link.bytesFromAddress = 0;
    link.bytesToAddress = 0;
    link.intervalStartSeq = header.linkSeq;
    link.highestSeq = header.linkSeq;
  }
  link.bytesFromAddress += wireSize;
  link.lastRxNs = nowNs;
  LinkStats& linkStats = stats_->links[header.prefix.linkId & 15];
  if (!linkStats.known.load(std::memory_order_relaxed)) {
    linkStats.known.store(true, std::memory_order_relaxed);
  }
  linkStats.packets.add();
  linkStats.bytes.add(wireSize);
  if (header.linkSeq > link.highestSeq + 1)
    linkStats.lost.add(header.linkSeq - link.highestSeq - 1);
  if (header.linkSeq > link.highestSeq) link.highestSeq = header.linkSeq;
  ++link.intervalPackets;
  link.intervalBytes += wireSize;
  // RFC 3550 interarrival jitter over the per-link send timestamps. The transit is taken modulo
  // 2^32 µs like the timestamps: the edge's clock has an unknown offset and wraps them every
  // 71.6 min at any point of a session, so only the change of the transit between two packets
  // (a small signed value) means anything.
  auto transitUs = static_cast<uint32_t>(nowNs / kNsPerUs) - header.sendTsUs;
  if (link.lastSendTsArrivalNs != 0) {
    int64_t d = static_cast<int32_t>(transitUs - link.lastTransitUs);
    uint64_t absD = static_cast<uint64_t>(d < 0 ? -d : d);
    link.jitterUs = link.jitterUs + (absD > link.jitterUs ? (absD - link.jitterUs) / 16 : 0) -
                    (absD < link.jitterUs ? (link.jitterUs - absD) / 16 : 0);
  }
  link.lastTransitUs = transitUs;
  if (!link.haveTransit) {
    link.transitUs = transitUs;
    link.haveTransit = true;
  } else {
    link.transitUs += static_cast<uint32_t>(static_cast<int32_t>(transitUs - link.transitUs) / 8);
  }
  noteQueueDelay(link, transitUs, nowNs);
  linkStats.jitterUs.set(link.jitterUs);
  link.lastSendTsUs = header.sendTsUs;
  link.lastSendTsArrivalNs = nowNs;
}

std::optional<DropReason> GatewaySession::onAuthenticated(const proto::SealedHeader& header,
                                                          const proto::MediaFields& media,
                                                          std::span<const uint8_t> plaintext,
                                                          const SocketAddress& from,
                                                          size_t wireSize, uint64_t nowNs,
                                                          Transmitter& tx) noexcept {
  Link& link = links_[header.prefix.linkId & 15];
  noteArrival(link, header, from, wireSize, nowNs);
  lastAuthenticatedNs_ = nowNs;

  switch (header.prefix.type) {
    case PacketType::kData: {
      // Checked before it is held: playout must not meet a body it cannot read.
      if (!proto::DataBody::valid(plaintext)) return DropReason::kMalformedBody;
      lastDataNs_ = nowNs;
      counters_.dataPackets.add();
      counters_.dataBytes.add(plaintext.size());
      stats_->dataPackets.add();
      bool retransmitted = (header.prefix.flags & proto::flag::kRetransmit) != 0;
      if (retransmitted) counters_.retransmitsReceived.add();
      switch (jitter_->insert(media.mediaSeq, media.mediaTsUs, plaintext, nowNs, retransmitted)) {
        case InsertResult::kAccepted: {
          if (retransmitted) {
            counters_.arqRecovered.add();
            stats_->arqRecovered.add();
            if (params_.recoveryTrace != nullptr) {
              params_.recoveryTrace->record(params_.id.value, media.mediaSeq,
                                            RecoveryMechanism::kArq);
            }
          }
          recoverByFec(nullptr, 0, {}, media.mediaSeq, nowNs);
          uint64_t deadline = jitter_->playoutTimeNs(media.mediaTsUs);
          if (deadline != JitterBuffer::kNever) {
            counters_.arrivalMargin.observeUs(deadline > nowNs ? (deadline - nowNs) / kNsPerUs : 0);
          }
          break;
        }
        case InsertResult::kDuplicate:
          counters_.duplicates.add();
          stats_->duplicates.add();
          break;
        case InsertResult::kLate:
          counters_.late.add();
          stats_->late.add();
          break;
        case InsertResult::kLateCopy:
          counters_.lateCopies.add();
          stats_->lateCopies.add();
          break;
        case InsertResult::kTooFarAhead:
          counters_.tooFarAhead.add();
          break;
        case InsertResult::kTooLarge:
          return DropReason::kMalformedBody;
      }
      return std::nullopt;
    }
    case PacketType::kKeepalive: {
      auto msg = proto::Keepalive::parse(plaintext);
      if (!msg) return msg.error();
      proto::Keepalive answer{.echoedSendTsUs = header.sendTsUs, .holdTimeUs = 0};
      std::array<uint8_t, 32> body{};
      size_t size = answer.encode(body);
      if (size == 0) return DropReason::kMalformedBody;
      sendSealed(header.prefix.linkId, PacketType::kKeepalive, std::span(body).first(size), nowNs,
                 tx);
      return std::nullopt;
    }
    case PacketType::kJoin: {
      auto msg = proto::Join::parse(plaintext);
      if (!msg) return msg.error();
      link.name = {};
      std::string_view name = msg->nameView();
      std::copy_n(name.data(), std::min<size_t>(name.size(), 32), link.name.data());
      return std::nullopt;
    }
    case PacketType::kClose: {
      auto msg = proto::Close::parse(plaintext);
      if (!msg) return msg.error();
      if (!closing_) {
        closing_ = true;
        closingSinceNs_ = nowNs;
      }
      return std::nullopt;
    }
    case PacketType::kProbe: {
      auto msg = proto::Probe::parse(plaintext);
      if (!msg) return msg.error();
      uint64_t measured = link.measuredTrainId;
      noteProbe(link, *msg, wireSize, nowNs);
      if (link.measuredTrainId != measured) trainUnreported_ = true;
      return std::nullopt;
    }
    case PacketType::kRepair: {
      std::span<const uint8_t> symbol;
      auto msg = proto::RepairHeader::parse(plaintext, &symbol);
      if (!msg) return msg.error();
      lastDataNs_ = nowNs;
      counters_.repairsReceived.add();
      stats_->repairPackets.add();
      recoverByFec(&*msg, media.mediaTsUs, symbol, 0, nowNs);
      return std::nullopt;
    }
    default:
      return DropReason::kWrongDirection;
  }
}

void GatewaySession::recoverByFec(const proto::RepairHeader* repair, uint64_t repairTsUs,
                                  std::span<const uint8_t> symbol, uint64_t seq,
                                  uint64_t nowNs) noexcept {
  if (!fec_) return;
  auto find = [this](uint64_t source, SourceSymbol& out) {
    return jitter_->find(source, out.payload, out.mediaTsUs);
  };
  auto give = [this, nowNs](uint64_t source, const SourceSymbol& rebuilt) {
    // A rebuilt body is checked like a received one (a repair that did not belong to these
    // sources would rebuild garbage; the tag only vouches for the repair itself).
    if (!proto::DataBody::valid(rebuilt.payload)) return;
    // Marked like a retransmission: a rebuilt packet's arrival says nothing about the clock.
    if (jitter_->insert(source, rebuilt.mediaTsUs, rebuilt.payload, nowNs, true) ==
        InsertResult::kAccepted) {
      counters_.fecRecovered.add();
      stats_->fecRecovered.add();
      if (params_.recoveryTrace != nullptr) {
        params_.recoveryTrace->record(params_.id.value, source, RecoveryMechanism::kFec);
      }
    }
  };
  if (repair == nullptr) {
    fec_->onSource(seq, find, give);
    return;
  }
  fec_->onRepair(FecRepairInfo{.blockId = repair->blockId,
                               .k = repair->k,
                               .m = repair->m,
                               .index = repair->index,
                               .firstSeq = repair->firstSeq,
                               .blockTsUs = repairTsUs},
                 symbol, find, give);
}

void GatewaySession::sendSealed(uint8_t linkId, PacketType type, std::span<const uint8_t> body,
                                uint64_t nowNs, Transmitter& tx) noexcept {
  Link& link = links_[linkId & 15];
  if (!link.known) return;
  std::span<uint8_t> out = tx.next();
  proto::PacketPrefix prefix{.type = type, .sessionId = params_.id, .linkId = linkId};
  size_t size = channel_.seal(prefix, sendTimestampUs(nowNs), nullptr, body, out,
                              proto::kMinControlPacketSize);
  if (size == 0) return;
  // Never more than 3x what the address sent us (docs/protocol.md §6).
  if (link.bytesToAddress + size > 3 * link.bytesFromAddress) {
    counters_.amplificationLimited.add();
    return;
  }
  link.bytesToAddress += size;
  tx.commit(size, link.address);
}

size_t GatewaySession::feedbackLinks(uint64_t nowNs, std::array<uint8_t, 2>& best) const noexcept {
  size_t bestCount = 0;
  uint64_t window = uint64_t{params_.keepaliveMs} * 2 * kNsPerMs;
  for (uint8_t id = 0; id < proto::kMaxLinks; ++id) {
    const Link& link = links_[id];
    if (!link.known || nowNs - link.lastRxNs > window) continue;
    if (bestCount < 2) {
      best[bestCount++] = id;
    } else {
      uint8_t older = links_[best[0]].lastRxNs < links_[best[1]].lastRxNs ? 0 : 1;
      if (link.lastRxNs > links_[best[older]].lastRxNs) best[older] = id;
    }
  }
  return bestCount;
}

uint64_t GatewaySession::reorderToleranceNs(uint64_t nowNs) const noexcept {
  int64_t lowest = 0, highest = 0;
  uint64_t jitterUs = 0;
  const Link* reference = nullptr;
  for (const Link& link : links_) {
    if (!link.known || !link.haveTransit || nowNs - link.lastRxNs > 1'000 * kNsPerMs) continue;
    if (reference == nullptr) reference = &link;
    int64_t relative = static_cast<int32_t>(link.transitUs - reference->transitUs);
    lowest = std::min(lowest, relative);
    highest = std::max(highest, relative);
    jitterUs = std::max(jitterUs, link.jitterUs);
  }
  uint64_t tolerance = static_cast<uint64_t>(highest - lowest) * kNsPerUs +
                       3 * jitterUs * kNsPerUs + kReorderMarginNs;
  uint64_t ceiling = std::max(uint64_t{params_.latencyMs} * kNsPerMs / 5, kMinReorderToleranceNs);
  return std::clamp(tolerance, kMinReorderToleranceNs, ceiling);
}

void GatewaySession::sendNacks(uint64_t nowNs, Transmitter& tx) noexcept {
  proto::Nack nack;
  uint64_t asked = nacks_->collect(*jitter_, nowNs, reorderToleranceNs(nowNs),
                                   [&](uint64_t first, uint64_t count) {
                                     nack.addRange(proto::SeqRange{first, count});
                                   });
  if (asked == 0 || nack.rangeCount == 0) return;
  std::array<uint8_t, 1024> body{};
  size_t size = nack.encode(body);
  if (size == 0) return;
  std::array<uint8_t, 2> best{};
  size_t links = feedbackLinks(nowNs, best);
  for (size_t i = 0; i < links; ++i) {
    sendSealed(best[i], PacketType::kNack, std::span(body).first(size), nowNs, tx);
  }
  counters_.nacksSent.add();
  counters_.nackedSequences.add(asked);
  stats_->nackedSequences.add(asked);
}

void GatewaySession::noteQueueDelay(Link& link, uint32_t transitUs, uint64_t nowNs) noexcept {
  auto below = [](uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; };
  if (link.minBucketStartNs == 0) {
    link.currentMinTransitUs = transitUs;
    link.minBucketStartNs = nowNs;
  } else if (nowNs - link.minBucketStartNs >= kQueueBucketNs) {
    link.previousMinTransitUs = link.currentMinTransitUs;
    link.havePreviousMin = true;
    link.currentMinTransitUs = transitUs;
    link.minBucketStartNs = nowNs;
  } else if (below(transitUs, link.currentMinTransitUs)) {
    link.currentMinTransitUs = transitUs;
  }
  uint32_t minTransit = link.currentMinTransitUs;
  if (link.havePreviousMin && below(link.previousMinTransitUs, minTransit)) {
    minTransit = link.previousMinTransitUs;
  }
  auto above = static_cast<int32_t>(transitUs - minTransit);
  link.queueDelayUs = above > 0 ? static_cast<uint64_t>(above) : 0;
  link.intervalMaxQueueDelayUs = std::max(link.intervalMaxQueueDelayUs, link.queueDelayUs);
}

void GatewaySession::noteProbe(Link& link, const proto::Probe& probe, size_t wireSize,
                               uint64_t nowNs) noexcept {
  // A train's packets leave the edge back to back, so their arrival spacing is set by the
  // link's bottleneck: (count − 1) packets' bytes over the first-to-last arrival time.
  if (probe.trainId != link.trainId) {
    link.trainId = probe.trainId;
    link.trainFirstNs = nowNs;
    link.trainLastNs = nowNs;
    link.trainBytesAfterFirst = 0;
    return;
  }
  link.trainLastNs = nowNs;
  link.trainBytesAfterFirst += wireSize;
  if (probe.index + 1 == probe.count && link.trainLastNs > link.trainFirstNs) {
    link.measuredTrainId = probe.trainId;
    link.measuredTrainKbps =
        link.trainBytesAfterFirst * 8 * 1'000'000 / (link.trainLastNs - link.trainFirstNs);
  }
}

void GatewaySession::sendFeedback(uint64_t nowNs, Transmitter& tx) noexcept {
  // Feedback goes on the two links heard from most recently, never only on the last
  // one: a dying link takes the feedback with it.
  std::array<uint8_t, 2> best{};
  size_t bestCount = feedbackLinks(nowNs, best);
  uint64_t window = uint64_t{params_.keepaliveMs} * 2 * kNsPerMs;
  proto::Ack ack;
  ack.cumulativeSeq = jitter_->cumulativeSeq();
  for (uint8_t id = 0; id < proto::kMaxLinks; ++id) {
    Link& link = links_[id];
    if (!link.known || nowNs - link.lastRxNs > window) continue;
    uint64_t expected = link.highestSeq >= link.intervalStartSeq
                            ? link.highestSeq - link.intervalStartSeq + 1
                            : link.intervalPackets;
    ack.addReport(proto::LinkReport{
        .linkId = id,
        .highestLinkSeq = link.highestSeq,
        .packetsReceived = link.intervalPackets,
        .packetsLost = expected > link.intervalPackets ? expected - link.intervalPackets : 0,
        .bytesReceived = link.intervalBytes,
        .echoedSendTsUs = link.lastSendTsUs,
        .holdTimeUs = (nowNs - link.lastSendTsArrivalNs) / kNsPerUs,
        .jitterUs = link.jitterUs,
        .queueDelayUs = link.queueDelayUs,
        .queueDelayMaxUs = link.intervalMaxQueueDelayUs,
        .probeTrainId = link.measuredTrainId,
        .probeRateKbps = link.measuredTrainKbps,
    });
    link.intervalMaxQueueDelayUs = link.queueDelayUs;
    link.intervalStartSeq = link.highestSeq + 1;
    link.intervalPackets = 0;
    link.intervalBytes = 0;
  }
  if (bestCount == 0) return;
  // Holes are asked for by NACK (sendNacks) once the reorder tolerance has passed; the ACK
  // carries the cumulative sequence and the link reports.
  std::array<uint8_t, 1024> body{};
  size_t size = ack.encode(body);
  if (size == 0) return;
  for (size_t i = 0; i < bestCount; ++i) {
    sendSealed(best[i], PacketType::kAck, std::span(body).first(size), nowNs, tx);
  }
  counters_.feedbackSent.add();
}

void GatewaySession::sendClose(proto::CloseReason closeReason, uint64_t nowNs,
                               Transmitter& tx) noexcept {
  proto::Close msg{.reason = closeReason};
  std::array<uint8_t, 16> body{};
  size_t size = msg.encode(body);
  if (size == 0) return;
  for (uint8_t id = 0; id < proto::kMaxLinks; ++id) {
    if (links_[id].known)
      sendSealed(id, PacketType::kClose, std::span(body).first(size), nowNs, tx);
  }
}

void GatewaySession::emit(std::span<const uint8_t> body) noexcept {
  counters_.played.add();
  stats_->played.add();
  // Checked at insert (and after FEC). Most bodies have no deleted packets (a run count of
  // 0, one byte): their TS bytes go out as they are, without building a run list.
  if (!body.empty() && body[0] == 0) {
    if (body.size() > 1) submitToOutputs(body.subspan(1));
    return;
  }
  auto parsed = proto::DataBody::parse(body);
  if (!parsed) return;
  uint64_t restored = restoreNulls(
      *parsed, restoreScratch_, [this](std::span<const uint8_t> bytes) { submitToOutputs(bytes); });
  counters_.nullsRestored.add(restored);
}

void GatewaySession::submitToOutputs(std::span<const uint8_t> bytes) noexcept {
  for (const auto& output : outputs_) {
    if (!output->submit(bytes)) {
      counters_.outputDrops.add();
      continue;
    }
    counters_.outputBytes.add(bytes.size());
    stats_->outputBytes.add(bytes.size());
  }
}

void GatewaySession::noteJitterState() noexcept {
  const JitterBufferCounters& jb = jitter_->counters();
  uint64_t skipped = jb.skipped.read();
  if (skipped > skippedSeen_) {
    counters_.skipped.add(skipped - skippedSeen_);
    stats_->skipped.add(skipped - skippedSeen_);
    skippedSeen_ = skipped;
  }
  stats_->jitterDepth.set(jitter_->depth());
  stats_->playoutLatencyNs.set(jb.lastPlayoutLatencyNs.read());
}

void GatewaySession::playout(uint64_t nowNs) noexcept {
  jitter_->poll(nowNs,
                [this](std::span<const uint8_t> payload, uint64_t /*mediaSeq*/) { emit(payload); });
  noteJitterState();
}

void GatewaySession::onTimer(uint64_t nowNs, Transmitter& tx) noexcept {
  playout(nowNs);
  if (nowNs >= nextNackNs_) {
    if (jitter_->depth() > 0) sendNacks(nowNs, tx);
    nextNackNs_ = nowNs + kNackIntervalNs;
  }
  if (nowNs >= nextFeedbackNs_) {
    // Feedback at the negotiated rate while media flows; at the keepalive rate when idle.
    // (And at once with a train's result: trains run before media starts.)
    bool flowing = nowNs - lastDataNs_ < uint64_t{params_.keepaliveMs} * kNsPerMs;
    if (flowing || trainUnreported_) {
      sendFeedback(nowNs, tx);
      trainUnreported_ = false;
    }
    nextFeedbackNs_ = nowNs + uint64_t{params_.feedbackMs} * kNsPerMs;
  }
}

uint64_t GatewaySession::nextDeadlineNs() const noexcept {
  uint64_t next = nextFeedbackNs_;
  // Holes can exist only while something is held after them.
  if (jitter_->depth() > 0) next = std::min(next, nextNackNs_);
  uint64_t playoutAt = jitter_->nextDeadlineNs();
  return std::min(next, playoutAt);
}

bool GatewaySession::finished(uint64_t nowNs) const noexcept {
  if (closing_) {
    return jitter_->depth() == 0 ||
           nowNs - closingSinceNs_ > uint64_t{params_.latencyMs} * kNsPerMs + kCloseGraceNs;
  }
  return nowNs - lastAuthenticatedNs_ > uint64_t{params_.idleTimeoutMs} * kNsPerMs;
}

void GatewaySession::drainToOutput() noexcept {
  // Every playout time has come at the end of time: plays all held packets in order.
  jitter_->poll(JitterBuffer::kNever,
                [this](std::span<const uint8_t> payload, uint64_t /*mediaSeq*/) { emit(payload); });
  noteJitterState();
}

size_t GatewaySession::activeLinks(uint64_t nowNs) const noexcept {
  size_t n = 0;
  for (const Link& link : links_) {
    if (link.known && nowNs - link.lastRxNs < uint64_t{params_.keepaliveMs} * 3 * kNsPerMs) ++n;
  }
  return n;
}

}  // namespace braid::dp
