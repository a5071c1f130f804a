#include "dataplane/io/kernel_udp_port.h"

namespace braid::dp {

Result<std::unique_ptr<KernelUdpPort>> KernelUdpPort::create(const KernelUdpPortOptions& options) {
  UdpSocketOptions socketOptions;
  socketOptions.reusePort = options.reusePort;
  socketOptions.receiveBufferBytes = options.receiveBufferBytes;
  socketOptions.sendBufferBytes = options.sendBufferBytes;
  auto socket = UdpSocket::bind(options.listen, socketOptions);
  if (!socket) return tl::unexpected(socket.error());
  auto local = socket->localAddress();
  if (!local) return tl::unexpected(local.error());
  return std::unique_ptr<KernelUdpPort>(new KernelUdpPort(std::move(*socket), *local));
}

size_t KernelUdpPort::receive(RxBurst& burst) noexcept {
  counters_.rxCalls.add();
  int n = socket_.receiveBatch(*rx_);
  if (n <= 0) {
    burst.count = 0;
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    burst.packets[i] = rx_->datagram(static_cast<size_t>(i));
    burst.sources[i] = rx_->sources[i];
  }
  burst.count = static_cast<size_t>(n);
  counters_.rxPackets.add(burst.count);
  return burst.count;
}

size_t KernelUdpPort::transmit(TxBatch& batch) noexcept {
  size_t queued = batch.count;
  if (queued == 0) return 0;
  counters_.txCalls.add();
  int sent = socket_.sendBatch(batch);
  size_t taken = sent > 0 ? static_cast<size_t>(sent) : 0;
  counters_.txPackets.add(taken);
  if (taken < queued) counters_.txErrors.add(queued - taken);
  return taken;
}

}  // namespace braid::dp
