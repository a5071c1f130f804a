#pragma once

#include <cstdint>
#include <span>

#include "dataplane/io/socket_address.h"
#include "dataplane/proto/result.h"

namespace braid::bench {

// Sends pre-built IPv4/UDP datagrams, from whichever local address and port each one names,
// through one raw socket, many per sendmmsg. A session's links are UDP sockets of their own, so
// sending through them costs one sendto per datagram (~180 kpps on one core here, below what
// the AF_XDP gateway takes); one raw socket sends the same datagrams, same sources, in
// batches. The gateway's replies still reach the sessions' sockets. Needs CAP_NET_RAW; IPv4.
class RawUdpSender {
 public:
  static constexpr size_t kHeaderBytes = 20 + 8;  // IPv4 without options, UDP

  // A raw socket towards `destination` (an IPv4 address).
  static Result<RawUdpSender> open(const dp::SocketAddress& destination);
  RawUdpSender(RawUdpSender&& other) noexcept;
  RawUdpSender& operator=(RawUdpSender&&) = delete;
  ~RawUdpSender();

  // Writes the IPv4 and UDP headers of a datagram of `payloadBytes` from `source` to the
  // destination into `out`; false if `source` is not IPv4 or the datagram too large.
  bool writeHeaders(const dp::SocketAddress& source, size_t payloadBytes,
                    std::span<uint8_t, kHeaderBytes> out) const noexcept;

  // Sends each frame (headers included) as one datagram, blocking while the socket's buffer
  // is full. Returns how many were sent: fewer only on an error other than EINTR.
  size_t send(std::span<const std::span<const uint8_t>> frames) noexcept;

 private:
  RawUdpSender(int fd, const dp::SocketAddress& destination) : fd_(fd), destination_(destination) {}
  int fd_ = -1;
  dp::SocketAddress destination_;
};

}  // namespace braid::bench
