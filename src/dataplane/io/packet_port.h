#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/io/socket_address.h"
#include "dataplane/io/udp_socket.h"

namespace braid::dp {

// Counters of one port, written by its owner worker only and read by the control thread.
// They are what proves the receive path batched: rxCalls / rxPackets.
struct alignas(64) PortCounters {
  OwnedCounter rxCalls;    // receive syscalls (recvmmsg; AF_XDP: wakeups of the kernel)
  OwnedCounter rxPackets;  // datagrams handed to the worker
  OwnedCounter txCalls;    // transmit syscalls (sendmmsg; AF_XDP: TX kicks)
  OwnedCounter txPackets;  // datagrams the backend took
  OwnedCounter txErrors;   // datagrams refused (full buffer, unreachable peer)
};

// One received burst: views into buffers the port owns, valid until the port's next
// release() (kernel UDP: until the next receive()). A worker may modify the bytes in place
// (decryption does).
struct RxBurst {
  std::array<std::span<uint8_t>, kBurstSize> packets;
  std::array<SocketAddress, kBurstSize> sources;
  size_t count = 0;
};

// The receive/transmit interface of a gateway worker, one instance per worker (a socket of
// an SO_REUSEPORT group, an AF_XDP socket on one queue, a DPDK queue pair). The backend is
// chosen once at start; calls are per burst, never per packet, so one virtual call is
// amortized over up to kBurstSize datagrams. Every function: owner worker thread only,
// noexcept, no allocation (docs/gateway.md §2).
class PacketPort {
 public:
  virtual ~PacketPort() = default;

  // Receives up to kBurstSize datagrams without blocking into `burst` (UDP payloads with
  // their source address). Returns how many; 0 when none are waiting or on error.
  virtual size_t receive(RxBurst& burst) noexcept = 0;
  // Returns the buffers of `burst` to the backend once the worker is done with them
  // (AF_XDP: onto the fill ring). The views are invalid afterwards.
  virtual void release(RxBurst& burst) noexcept = 0;
  // Sends every datagram queued in `batch` (UDP payload and destination; the port adds
  // the headers it needs) and clears it. Returns how many the backend took; the rest are
  // counted in txErrors and dropped (the protocol above recovers).
  virtual size_t transmit(TxBatch& batch) noexcept = 0;

  // A file descriptor that polls readable when receive() has work, for idle back-off
  // (kernel UDP: the socket; AF_XDP: the XSK fd). Never -1.
  virtual int wakeFd() const noexcept = 0;
  // Called before the worker sleeps on wakeFd(): a backend that must be told to raise
  // wakeups (AF_XDP need_wakeup on the fill ring) does it here.
  virtual void prepareSleep() noexcept {}

  // The local address datagrams are sent from (also what the edges send to).
  virtual SocketAddress localAddress() const noexcept = 0;

  const PortCounters& counters() const noexcept { return counters_; }

 protected:
  PortCounters counters_;
};

}  // namespace braid::dp
