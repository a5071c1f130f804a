#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/gateway/gateway_session.h"
#include "dataplane/gateway/session_registry.h"
#include "dataplane/gateway/transmitter.h"
#include "dataplane/gateway/worker_counters.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/output/output_thread.h"
#include "dataplane/proto/handshake/responder.h"
#include "dataplane/proto/handshake/token_bucket.h"
#include "dataplane/ring/spsc_ring.h"

namespace braid::dp {

// Where sessions are played out. "{key}" in the URL is replaced by the edge key ID; without
// it, only one edge key may use the output at a time.
struct OutputTarget {
  std::string url;
  std::optional<uint32_t> keyId;  // only sessions of this key; unset: every session
};

struct WorkerOptions {
  SocketAddress listen;
  uint16_t gatewayId = 1;
  uint8_t workerIndex = 0;
  std::vector<OutputTarget> outputs;
  // 4096 packets of up to 1472 B: ~2 s of a 20 Mbit/s stream, 6 MiB per session.
  size_t jitterCapacity = 4096;
  // ~2 s of output at 10 Mbit/s between the worker and a slow output.
  size_t outputQueueChunks = 2048;
  proto::ChannelOptions channel;
  // Where sessions are published for metrics and the API; may be null.
  SessionRegistry* registry = nullptr;
};

// One gateway worker: owns its socket, its sessions (worker-local table), their outputs
// and the handshake responder. run() is the per-packet loop; everything else is for the
// control thread before run() starts or after it returns.
class Worker {
 public:
  static Result<std::unique_ptr<Worker>> create(const WorkerOptions& options,
                                                proto::HandshakeResponder&& responder);
  ~Worker();

  // The receive/playout loop. Returns when `stop` becomes true. Worker thread.
  void run(const std::atomic<bool>& stop) noexcept;

  // After run(): plays out what every session holds, tells the edges, stops the outputs.
  void shutdown();

  // Runs `task` on the worker thread at its next pass (control → worker; keys and outputs
  // after a reload). False if the mailbox is full. Control thread only.
  bool post(std::function<void(Worker&)> task);
  // Worker thread (through post): new keys for new handshakes.
  void setKeys(std::vector<proto::ResponderKey> keys) { responder_.setKeys(std::move(keys)); }
  // Worker thread (through post): outputs for new sessions; live ones keep theirs.
  void setOutputs(std::vector<OutputTarget> outputs);

  const WorkerCounters& counters() const { return counters_; }
  SocketAddress localAddress() const { return local_; }

 private:
  Worker(const WorkerOptions& options, proto::HandshakeResponder&& responder, UdpSocket&& socket,
         const SocketAddress& local);
  void handleDatagram(std::span<uint8_t> datagram, const SocketAddress& from,
                      uint64_t nowNs) noexcept;
  void handleInit(std::span<uint8_t> datagram, const SocketAddress& from, uint64_t nowNs);
  void admit(const proto::ValidatedInit& validated, const SocketAddress& from, uint64_t nowNs);
  void serviceTimers(uint64_t nowNs) noexcept;
  uint64_t nextDeadlineNs(uint64_t nowNs) const noexcept;
  // The outputs a new session of `keyId` plays to; empty (and logged) if none can be had.
  std::vector<std::shared_ptr<OutputThread>> outputsFor(uint32_t keyId);
  // Removes a session from the table and the registry (its series disappear).
  void endSession(std::unordered_map<uint64_t, std::unique_ptr<GatewaySession>>::iterator& it);
  bool logBudget() noexcept;

  WorkerOptions options_;
  proto::HandshakeResponder responder_;
  UdpSocket socket_;
  SocketAddress local_;
  Transmitter tx_;
  WorkerCounters counters_;
  uint64_t nextHousekeepingNs_ = 0;
  proto::TokenBucket logLimiter_{20, 100};
  std::unordered_map<uint64_t, std::unique_ptr<GatewaySession>> sessions_;
  struct CachedOutput {
    std::string url;     // the target's URL before {key} substitution
    uint32_t keyId = 0;  // the key whose sessions use it
    std::shared_ptr<OutputThread> thread;
  };
  std::unordered_map<std::string, CachedOutput> outputs_;  // by resolved URL
  SpscRing<std::function<void(Worker&)>> mailbox_{16};
  RxBatch rx_;
};

}  // namespace braid::dp
