#pragma once

// Handshake packets (docs/protocol.md §4): fixed layouts, cleartext, authenticated by a
// PSK HMAC that the caller computes over the ranges given here. Pure codecs: no crypto,
// no allocation, no exceptions; parse() checks layout only, never a MAC.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include <tl/expected.hpp>

#include "dataplane/proto/wire/drop_reason.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::proto {

inline constexpr size_t kHandshakeNonceSize = 32;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kCookieBytes = 16;
inline constexpr size_t kHandshakeMacSize = 16;
inline constexpr size_t kResetTokenBytes = 16;

// The reset token and timers HS_ACCEPT carries sealed (24-byte plaintext).
struct AcceptSecrets {
  static constexpr size_t kEncodedSize = 24;

  std::array<uint8_t, kResetTokenBytes> resetToken{};
  uint16_t keepaliveMs = 0;
  uint16_t feedbackMs = 0;
  uint32_t idleTimeoutMs = 0;

  // Writes the 24-byte plaintext. Returns 24, or 0 if `out` is too small.
  size_t encode(std::span<uint8_t> out) const noexcept;
  // Parses exactly 24 bytes (too_short / malformed_body otherwise).
  static tl::expected<AcceptSecrets, DropReason> parse(std::span<const uint8_t> in) noexcept;
  friend bool operator==(const AcceptSecrets&, const AcceptSecrets&) = default;
};

// HS_INIT, edge → gateway, exactly 1200 bytes (§4.3).
struct HandshakeInit {
  static constexpr size_t kSize = kHandshakeInitSize;
  static constexpr size_t kKeyIdOffset = 12;
  static constexpr size_t kNonceOffset = 16;
  static constexpr size_t kPublicOffset = 48;
  static constexpr size_t kTimestampOffset = 80;
  static constexpr size_t kLatencyOffset = 88;
  static constexpr size_t kCookieLengthOffset = 90;
  static constexpr size_t kCookieOffset = 91;
  static constexpr size_t kPaddingOffset = 107;
  static constexpr size_t kMacOffset = kSize - kHandshakeMacSize;  // 1184

  uint8_t linkId = 0;
  SessionId sessionId;  // zero for a new session, the current one for a rekey
  uint32_t keyId = 0;
  std::array<uint8_t, kHandshakeNonceSize> edgeNonce{};
  std::array<uint8_t, kPublicKeySize> edgePublic{};
  uint64_t timestampNs = 0;  // CLOCK_REALTIME: freshness, and which of two INITs is newer
  uint16_t requestedLatencyMs = 0;
  std::optional<std::array<uint8_t, kCookieBytes>> cookie;
  std::array<uint8_t, kHandshakeMacSize> mac{};  // written as is; see storeMac()

  // Writes exactly 1200 bytes (zero padding, `mac` as stored). Returns 1200, or 0 if
  // `out` is too small or the link ID is > 15. Any thread.
  size_t encode(std::span<uint8_t> out) const noexcept;
  // Checks layout: too_short (< 12 B), bad_version, unknown_type (not HS_INIT),
  // bad_header (size ≠ 1200, link ID > 15, flags ≠ 0, cookie length ∉ {0, 16}, non-zero
  // cookie bytes without a cookie, non-zero padding). The MAC is not checked. Any thread.
  static tl::expected<HandshakeInit, DropReason> parse(std::span<const uint8_t> packet) noexcept;

  // Bytes the MAC covers (0..1183); empty if `packet` is shorter than 1200 bytes.
  static std::span<const uint8_t> macCovered(std::span<const uint8_t> packet) noexcept;
  // Writes `mac` at offset 1184; does nothing if `packet` is shorter than 1200 bytes.
  static void storeMac(std::span<uint8_t> packet, std::span<const uint8_t, 16> mac) noexcept;

  friend bool operator==(const HandshakeInit&, const HandshakeInit&) = default;
};

// HS_COOKIE, gateway → edge, 60 bytes (§4.5). Session ID always zero.
struct HandshakeCookie {
  static constexpr size_t kSize = 60;

  uint8_t linkId = 0;
  std::array<uint8_t, kHandshakeNonceSize> edgeNonce{};
  std::array<uint8_t, kCookieBytes> cookie{};

  // Writes 60 bytes. Returns 60, or 0 if `out` is too small or the link ID is > 15.
  size_t encode(std::span<uint8_t> out) const noexcept;
  // too_short (< 60 B), bad_version, unknown_type, bad_header (> 60 B, session ID ≠ 0,
  // link ID > 15, flags ≠ 0). Any thread.
  static tl::expected<HandshakeCookie, DropReason> parse(std::span<const uint8_t> packet) noexcept;

  friend bool operator==(const HandshakeCookie&, const HandshakeCookie&) = default;
};

// HS_ACCEPT, gateway → edge, 166 bytes (§4.8). The caller encodes with `sealed` holding
// the AcceptSecrets plaintext, then seals sealedPart() in place (AD = associatedData(),
// tag into sealedTagPart()) and finally stores the MAC over macCovered().
struct HandshakeAccept {
  static constexpr size_t kSize = 166;
  static constexpr size_t kLatencyOffset = 108;
  static constexpr size_t kSealedOffset = 110;  // = associated-data length
  static constexpr size_t kSealedTagOffset = kSealedOffset + AcceptSecrets::kEncodedSize;  // 134
  static constexpr size_t kMacOffset = kSealedTagOffset + kTagSize;                        // 150

  uint8_t linkId = 0;
  SessionId sessionId;
  std::array<uint8_t, kHandshakeNonceSize> edgeNonce{};
  std::array<uint8_t, kHandshakeNonceSize> gatewayNonce{};
  std::array<uint8_t, kPublicKeySize> gatewayPublic{};
  uint16_t latencyMs = 0;
  std::array<uint8_t, AcceptSecrets::kEncodedSize> sealed{};  // ciphertext on the wire
  std::array<uint8_t, kTagSize> sealedTag{};
  std::array<uint8_t, kHandshakeMacSize> mac{};

  // Writes 166 bytes. Returns 166, or 0 if `out` is too small, the link ID is > 15 or
  // the session ID is zero. Any thread.
  size_t encode(std::span<uint8_t> out) const noexcept;
  // too_short (< 166 B), bad_version, unknown_type, bad_header (> 166 B, session ID 0,
  // link ID > 15, flags ≠ 0). Neither MAC nor tag is checked. Any thread.
  static tl::expected<HandshakeAccept, DropReason> parse(std::span<const uint8_t> packet) noexcept;

  // Associated data of the sealed part: bytes 0..109; empty if `packet` < 166 bytes.
  static std::span<const uint8_t> associatedData(std::span<const uint8_t> packet) noexcept;
  // Bytes the MAC covers: 0..149; empty if `packet` < 166 bytes.
  static std::span<const uint8_t> macCovered(std::span<const uint8_t> packet) noexcept;
  // The 24 sealed bytes (110..133), to seal in place; empty if `packet` < 166 bytes.
  static std::span<uint8_t> sealedPart(std::span<uint8_t> packet) noexcept;
  // The sealed part's tag (134..149). Fixed-size input, so it cannot be out of bounds:
  // pass `buffer.first<HandshakeAccept::kSize>()` after a successful encode().
  static std::span<uint8_t, kTagSize> sealedTagPart(std::span<uint8_t, kSize> packet) noexcept;
  // Writes `mac` at offset 150; does nothing if `packet` is shorter than 166 bytes.
  static void storeMac(std::span<uint8_t> packet, std::span<const uint8_t, 16> mac) noexcept;

  friend bool operator==(const HandshakeAccept&, const HandshakeAccept&) = default;
};

// RESET, gateway → edge (§4.9): prefix | token (16) | random padding; 32..64 bytes.
struct StatelessReset {
  static constexpr size_t kMinSize = kMinControlPacketSize;  // 32
  static constexpr size_t kMaxSize = 64;
  static constexpr size_t kTokenOffset = kPrefixSize;
  static constexpr size_t kPaddingOffset = kTokenOffset + kResetTokenBytes;  // 28

  SessionId sessionId;
  uint8_t linkId = 0;
  std::array<uint8_t, kResetTokenBytes> token{};

  // Writes a `totalSize`-byte reset (32..64), the padding taken from `random` (which
  // must hold at least totalSize − 28 bytes). Returns totalSize, or 0 when `out` is too
  // small, `totalSize` is out of range, `random` too short or the link ID > 15.
  size_t encode(std::span<uint8_t> out, size_t totalSize,
                std::span<const uint8_t> random) const noexcept;
  // too_short (< 32 B), bad_version, unknown_type, bad_header (link ID > 15, flags ≠ 0).
  // The padding is random and not checked; larger resets are accepted. Any thread.
  static tl::expected<StatelessReset, DropReason> parse(std::span<const uint8_t> packet) noexcept;

  friend bool operator==(const StatelessReset&, const StatelessReset&) = default;
};

}  // namespace braid::proto
