#include "dataplane/io/udp_socket.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace braid::dp {

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Result<UdpSocket> UdpSocket::bind(const SocketAddress& local, const UdpSocketOptions& options) {
  int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno));
  UdpSocket socket(fd);
  int one = 1;
  if (options.reusePort && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail(ErrorCode::kIo, std::string("SO_REUSEPORT: ") + std::strerror(errno));
  }
  // Buffer sizes are best effort: the kernel caps SO_RCVBUF at net.core.rmem_max (often
  // 208 KiB, a few ms of a flood); with CAP_NET_ADMIN the FORCE variants lift the cap.
  if (options.receiveBufferBytes > 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options.receiveBufferBytes, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receiveBufferBytes, sizeof(int));
  }
  if (options.sendBufferBytes > 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &options.sendBufferBytes, sizeof(int)) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options.sendBufferBytes, sizeof(int));
  }
  if (!options.bindDevice.empty()) {
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, options.bindDevice.c_str(),
                     static_cast<socklen_t>(options.bindDevice.size())) != 0) {
      return fail(ErrorCode::kIo,
                  "SO_BINDTODEVICE " + options.bindDevice + ": " + std::strerror(errno));
    }
  }
  if (::bind(fd, local.data(), local.length) != 0) {
    return fail(ErrorCode::kIo, "bind " + toString(local) + ": " + std::strerror(errno));
  }
  return socket;
}

Result<SocketAddress> UdpSocket::localAddress() const {
  SocketAddress address;
  address.length = sizeof(address.storage);
  if (::getsockname(fd_, address.data(), &address.length) != 0) {
    return fail(ErrorCode::kIo, std::string("getsockname: ") + std::strerror(errno));
  }
  return address;
}

int UdpSocket::receiveBatch(RxBatch& batch) noexcept {
  for (size_t i = 0; i < kBurstSize; ++i) {
    iovecs_[i] = {batch.buffers[i].data(), kDatagramCapacity};
    msghdr& msg = headers_[i].msg_hdr;
    msg = {};
    msg.msg_name = &batch.sources[i].storage;
    msg.msg_namelen = sizeof(sockaddr_storage);
    msg.msg_iov = &iovecs_[i];
    msg.msg_iovlen = 1;
  }
  int n = ::recvmmsg(fd_, headers_.data(), kBurstSize, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    batch.count = 0;
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
  }
  for (int i = 0; i < n; ++i) {
    // MSG_TRUNC in msg_flags: the datagram was larger than our buffer; report its
    // true size so the parser rejects it rather than reading a cut packet.
    bool truncated = (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    batch.sizes[i] = truncated ? 0 : headers_[i].msg_len;
    batch.sources[i].length = headers_[i].msg_hdr.msg_namelen;
  }
  batch.count = static_cast<size_t>(n);
  return n;
}

int UdpSocket::sendBatch(TxBatch& batch) noexcept {
  size_t sent = 0;
  int result = 0;
  while (sent < batch.count) {
    size_t n = batch.count - sent;
    for (size_t i = 0; i < n; ++i) {
      size_t k = sent + i;
      iovecs_[i] = {batch.buffers[k].data(), batch.sizes[k]};
      msghdr& msg = headers_[i].msg_hdr;
      msg = {};
      msg.msg_name = batch.destinations[k].data();
      msg.msg_namelen = batch.destinations[k].length;
      msg.msg_iov = &iovecs_[i];
      msg.msg_iovlen = 1;
    }
    int r = ::sendmmsg(fd_, headers_.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      // A full socket buffer or an unreachable peer: drop the rest of this burst; the
      // protocol above recovers (retransmission, next feedback interval).
      result = -errno;
      break;
    }
    if (r == 0) break;
    sent += static_cast<size_t>(r);
  }
  batch.count = 0;
  return result < 0 && sent == 0 ? result : static_cast<int>(sent);
}

bool UdpSocket::sendTo(std::span<const uint8_t> datagram, const SocketAddress& to) noexcept {
  for (;;) {
    ssize_t r = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT, to.data(), to.length);
    if (r >= 0) return true;
    if (errno != EINTR) return false;
  }
}

bool UdpSocket::waitReadable(int timeoutMs) const noexcept {
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, timeoutMs) > 0 && (p.revents & POLLIN);
}

}  // namespace braid::dp
