#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataplane/gateway/arena_pool.h"
#include "dataplane/gateway/gateway_session.h"
#include "dataplane/gateway/output_claims.h"
#include "dataplane/gateway/recovery_trace.h"
#include "dataplane/gateway/session_registry.h"
#include "dataplane/gateway/timer_wheel.h"
#include "dataplane/gateway/transmitter.h"
#include "dataplane/gateway/worker_counters.h"
#include "dataplane/io/packet_port.h"
#include "dataplane/io/stall_watch.h"
#include "dataplane/output/output_pool.h"
#include "dataplane/proto/handshake/responder.h"
#include "dataplane/proto/handshake/token_bucket.h"
#include "dataplane/ring/spsc_ring.h"

namespace braid::dp {

// The owner byte of a session ID is 8 bits; 64 workers is far more than one host needs and
// keeps the worker-pair rings (N × (N − 1)) small.
inline constexpr size_t kMaxWorkers = 64;

// Where sessions are played out. "{key}" in the URL is replaced by the edge key ID; without
// it, only one edge key may use the output at a time.
struct OutputTarget {
  std::string url;
  std::optional<uint32_t> keyId;  // only sessions of this key; unset: every session
};

struct WorkerOptions {
  uint16_t gatewayId = 1;
  uint8_t workerIndex = 0;  // this worker's number, the owner byte of its session IDs
  uint8_t workerCount = 1;
  std::vector<OutputTarget> outputs;
  // 4096 packets of up to 1472 B: ~2 s of a 20 Mbit/s stream; 8 MiB per session (slots of
  // kDatagramCapacity).
  size_t jitterCapacity = 4096;
  // ~2 s of output at 10 Mbit/s between the worker and a slow output.
  size_t outputQueueChunks = 2048;
  // The threads that drain the outputs, shared by the gateway's workers; must outlive the
  // worker. Null: the worker starts a pool of one thread of its own.
  OutputPool* outputPool = nullptr;
  // Where new sessions take their jitter buffer's payload arena, mapped and populated off the
  // worker (and where ended sessions give it back); must outlive the worker, and its arenas
  // must be GatewaySession::arenaBytes(jitterCapacity). New sessions wait for it. Null: each
  // session maps its own on the worker (the fuzz targets).
  ArenaPool* arenas = nullptr;
  // An output no session has used for this long is closed (its ring, sink and claim freed), so
  // that a gateway that has seen thousands of edge keys does not keep an output for each. A
  // file reopened later for the same key is appended to, not emptied.
  uint64_t outputLingerNs = 30'000'000'000;
  proto::ChannelOptions channel;
  // Where sessions are published for metrics and the API; may be null.
  SessionRegistry* registry = nullptr;
  // Output URL ownership shared by the workers of one gateway; null: this worker alone.
  OutputClaims* claims = nullptr;
  // HS_INITs this worker lets into the handshake path per second (burst: twice this),
  // before any MAC or cookie work; the rest are dropped and counted. A CPU guard: a cookie
  // costs ~1 µs, so a flood at this rate takes at most ~10 % of the worker's core.
  double handshakeIntakePerSecond = 100'000;
  // Slots of each worker-pair handoff ring (~2.2 KB each): 512 ≈ 5 ms at 100 kpps.
  size_t handoffRingSlots = 512;
  // Where this worker's sessions record what FEC and ARQ recovered; null: nowhere.
  RecoveryTrace* recoveryTrace = nullptr;
};

// A datagram handed from the worker that received it to the worker that owns its session.
struct alignas(64) Handoff {
  SocketAddress from;
  uint32_t size = 0;
  std::array<uint8_t, kDatagramCapacity> bytes;
};

// One gateway worker: owns its port, its sessions (worker-local table, one timer wheel for
// all their deadlines), their outputs and a handshake responder. Datagrams for sessions of
// other workers go to them over per-pair SPSC rings (docs/gateway.md). run() is the
// per-packet loop; everything else is for the control thread before run() starts or after
// it returns.
class Worker {
 public:
  // `port`: this worker's receive/transmit backend, already bound.
  static Result<std::unique_ptr<Worker>> create(const WorkerOptions& options,
                                                proto::HandshakeResponder&& responder,
                                                std::unique_ptr<PacketPort> port);
  ~Worker();

  // Links the workers of one gateway (worker i at index i, workerCount of each = size) with
  // one ring per ordered pair and a doorbell each. Control thread, before any run().
  static Result<void> connect(std::span<const std::unique_ptr<Worker>> workers);

  // The receive/playout loop: pass() after pass(), sleeping between them as traffic allows
  // (docs/gateway.md §5). Returns when `stop` becomes true. Worker thread.
  void run(const std::atomic<bool>& stop) noexcept;

  // What one pass did.
  struct Pass {
    size_t received = 0;   // datagrams from the port
    size_t lastBurst = 0;  // of them in the last receive burst (full: more may wait)
    size_t handedIn = 0;   // datagrams from other workers' rings
    bool handshakesWaiting = false;
    // Handshakes wait only for the arena pool's thread to map an arena: sleep a little
    // rather than spin on a core it may need.
    bool waitingForArena = false;
    uint64_t nowNs = 0;              // the clock read of its last burst (one per burst)
    uint64_t timersStartNs = 0;      // when the timers began (after the media)
    uint64_t handshakesStartNs = 0;  // when the handshake lane began
  };
  // One pass of run() without any sleep: control tasks, receive bursts while they come full
  // (if `receive`; at most 16), handoffs out and in, due timers, the handshake lane, transmit.
  // Worker thread (also what the fuzz target drives, with every worker on the calling thread).
  Pass pass(bool receive) noexcept;

  // After run() of every worker returned: plays out what every session holds, tells the
  // edges, stops the outputs.
  void shutdown();

  // Runs `task` on the worker thread at its next pass (control → worker; keys and outputs
  // after a reload). False if the mailbox is full. Control thread only.
  bool post(std::function<void(Worker&)> task);
  // Worker thread (through post): new keys for new handshakes.
  void setKeys(std::vector<proto::ResponderKey> keys) { responder_.setKeys(std::move(keys)); }
  // Worker thread (through post): outputs for new sessions; live ones keep theirs.
  void setOutputs(std::vector<OutputTarget> outputs);

  const WorkerCounters& counters() const { return counters_; }
  const PortCounters& portCounters() const { return port_->counters(); }
  SocketAddress localAddress() const { return port_->localAddress(); }
  uint8_t index() const { return options_.workerIndex; }

 private:
  // A session with its node in the worker's timer wheel.
  struct SessionEntry {
    std::unique_ptr<GatewaySession> session;
    TimerWheel::Node timer;
  };
  using SessionTable = std::unordered_map<uint64_t, std::unique_ptr<SessionEntry>>;

  Worker(const WorkerOptions& options, std::unique_ptr<OutputPool> ownOutputPool,
         proto::HandshakeResponder&& responder, std::unique_ptr<PacketPort> port, int doorbell);
  // A datagram from this worker's port: handled here, queued for the handshake path, or
  // handed to its owner.
  void dispatch(std::span<uint8_t> datagram, const SocketAddress& from, uint64_t nowNs) noexcept;
  // Copies `datagram` into the ring of `lane` (media or handshakes) to worker `owner`.
  void handOff(size_t owner, size_t lane, std::span<const uint8_t> datagram,
               const SocketAddress& from) noexcept;
  // Publishes the handoffs staged this burst and rings the doorbell of sleeping owners.
  void publishHandoffs() noexcept;
  // Handles up to a burst from each inbound ring; returns how many.
  size_t drainInbound(uint64_t nowNs) noexcept;
  void queueHandshake(std::span<const uint8_t> datagram, const SocketAddress& from) noexcept;
  // True while the lane waits for the arena pool.
  bool serviceHandshakes(uint64_t nowNs);
  // A datagram this worker owns (a session of its own, or one for no known session).
  void handleDatagram(std::span<uint8_t> datagram, const SocketAddress& from,
                      uint64_t nowNs) noexcept;
  void handleInit(std::span<uint8_t> datagram, const SocketAddress& from, uint64_t nowNs);
  void admit(const proto::ValidatedInit& validated, const SocketAddress& from, uint64_t nowNs);
  void onSessionTimer(uint64_t sessionId, uint64_t nowNs) noexcept;
  void serviceTimers(uint64_t nowNs) noexcept;
  enum class Wake : uint8_t { kTimeout, kPort, kDoorbell };
  // Sleeps until a datagram, a handoff or the next timer (at most kMaxIdleWaitNs); says
  // which (kPort when the port has datagrams, whatever else happened).
  Wake idleWait(uint64_t nowNs) noexcept;
  // Sleeps `forNs` (never past the next timer) so that a burst can gather.
  void coalesce(uint64_t nowNs, uint64_t forNs) noexcept;
  // Where a pass's time went: receive and dispatch, due timers, the handshake lane and TX.
  struct PassPhases {
    uint64_t mediaNs = 0;
    uint64_t timersNs = 0;
    uint64_t handshakesNs = 0;
  };
  // Counts and logs a pass or sleep that kept the worker from its port (docs/gateway.md §5).
  void noteStall(const Stall& stall, bool inSleep, uint64_t sessionsOpened,
                 const PassPhases& phases) noexcept;
  // The outputs a new session of `keyId` plays to; empty (and logged) if none can be had.
  std::vector<std::shared_ptr<Output>> outputsFor(uint32_t keyId);
  // Removes a session from the table, the wheel and the registry (its series disappear).
  void endSession(SessionTable::iterator& it);
  // Closes the outputs no session has used for outputLingerNs (housekeeping, once a second).
  void closeIdleOutputs(uint64_t nowNs);
  bool logBudget() noexcept;

  WorkerOptions options_;
  // Set when options_.outputPool was null; declared before the sessions and outputs so that
  // it outlives them.
  std::unique_ptr<OutputPool> ownOutputPool_;
  OutputPool* outputPool_;
  proto::HandshakeResponder responder_;
  std::unique_ptr<PacketPort> port_;
  Transmitter tx_;
  WorkerCounters counters_;
  uint64_t nextHousekeepingNs_ = 0;
  proto::TokenBucket logLimiter_{20, 100};
  StallWatch stallWatch_;
  // Since when the handshake lane has waited for a ready arena (0: it is not waiting).
  uint64_t arenaWaitSinceNs_ = 0;
  bool arenaWaitLogged_ = false;
  // Stalls have their own log budget: a reconnecting fleet spends the shared one on sessions.
  proto::TokenBucket stallLogLimiter_{2, 20};
  proto::TokenBucket intake_;
  SessionTable sessions_;
  TimerWheel wheel_;
  struct CachedOutput {
    std::string url;     // the target's URL before {key} substitution
    uint32_t keyId = 0;  // the key whose sessions use it
    std::shared_ptr<Output> output;
    uint64_t unusedSinceNs = 0;  // when the last session using it ended; 0 while in use
    // False once a reload removed its target: sessions still play to it, none joins it.
    bool configured = true;
  };
  std::unordered_map<std::string, CachedOutput> outputs_;  // by resolved URL
  // Resolved URLs this worker has opened before: a file among them is appended to on reopen.
  std::unordered_set<std::string> openedBefore_;
  SpscRing<std::function<void(Worker&)>> mailbox_{16};
  RxBurst burst_;
  // Rings from each other worker (index = sender × 2 + lane, lane 0 media, 1 handshakes;
  // null for this worker): this worker consumes them. Rings to each other worker (index =
  // owner × 2 + lane): this worker produces.
  std::vector<std::unique_ptr<SpscRing<Handoff>>> inbound_;
  std::vector<SpscRing<Handoff>*> outbound_;
  std::vector<size_t> staged_;  // per owner: slots filled this burst, not yet published
  std::vector<Worker*> peers_;
  // Handshakes wait here (this thread produces and consumes) and are handled after the
  // burst's data, at most kHandshakesPerPass per pass, so a flood of them cannot delay media.
  SpscRing<Handoff> handshakeLane_{256};
  int doorbell_;  // eventfd other workers write when they hand to this sleeping worker
  alignas(64) std::atomic<bool> sleeping_{false};
};

}  // namespace braid::dp
