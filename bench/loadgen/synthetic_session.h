#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/fec/fec_encoder.h"
#include "dataplane/io/socket_address.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/handshake/sealed_channel.h"
#include "dataplane/proto/result.h"
#include "dataplane/proto/wire/packet.h"

namespace braid::bench {

struct SyntheticSessionOptions {
  dp::SocketAddress gateway;
  dp::SocketAddress bind;  // local address of every link (port 0: one ephemeral port each)
  uint32_t keyId = 0;
  proto::PskBytes psk{};
  size_t links = 1;
  uint16_t latencyMs = 500;
  proto::AeadBackend backend = proto::AeadBackend::kOpenSsl;
};

// The first bytes of every synthetic payload, then a pattern of its sequence: a receiver's
// output can be checked for order, completeness and content (verifyStream) and compared
// byte for byte between runs.
inline constexpr size_t kPayloadHeaderSize = 16;  // "BRLG", key ID (BE), media sequence (BE)

// Writes the payload of media sequence `seq` of key `keyId` into `out` (all of it).
void fillPayload(uint32_t keyId, uint64_t seq, std::span<uint8_t> out) noexcept;

// What a stream of synthetic payloads of one size holds.
struct StreamCheck {
  uint64_t packets = 0;
  uint64_t firstSeq = 0;
  uint64_t lastSeq = 0;
  uint64_t gaps = 0;       // sequences missing between first and last
  uint64_t reordered = 0;  // a sequence below the one before it
  uint64_t corrupt = 0;    // payloads whose header or pattern is wrong (or a short tail)
};
// Checks `bytes`, the concatenated payloads of `payloadBytes` each of one key.
StreamCheck verifyStream(std::span<const uint8_t> bytes, size_t payloadBytes, uint32_t keyId);

// One synthetic edge session: a real handshake with the gateway's PSK, then DATA sealed with
// AES-256-GCM exactly as braid-edge seals it, over `links` UDP sockets (one source port
// each). It sends what it is told to and never answers feedback. One owner thread.
class SyntheticSession {
 public:
  static Result<std::unique_ptr<SyntheticSession>> open(const SyntheticSessionOptions& options);

  // Runs the handshake on link 0 (blocking, retried); the session is live after it.
  Result<void> handshake(uint64_t timeoutNs);

  // Writes the DATA body of media sequence `seq` into `out`: a null-run list of none and
  // `payloadBytes` of synthetic payload (a whole number of TS packets for the gateway to
  // accept). The FEC encoder takes the same bytes. Returns its size (0: does not fit).
  size_t writeBody(uint64_t seq, size_t payloadBytes, std::span<uint8_t> out) const noexcept;
  // Seals DATA for media sequence `seq` on `link`, timestamped `atUs` (µs of the session's
  // media clock, also the send timestamp), into `out`. Returns its size (0: failed).
  size_t sealData(uint64_t seq, uint8_t link, uint64_t atUs, size_t payloadBytes,
                  std::span<uint8_t> out, uint8_t flags = 0) noexcept;
  // Seals repair symbol `index` of `block` as a REPAIR on `link`, as braid-edge does.
  size_t sealRepair(const dp::FecRepairBlock& block, uint32_t index, uint8_t link, uint64_t atUs,
                    std::span<uint8_t> out) noexcept;
  // Seals a CLOSE on `link`.
  size_t sealClose(uint8_t link, uint64_t atUs, std::span<uint8_t> out) noexcept;
  // Sends one datagram from `link`'s socket; false if the kernel refused it.
  bool send(uint8_t link, std::span<const uint8_t> datagram) noexcept;
  // Reads what the gateway has sent to `link` so far (non-blocking) and opens it: the types of
  // the packets that authenticate, in arrival order; `unopened` counts the others.
  std::vector<proto::PacketType> receive(uint8_t link, size_t* unopened = nullptr);

  proto::SessionId sessionId() const { return sessionId_; }
  uint32_t keyId() const { return options_.keyId; }
  size_t links() const { return sockets_.size(); }
  // The local address and port of `link`'s socket.
  Result<dp::SocketAddress> localAddress(uint8_t link) const {
    return sockets_[link].localAddress();
  }
  uint16_t latencyMs() const { return latencyMs_; }

 private:
  explicit SyntheticSession(const SyntheticSessionOptions& options) : options_(options) {}

  SyntheticSessionOptions options_;
  std::vector<dp::UdpSocket> sockets_;
  std::unique_ptr<proto::SealedChannel> channel_;
  proto::SessionId sessionId_;
  uint16_t latencyMs_ = 0;
};

}  // namespace braid::bench
