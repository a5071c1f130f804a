#include "synthetic_session.h"

#include "dataplane/proto/wire/data_body.h"

#include <poll.h>

#include <array>
#include <cstring>

#include "dataplane/clock.h"
#include "dataplane/proto/handshake/initiator.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/data_body.h"
#include "dataplane/proto/wire/prefix.h"

namespace braid::bench {

namespace {

constexpr std::array<uint8_t, 4> kMagic = {'B', 'R', 'L', 'G'};

void putBe(uint8_t* out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * (bytes - 1 - i)));
}

uint64_t getBe(const uint8_t* in, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value = (value << 8) | in[i];
  return value;
}

uint8_t patternByte(uint64_t seq, size_t i) {
  return static_cast<uint8_t>(seq * 131 + i * 7);
}

}  // namespace

void fillPayload(uint32_t keyId, uint64_t seq, std::span<uint8_t> out) noexcept {
  size_t i = 0;
  if (out.size() >= kPayloadHeaderSize) {
    std::memcpy(out.data(), kMagic.data(), kMagic.size());
    putBe(out.data() + 4, keyId, 4);
    putBe(out.data() + 8, seq, 8);
    i = kPayloadHeaderSize;
  }
  for (; i < out.size(); ++i) out[i] = patternByte(seq, i);
}

StreamCheck verifyStream(std::span<const uint8_t> bytes, size_t payloadBytes, uint32_t keyId) {
  StreamCheck check;
  if (payloadBytes < kPayloadHeaderSize) {
    check.corrupt = bytes.size();
    return check;
  }
  bool first = true;
  for (size_t offset = 0; offset < bytes.size(); offset += payloadBytes) {
    if (bytes.size() - offset < payloadBytes) {
      ++check.corrupt;  // a short tail
      break;
    }
    const uint8_t* p = bytes.data() + offset;
    uint64_t seq = getBe(p + 8, 8);
    bool good = std::memcmp(p, kMagic.data(), kMagic.size()) == 0 && getBe(p + 4, 4) == keyId;
    for (size_t i = kPayloadHeaderSize; good && i < payloadBytes; ++i) {
      good = p[i] == patternByte(seq, i);
    }
    if (!good) {
      ++check.corrupt;
      continue;
    }
    ++check.packets;
    if (first) {
      check.firstSeq = check.lastSeq = seq;
      first = false;
      continue;
    }
    if (seq <= check.lastSeq) {
      ++check.reordered;
      continue;
    }
    check.gaps += seq - check.lastSeq - 1;
    check.lastSeq = seq;
  }
  return check;
}

Result<std::unique_ptr<SyntheticSession>> SyntheticSession::open(
    const SyntheticSessionOptions& options) {
  if (options.links == 0 || options.links > proto::kMaxLinks) {
    return fail(ErrorCode::kInvalidArgument, "links must be 1..16");
  }
  std::unique_ptr<SyntheticSession> session(new SyntheticSession(options));
  for (size_t i = 0; i < options.links; ++i) {
    // Small buffers: the generator never reads feedback, the kernel drops it when full.
    dp::UdpSocketOptions socketOptions;
    socketOptions.receiveBufferBytes = 64 << 10;
    socketOptions.sendBufferBytes = 1 << 20;
    auto socket = dp::UdpSocket::bind(options.bind, socketOptions);
    if (!socket) return tl::unexpected(socket.error());
    session->sockets_.push_back(std::move(*socket));
  }
  return session;
}

Result<void> SyntheticSession::handshake(uint64_t timeoutNs) {
  auto initiator = proto::HandshakeInitiator::start(
      options_.keyId, options_.psk, 0, options_.latencyMs, proto::SessionId{}, options_.backend);
  if (!initiator) return tl::unexpected(initiator.error());
  std::array<uint8_t, dp::kDatagramCapacity> packet{};
  const uint64_t deadline = dp::monotonicNs() + timeoutNs;
  uint64_t resendAt = 0;
  for (;;) {
    uint64_t now = dp::monotonicNs();
    if (now >= deadline) {
      return fail(ErrorCode::kTimeout, "no HS_ACCEPT for key " + std::to_string(options_.keyId));
    }
    if (now >= resendAt) {
      size_t size = initiator->writeInit(packet, dp::realtimeNs());
      if (size == 0 || !send(0, std::span<const uint8_t>(packet.data(), size))) {
        return fail(ErrorCode::kIo, "cannot send HS_INIT");
      }
      resendAt = now + 250'000'000;
    }
    pollfd p{sockets_[0].fd(), POLLIN, 0};
    ::poll(&p, 1, 20);
    ssize_t n = ::recv(sockets_[0].fd(), packet.data(), packet.size(), MSG_DONTWAIT);
    if (n <= 0) continue;
    std::span<const uint8_t> reply(packet.data(), static_cast<size_t>(n));
    auto prefix = proto::parsePrefix(reply);
    if (!prefix) continue;
    if (prefix->type == proto::PacketType::kHandshakeCookie) {
      if (initiator->onCookie(reply)) resendAt = 0;  // send again with the cookie
      continue;
    }
    if (prefix->type != proto::PacketType::kHandshakeAccept) continue;
    auto established = initiator->onAccept(reply);
    if (!established) continue;
    auto channel = proto::SealedChannel::create(proto::Role::kEdge, established->keys,
                                                established->linkId, dp::monotonicNs(),
                                                proto::ChannelOptions{.backend = options_.backend});
    if (!channel) return tl::unexpected(channel.error());
    channel_ = std::make_unique<proto::SealedChannel>(std::move(*channel));
    sessionId_ = established->sessionId;
    latencyMs_ = established->latencyMs;
    return {};
  }
}

size_t SyntheticSession::writeBody(uint64_t seq, size_t payloadBytes,
                                   std::span<uint8_t> out) const noexcept {
  if (payloadBytes + 1 > out.size()) return 0;
  // The body's null-run list first (docs/protocol.md §5.1): none deleted, one byte.
  size_t runs = proto::writeNullRuns({}, out);
  if (runs == 0) return 0;
  fillPayload(options_.keyId, seq, out.subspan(runs, payloadBytes));
  return runs + payloadBytes;
}

size_t SyntheticSession::sealData(uint64_t seq, uint8_t link, uint64_t atUs, size_t payloadBytes,
                                  std::span<uint8_t> out, uint8_t flags) noexcept {
  std::array<uint8_t, dp::kDatagramCapacity> body;
  size_t bodyBytes = writeBody(seq, payloadBytes, body);
  if (!channel_ || bodyBytes == 0) return 0;
  proto::PacketPrefix prefix{
      .type = proto::PacketType::kData, .sessionId = sessionId_, .linkId = link, .flags = flags};
  proto::MediaFields media{.mediaSeq = seq, .mediaTsUs = atUs};
  return channel_->seal(prefix, static_cast<uint32_t>(atUs), &media,
                        std::span<const uint8_t>(body.data(), bodyBytes), out);
}

size_t SyntheticSession::sealRepair(const dp::FecRepairBlock& block, uint32_t index, uint8_t link,
                                    uint64_t atUs, std::span<uint8_t> out) noexcept {
  if (!channel_ || index >= block.m) return 0;
  std::array<uint8_t, dp::kDatagramCapacity> body;
  proto::RepairHeader header{.blockId = block.blockId,
                             .k = static_cast<uint8_t>(block.k),
                             .m = static_cast<uint8_t>(block.m),
                             .index = static_cast<uint8_t>(index),
                             .firstSeq = block.firstSeq};
  size_t used = header.encodeWithSymbol(block.repair(index), body);
  if (used == 0) return 0;
  proto::PacketPrefix prefix{.type = proto::PacketType::kRepair,
                             .sessionId = sessionId_,
                             .linkId = link,
                             .flags = proto::flag::kFec};
  proto::MediaFields media{.mediaSeq = block.firstSeq, .mediaTsUs = block.blockTsUs};
  return channel_->seal(prefix, static_cast<uint32_t>(atUs), &media,
                        std::span<const uint8_t>(body.data(), used), out);
}

size_t SyntheticSession::sealClose(uint8_t link, uint64_t atUs, std::span<uint8_t> out) noexcept {
  if (!channel_) return 0;
  proto::Close close{.reason = proto::CloseReason::kNormal};
  std::array<uint8_t, 16> body{};
  size_t size = close.encode(body);
  if (size == 0) return 0;
  proto::PacketPrefix prefix{
      .type = proto::PacketType::kClose, .sessionId = sessionId_, .linkId = link};
  return channel_->seal(prefix, static_cast<uint32_t>(atUs), nullptr, std::span(body).first(size),
                        out, proto::kMinControlPacketSize);
}

bool SyntheticSession::send(uint8_t link, std::span<const uint8_t> datagram) noexcept {
  return sockets_[link].sendTo(datagram, options_.gateway);
}

std::vector<proto::PacketType> SyntheticSession::receive(uint8_t link, size_t* unopened) {
  std::vector<proto::PacketType> types;
  auto batch = std::make_unique<dp::RxBatch>();
  while (sockets_[link].receiveBatch(*batch) > 0) {
    for (size_t i = 0; i < batch->count; ++i) {
      auto opened = channel_->open(batch->datagram(i), dp::monotonicNs());
      if (opened) {
        types.push_back(opened->header.prefix.type);
      } else if (unopened != nullptr) {
        ++*unopened;
      }
    }
  }
  return types;
}

}  // namespace braid::bench
