#include "dataplane/proto/wire/handshake_messages.h"

#include <cstring>

#include "dataplane/proto/wire/bytes.h"
#include "dataplane/proto/wire/prefix.h"

namespace braid::proto {

namespace {

// Prefix checks shared by all handshake packets: the right type, a valid link ID and
// zero flags (§1.2: flags are zero in handshake packets).
tl::expected<PacketPrefix, DropReason> checkHandshakePrefix(std::span<const uint8_t> packet,
                                                            PacketType expected) noexcept {
  auto prefix = parsePrefix(packet);
  if (!prefix) return prefix;
  if (prefix->type != expected) return tl::unexpected(DropReason::kUnknownType);
  if (prefix->linkId > kMaxLinkId || prefix->flags != 0) {
    return tl::unexpected(DropReason::kBadHeader);
  }
  return prefix;
}

PacketPrefix handshakePrefix(PacketType type, SessionId session, uint8_t linkId) noexcept {
  return PacketPrefix{
      .version = kVersion, .type = type, .sessionId = session, .linkId = linkId, .flags = 0};
}

}  // namespace

size_t AcceptSecrets::encode(std::span<uint8_t> out) const noexcept {
  ByteWriter w(out);
  w.putBytes(resetToken);
  w.putU16(keepaliveMs);
  w.putU16(feedbackMs);
  w.putU32(idleTimeoutMs);
  return w.ok() ? w.size() : 0;
}

tl::expected<AcceptSecrets, DropReason> AcceptSecrets::parse(std::span<const uint8_t> in) noexcept {
  if (in.size() < kEncodedSize) return tl::unexpected(DropReason::kTooShort);
  if (in.size() > kEncodedSize) return tl::unexpected(DropReason::kMalformedBody);
  ByteReader r(in);
  AcceptSecrets s;
  r.copyTo(s.resetToken);
  s.keepaliveMs = r.getU16();
  s.feedbackMs = r.getU16();
  s.idleTimeoutMs = r.getU32();
  return s;
}

size_t HandshakeInit::encode(std::span<uint8_t> out) const noexcept {
  if (out.size() < kSize || linkId > kMaxLinkId) return 0;
  ByteWriter w(out.first(kSize));
  writePrefix(w, handshakePrefix(PacketType::kHandshakeInit, sessionId, linkId));
  w.putU32(keyId);
  w.putBytes(edgeNonce);
  w.putBytes(edgePublic);
  w.putU64(timestampNs);
  w.putU16(requestedLatencyMs);
  if (cookie) {
    w.putU8(kCookieBytes);
    w.putBytes(*cookie);
  } else {
    w.putU8(0);
    w.putZeros(kCookieBytes);
  }
  w.putZeros(kMacOffset - kPaddingOffset);
  w.putBytes(mac);
  return w.ok() && w.size() == kSize ? kSize : 0;
}

tl::expected<HandshakeInit, DropReason> HandshakeInit::parse(
    std::span<const uint8_t> packet) noexcept {
  auto prefix = checkHandshakePrefix(packet, PacketType::kHandshakeInit);
  if (!prefix) return tl::unexpected(prefix.error());
  // §4.3: anything but exactly 1200 bytes is bad_header, shorter ones included.
  if (packet.size() != kSize) return tl::unexpected(DropReason::kBadHeader);
  ByteReader r(packet);
  r.skip(kPrefixSize);
  HandshakeInit m;
  m.linkId = prefix->linkId;
  m.sessionId = prefix->sessionId;
  m.keyId = r.getU32();
  r.copyTo(m.edgeNonce);
  r.copyTo(m.edgePublic);
  m.timestampNs = r.getU64();
  m.requestedLatencyMs = r.getU16();
  uint8_t cookieLength = r.getU8();
  std::array<uint8_t, kCookieBytes> cookieBytes{};
  r.copyTo(cookieBytes);
  if (cookieLength == kCookieBytes) {
    m.cookie = cookieBytes;
  } else if (cookieLength != 0 || !ByteReader(cookieBytes).restIsZero()) {
    return tl::unexpected(DropReason::kBadHeader);
  }
  ByteReader padding(r.getBytes(kMacOffset - kPaddingOffset));
  if (!padding.restIsZero()) return tl::unexpected(DropReason::kBadHeader);
  r.copyTo(m.mac);
  if (!r.ok()) return tl::unexpected(DropReason::kBadHeader);
  return m;
}

std::span<const uint8_t> HandshakeInit::macCovered(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kSize) return {};
  return packet.first(kMacOffset);
}

void HandshakeInit::storeMac(std::span<uint8_t> packet, std::span<const uint8_t, 16> mac) noexcept {
  if (packet.size() < kSize) return;
  std::memcpy(packet.data() + kMacOffset, mac.data(), mac.size());
}

size_t HandshakeCookie::encode(std::span<uint8_t> out) const noexcept {
  if (linkId > kMaxLinkId) return 0;
  ByteWriter w(out);
  writePrefix(w, handshakePrefix(PacketType::kHandshakeCookie, SessionId{}, linkId));
  w.putBytes(edgeNonce);
  w.putBytes(cookie);
  return w.ok() ? w.size() : 0;
}

tl::expected<HandshakeCookie, DropReason> HandshakeCookie::parse(
    std::span<const uint8_t> packet) noexcept {
  auto prefix = checkHandshakePrefix(packet, PacketType::kHandshakeCookie);
  if (!prefix) return tl::unexpected(prefix.error());
  if (packet.size() < kSize) return tl::unexpected(DropReason::kTooShort);
  if (packet.size() > kSize || !prefix->sessionId.isZero()) {
    return tl::unexpected(DropReason::kBadHeader);
  }
  ByteReader r(packet);
  r.skip(kPrefixSize);
  HandshakeCookie m;
  m.linkId = prefix->linkId;
  r.copyTo(m.edgeNonce);
  r.copyTo(m.cookie);
  return m;
}

size_t HandshakeAccept::encode(std::span<uint8_t> out) const noexcept {
  if (linkId > kMaxLinkId || sessionId.isZero()) return 0;
  ByteWriter w(out);
  writePrefix(w, handshakePrefix(PacketType::kHandshakeAccept, sessionId, linkId));
  w.putBytes(edgeNonce);
  w.putBytes(gatewayNonce);
  w.putBytes(gatewayPublic);
  w.putU16(latencyMs);
  w.putBytes(sealed);
  w.putBytes(sealedTag);
  w.putBytes(mac);
  return w.ok() ? w.size() : 0;
}

tl::expected<HandshakeAccept, DropReason> HandshakeAccept::parse(
    std::span<const uint8_t> packet) noexcept {
  auto prefix = checkHandshakePrefix(packet, PacketType::kHandshakeAccept);
  if (!prefix) return tl::unexpected(prefix.error());
  if (packet.size() < kSize) return tl::unexpected(DropReason::kTooShort);
  if (packet.size() > kSize || prefix->sessionId.isZero()) {
    return tl::unexpected(DropReason::kBadHeader);
  }
  ByteReader r(packet);
  r.skip(kPrefixSize);
  HandshakeAccept m;
  m.linkId = prefix->linkId;
  m.sessionId = prefix->sessionId;
  r.copyTo(m.edgeNonce);
  r.copyTo(m.gatewayNonce);
  r.copyTo(m.gatewayPublic);
  m.latencyMs = r.getU16();
  r.copyTo(m.sealed);
  r.copyTo(m.sealedTag);
  r.copyTo(m.mac);
  return m;
}

std::span<const uint8_t> HandshakeAccept::associatedData(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kSize) return {};
  return packet.first(kSealedOffset);
}

std::span<const uint8_t> HandshakeAccept::macCovered(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kSize) return {};
  return packet.first(kMacOffset);
}

std::span<uint8_t> HandshakeAccept::sealedPart(std::span<uint8_t> packet) noexcept {
  if (packet.size() < kSize) return {};
  return packet.subspan(kSealedOffset, AcceptSecrets::kEncodedSize);
}

std::span<uint8_t, kTagSize> HandshakeAccept::sealedTagPart(
    std::span<uint8_t, kSize> packet) noexcept {
  return packet.subspan<kSealedTagOffset, kTagSize>();
}

void HandshakeAccept::storeMac(std::span<uint8_t> packet,
                               std::span<const uint8_t, 16> mac) noexcept {
  if (packet.size() < kSize) return;
  std::memcpy(packet.data() + kMacOffset, mac.data(), mac.size());
}

size_t StatelessReset::encode(std::span<uint8_t> out, size_t totalSize,
                              std::span<const uint8_t> random) const noexcept {
  if (totalSize < kMinSize || totalSize > kMaxSize || out.size() < totalSize ||
      random.size() < totalSize - kPaddingOffset || linkId > kMaxLinkId) {
    return 0;
  }
  ByteWriter w(out.first(totalSize));
  writePrefix(w, handshakePrefix(PacketType::kStatelessReset, sessionId, linkId));
  w.putBytes(token);
  w.putBytes(random.first(totalSize - kPaddingOffset));
  return w.ok() ? w.size() : 0;
}

tl::expected<StatelessReset, DropReason> StatelessReset::parse(
    std::span<const uint8_t> packet) noexcept {
  auto prefix = checkHandshakePrefix(packet, PacketType::kStatelessReset);
  if (!prefix) return tl::unexpected(prefix.error());
  if (packet.size() < kMinSize) return tl::unexpected(DropReason::kTooShort);
  ByteReader r(packet);
  r.skip(kPrefixSize);
  StatelessReset m;
  m.sessionId = prefix->sessionId;
  m.linkId = prefix->linkId;
  r.copyTo(m.token);
  return m;
}

}  // namespace braid::proto
