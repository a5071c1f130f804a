#include "raw_udp_sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace braid::bench {
namespace {

constexpr size_t kMaxBatch = 64;

void putBe16(uint8_t* out, uint16_t value) {
  out[0] = static_cast<uint8_t>(value >> 8);
  out[1] = static_cast<uint8_t>(value);
}

}  // namespace

Result<RawUdpSender> RawUdpSender::open(const dp::SocketAddress& destination) {
  if (destination.family() != AF_INET) {
    return fail(ErrorCode::kInvalidArgument,
                "raw sending: the gateway address must be IPv4, not " + dp::toString(destination));
  }
  // IPPROTO_RAW: the datagrams carry their own IPv4 header (IP_HDRINCL is implied).
  int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    return fail(ErrorCode::kIo, std::string("raw socket: ") + std::strerror(errno) +
                                    (errno == EPERM ? " (needs CAP_NET_RAW, i.e. root)" : ""));
  }
  int bytes = 8 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes));
  sockaddr_in to = *reinterpret_cast<const sockaddr_in*>(destination.data());
  to.sin_port = 0;  // a raw socket has no ports
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
    int error = errno;
    ::close(fd);
    return fail(ErrorCode::kIo, "raw socket: connect to " + dp::toString(destination) + ": " +
                                    std::strerror(error));
  }
  return RawUdpSender(fd, destination);
}

RawUdpSender::RawUdpSender(RawUdpSender&& other) noexcept
    : fd_(other.fd_), destination_(other.destination_) {
  other.fd_ = -1;
}

RawUdpSender::~RawUdpSender() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawUdpSender::writeHeaders(const dp::SocketAddress& source, size_t payloadBytes,
                                std::span<uint8_t, kHeaderBytes> out) const noexcept {
  if (source.family() != AF_INET || payloadBytes > 65535 - kHeaderBytes) return false;
  const auto* from = reinterpret_cast<const sockaddr_in*>(source.data());
  const auto* to = reinterpret_cast<const sockaddr_in*>(destination_.data());
  uint8_t* ip = out.data();
  std::memset(ip, 0, kHeaderBytes);
  ip[0] = 0x45;  // IPv4, 20-byte header
  putBe16(ip + 2, static_cast<uint16_t>(kHeaderBytes + payloadBytes));
  // Identification and header checksum left 0: the kernel fills both in for IP_HDRINCL.
  putBe16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;               // TTL
  ip[9] = IPPROTO_UDP;
  std::memcpy(ip + 12, &from->sin_addr, 4);
  std::memcpy(ip + 16, &to->sin_addr, 4);
  uint8_t* udp = ip + 20;
  std::memcpy(udp, &from->sin_port, 2);
  std::memcpy(udp + 2, &to->sin_port, 2);
  putBe16(udp + 4, static_cast<uint16_t>(8 + payloadBytes));
  // UDP checksum 0: none, which IPv4 allows (RFC 768); the receiver does not check it.
  return true;
}

size_t RawUdpSender::send(std::span<const std::span<const uint8_t>> frames) noexcept {
  std::array<iovec, kMaxBatch> iov;
  std::array<mmsghdr, kMaxBatch> headers;
  size_t sent = 0;
  while (sent < frames.size()) {
    size_t n = std::min(kMaxBatch, frames.size() - sent);
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {const_cast<uint8_t*>(frames[sent + i].data()), frames[sent + i].size()};
      headers[i].msg_hdr = msghdr{};
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    int r = ::sendmmsg(fd_, headers.data(), static_cast<unsigned>(n), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) break;
    sent += static_cast<size_t>(r);
  }
  return sent;
}

}  // namespace braid::bench
