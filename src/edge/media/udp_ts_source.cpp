#include "edge/media/udp_ts_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace braid::edge {

namespace {

constexpr size_t kRtpHeaderSize = 12;

bool isIpv4Multicast(const dp::SocketAddress& address) {
  if (address.family() != AF_INET) return false;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
  return IN_MULTICAST(ntohl(v4->sin_addr.s_addr));
}

}  // namespace

Result<std::unique_ptr<UdpTsSource>> UdpTsSource::open(const dp::SocketAddress& local,
                                                       const UdpTsOptions& options) {
  dp::UdpSocketOptions socketOptions;
  socketOptions.receiveBufferBytes = options.receiveBufferBytes;
  auto socket = dp::UdpSocket::bind(local, socketOptions);
  if (!socket) {
    return fail(socket.error().code,
                "UDP input " + dp::toString(local) + ": " + socket.error().context);
  }
  if (isIpv4Multicast(local)) {
    ip_mreq request{};
    request.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&local.storage)->sin_addr;
    request.imr_interface.s_addr = htonl(INADDR_ANY);
    if (::setsockopt(socket->fd(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request)) != 0) {
      return fail(ErrorCode::kIo,
                  "UDP input " + dp::toString(local) + ": join multicast: " + std::strerror(errno));
    }
  }
  auto bound = socket->localAddress();
  if (!bound) return tl::unexpected(bound.error());
  return std::unique_ptr<UdpTsSource>(new UdpTsSource(std::move(*socket), *bound, options));
}

UdpTsSource::UdpTsSource(dp::UdpSocket socket, const dp::SocketAddress& local,
                         const UdpTsOptions& options)
    : socket_(std::move(socket)),
      local_(local),
      options_(options),
      rx_(std::make_unique<dp::RxBatch>()) {
  if (!options_.clock) options_.clock = steadyClock();
  epochUs_ = options_.clock->nowUs();
  rx_->count = 0;
}

size_t UdpTsSource::payloadOffset(std::span<const uint8_t> d) {
  if (d.size() % kTsPacketSize == 0 && !d.empty() && d[0] == kTsSyncByte) return 0;
  // RTP (RFC 2250 / SMPTE 2022): version 2, then CSRCs and an optional extension.
  if (d.size() > kRtpHeaderSize && (d[0] & 0xc0) == 0x80) {
    size_t offset = kRtpHeaderSize + 4 * size_t{d[0] & 0x0fu};
    if ((d[0] & 0x10) && offset + 4 <= d.size()) {
      offset += 4 + 4 * ((size_t{d[offset + 2]} << 8) | d[offset + 3]);
    }
    if (offset < d.size() && (d.size() - offset) % kTsPacketSize == 0 && d[offset] == kTsSyncByte) {
      return offset;
    }
  }
  counters_.badDatagrams.add();
  return 0;
}

Result<size_t> UdpTsSource::read(TsBatch& batch) {
  batch.count = 0;
  while (!batch.full()) {
    if (rxIndex_ >= rx_->count) {
      int n = socket_.receiveBatch(*rx_);
      if (n < 0) {
        rx_->count = 0;
        return fail(ErrorCode::kIo,
                    "UDP input " + dp::toString(local_) + ": receive: " + std::strerror(-n));
      }
      if (n == 0) break;
      counters_.datagrams.add(static_cast<uint64_t>(n));
      rxIndex_ = 0;
      rxOffset_ = payloadOffset(rx_->datagram(0));
      rxTimeUs_ = options_.clock->nowUs() - epochUs_;
    }
    auto d = rx_->datagram(rxIndex_);
    while (!batch.full() && rxOffset_ + kTsPacketSize <= d.size()) {
      if (d[rxOffset_] == kTsSyncByte) {
        batch.append(d.data() + rxOffset_, rxTimeUs_);
      } else {
        counters_.skippedBytes.add(kTsPacketSize);
      }
      rxOffset_ += kTsPacketSize;
    }
    if (rxOffset_ + kTsPacketSize > d.size()) {
      counters_.skippedBytes.add(d.size() - rxOffset_);
      if (++rxIndex_ < rx_->count) rxOffset_ = payloadOffset(rx_->datagram(rxIndex_));
    }
  }
  counters_.packets.add(batch.count);
  counters_.bytes.add(batch.count * kTsPacketSize);
  return batch.count;
}

void UdpTsSource::wait(uint64_t timeoutUs) {
  if (rxIndex_ < rx_->count) return;  // packets still pending
  pollfd p{socket_.fd(), POLLIN, 0};
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeoutUs / 1'000'000);
  ts.tv_nsec = static_cast<long>((timeoutUs % 1'000'000) * 1000);
  (void)::ppoll(&p, 1, &ts, nullptr);
}

}  // namespace braid::edge
