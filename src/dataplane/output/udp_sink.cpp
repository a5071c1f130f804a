#include "dataplane/output/udp_sink.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace braid::dp {

Result<std::unique_ptr<UdpSink>> UdpSink::create(const SocketAddress& destination) {
  if (destination.isUnspecified() || destination.port() == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "UDP output '" + toString(destination) + "': needs a host and a non-zero port");
  }
  int fd = ::socket(destination.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(ErrorCode::kIo, std::string("UDP output socket: ") + std::strerror(errno));
  }
  return std::unique_ptr<UdpSink>(new UdpSink(UniqueFd(fd), destination));
}

UdpSink::UdpSink(UniqueFd fd, const SocketAddress& destination)
    : fd_(std::move(fd)), destination_(destination) {}

Result<void> UdpSink::write(std::span<const uint8_t> bytes) {
  Result<void> result = ok();
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kDatagramBytes - fill_);
    std::memcpy(datagrams_[queued_].data() + fill_, bytes.data(), n);
    fill_ += n;
    bytes = bytes.subspan(n);
    if (fill_ == kDatagramBytes) {
      fill_ = 0;
      if (++queued_ == kBatch) {
        auto sent = sendQueued(queued_, kDatagramBytes);
        if (!sent && result) result = sent;
        queued_ = 0;
      }
    }
  }
  // Complete datagrams leave now; only the partial one waits for more data.
  if (queued_ > 0) {
    auto sent = sendQueued(queued_, kDatagramBytes);
    if (!sent && result) result = sent;
    if (fill_ > 0) std::memcpy(datagrams_[0].data(), datagrams_[queued_].data(), fill_);
    queued_ = 0;
  }
  return result;
}

Result<void> UdpSink::flush() {
  if (fill_ == 0) return ok();
  size_t size = fill_;
  fill_ = 0;
  return sendQueued(1, size);
}

Result<void> UdpSink::sendQueued(size_t count, size_t lastSize) {
  for (size_t i = 0; i < count; ++i) {
    iovecs_[i] = {datagrams_[i].data(), i + 1 == count ? lastSize : kDatagramBytes};
    msghdr& msg = headers_[i].msg_hdr;
    msg = {};
    msg.msg_name = const_cast<sockaddr*>(destination_.data());
    msg.msg_namelen = destination_.length;
    msg.msg_iov = &iovecs_[i];
    msg.msg_iovlen = 1;
  }
  size_t sent = 0;
  while (sent < count) {
    int n = ::sendmmsg(fd_.get(), headers_.data() + sent, static_cast<unsigned>(count - sent), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      return fail(ErrorCode::kIo, "send to " + toString(destination_) + ": " +
                                      std::strerror(error) + " (" + std::to_string(count - sent) +
                                      " datagrams lost)");
    }
    sent += static_cast<size_t>(n);
    datagramsSent_ += static_cast<uint64_t>(n);
  }
  return ok();
}

}  // namespace braid::dp
