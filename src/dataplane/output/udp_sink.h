#pragma once

#include <sys/socket.h>

#include <array>
#include <memory>

#include "dataplane/io/socket_address.h"
#include "dataplane/output/media_chunk.h"
#include "dataplane/output/output_sink.h"
#include "dataplane/output/unique_fd.h"

namespace braid::dp {

// Sends a TS stream to HOST:PORT the way every TS-over-UDP tool does: seven whole
// 188-byte packets (1316 B) per datagram. A remainder waits for the next write, or for
// flush(), which sends it as a short datagram. The socket blocks: the output thread
// owns it, and a full send buffer should slow that thread down, not drop data.
class UdpSink final : public OutputSink {
 public:
  static constexpr size_t kPacketsPerDatagram = 7;
  static constexpr size_t kDatagramBytes = kPacketsPerDatagram * kTsPacketBytes;

  // Opens an unconnected UDP socket for `destination` (unconnected: ICMP port-unreachable
  // from an absent receiver must not turn into send errors). Any thread.
  [[nodiscard]] static Result<std::unique_ptr<UdpSink>> create(const SocketAddress& destination);

  [[nodiscard]] Result<void> write(std::span<const uint8_t> bytes) override;
  [[nodiscard]] Result<void> flush() override;

  const SocketAddress& destination() const { return destination_; }
  // Datagrams handed to the kernel so far. Owner thread.
  uint64_t datagramsSent() const { return datagramsSent_; }

 private:
  static constexpr size_t kBatch = 32;

  UdpSink(UniqueFd fd, const SocketAddress& destination);
  // Sends datagrams [0, count) with sendmmsg; sizes are full except possibly the last.
  Result<void> sendQueued(size_t count, size_t lastSize);

  UniqueFd fd_;
  SocketAddress destination_;
  std::array<std::array<uint8_t, kDatagramBytes>, kBatch> datagrams_;
  size_t queued_ = 0;  // complete datagrams in datagrams_[0, queued_)
  size_t fill_ = 0;    // bytes in datagrams_[queued_], the one being filled
  uint64_t datagramsSent_ = 0;
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovecs_{};
};

}  // namespace braid::dp
