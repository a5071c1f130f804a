#pragma once

// The real-time side of braid-linkem: per link one socket facing the edge and one facing the
// gateway, each direction through its DirectionModel, every packet sent at its scheduled time.
// One thread runs every link (see docs/linkem.md for why and how).

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/io/socket_address.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/result.h"
#include "linkem/link_model.h"
#include "linkem/record_writer.h"

namespace braid::linkem {

struct RelayLinkConfig {
  std::string name;
  dp::SocketAddress listen;
  std::string device;        // SO_BINDTODEVICE of the listen socket; empty: none
  dp::SocketAddress source;  // local address towards the gateway; unspecified: any, port 0
  dp::SocketAddress gateway;
  DirectionModelConfig up;
  DirectionModelConfig down;
  std::vector<ModelEvent> upEvents;
  std::vector<ModelEvent> downEvents;
  std::vector<uint64_t> rebindAtNs;  // NAT rebinding times
};

struct RelayConfig {
  std::vector<RelayLinkConfig> links;
  uint64_t seed = 1;
  size_t poolPackets = 32768;
  std::string recordPath;   // empty: no record
  uint64_t durationNs = 0;  // 0: until stopped
};

struct DirectionCounters {
  uint64_t received = 0;
  uint64_t receivedBytes = 0;
  uint64_t sent = 0;
  uint64_t sentBytes = 0;
  std::array<uint64_t, kDropKinds> drops{};
  uint64_t maxLateNs = 0;  // largest sent − scheduled so far

  uint64_t dropped() const {
    uint64_t n = 0;
    for (uint64_t d : drops) n += d;
    return n;
  }
};

struct LinkStatus {
  std::string name;
  dp::SocketAddress listen;          // bound listen address
  dp::SocketAddress towardsGateway;  // current local address of the gateway-facing socket
  DirectionCounters up, down;
  uint32_t upQueued = 0, downQueued = 0;
  uint64_t rebinds = 0;
};

class Relay {
 public:
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Opens every socket, the pool and the record. Returns the relay, or the first error (a
  // socket that cannot bind, a record file that cannot be created).
  [[nodiscard]] static Result<std::unique_ptr<Relay>> create(RelayConfig config);

  // Runs until `stopFd` is readable, the duration has passed, or an I/O error. Calls `onTick`
  // every `tickNs` (0: never) with the time since start. Virtual t = 0 is the start of run().
  // Returns ok, or the error that stopped it. Caller's thread.
  [[nodiscard]] Result<void> run(int stopFd, uint64_t tickNs,
                                 const std::function<void(uint64_t)>& onTick);

  size_t linkCount() const;
  // Counters and current queues of one link. Caller's thread, between or inside ticks.
  LinkStatus status(size_t link, uint64_t nowNs);
  // The monotonic ns of virtual t = 0 (valid once run() started).
  uint64_t epochNs() const { return epochNs_; }
  // Record rows dropped because the disk fell behind (the packets were not affected).
  uint64_t recordRowsDropped() const { return record_ ? record_->rowsDropped() : 0; }

 private:
  struct Link;
  struct Direction;
  explicit Relay(RelayConfig config);
  Result<void> openSockets();
  void receiveFrom(size_t link, bool fromEdge);
  void sendDue(Direction& d, Link& link, uint64_t nowNs);
  Result<void> rebind(Link& link, uint64_t nowNs);
  uint64_t nextWakeNs(uint64_t nowNs) const;
  void dropUnsent();

  RelayConfig config_;
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<uint8_t> pool_;
  std::vector<uint32_t> freeSlots_;
  std::unique_ptr<RecordWriter> record_;  // null: no record
  void record(const RecordRow& row) noexcept {
    if (record_) record_->write(row);
  }
  int epoll_ = -1;
  uint64_t epochNs_ = 0;
};

}  // namespace braid::linkem
