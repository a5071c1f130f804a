#pragma once

// Cleartext header of sealed packets (types 16–23, docs/protocol.md §3). The header is
// the AEAD's associated data; this file only encodes and decodes it, no crypto.

#include <cstddef>
#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "dataplane/proto/wire/drop_reason.h"
#include "dataplane/proto/wire/packet.h"
#include "dataplane/proto/wire/prefix.h"

namespace braid::proto {

// True for the types that carry the media varints (DATA, REPAIR).
constexpr bool hasMediaFields(PacketType type) {
  return type == PacketType::kData || type == PacketType::kRepair;
}

// Header length of a sealed packet of `type` with these media fields (the associated-data
// length); 0 when the fields cannot be encoded.
size_t sealedHeaderSize(PacketType type, const MediaFields* media) noexcept;

// Writes prefix, 48-bit link sequence, send timestamp and, for DATA/REPAIR, the media
// varints from `media` (required for those types, ignored otherwise). Returns the header
// length (= associated-data length), 0 if `out` is too small or the header is not
// encodable (not a sealed type, version ≠ 1, link ID > 15, sequence ≥ 2^48, a varint
// > 2^62−1, DATA/REPAIR without `media`). Any thread; no allocation.
size_t writeSealedHeader(const SealedHeader& h, const MediaFields* media,
                         std::span<uint8_t> out) noexcept;

// A sealed packet split into its parts. The spans point into the parsed buffer.
struct ParsedSealed {
  SealedHeader header;
  MediaFields media;  // zero for types without media fields
  size_t aadSize = 0;
  std::span<uint8_t> ciphertext;
  std::span<uint8_t, kTagSize> tag;
};

// Splits a sealed packet. Checks, in order: too_short (< 12 bytes), bad_version,
// unknown_type (unknown or not sealed), bad_header (link ID > 15), too_short (fixed
// header + tag do not fit), bad_header (DATA/REPAIR media varints do not fit before the
// tag). The ciphertext may be empty. Nothing is authenticated yet: the caller opens the AEAD
// before using any field but the session ID. Any thread; no allocation.
tl::expected<ParsedSealed, DropReason> parseSealed(std::span<uint8_t> packet) noexcept;

}  // namespace braid::proto
