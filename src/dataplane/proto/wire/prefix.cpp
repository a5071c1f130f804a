#include "dataplane/proto/wire/prefix.h"

namespace braid::proto {

tl::expected<PacketPrefix, DropReason> parsePrefix(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kPrefixSize) return tl::unexpected(DropReason::kTooShort);
  if (packet[0] != kVersion) return tl::unexpected(DropReason::kBadVersion);
  if (!isKnownPacketType(packet[1])) return tl::unexpected(DropReason::kUnknownType);
  ByteReader r(packet);
  return readPrefix(r);
}

SessionId peekSessionId(std::span<const uint8_t> packet) noexcept {
  if (packet.size() < kSessionIdOffset + kSessionIdSize) return SessionId{};
  ByteReader r(packet.subspan(kSessionIdOffset, kSessionIdSize));
  return SessionId{r.getU64()};
}

void writePrefix(ByteWriter& w, const PacketPrefix& prefix) noexcept {
  w.putU8(prefix.version);
  w.putU8(static_cast<uint8_t>(prefix.type));
  w.putU64(prefix.sessionId.value);
  w.putU8(prefix.linkId);
  w.putU8(prefix.flags);
}

PacketPrefix readPrefix(ByteReader& r) noexcept {
  PacketPrefix p;
  p.version = r.getU8();
  p.type = static_cast<PacketType>(r.getU8());
  p.sessionId = SessionId{r.getU64()};
  p.linkId = r.getU8();
  p.flags = r.getU8();
  return p;
}

}  // namespace braid::proto
