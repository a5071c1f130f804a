#include "dataplane/io/xdp_packet_port.h"

#include <arpa/inet.h>
#include <ifaddrs.h>

#include <cstring>

#include "dataplane/io/xdp_program.h"

namespace braid::dp {
namespace {

bool isWildcard(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
  }
  return true;
}

SocketAddress withPort(const sockaddr* address, uint16_t port) {
  SocketAddress out;
  if (address->sa_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(out.data());
    std::memcpy(in, address, sizeof(sockaddr_in));
    in->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(out.data());
    std::memcpy(in6, address, sizeof(sockaddr_in6));
    in6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<XdpPacketPort>> XdpPacketPort::create(const XdpProgram& program,
                                                             const XdpPacketPortOptions& options) {
  if (options.listen.isUnspecified() || options.listen.port() == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "AF_XDP backend: the listen address needs a fixed port (the XDP program "
                "steers that port)");
  }
  auto port = XdpPort::create(program, options.xdp);
  if (!port) return tl::unexpected(port.error());
  auto self = std::unique_ptr<XdpPacketPort>(new XdpPacketPort(std::move(*port), options.listen));
  if (auto r = self->findReplySources(options.xdp.interface); !r) return tl::unexpected(r.error());
  return self;
}

Result<void> XdpPacketPort::findReplySources(const std::string& interface) {
  learnReplySource_ = isWildcard(listen_);
  if (!learnReplySource_) {
    (listen_.family() == AF_INET ? replyFrom4_ : replyFrom6_) = listen_;
    return ok();
  }
  // Until a datagram says which address the peers use: the interface's first address of
  // each family (link-local IPv6 last, as the kernel would prefer a global one).
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return fail(ErrorCode::kIo, std::string("getifaddrs: ") + std::strerror(errno));
  }
  SocketAddress linkLocal6;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || interface != a->ifa_name) continue;
    int family = a->ifa_addr->sa_family;
    if (family == AF_INET && replyFrom4_.isUnspecified()) {
      replyFrom4_ = withPort(a->ifa_addr, listen_.port());
    } else if (family == AF_INET6 && replyFrom6_.isUnspecified()) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) {
        if (linkLocal6.isUnspecified()) linkLocal6 = withPort(a->ifa_addr, listen_.port());
      } else {
        replyFrom6_ = withPort(a->ifa_addr, listen_.port());
      }
    }
  }
  ::freeifaddrs(list);
  if (replyFrom6_.isUnspecified()) replyFrom6_ = linkLocal6;
  return ok();
}

void XdpPacketPort::countWakeups() noexcept {
  const XdpPortCounters& c = port_->counters();
  uint64_t rx = c.rxWakeups.read();
  uint64_t tx = c.txWakeups.read();
  counters_.rxCalls.add(rx - rxWakeupsSeen_);
  counters_.txCalls.add(tx - txWakeupsSeen_);
  rxWakeupsSeen_ = rx;
  txWakeupsSeen_ = tx;
}

size_t XdpPacketPort::receive(RxBurst& burst) noexcept {
  size_t n = port_->receive(*rx_);
  for (size_t i = 0; i < n; ++i) {
    burst.packets[i] = rx_->payloads[i];
    burst.sources[i] = rx_->sources[i];
  }
  if (learnReplySource_) {
    // The latest destination of each family: a host's peers use one address of each.
    bool seen4 = false;
    bool seen6 = false;
    for (size_t i = n; i-- > 0 && !(seen4 && seen6);) {
      const SocketAddress& to = rx_->destinations[i];
      bool v4 = to.family() == AF_INET;
      bool& seen = v4 ? seen4 : seen6;
      if (seen) continue;
      seen = true;
      SocketAddress& reply = v4 ? replyFrom4_ : replyFrom6_;
      if (!(reply == to)) reply = to;
    }
  }
  burst.count = n;
  counters_.rxPackets.add(n);
  countWakeups();
  return n;
}

void XdpPacketPort::release(RxBurst& burst) noexcept {
  port_->release(*rx_);
  burst.count = 0;
}

size_t XdpPacketPort::transmit(TxBatch& batch) noexcept {
  size_t queued = batch.count;
  if (queued == 0) return 0;
  uint64_t before = port_->counters().txPackets.read();
  for (size_t i = 0; i < queued; ++i) {
    const SocketAddress& to = batch.destinations[i];
    const SocketAddress& from = to.family() == AF_INET ? replyFrom4_ : replyFrom6_;
    if (from.isUnspecified()) continue;  // no address of that family to send from
    std::span<uint8_t> frame = port_->txNext();
    if (frame.empty()) break;  // every TX frame in flight: the rest are counted below
    // One copy per reply: feedback and handshake answers are a small share of the traffic,
    // and the Transmitter's batch stays backend-neutral.
    std::memcpy(frame.data(), batch.buffers[i].data(), batch.sizes[i]);
    port_->txCommit(batch.sizes[i], to, from);
  }
  port_->txFlush();
  batch.count = 0;
  size_t taken = static_cast<size_t>(port_->counters().txPackets.read() - before);
  counters_.txPackets.add(taken);
  if (taken < queued) counters_.txErrors.add(queued - taken);
  countWakeups();
  return taken;
}

}  // namespace braid::dp
