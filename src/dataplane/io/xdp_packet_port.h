#pragma once

#include <memory>

#include "dataplane/io/packet_port.h"
#include "dataplane/io/xdp_port.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

class XdpProgram;

struct XdpPacketPortOptions {
  XdpPortOptions xdp;
  // The gateway's listen address. Its port is the one the XDP program steers; a specific IP
  // is the source of every reply, a wildcard one (0.0.0.0, ::) means "the address the peer
  // sent to" (the destination of the last datagram of that family received here, before
  // any: the interface's first address of the family).
  SocketAddress listen;
};

// The AF_XDP backend of a gateway worker: a PacketPort over one XdpPort (one AF_XDP socket
// on the worker's rx queue, worker i <-> queue i). receive() hands out views into the
// UMEM frames (decrypted in place) until release() returns them to the fill ring;
// transmit() copies each queued datagram into a TX frame behind the Ethernet/IP/UDP headers
// XdpPort writes, and submits the batch with one kick when need_wakeup asks for it.
// Counters: rxCalls/txCalls are kernel wakeups (recvfrom/sendto kicks). Owner worker thread
// only (create: any thread).
class XdpPacketPort final : public PacketPort {
 public:
  // Creates the worker's socket on `options.xdp.interface`/`queue` and registers it in
  // `program`'s XSKMAP (borrowed for the call). Returns the port or why it could not be made.
  static Result<std::unique_ptr<XdpPacketPort>> create(const XdpProgram& program,
                                                       const XdpPacketPortOptions& options);

  size_t receive(RxBurst& burst) noexcept override;
  void release(RxBurst& burst) noexcept override;
  size_t transmit(TxBatch& batch) noexcept override;
  int wakeFd() const noexcept override { return port_->fd(); }
  // Kicks the kernel for replies still on the TX ring: copy mode sends a limited batch per
  // kick, and a sleeping worker would otherwise leave them there until its next burst.
  void prepareSleep() noexcept override { port_->txFlush(); }
  SocketAddress localAddress() const noexcept override { return listen_; }

  // The AF_XDP socket's own counters (bad frames, TX frame shortages, ...). Any thread.
  const XdpPortCounters& xdpCounters() const noexcept { return port_->counters(); }
  bool zeroCopy() const noexcept { return port_->zeroCopy(); }

 private:
  XdpPacketPort(std::unique_ptr<XdpPort> port, const SocketAddress& listen)
      : port_(std::move(port)), listen_(listen), rx_(std::make_unique<XdpRxBurst>()) {}
  Result<void> findReplySources(const std::string& interface);
  // Counts the kernel wakeups XdpPort made since the last call into rxCalls/txCalls.
  void countWakeups() noexcept;

  std::unique_ptr<XdpPort> port_;
  SocketAddress listen_;
  bool learnReplySource_ = false;  // listen_ has a wildcard IP
  SocketAddress replyFrom4_;       // source of replies to IPv4 peers (unset: none possible)
  SocketAddress replyFrom6_;
  std::unique_ptr<XdpRxBurst> rx_;
  uint64_t rxWakeupsSeen_ = 0;
  uint64_t txWakeupsSeen_ = 0;
};

}  // namespace braid::dp
