#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dataplane/counter.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/handshake/initiator.h"
#include "dataplane/proto/handshake/sealed_channel.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/reliability/retransmit_buffer.h"
#include "dataplane/ring/spsc_ring.h"
#include "edge/media_chunk.h"

namespace braid::edge {

struct EdgeSessionOptions {
  dp::SocketAddress gateway;
  dp::SocketAddress bindAddress;  // local address of the link (port 0: any)
  std::string bindDevice;         // SO_BINDTODEVICE, empty: none
  uint8_t linkId = 0;
  std::string linkName = "link0";
  uint32_t keyId = 0;
  proto::PskBytes psk{};
  uint16_t latencyMs = 500;
  size_t wirePacketSize = proto::kDefaultWirePacketSize;
  proto::ChannelOptions channel;
  uint64_t epochNs = 0;  // media timestamps count from here
};

enum class EdgeState : uint8_t { kHandshaking, kEstablished, kDraining, kClosed };
const char* edgeStateName(EdgeState state);

// Counters of the sender thread, read by the stats printer.
struct EdgeCounters {
  dp::OwnedCounter udpBytesSent;  // every UDP payload byte: headers, tags, control included
  dp::OwnedCounter packetsSent;
  dp::OwnedCounter mediaBytesSent;
  dp::OwnedCounter dataPackets;
  dp::OwnedCounter controlPackets;
  dp::OwnedCounter handshakePackets;
  dp::OwnedCounter handshakes;
  dp::OwnedCounter rekeys;
  dp::OwnedCounter resetsReceived;
  dp::OwnedCounter staleDiscarded;
  dp::OwnedCounter rxDrops;
  dp::OwnedCounter ackedSeq;
  dp::OwnedCounter nextSeq;
  dp::OwnedCounter srttUs;
  dp::OwnedCounter sendErrors;
  dp::OwnedCounter nacksReceived;
  dp::OwnedCounter retransmits;         // DATA copies resent for a NACK (also in udpBytesSent)
  dp::OwnedCounter retransmitBytes;     // their UDP payload bytes
  dp::OwnedCounter retransmitsRefused;  // NACKed sequences not resent (late, budget, acked)
  std::atomic<uint64_t> sessionId{0};
  std::atomic<uint8_t> state{0};
};

// The edge's sender: handshakes, seals media from the input ring, keeps the link alive,
// handles feedback, resets and rekeys; one link for now. run() is its own thread.
class EdgeSession {
 public:
  static Result<std::unique_ptr<EdgeSession>> create(const EdgeSessionOptions& options,
                                                     dp::SpscRing<MediaChunk>& input);

  // Runs until `stop`, or until the input is done and everything sent was acknowledged
  // (or could no longer be). Sender thread.
  void run(const std::atomic<bool>& stop, const std::atomic<bool>& inputDone);

  const EdgeCounters& counters() const { return counters_; }
  bool everEstablished() const { return everEstablished_.load(std::memory_order_acquire); }

 private:
  EdgeSession(const EdgeSessionOptions& options, dp::SpscRing<MediaChunk>& input,
              dp::UdpSocket&& socket);
  void startHandshake(uint64_t nowNs, bool rekey);
  void sendInit(uint64_t nowNs);
  void onDatagram(std::span<uint8_t> datagram, uint64_t nowNs);
  void onAccept(const proto::EstablishedSession& established, uint64_t nowNs);
  void onSealed(std::span<uint8_t> datagram, uint64_t nowNs);
  void sendMedia(uint64_t nowNs);
  void onNack(const proto::Nack& nack, uint64_t nowNs);
  void flushBatch(uint64_t nowNs);
  void sendControl(proto::PacketType type, std::span<const uint8_t> body, uint64_t nowNs);
  void sendDatagram(std::span<const uint8_t> datagram);
  void lose(const char* why, uint64_t nowNs);
  void setState(EdgeState state);

  EdgeSessionOptions options_;
  dp::SpscRing<MediaChunk>& input_;
  dp::UdpSocket socket_;
  EdgeCounters counters_;
  std::atomic<bool> everEstablished_{false};
  EdgeState state_ = EdgeState::kHandshaking;

  std::optional<proto::HandshakeInitiator> initiator_;
  bool initiatorIsRekey_ = false;
  uint64_t handshakeStartedNs_ = 0;
  uint64_t nextInitNs_ = 0;
  uint64_t handshakeBackoffNs_ = 0;

  std::optional<proto::SealedChannel> channel_;
  proto::SessionId sessionId_;
  proto::ResetToken resetToken_{};
  uint16_t latencyMs_ = 0;
  uint64_t keepaliveNs_ = 1'000'000'000;
  uint64_t peerTimeoutNs_ = 3'000'000'000;
  uint64_t lastSentNs_ = 0;
  uint64_t lastHeardNs_ = 0;
  uint64_t nextMediaSeq_ = 0;
  uint64_t firstSeqOfSession_ = 0;
  uint64_t ackedSeq_ = 0;
  uint64_t drainStartedNs_ = 0;
  double srttUs_ = 0;
  double minRttUs_ = 0;
  std::unique_ptr<dp::RetransmitBuffer> retransmit_;
  dp::RxBatch rx_;
  dp::TxBatch txBatch_;
};

}  // namespace braid::edge
