#pragma once

#include <memory>

#include "dataplane/io/udp_socket.h"
#include "edge/media/clock.h"
#include "edge/media/ts_source.h"

namespace braid::edge {

struct UdpTsOptions {
  int receiveBufferBytes = 8 << 20;       // best effort (capped by net.core.rmem_max)
  std::shared_ptr<MonotonicClock> clock;  // null: steadyClock()
};

// Receives a TS stream sent to a local UDP port (an encoder's udp:// output), in batches
// of up to 32 datagrams per recvmmsg. Media time is the arrival time (one clock read per
// batch) since the source was opened. Datagrams may carry any number of whole packets and
// an optional RTP header; anything else is counted and its packets recovered where the
// sync bytes line up. An IPv4 multicast address is joined on the default interface.
class UdpTsSource final : public TsSource {
 public:
  // Binds `local` (a multicast group: bound and joined). Any thread. Errors: kIo.
  [[nodiscard]] static Result<std::unique_ptr<UdpTsSource>> open(const dp::SocketAddress& local,
                                                                 const UdpTsOptions& options = {});

  [[nodiscard]] Result<size_t> read(TsBatch& batch) override;
  // Waits until a datagram is readable or the timeout passes. Owner thread.
  void wait(uint64_t timeoutUs) override;
  bool finished() const override { return false; }
  uint64_t mediaNowUs() const override { return options_.clock->nowUs() - epochUs_; }

  // The bound address (with the kernel's port when 0 was asked for). Any thread.
  const dp::SocketAddress& localAddress() const { return local_; }

 private:
  UdpTsSource(dp::UdpSocket socket, const dp::SocketAddress& local, const UdpTsOptions& options);
  // Offset of the first TS byte in datagram `d` (after an RTP header), and counts a
  // datagram that is not whole packets.
  size_t payloadOffset(std::span<const uint8_t> d);

  dp::UdpSocket socket_;
  dp::SocketAddress local_;
  UdpTsOptions options_;
  uint64_t epochUs_ = 0;
  // Datagrams received but not yet fully delivered (a batch of TS packets can be smaller
  // than 32 datagrams' worth).
  std::unique_ptr<dp::RxBatch> rx_;
  size_t rxIndex_ = 0;
  size_t rxOffset_ = 0;
  uint64_t rxTimeUs_ = 0;
};

}  // namespace braid::edge
