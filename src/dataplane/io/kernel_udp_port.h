#pragma once

#include <memory>

#include "dataplane/io/packet_port.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

struct KernelUdpPortOptions {
  SocketAddress listen;
  // One socket per worker on the same address: the kernel spreads flows across them by
  // 4-tuple hash. Needed for more than one worker.
  bool reusePort = true;
  // Room for ~250 ms of a 60 kpps flood of 1200-byte packets while the worker is
  // descheduled on a busy machine; kernel memory used only while it fills.
  int receiveBufferBytes = 64 << 20;
  int sendBufferBytes = 4 << 20;
};

// The kernel UDP backend: one non-blocking socket, recvmmsg/sendmmsg in bursts of
// kBurstSize into buffers allocated once. Owner worker thread only (create: any thread).
class KernelUdpPort final : public PacketPort {
 public:
  static Result<std::unique_ptr<KernelUdpPort>> create(const KernelUdpPortOptions& options);

  size_t receive(RxBurst& burst) noexcept override;
  void release(RxBurst& burst) noexcept override { burst.count = 0; }
  size_t transmit(TxBatch& batch) noexcept override;
  int wakeFd() const noexcept override { return socket_.fd(); }
  SocketAddress localAddress() const noexcept override { return local_; }

 private:
  KernelUdpPort(UdpSocket&& socket, const SocketAddress& local)
      : socket_(std::move(socket)), local_(local), rx_(std::make_unique<RxBatch>()) {}

  UdpSocket socket_;
  SocketAddress local_;
  // 64 KiB of receive buffers: on the heap, once, so the port object stays small.
  std::unique_ptr<RxBatch> rx_;
};

}  // namespace braid::dp
