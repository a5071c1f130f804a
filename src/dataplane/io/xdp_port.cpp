#include "dataplane/io/xdp_port.h"

#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dataplane/io/xdp_program.h"
#include "fmt/format.h"

namespace braid::dp {
namespace {

constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;
// Replies start this far into their frame, leaving room for the largest (IPv6) headers.
constexpr uint64_t kTxPayloadOffset = 64;
static_assert(kTxPayloadOffset >= kMaxUdpFrameHeaders);
static_assert(kTxPayloadOffset + kDatagramCapacity <= kFrameSize);

// Aligned-chunk UMEM: the kernel hands back addresses with an offset inside the chunk.
uint64_t frameBase(uint64_t addr) {
  return addr & ~uint64_t{kFrameSize - 1};
}

bool isPowerOfTwo(uint32_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

Result<MacAddress> interfaceMac(const std::string& interface) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorCode::kIo, std::string("socket: ") + std::strerror(errno));
  ifreq request{};
  std::strncpy(request.ifr_name, interface.c_str(), IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFHWADDR, &request);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return fail(ErrorCode::kIo, "SIOCGIFHWADDR " + interface + ": " + std::strerror(err));
  }
  MacAddress mac;
  std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

}  // namespace

XdpPort::~XdpPort() {
  closeSocket();
  if (area_ != nullptr) ::munmap(area_, areaSize_);
}

void XdpPort::closeSocket() {
  // The socket first: it holds a reference on the UMEM. Closing it also removes it from
  // the XSKMAP.
  if (xsk_ != nullptr) xsk_socket__delete(xsk_);
  if (umem_ != nullptr) xsk_umem__delete(umem_);
  xsk_ = nullptr;
  umem_ = nullptr;
}

Result<std::unique_ptr<XdpPort>> XdpPort::create(const XdpProgram& program,
                                                 const XdpPortOptions& options) {
  if (!isPowerOfTwo(options.ringSize) || options.frameCount < 2 * kBurstSize ||
      options.frameCount / 2 > options.ringSize) {
    // The fill ring must hold every RX frame, so that handing frames back never fails.
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("AF_XDP: ring size {} must be a power of two >= half the {} frames",
                            options.ringSize, options.frameCount));
  }
  unsigned ifindex = if_nametoindex(options.interface.c_str());
  if (ifindex == 0 || static_cast<int>(ifindex) != program.ifindex()) {
    return fail(ErrorCode::kInvalidArgument,
                "AF_XDP: interface '" + options.interface + "' is not where the XDP program is");
  }
  auto port = std::unique_ptr<XdpPort>(new XdpPort(options));
  if (auto r = port->setUp(program); !r) return tl::unexpected(r.error());
  return port;
}

Result<void> XdpPort::setUp(const XdpProgram& program) {
  auto mac = interfaceMac(options_.interface);
  if (!mac) return tl::unexpected(mac.error());
  localMac_ = *mac;
  areaSize_ = size_t{options_.frameCount} * kFrameSize;
  // Plain pages: AF_XDP needs no hugepages, and populating now keeps page faults off the
  // data path.
  void* area = ::mmap(nullptr, areaSize_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (area == MAP_FAILED) {
    return fail(ErrorCode::kIo,
                fmt::format("AF_XDP: mmap of {} bytes: {}", areaSize_, std::strerror(errno)));
  }
  area_ = static_cast<uint8_t*>(area);

  if (options_.bind == XdpBindMode::kCopy) {
    if (auto r = createSocket(program, false); !r) return r;
  } else {
    auto zc = createSocket(program, true);
    if (!zc && options_.bind == XdpBindMode::kZeroCopy) return zc;
    // No zero-copy in this driver (veth, most virtual NICs): copy mode.
    if (!zc) {
      if (auto r = createSocket(program, false); !r) return r;
    }
  }
  xdp_options socketOptions{};
  socklen_t length = sizeof(socketOptions);
  if (::getsockopt(fd(), SOL_XDP, XDP_OPTIONS, &socketOptions, &length) == 0) {
    zeroCopy_ = (socketOptions.flags & XDP_OPTIONS_ZEROCOPY) != 0;
  }

  // The first half of the frames receive: all of them start on the fill ring.
  uint32_t rxFrames = options_.frameCount / 2;
  uint32_t index = 0;
  if (xsk_ring_prod__reserve(&fill_, rxFrames, &index) != rxFrames) {
    return fail(ErrorCode::kInternal, "AF_XDP: fill ring smaller than the RX frames");
  }
  for (uint32_t i = 0; i < rxFrames; ++i) {
    *xsk_ring_prod__fill_addr(&fill_, index + i) = uint64_t{i} * kFrameSize;
  }
  xsk_ring_prod__submit(&fill_, rxFrames);
  // The second half sends.
  txFree_.resize(options_.frameCount - rxFrames);
  txFreeCount_ = 0;
  for (uint32_t i = rxFrames; i < options_.frameCount; ++i) {
    txFree_[txFreeCount_++] = uint64_t{i} * kFrameSize;
  }
  return ok();
}

Result<void> XdpPort::createSocket(const XdpProgram& program, bool zeroCopy) {
  xsk_umem_config umemConfig{.fill_size = options_.ringSize,
                             .comp_size = options_.ringSize,
                             .frame_size = kFrameSize,
                             .frame_headroom = 0,
                             .flags = 0};
  int err = xsk_umem__create(&umem_, area_, areaSize_, &fill_, &completion_, &umemConfig);
  if (err != 0) {
    umem_ = nullptr;
    return fail(ErrorCode::kIo, std::string("AF_XDP: UMEM: ") + std::strerror(-err));
  }
  xsk_socket_config socketConfig{};
  socketConfig.rx_size = options_.ringSize;
  socketConfig.tx_size = options_.ringSize;
  // The program is ours (XdpProgram): libxdp must not load its default one.
  socketConfig.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  socketConfig.bind_flags =
      static_cast<uint16_t>(XDP_USE_NEED_WAKEUP | (zeroCopy ? XDP_ZEROCOPY : XDP_COPY));
  err = xsk_socket__create(&xsk_, options_.interface.c_str(), options_.queue, umem_, &rx_, &tx_,
                           &socketConfig);
  if (err != 0) {
    xsk_ = nullptr;
    closeSocket();
    return fail(ErrorCode::kIo,
                fmt::format("AF_XDP: socket on {} queue {} ({}): {}", options_.interface,
                            options_.queue, zeroCopy ? "zero-copy" : "copy", std::strerror(-err)));
  }
  err = xsk_socket__update_xskmap(xsk_, program.xskMapFd());
  if (err != 0) {
    closeSocket();
    return fail(ErrorCode::kIo, std::string("AF_XDP: XSKMAP update: ") + std::strerror(-err));
  }
  return ok();
}

int XdpPort::fd() const {
  return xsk_socket__fd(xsk_);
}

size_t XdpPort::receive(XdpRxBurst& burst) noexcept {
  // A burst still holding frames would lose them from the fill cycle for good.
  if (burst.taken_ > 0) release(burst);
  burst.count = 0;
  burst.taken_ = 0;
  uint32_t index = 0;
  uint32_t n = xsk_ring_cons__peek(&rx_, kBurstSize, &index);
  if (n == 0) {
    // The driver stopped polling for want of fill entries; one syscall restarts it.
    if (xsk_ring_prod__needs_wakeup(&fill_)) {
      counters_.rxWakeups.add();
      ::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    return 0;
  }
  uint64_t bytes = 0;
  std::optional<MacAddress> lastHop;
  for (uint32_t i = 0; i < n; ++i) {
    if (i + 2 < n) {
      __builtin_prefetch(area_ + xsk_ring_cons__rx_desc(&rx_, index + i + 2)->addr);
    }
    const xdp_desc* desc = xsk_ring_cons__rx_desc(&rx_, index + i);
    burst.frames_[i] = desc->addr;
    UdpFrameView view;
    if (!parseUdpFrame({area_ + desc->addr, desc->len}, view)) {
      counters_.rxBadFrames.add();
      continue;
    }
    neighbours_.learn(view.source, view.sourceMac);
    if (options_.lastHop != nullptr) lastHop = view.sourceMac;
    size_t k = burst.count++;
    burst.payloads[k] = view.payload;
    burst.sources[k] = view.source;
    burst.destinations[k] = view.destination;
    bytes += view.payload.size();
  }
  if (lastHop) {
    // Written only when it changes: every port of the interface reads it.
    uint64_t packed = packMac(*lastHop);
    if (packed != lastHopSeen_) {
      options_.lastHop->store(packed, std::memory_order_relaxed);
      lastHopSeen_ = packed;
    }
  }
  // The descriptors are copied: their ring slots go back now, the frames at release().
  xsk_ring_cons__release(&rx_, n);
  burst.taken_ = n;
  counters_.rxPackets.add(burst.count);
  counters_.rxBytes.add(bytes);
  return burst.count;
}

void XdpPort::release(XdpRxBurst& burst) noexcept {
  uint32_t n = static_cast<uint32_t>(burst.taken_);
  if (n == 0) return;
  uint32_t index = 0;
  // Cannot come up short: the fill ring holds every RX frame (checked in create()), and
  // these frames are out of it.
  if (xsk_ring_prod__reserve(&fill_, n, &index) != n) return;
  for (uint32_t i = 0; i < n; ++i) {
    *xsk_ring_prod__fill_addr(&fill_, index + i) = frameBase(burst.frames_[i]);
  }
  xsk_ring_prod__submit(&fill_, n);
  burst.taken_ = 0;
  burst.count = 0;
}

void XdpPort::reapCompletions() noexcept {
  uint32_t index = 0;
  uint32_t n = xsk_ring_cons__peek(&completion_, options_.ringSize, &index);
  for (uint32_t i = 0; i < n; ++i) {
    txFree_[txFreeCount_++] = frameBase(*xsk_ring_cons__comp_addr(&completion_, index + i));
  }
  if (n > 0) xsk_ring_cons__release(&completion_, n);
  txInFlight_ -= n;
}

std::span<uint8_t> XdpPort::txNext() noexcept {
  if (txCurrent_ == kNoFrame) {
    if (txFreeCount_ == 0) reapCompletions();
    if (txFreeCount_ == 0) {
      counters_.txNoFrame.add();
      return {};
    }
    txCurrent_ = txFree_[--txFreeCount_];
  }
  return {area_ + txCurrent_ + kTxPayloadOffset, kDatagramCapacity};
}

void XdpPort::txCommit(size_t size, const SocketAddress& to, const SocketAddress& from) noexcept {
  if (txCurrent_ == kNoFrame || size > kDatagramCapacity) return;
  size_t headerSize = udpFrameHeaderSize(from, to);
  std::optional<MacAddress> mac = neighbours_.find(to);
  if (!mac && options_.lastHop != nullptr) {
    uint64_t packed = options_.lastHop->load(std::memory_order_relaxed);
    if (packed != 0) {
      mac = unpackMac(packed);
      counters_.txViaLastHop.add();
    }
  }
  if (headerSize == 0 || !mac) {
    // The frame stays current: the next txNext() hands it out again.
    counters_.txNoNeighbour.add();
    return;
  }
  uint8_t* payload = area_ + txCurrent_ + kTxPayloadOffset;
  if (!writeUdpFrameHeaders({payload - headerSize, headerSize}, localMac_, *mac, from, to,
                            {payload, size})) {
    counters_.txNoNeighbour.add();
    return;
  }
  txQueued_[txQueuedCount_++] = xdp_desc{.addr = txCurrent_ + kTxPayloadOffset - headerSize,
                                         .len = static_cast<uint32_t>(headerSize + size),
                                         .options = 0};
  txQueuedBytes_ += size;
  txCurrent_ = kNoFrame;
  if (txQueuedCount_ == kBurstSize) txFlush();
}

size_t XdpPort::txFlush() noexcept {
  reapCompletions();
  size_t n = txQueuedCount_;
  if (n > 0) {
    uint32_t index = 0;
    if (xsk_ring_prod__reserve(&tx_, static_cast<uint32_t>(n), &index) != n) {
      // The kernel is behind by a whole ring: drop this burst (feedback is periodic and
      // handshake answers are retried), keep the frames.
      for (size_t i = 0; i < n; ++i) txFree_[txFreeCount_++] = frameBase(txQueued_[i].addr);
      counters_.txRingFull.add(n);
      n = 0;
    } else {
      for (size_t i = 0; i < n; ++i) *xsk_ring_prod__tx_desc(&tx_, index + i) = txQueued_[i];
      xsk_ring_prod__submit(&tx_, static_cast<uint32_t>(n));
      txInFlight_ += n;
      counters_.txPackets.add(n);
      counters_.txBytes.add(txQueuedBytes_);
    }
    txQueuedCount_ = 0;
    txQueuedBytes_ = 0;
  }
  // Kick also when nothing is new: copy mode sends at most a batch per kick, so frames
  // left on the ring by the last one go out now.
  if (txInFlight_ > 0 && xsk_ring_prod__needs_wakeup(&tx_)) {
    counters_.txWakeups.add();
    ::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
  }
  return n;
}

bool XdpPort::waitReadable(int timeoutMs) const noexcept {
  pollfd p{fd(), POLLIN, 0};
  return ::poll(&p, 1, timeoutMs) > 0 && (p.revents & POLLIN);
}

}  // namespace braid::dp
