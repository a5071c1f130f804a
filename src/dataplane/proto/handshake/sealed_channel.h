#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/crypto/replay_window.h"
#include "dataplane/proto/handshake/session_keys.h"
#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/drop_reason.h"
#include "dataplane/proto/wire/packet.h"
#include "dataplane/proto/wire/sealed_header.h"

namespace braid::proto {

inline constexpr size_t kMaxLinks = 16;
// Rekey well before a per-link sequence could reach 2^48 (docs/protocol.md §3.4).
inline constexpr uint64_t kRekeySequenceThreshold = kMaxLinkSeq - (uint64_t{1} << 16);
inline constexpr uint64_t kRekeyAgeNs = 24ull * 3600 * 1'000'000'000;
inline constexpr uint64_t kPreviousKeyGraceNs = 2'000'000'000;

enum class Role : uint8_t { kEdge, kGateway };

struct ChannelOptions {
  AeadBackend backend = AeadBackend::kOpenSsl;
  uint64_t rekeySequenceThreshold = kRekeySequenceThreshold;
  uint64_t rekeyAgeNs = kRekeyAgeNs;
};

// The sealed packet channel of one session, from one side's point of view: per-direction
// AES-256-GCM keys in two generations (key phase), per-link send sequences that never
// restart under a key, and per-link replay windows. One owner thread.
class SealedChannel {
 public:
  struct Opened {
    SealedHeader header;
    MediaFields media;
    std::span<uint8_t> plaintext;
  };

  // `handshakeLinkId`: the link whose gateway→edge sequence 0 sealed HS_ACCEPT.
  static Result<SealedChannel> create(Role role, const SessionKeys& keys, uint8_t handshakeLinkId,
                                      uint64_t nowNs, const ChannelOptions& options = {});

  // Seals one packet into `out`: header from `prefix` (its key-phase flag is set here),
  // the link's next sequence, `sendTsUs`, `media` for DATA/REPAIR, then `payload` padded
  // with zeros to `minPlaintext` bytes. Returns the datagram size, 0 if it cannot be sent
  // (buffer too small, sequence space exhausted, AEAD failure). Owner thread.
  size_t seal(PacketPrefix prefix, uint32_t sendTsUs, const MediaFields* media,
              std::span<const uint8_t> payload, std::span<uint8_t> out,
              size_t minPlaintext = 0) noexcept;

  // Authenticates and decrypts in place. Checks, in order: header, direction, key phase,
  // replay window (before and after the AEAD). Owner thread.
  tl::expected<Opened, DropReason> open(std::span<uint8_t> packet, uint64_t nowNs) noexcept;
  // The same for `packet` already split by parseSealed, decrypted into `destination` unless it
  // is empty (then in place): a receiver with storage waiting for the packet saves a copy.
  // `destination` must hold the ciphertext's size; on failure it holds nothing usable.
  tl::expected<Opened, DropReason> open(const ParsedSealed& parsed, std::span<uint8_t> packet,
                                        uint64_t nowNs, std::span<uint8_t> destination) noexcept;

  // Installs keys from a new handshake; the previous receive key stays usable for 2 s.
  Result<void> rekey(const SessionKeys& keys, uint8_t handshakeLinkId, uint64_t nowNs);

  // True when a rekey is due (a send sequence near its limit, or the keys are old).
  bool rekeyDue(uint64_t nowNs) const noexcept;

  uint64_t nextSendSequence(uint8_t linkId) const { return txNextSeq_[linkId & 15]; }
  uint8_t keyPhase() const { return phase_; }

 private:
  struct Generation {
    std::optional<Aead> tx;
    std::optional<Aead> rx;
    std::array<ReplayWindow, kMaxLinks> replay{};
  };

  SealedChannel(Role role, const ChannelOptions& options) : role_(role), options_(options) {}
  Result<void> install(uint8_t phase, const SessionKeys& keys, uint8_t handshakeLinkId,
                       uint64_t nowNs);
  bool acceptsType(PacketType type) const noexcept;

  Role role_;
  ChannelOptions options_;
  uint8_t phase_ = 0;
  std::array<Generation, 2> generations_;
  std::array<uint64_t, kMaxLinks> txNextSeq_{};
  uint64_t keysInstalledNs_ = 0;
  uint64_t previousValidUntilNs_ = 0;
};

}  // namespace braid::proto
