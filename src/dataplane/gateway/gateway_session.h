#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "dataplane/fec/fec_decoder.h"
#include "dataplane/gateway/recovery_trace.h"
#include "dataplane/gateway/session_stats.h"
#include "dataplane/gateway/transmitter.h"
#include "dataplane/gateway/worker_counters.h"
#include "dataplane/io/socket_address.h"
#include "dataplane/output/media_chunk.h"
#include "dataplane/output/output_pool.h"
#include "dataplane/proto/handshake/sealed_channel.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/reliability/jitter_buffer.h"
#include "dataplane/reliability/nack_scheduler.h"

namespace braid::dp {

struct GatewaySessionParams {
  proto::SessionId id;
  uint32_t keyId = 0;
  uint16_t latencyMs = 500;
  uint16_t feedbackMs = 50;
  uint16_t keepaliveMs = 1000;
  uint32_t idleTimeoutMs = 10000;
  size_t jitterCapacity = 8192;
  uint64_t initTimestampNs = 0;  // the edge's clock in the HS_INIT that opened the session
  RecoveryTrace* recoveryTrace = nullptr;  // records what ARQ and FEC recovered; may be null
};

// One bonded session on its owner worker: links, the sealed channel, the jitter buffer
// and the feedback timers. Everything here runs on the owner thread only.
class GatewaySession {
 public:
  // The size of the arena of a session whose jitter buffer holds `jitterCapacity`: its jitter
  // buffer's payloads and index and its NACK table.
  static size_t arenaBytes(size_t jitterCapacity) noexcept;
  // `arena`: arenaBytes(jitterCapacity), mapped and populated beforehand (ArenaPool), so that
  // opening a session maps nothing on the worker (docs/gateway.md §3); without one (or of
  // another size) the session maps its own here.
  static Result<std::unique_ptr<GatewaySession>> create(
      const GatewaySessionParams& params, proto::SealedChannel&& channel,
      std::vector<std::shared_ptr<Output>> outputs, WorkerCounters& counters, uint64_t nowNs,
      PayloadArena arena = {});
  // The session's arena, for the next session to reuse; the session is not used again after
  // this, only destroyed. Owner thread.
  PayloadArena releaseArena() noexcept { return std::move(arena_); }

  // A sealed packet for this session: authenticate, then handle. Returns why it was
  // dropped, or nothing when it was used.
  std::optional<proto::DropReason> onSealed(std::span<uint8_t> packet, const SocketAddress& from,
                                            uint64_t nowNs, Transmitter& tx) noexcept;

  // The handler of authenticated inner messages (also what the fuzzer drives, since it
  // cannot forge a GCM tag).
  std::optional<proto::DropReason> onAuthenticated(const proto::SealedHeader& header,
                                                   const proto::MediaFields& media,
                                                   std::span<const uint8_t> plaintext,
                                                   const SocketAddress& from, size_t wireSize,
                                                   uint64_t nowNs, Transmitter& tx) noexcept;

  // Playout, feedback and keepalive work that is due at `nowNs`.
  void onTimer(uint64_t nowNs, Transmitter& tx) noexcept;
  // When onTimer next has work.
  uint64_t nextDeadlineNs() const noexcept;

  // True when the session should be removed: closed by the edge and drained, or idle.
  bool finished(uint64_t nowNs) const noexcept;
  // Emits everything still held, in order, ignoring playout times (shutdown, close).
  void drainToOutput() noexcept;
  // Tells the edge the session ends (gateway shutdown, replaced by a newer session).
  void sendClose(proto::CloseReason closeReason, uint64_t nowNs, Transmitter& tx) noexcept;

  proto::SealedChannel& channel() { return channel_; }
  proto::SessionId id() const { return params_.id; }
  uint32_t keyId() const { return params_.keyId; }
  uint64_t initTimestampNs() const { return params_.initTimestampNs; }
  size_t activeLinks(uint64_t nowNs) const noexcept;
  const JitterBuffer& jitterBuffer() const { return *jitter_; }
  // The session's counters, for the registry (read by the metrics scraper).
  std::shared_ptr<const SessionStats> stats() const { return stats_; }

 private:
  struct Link {
    bool known = false;
    SocketAddress address;
    uint64_t lastRxNs = 0;
    // Anti-amplification: bytes exchanged with the current address (docs/protocol.md §6).
    uint64_t bytesFromAddress = 0;
    uint64_t bytesToAddress = 0;
    // Receive report of the current feedback interval.
    uint64_t highestSeq = 0;
    uint64_t intervalStartSeq = 0;
    uint64_t intervalPackets = 0;
    uint64_t intervalBytes = 0;
    uint32_t lastSendTsUs = 0;
    uint64_t lastSendTsArrivalNs = 0;
    uint32_t lastTransitUs = 0;  // arrival − send timestamp of the last packet, wrapping
    uint64_t jitterUs = 0;       // RFC 3550 interarrival jitter
    // Smoothed (arrival − send timestamp) in µs, wrapping: only differences between links
    // mean anything (the two clocks are unrelated), and they are the links' delay spread.
    uint32_t transitUs = 0;
    bool haveTransit = false;
    // Minimum of (arrival − send timestamp) in two 5 s buckets (wrapping µs, compared by
    // signed difference): a packet's transit above it is the queue it met on this link.
    uint32_t currentMinTransitUs = 0;
    uint32_t previousMinTransitUs = 0;
    bool havePreviousMin = false;
    uint64_t minBucketStartNs = 0;
    uint64_t queueDelayUs = 0;
    uint64_t intervalMaxQueueDelayUs = 0;
    // The packet train being measured, and the last one measured.
    uint64_t trainId = 0;
    uint64_t trainFirstNs = 0;
    uint64_t trainLastNs = 0;
    uint64_t trainBytesAfterFirst = 0;
    uint64_t measuredTrainId = 0;
    uint64_t measuredTrainKbps = 0;
    std::array<char, 33> name{};
  };

  GatewaySession(const GatewaySessionParams& params, proto::SealedChannel&& channel,
                 std::vector<std::shared_ptr<Output>> outputs, WorkerCounters& counters,
                 uint64_t nowNs);
  void noteArrival(Link& link, const proto::SealedHeader& header, const SocketAddress& from,
                   size_t wireSize, uint64_t nowNs) noexcept;
  // Updates the link's queue delay from one packet's transit (arrival − send timestamp).
  static void noteQueueDelay(Link& link, uint32_t transitUs, uint64_t nowNs) noexcept;
  static void noteProbe(Link& link, const proto::Probe& probe, size_t wireSize,
                        uint64_t nowNs) noexcept;
  void sendFeedback(uint64_t nowNs, Transmitter& tx) noexcept;
  void sendNacks(uint64_t nowNs, Transmitter& tx) noexcept;
  // How long a hole may be reordering before it is loss: the delay spread of the live links
  // plus their jitter, within [10 ms, latency / 5].
  uint64_t reorderToleranceNs(uint64_t nowNs) const noexcept;
  // Up to two links to send feedback on: the two heard from most recently (a dying link
  // takes the feedback with it). Returns how many.
  size_t feedbackLinks(uint64_t nowNs, std::array<uint8_t, 2>& out) const noexcept;
  void sendSealed(uint8_t linkId, proto::PacketType type, std::span<const uint8_t> body,
                  uint64_t nowNs, Transmitter& tx) noexcept;
  void playout(uint64_t nowNs) noexcept;
  // Plays one DATA body: its TS packets, with the null packets the edge deleted put back.
  void emit(std::span<const uint8_t> body) noexcept;
  void submitToOutputs(std::span<const uint8_t> bytes) noexcept;
  void noteJitterState() noexcept;
  // Rebuilds what FEC can of the block of a REPAIR (`repair` set) or of DATA `seq`, into the
  // jitter buffer.
  void recoverByFec(const proto::RepairHeader* repair, uint64_t repairTsUs,
                    std::span<const uint8_t> symbol, uint64_t seq, uint64_t nowNs) noexcept;

  GatewaySessionParams params_;
  proto::SealedChannel channel_;
  // Shared with the worker's output cache, which keeps one a config reload removed until its
  // last session ends (Worker::setOutputs).
  std::vector<std::shared_ptr<Output>> outputs_;
  WorkerCounters& counters_;
  // Holds the jitter buffer's and the NACK table's storage: declared before them, so it
  // outlives them.
  PayloadArena arena_;
  std::unique_ptr<JitterBuffer> jitter_;
  std::unique_ptr<NackScheduler> nacks_;
  std::unique_ptr<FecBlockDecoder> fec_;
  uint64_t nextNackNs_ = 0;
  std::shared_ptr<SessionStats> stats_;
  std::array<Link, proto::kMaxLinks> links_{};
  uint64_t lastAuthenticatedNs_;
  uint64_t nextFeedbackNs_;
  uint64_t lastDataNs_ = 0;
  // A packet train was measured and not yet reported: feedback goes out even before media
  // flows, or the edge would warm its links without the capacity the train showed.
  bool trainUnreported_ = false;
  uint64_t skippedSeen_ = 0;
  bool closing_ = false;
  uint64_t closingSinceNs_ = 0;
  std::array<uint8_t, kMediaChunkCapacity> restoreScratch_;
};

}  // namespace braid::dp
