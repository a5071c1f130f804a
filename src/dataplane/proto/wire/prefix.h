#pragma once

// The 12-byte common prefix every packet starts with (docs/protocol.md §1).

#include <cstdint>
#include <span>

#include <tl/expected.hpp>

#include "dataplane/proto/wire/bytes.h"
#include "dataplane/proto/wire/drop_reason.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::proto {

// Link IDs are 0..15 (16 links per session).
inline constexpr uint8_t kMaxLinkId = 15;

// Parses the prefix: too_short (< 12 bytes), bad_version, unknown_type. Does not check
// the link ID or flags (their rules depend on the type). Any thread; no allocation.
tl::expected<PacketPrefix, DropReason> parsePrefix(std::span<const uint8_t> packet) noexcept;

// Reads the session ID at its fixed offset without validating anything else, for
// dispatch to the owner worker before full parsing. Zero when the packet is too short
// (zero is never a live session). Any thread.
SessionId peekSessionId(std::span<const uint8_t> packet) noexcept;

// Writes the 12-byte prefix (version from `prefix`). Fails the writer when it does not
// fit.
void writePrefix(ByteWriter& w, const PacketPrefix& prefix) noexcept;

// Reads the prefix fields without checking them (the reader fails when < 12 bytes).
PacketPrefix readPrefix(ByteReader& r) noexcept;

}  // namespace braid::proto
