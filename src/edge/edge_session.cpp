#include "edge/edge_session.h"
#include "dataplane/clock.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cmath>

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

uint32_t sendTimestampUs(uint64_t nowNs) {
  return static_cast<uint32_t>(nowNs / 1000);
}

}  // namespace

const char* edgeStateName(EdgeState state) {
  switch (state) {
    case EdgeState::kHandshaking:
      return "handshaking";
    case EdgeState::kEstablished:
      return "live";
    case EdgeState::kDraining:
      return "draining";
    case EdgeState::kClosed:
      return "closed";
  }
  return "unknown";
}

Result<std::unique_ptr<EdgeSession>> EdgeSession::create(const EdgeSessionOptions& options,
                                                         dp::SpscRing<MediaChunk>& input) {
  dp::SocketAddress bind = options.bindAddress;
  if (bind.isUnspecified()) {
    auto any =
        dp::parseSocketAddress(options.gateway.family() == AF_INET6 ? "[::]:0" : "0.0.0.0:0");
    if (!any) return tl::unexpected(any.error());
    bind = *any;
  }
  dp::UdpSocketOptions socketOptions;
  socketOptions.bindDevice = options.bindDevice;
  auto socket = dp::UdpSocket::bind(bind, socketOptions);
  if (!socket) return tl::unexpected(socket.error());
  auto retransmit = dp::RetransmitBuffer::create(dp::RetransmitConfig{
      .capacity = kRetransmitPackets,
      .maxPayload = static_cast<uint32_t>(options.wirePacketSize),
  });
  if (!retransmit) return tl::unexpected(retransmit.error());
  std::unique_ptr<EdgeSession> session(new EdgeSession(options, input, std::move(*socket)));
  session->retransmit_ = std::move(*retransmit);
  return session;
}

EdgeSession::EdgeSession(const EdgeSessionOptions& options, dp::SpscRing<MediaChunk>& input,
                         dp::UdpSocket&& socket)
    : options_(options), input_(input), socket_(std::move(socket)) {}

void EdgeSession::setState(EdgeState state) {
  state_ = state;
  counters_.state.store(static_cast<uint8_t>(state), std::memory_order_relaxed);
}

void EdgeSession::sendDatagram(std::span<const uint8_t> datagram) {
  if (!socket_.sendTo(datagram, options_.gateway)) {
    counters_.sendErrors.add();
    return;
  }
  counters_.packetsSent.add();
  counters_.udpBytesSent.add(datagram.size());
}

void EdgeSession::startHandshake(uint64_t nowNs, bool rekey) {
  auto initiator = proto::HandshakeInitiator::start(
      options_.keyId, options_.psk, options_.linkId, options_.latencyMs,
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
  sendDatagram(std::span<const uint8_t>(packet.data(), size));
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
  everEstablished_.store(true, std::memory_order_release);
  spdlog::info("session {:016x} established on link {} ({}), latency {} ms", sessionId_.value,
               options_.linkId, options_.linkName, latencyMs_);

  proto::Join join;
  if (!join.setName(options_.linkName)) join.setName("link");
  std::array<uint8_t, 64> body{};
  if (size_t size = join.encode(body); size > 0) {
    sendControl(PacketType::kJoin, std::span(body).first(size), nowNs);
  }

  // Media that waited through the handshake longer than half the latency cannot play
  // in time; sending it would only delay what can.
  uint64_t staleBefore = nowNs - std::min<uint64_t>(nowNs, uint64_t{latencyMs_} * kNsPerMs / 2);
  while (input_.readable() > 0 && input_.readSlot(0).entryNs < staleBefore) {
    input_.consume(1);
    counters_.staleDiscarded.add();
  }
}

void EdgeSession::sendControl(PacketType type, std::span<const uint8_t> body, uint64_t nowNs) {
  if (!channel_) return;
  std::array<uint8_t, dp::kDatagramCapacity> packet{};
  proto::PacketPrefix prefix{.type = type, .sessionId = sessionId_, .linkId = options_.linkId};
  size_t size = channel_->seal(prefix, sendTimestampUs(nowNs), nullptr, body, packet,
                               proto::kMinControlPacketSize);
  if (size == 0) return;
  sendDatagram(std::span<const uint8_t>(packet.data(), size));
  counters_.controlPackets.add();
  lastSentNs_ = nowNs;
}

void EdgeSession::sendMedia(uint64_t nowNs) {
  dp::TxBatch& batch = txBatch_;
  size_t available = input_.readable(dp::kBurstSize);
  size_t n = std::min(available, dp::kBurstSize);
  for (size_t i = 0; i < n; ++i) {
    const MediaChunk& chunk = input_.readSlot(i);
    proto::PacketPrefix prefix{.type = PacketType::kData,
                               .sessionId = sessionId_,
                               .linkId = options_.linkId,
                               .flags = chunk.flags};
    proto::MediaFields media{.mediaSeq = nextMediaSeq_,
                             .mediaTsUs = (chunk.entryNs - options_.epochNs) / 1000};
    size_t size =
        channel_->seal(prefix, sendTimestampUs(nowNs), &media,
                       std::span<const uint8_t>(chunk.bytes.data(), chunk.size), batch.next());
    if (size == 0) {
      counters_.sendErrors.add();
      continue;
    }
    batch.commit(size, options_.gateway);
    retransmit_->store(nextMediaSeq_, media.mediaTsUs, chunk.flags,
                       std::span<const uint8_t>(chunk.bytes.data(), chunk.size),
                       chunk.entryNs + uint64_t{latencyMs_} * kNsPerMs, nowNs);
    counters_.udpBytesSent.add(size);
    counters_.mediaBytesSent.add(chunk.size);
    counters_.dataPackets.add();
    ++nextMediaSeq_;
  }
  if (n > 0) input_.consume(n);
  counters_.nextSeq.set(nextMediaSeq_);
  flushBatch(nowNs);
}

void EdgeSession::onNack(const proto::Nack& nack, uint64_t nowNs) {
  if (state_ != EdgeState::kEstablished && state_ != EdgeState::kDraining) return;
  // One link today: the copy goes where the original went. The bonded scheduler will pick
  // the link with the earliest expected delivery, other than the one that lost it.
  auto extraDelayNs = static_cast<uint64_t>((srttUs_ - minRttUs_) / 2 * 1000) + kResendMarginNs;
  auto roundTripNs = static_cast<uint64_t>(srttUs_ * 1000);
  dp::TxBatch& batch = txBatch_;
  uint64_t looked = 0;
  for (const proto::SeqRange& range : nack.rangeList()) {
    for (uint64_t seq = range.first; seq < range.first + range.count; ++seq) {
      if (looked++ >= kMaxResendsPerNack) break;
      const dp::RetransmitBuffer::Packet* packet =
          retransmit_->takeForResend(seq, nowNs, extraDelayNs, roundTripNs);
      if (packet == nullptr) {
        counters_.retransmitsRefused.add();
        continue;
      }
      proto::PacketPrefix prefix{
          .type = PacketType::kData,
          .sessionId = sessionId_,
          .linkId = options_.linkId,
          .flags = static_cast<uint8_t>(packet->flags | proto::flag::kRetransmit)};
      proto::MediaFields media{.mediaSeq = packet->seq, .mediaTsUs = packet->mediaTsUs};
      size_t size =
          channel_->seal(prefix, sendTimestampUs(nowNs), &media,
                         std::span<const uint8_t>(packet->payload, packet->size), batch.next());
      if (size == 0) {
        counters_.sendErrors.add();
        continue;
      }
      batch.commit(size, options_.gateway);
      counters_.udpBytesSent.add(size);
      counters_.retransmits.add();
      counters_.retransmitBytes.add(size);
      if (batch.full()) flushBatch(nowNs);
    }
  }
  flushBatch(nowNs);
}

void EdgeSession::flushBatch(uint64_t nowNs) {
  dp::TxBatch& batch = txBatch_;
  if (batch.count == 0) return;
  size_t queued = batch.count;
  int sent = socket_.sendBatch(batch);
  counters_.packetsSent.add(sent > 0 ? static_cast<uint64_t>(sent) : 0);
  if (sent < static_cast<int>(queued)) {
    counters_.sendErrors.add(queued - static_cast<size_t>(std::max(sent, 0)));
  }
  lastSentNs_ = nowNs;
}

void EdgeSession::onSealed(std::span<uint8_t> datagram, uint64_t nowNs) {
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
  uint32_t nowUs = sendTimestampUs(nowNs);
  auto sampleRtt = [&](uint32_t echoUs, uint64_t holdUs) {
    if (echoUs == 0) return;
    uint64_t rtt = static_cast<uint32_t>(nowUs - echoUs);
    rtt = rtt > holdUs ? rtt - holdUs : 0;
    srttUs_ = srttUs_ == 0 ? static_cast<double>(rtt) : 0.875 * srttUs_ + 0.125 * rtt;
    minRttUs_ =
        minRttUs_ == 0 ? static_cast<double>(rtt) : std::min(minRttUs_, static_cast<double>(rtt));
    counters_.srttUs.set(static_cast<uint64_t>(srttUs_));
  };
  switch (opened->header.prefix.type) {
    case PacketType::kAck: {
      auto ack = proto::Ack::parse(opened->plaintext);
      if (!ack) {
        counters_.rxDrops.add();
        return;
      }
      if (ack->cumulativeSeq > ackedSeq_ && ack->cumulativeSeq <= nextMediaSeq_) {
        ackedSeq_ = ack->cumulativeSeq;
        counters_.ackedSeq.set(ackedSeq_);
        retransmit_->release(ackedSeq_);
      }
      for (size_t i = 0; i < ack->reportCount; ++i) {
        if (ack->reports[i].linkId == options_.linkId) {
          sampleRtt(ack->reports[i].echoedSendTsUs, ack->reports[i].holdTimeUs);
        }
      }
      return;
    }
    case PacketType::kKeepalive: {
      auto keepalive = proto::Keepalive::parse(opened->plaintext);
      if (keepalive) sampleRtt(keepalive->echoedSendTsUs, keepalive->holdTimeUs);
      return;
    }
    case PacketType::kClose:
      lose("the gateway closed the session", nowNs);
      return;
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
    default:
      return;
  }
}

void EdgeSession::onDatagram(std::span<uint8_t> datagram, uint64_t nowNs) {
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
      onSealed(datagram, nowNs);
  }
}

void EdgeSession::run(const std::atomic<bool>& stop, const std::atomic<bool>& inputDone) {
  startHandshake(dp::monotonicNs(), false);
  while (!stop.load(std::memory_order_relaxed)) {
    int n = socket_.receiveBatch(rx_);
    uint64_t nowNs = dp::monotonicNs();
    for (int i = 0; i < n; ++i) onDatagram(rx_.datagram(i), nowNs);

    if (initiator_ && nowNs >= nextInitNs_) {
      // No answer: a fresh attempt (a resend with the same nonce would hit the gateway's
      // replay cache if only our accept was lost).
      handshakeBackoffNs_ = std::min(handshakeBackoffNs_ * 2, kMaxRetryNs);
      startHandshake(nowNs, initiatorIsRekey_);
    }
    if (channel_) {
      if (state_ == EdgeState::kEstablished) sendMedia(nowNs);
      if (nowNs - lastSentNs_ >= keepaliveNs_) {
        proto::Keepalive keepalive{};
        std::array<uint8_t, 32> body{};
        if (size_t size = keepalive.encode(body); size > 0) {
          sendControl(PacketType::kKeepalive, std::span(body).first(size), nowNs);
        }
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
          proto::Close close{.reason = proto::CloseReason::kNormal};
          std::array<uint8_t, 16> body{};
          if (size_t size = close.encode(body); size > 0) {
            sendControl(PacketType::kClose, std::span(body).first(size), nowNs);
          }
          setState(EdgeState::kClosed);
          return;
        }
      }
    }
    if (channel_ && state_ == EdgeState::kEstablished && input_.readable() > 0) continue;
    socket_.waitReadable(1);
  }
  if (channel_) {
    proto::Close close{.reason = proto::CloseReason::kShutdown};
    std::array<uint8_t, 16> body{};
    if (size_t size = close.encode(body); size > 0) {
      sendControl(PacketType::kClose, std::span(body).first(size), dp::monotonicNs());
    }
  }
  setState(EdgeState::kClosed);
}

}  // namespace braid::edge
