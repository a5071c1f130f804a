#pragma once

// Wire constants and header structs. docs/protocol.md is the normative spec;
// this file mirrors it and tests check the two agree through test vectors.

#include <cstddef>
#include <cstdint>

namespace braid::proto {

inline constexpr uint8_t kVersion = 1;

// Every packet starts with this 12-byte prefix:
//   0 u8 version | 1 u8 type | 2 u64 session ID (BE) | 10 u8 link ID | 11 u8 flags
inline constexpr size_t kSessionIdOffset = 2;
inline constexpr size_t kSessionIdSize = 8;
inline constexpr size_t kLinkIdOffset = 10;
inline constexpr size_t kFlagsOffset = 11;
inline constexpr size_t kPrefixSize = 12;

// Sealed packets continue with
//   12 u48 per-link sequence (BE; nonce input) | 18 u32 per-link send timestamp (µs, BE)
// then type-specific cleartext fields (varints), then ciphertext, then the 16-byte GCM tag.
inline constexpr size_t kLinkSeqOffset = 12;
inline constexpr size_t kLinkSeqSize = 6;
inline constexpr size_t kSendTsOffset = 18;
inline constexpr size_t kSealedFixedSize = 22;
inline constexpr size_t kTagSize = 16;
inline constexpr uint64_t kMaxLinkSeq = (uint64_t{1} << 48) - 1;

// Control packets are padded to at least this many bytes on the wire: carrier NATs
// have been seen dropping tiny UDP packets.
inline constexpr size_t kMinControlPacketSize = 32;
// A handshake init is padded to this size so the gateway's answers never exceed 3x
// what an unproven address sent (anti-amplification).
inline constexpr size_t kHandshakeInitSize = 1200;
inline constexpr size_t kMaxPacketSize = 1500;
inline constexpr size_t kDefaultWirePacketSize = 1200;

enum class PacketType : uint8_t {
  // Cleartext, MAC-authenticated handshake packets.
  kHandshakeInit = 1,
  kHandshakeCookie = 2,
  kHandshakeAccept = 3,
  kStatelessReset = 4,
  // Sealed with the session's per-direction AES-256-GCM key.
  kData = 16,
  kRepair = 17,
  kAck = 18,
  kNack = 19,
  kKeepalive = 20,
  kProbe = 21,
  kJoin = 22,
  kClose = 23,
};

// True for types the protocol defines; an XDP program and the parser drop others early.
constexpr bool isKnownPacketType(uint8_t type) {
  return (type >= 1 && type <= 4) || (type >= 16 && type <= 23);
}
constexpr bool isSealedPacketType(uint8_t type) {
  return type >= 16 && type <= 23;
}

// Header flags (byte 11).
namespace flag {
inline constexpr uint8_t kKeyframe = 1 << 0;      // carries (the start of) an IDR/IRAP access unit
inline constexpr uint8_t kCodecConfig = 1 << 1;   // SPS/PPS/VPS
inline constexpr uint8_t kNonReference = 1 << 2;  // droppable picture
inline constexpr uint8_t kPsi = 1 << 3;           // PAT/PMT
inline constexpr uint8_t kFragment = 1 << 4;      // access unit continues in the next packet
inline constexpr uint8_t kFec = 1 << 5;           // covered by / is FEC repair
inline constexpr uint8_t kRetransmit = 1 << 6;    // a retransmitted copy
inline constexpr uint8_t kKeyPhase = 1 << 7;  // which of the two session key generations sealed it
}  // namespace flag

enum class Direction : uint8_t { kEdgeToGateway = 0, kGatewayToEdge = 1 };

// 64-bit routable session ID: gateway ID (16 bits) | owner worker (8 bits) | random (40 bits).
struct SessionId {
  uint64_t value = 0;

  static constexpr SessionId make(uint16_t gatewayId, uint8_t worker, uint64_t random40) {
    return SessionId{(uint64_t{gatewayId} << 48) | (uint64_t{worker} << 40) |
                     (random40 & ((uint64_t{1} << 40) - 1))};
  }
  constexpr uint16_t gatewayId() const { return static_cast<uint16_t>(value >> 48); }
  constexpr uint8_t worker() const { return static_cast<uint8_t>(value >> 40); }
  constexpr bool isZero() const { return value == 0; }
  friend constexpr bool operator==(SessionId, SessionId) = default;
};

// The 12-byte prefix every packet has.
struct PacketPrefix {
  uint8_t version = kVersion;
  PacketType type = PacketType::kData;
  SessionId sessionId;
  uint8_t linkId = 0;
  uint8_t flags = 0;
};

// Cleartext header of a sealed packet (the AEAD's associated data is every byte
// before the ciphertext, i.e. the prefix, these fields and the type-specific fields).
struct SealedHeader {
  PacketPrefix prefix;
  uint64_t linkSeq = 0;   // 48 bits on the wire
  uint32_t sendTsUs = 0;  // low 32 bits of the sender's monotonic clock in µs
};

// Type-specific cleartext fields of DATA and REPAIR packets, as varints.
struct MediaFields {
  uint64_t mediaSeq = 0;   // global media sequence (reorder and FEC)
  uint64_t mediaTsUs = 0;  // µs since the session's media epoch; set once at the edge
};

}  // namespace braid::proto
