#include "dataplane/proto/wire/sealed_header.h"

#include "dataplane/proto/wire/bytes.h"

namespace braid::proto {

size_t sealedHeaderSize(PacketType type, const MediaFields* media) noexcept {
  if (!hasMediaFields(type)) return kSealedFixedSize;
  if (media == nullptr) return 0;
  size_t seqSize = varintSize(media->mediaSeq);
  size_t tsSize = varintSize(media->mediaTsUs);
  if (seqSize == 0 || tsSize == 0) return 0;
  return kSealedFixedSize + seqSize + tsSize;
}

size_t writeSealedHeader(const SealedHeader& h, const MediaFields* media,
                         std::span<uint8_t> out) noexcept {
  const PacketPrefix& p = h.prefix;
  if (p.version != kVersion || !isSealedPacketType(static_cast<uint8_t>(p.type)) ||
      p.linkId > kMaxLinkId) {
    return 0;
  }
  if (hasMediaFields(p.type) && media == nullptr) return 0;
  ByteWriter w(out);
  writePrefix(w, p);
  w.putU48(h.linkSeq);
  w.putU32(h.sendTsUs);
  if (hasMediaFields(p.type)) {
    w.putVarint(media->mediaSeq);
    w.putVarint(media->mediaTsUs);
  }
  return w.ok() ? w.size() : 0;
}

tl::expected<ParsedSealed, DropReason> parseSealed(std::span<uint8_t> packet) noexcept {
  auto prefix = parsePrefix(packet);
  if (!prefix) return tl::unexpected(prefix.error());
  if (!isSealedPacketType(static_cast<uint8_t>(prefix->type))) {
    return tl::unexpected(DropReason::kUnknownType);
  }
  if (prefix->linkId > kMaxLinkId) return tl::unexpected(DropReason::kBadHeader);
  if (packet.size() < kSealedFixedSize + kTagSize) return tl::unexpected(DropReason::kTooShort);

  // The tag is the last 16 bytes; everything in between is header fields and ciphertext.
  std::span<uint8_t> body = packet.first(packet.size() - kTagSize);
  ByteReader r(body);
  r.skip(kPrefixSize);
  ParsedSealed out{.header = {.prefix = *prefix, .linkSeq = 0, .sendTsUs = 0},
                   .media = {},
                   .aadSize = 0,
                   .ciphertext = {},
                   .tag = packet.last<kTagSize>()};
  out.header.linkSeq = r.getU48();
  out.header.sendTsUs = r.getU32();
  if (hasMediaFields(prefix->type)) {
    out.media.mediaSeq = r.getVarint();
    out.media.mediaTsUs = r.getVarint();
    if (!r.ok()) return tl::unexpected(DropReason::kBadHeader);
  }
  out.aadSize = r.position();
  out.ciphertext = body.subspan(out.aadSize);
  return out;
}

}  // namespace braid::proto
