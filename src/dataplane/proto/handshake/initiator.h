#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/crypto/primitives.h"
#include "dataplane/proto/handshake/gateway_secrets.h"
#include "dataplane/proto/handshake/session_keys.h"
#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/drop_reason.h"
#include "dataplane/proto/wire/handshake_messages.h"

namespace braid::proto {

// What the edge learns from a valid HS_ACCEPT.
struct EstablishedSession {
  SessionId sessionId;
  uint8_t linkId = 0;
  uint16_t latencyMs = 0;
  SessionKeys keys;
  AcceptSecrets secrets;
};

// The edge's side of one handshake attempt (docs/protocol.md §4). One owner thread.
class HandshakeInitiator {
 public:
  // A fresh attempt: new nonce and ephemeral key. `rekeyOf` is zero for a new session.
  static Result<HandshakeInitiator> start(uint32_t keyId, const PskBytes& psk, uint8_t linkId,
                                          uint16_t requestedLatencyMs, SessionId rekeyOf,
                                          AeadBackend backend);

  // Writes the 1200-byte HS_INIT (with the cookie, once one has arrived). Returns its size,
  // 0 if `out` is too small.
  size_t writeInit(std::span<uint8_t> out, uint64_t realtimeNs) const;

  // Handles HS_COOKIE: stores the cookie if it answers this attempt; the caller then
  // sends the init again. Returns the drop reason when it does not belong to us.
  tl::expected<void, DropReason> onCookie(std::span<const uint8_t> packet);

  // Handles HS_ACCEPT: checks MAC and nonce, runs X25519, derives the keys and opens the
  // sealed secrets.
  tl::expected<EstablishedSession, DropReason> onAccept(std::span<const uint8_t> packet) const;

  bool hasCookie() const { return cookie_.has_value(); }
  uint8_t linkId() const { return linkId_; }

 private:
  HandshakeInitiator() = default;

  uint32_t keyId_ = 0;
  PskBytes psk_{};
  uint8_t linkId_ = 0;
  uint16_t requestedLatencyMs_ = 0;
  SessionId rekeyOf_;
  AeadBackend backend_ = AeadBackend::kOpenSsl;
  HandshakeNonce nonce_{};
  X25519KeyPair ephemeral_{};
  std::optional<Cookie> cookie_;
};

}  // namespace braid::proto
