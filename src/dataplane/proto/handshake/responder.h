#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <variant>
#include <vector>

#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/handshake/gateway_secrets.h"
#include "dataplane/proto/handshake/session_keys.h"
#include "dataplane/proto/handshake/token_bucket.h"
#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/drop_reason.h"
#include "dataplane/proto/wire/handshake_messages.h"

namespace braid::proto {

struct ResponderKey {
  uint32_t id = 0;
  PskBytes key{};
};

struct ResponderConfig {
  uint16_t minLatencyMs = 50;
  uint16_t maxLatencyMs = 10000;
  uint16_t keepaliveMs = 1000;
  uint16_t feedbackMs = 50;
  uint32_t idleTimeoutMs = 10000;
  // Authenticated handshakes per second (each costs an X25519); spoofed inits never get
  // this far, they are answered by a stateless cookie.
  double handshakesPerSecond = 200;
  double handshakeBurst = 400;
  size_t replayCacheCapacity = 65536;
  AeadBackend backend = AeadBackend::kOpenSsl;
};

// A source address as the cookie binds it.
struct HandshakeSource {
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;
};

// An init that passed cookie, MAC, replay and rate checks; the caller runs admission
// (and, for a rekey, checks that the session exists under this key) before accept().
struct ValidatedInit {
  HandshakeInit init;
  PskBytes psk{};
};

struct CookieReply {
  size_t size = 0;
};

struct AcceptedSession {
  SessionKeys keys;
  uint16_t latencyMs = 0;
  ResetToken resetToken{};
  size_t replySize = 0;
};

using InitOutcome = std::variant<DropReason, CookieReply, ValidatedInit>;

// The gateway's side of the handshake (docs/protocol.md §4.6). It keeps state only for
// authenticated inits (a bounded replay cache); everything else is answered statelessly.
// One owner thread (the gateway's handshake path).
class HandshakeResponder {
 public:
  static Result<HandshakeResponder> create(std::span<const uint8_t, 32> gatewaySecret,
                                           std::vector<ResponderKey> keys,
                                           const ResponderConfig& config);

  // Replaces the key table (config reload). Sessions keep their derived keys.
  void setKeys(std::vector<ResponderKey> keys);

  // Checks an HS_INIT. A cookie reply, if any, is written into `reply`.
  InitOutcome handleInit(std::span<const uint8_t> packet, const HandshakeSource& source,
                         uint64_t unixSeconds, uint64_t nowNs, std::span<uint8_t> reply);

  // Builds HS_ACCEPT for an admitted init under `session` and derives the session keys.
  Result<AcceptedSession> accept(const ValidatedInit& validated, SessionId session,
                                 std::span<uint8_t> reply);

  // Writes a stateless reset for `session`, smaller than the packet that triggered it;
  // returns 0 when rate-limited or when the trigger is too small to answer.
  size_t writeStatelessReset(SessionId session, uint8_t linkId, size_t receivedSize, uint64_t nowNs,
                             std::span<uint8_t> out);

  // Forgets replay entries whose cookies can no longer be valid. Call about once a second.
  void pruneReplayCache(uint64_t nowNs);

  const GatewaySecrets& secrets() const { return secrets_; }
  size_t replayCacheSize() const { return replayCache_.size(); }
  const ResponderConfig& config() const { return config_; }

 private:
  struct ReplayKey {
    uint32_t keyId;
    HandshakeNonce nonce;
    bool operator==(const ReplayKey&) const = default;
  };
  struct ReplayKeyHash {
    size_t operator()(const ReplayKey& k) const noexcept;
  };

  HandshakeResponder(const GatewaySecrets& secrets, const ResponderConfig& config)
      : secrets_(secrets),
        config_(config),
        handshakeLimiter_(config.handshakesPerSecond, config.handshakeBurst),
        resetLimiter_(100, 200) {}
  const ResponderKey* findKey(uint32_t id) const;

  GatewaySecrets secrets_;
  ResponderConfig config_;
  std::vector<ResponderKey> keys_;
  std::unordered_map<ReplayKey, uint64_t, ReplayKeyHash> replayCache_;
  TokenBucket handshakeLimiter_;
  TokenBucket resetLimiter_;
};

}  // namespace braid::proto
