#include "dataplane/proto/handshake/sealed_channel.h"

#include <cstring>

namespace braid::proto {

Result<SealedChannel> SealedChannel::create(Role role, const SessionKeys& keys,
                                            uint8_t handshakeLinkId, uint64_t nowNs,
                                            const ChannelOptions& options) {
  SealedChannel channel(role, options);
  auto installed = channel.install(0, keys, handshakeLinkId, nowNs);
  if (!installed) return tl::unexpected(installed.error());
  return channel;
}

Result<void> SealedChannel::install(uint8_t phase, const SessionKeys& keys, uint8_t handshakeLinkId,
                                    uint64_t nowNs) {
  const AeadKey& txKey = role_ == Role::kEdge ? keys.edgeToGateway : keys.gatewayToEdge;
  const AeadKey& rxKey = role_ == Role::kEdge ? keys.gatewayToEdge : keys.edgeToGateway;
  auto tx = Aead::create(options_.backend, txKey);
  if (!tx) return tl::unexpected(tx.error());
  auto rx = Aead::create(options_.backend, rxKey);
  if (!rx) return tl::unexpected(rx.error());
  Generation& gen = generations_[phase & 1];
  gen.tx.emplace(std::move(*tx));
  gen.rx.emplace(std::move(*rx));
  gen.replay = {};
  phase_ = phase & 1;
  // Fresh keys: sequences restart. Gateway→edge sequence 0 of the handshake link sealed
  // HS_ACCEPT's secrets, so the gateway must not use it again and the edge must not accept it.
  txNextSeq_.fill(0);
  if (role_ == Role::kGateway) {
    txNextSeq_[handshakeLinkId & 15] = 1;
  } else {
    gen.replay[handshakeLinkId & 15].accept(0);
  }
  keysInstalledNs_ = nowNs;
  return ok();
}

Result<void> SealedChannel::rekey(const SessionKeys& keys, uint8_t handshakeLinkId,
                                  uint64_t nowNs) {
  uint8_t oldPhase = phase_;
  auto installed = install(oldPhase ^ 1, keys, handshakeLinkId, nowNs);
  if (!installed) return installed;
  generations_[oldPhase].tx.reset();
  previousValidUntilNs_ = nowNs + kPreviousKeyGraceNs;
  return ok();
}

bool SealedChannel::rekeyDue(uint64_t nowNs) const noexcept {
  if (nowNs - keysInstalledNs_ >= options_.rekeyAgeNs) return true;
  for (uint64_t seq : txNextSeq_) {
    if (seq >= options_.rekeySequenceThreshold) return true;
  }
  return false;
}

bool SealedChannel::acceptsType(PacketType type) const noexcept {
  switch (type) {
    case PacketType::kKeepalive:
    case PacketType::kClose:
      return true;
    case PacketType::kData:
    case PacketType::kRepair:
    case PacketType::kProbe:
    case PacketType::kJoin:
      return role_ == Role::kGateway;
    case PacketType::kAck:
    case PacketType::kNack:
      return role_ == Role::kEdge;
    default:
      return false;
  }
}

size_t SealedChannel::seal(PacketPrefix prefix, uint32_t sendTsUs, const MediaFields* media,
                           std::span<const uint8_t> payload, std::span<uint8_t> out,
                           size_t minPlaintext) noexcept {
  uint8_t link = prefix.linkId & 15;
  Generation& gen = generations_[phase_];
  if (!gen.tx || txNextSeq_[link] > kMaxLinkSeq) return 0;
  prefix.flags =
      static_cast<uint8_t>((prefix.flags & ~flag::kKeyPhase) | (phase_ ? flag::kKeyPhase : 0));
  SealedHeader header{.prefix = prefix, .linkSeq = txNextSeq_[link], .sendTsUs = sendTsUs};
  size_t aadSize = writeSealedHeader(header, media, out);
  if (aadSize == 0) return 0;
  size_t plainSize = payload.size() < minPlaintext ? minPlaintext : payload.size();
  if (aadSize + plainSize + kTagSize > out.size()) return 0;
  std::memcpy(out.data() + aadSize, payload.data(), payload.size());
  std::memset(out.data() + aadSize + payload.size(), 0, plainSize - payload.size());
  Direction dir = role_ == Role::kEdge ? Direction::kEdgeToGateway : Direction::kGatewayToEdge;
  AeadNonce nonce = makeNonce(dir, link, header.linkSeq);
  std::span<uint8_t, kTagSize> tag(out.data() + aadSize + plainSize, kTagSize);
  if (!gen.tx->seal(nonce, out.first(aadSize), out.subspan(aadSize, plainSize), tag)) return 0;
  ++txNextSeq_[link];
  return aadSize + plainSize + kTagSize;
}

tl::expected<SealedChannel::Opened, DropReason> SealedChannel::open(std::span<uint8_t> packet,
                                                                    uint64_t nowNs) noexcept {
  auto parsed = parseSealed(packet);
  if (!parsed) return tl::unexpected(parsed.error());
  return open(*parsed, packet, nowNs, {});
}

tl::expected<SealedChannel::Opened, DropReason> SealedChannel::open(
    const ParsedSealed& parsed, std::span<uint8_t> packet, uint64_t nowNs,
    std::span<uint8_t> destination) noexcept {
  const SealedHeader& header = parsed.header;
  if (!acceptsType(header.prefix.type)) return tl::unexpected(DropReason::kWrongDirection);
  uint8_t phase = (header.prefix.flags & flag::kKeyPhase) ? 1 : 0;
  Generation& gen = generations_[phase];
  if (!gen.rx || (phase != phase_ && nowNs > previousValidUntilNs_)) {
    return tl::unexpected(DropReason::kAuthFailed);
  }
  uint8_t link = header.prefix.linkId & 15;
  ReplayWindow& window = gen.replay[link];
  if (!window.check(header.linkSeq)) return tl::unexpected(DropReason::kReplay);
  Direction dir = role_ == Role::kEdge ? Direction::kGatewayToEdge : Direction::kEdgeToGateway;
  AeadNonce nonce = makeNonce(dir, link, header.linkSeq);
  std::span<uint8_t> plaintext = parsed.ciphertext;
  if (!destination.empty()) {
    if (destination.size() < plaintext.size()) return tl::unexpected(DropReason::kMalformedBody);
    plaintext = destination.first(plaintext.size());
  }
  if (!gen.rx->open(nonce, packet.first(parsed.aadSize), parsed.ciphertext, plaintext,
                    parsed.tag)) {
    return tl::unexpected(DropReason::kAuthFailed);
  }
  window.accept(header.linkSeq);
  return Opened{.header = header, .media = parsed.media, .plaintext = plaintext};
}

}  // namespace braid::proto
