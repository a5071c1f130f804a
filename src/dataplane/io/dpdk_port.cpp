#include "dataplane/io/dpdk_port.h"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>
#include <vector>

#include "dataplane/io/local_reply.h"
#include "fmt/format.h"

namespace braid::dp {
namespace {

// Descriptors per queue, and mbufs per worker in the shared pool: an rx ring full, a tx ring
// in flight, a held burst and the replies being built, with room to spare.
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;
constexpr unsigned kMbufsPerWorker = 4096;
constexpr unsigned kMbufCache = 256;
// How long a worker with nothing to do sleeps between two polls of its queue: DPDK queues
// have no file descriptor to wake a thread (without rx interrupts, which vdevs lack), and a
// busy-polling worker would take a core from the other workers on small machines. The first
// sleep after traffic is short; each empty poll doubles it up to the longest, which keeps an
// idle worker at about 2 % of a core and adds at most ~1.25 ms to the first datagram of a burst
// (the worker also waits 250 µs after a wake, docs/gateway.md §5).
constexpr long kPollIntervalNs = 100'000;
constexpr long kMaxPollIntervalNs = 1'000'000;
// The exception port is polled at most this often (1 ms): what the kernel sends there (TCP
// to an admin service, ARP requests, ICMP errors) waits at most that long, and the per-frame
// read() of a TAP queue stays off the per-packet path.
constexpr uint64_t kExceptionPollsPerSecond = 1000;

std::string notRootHint() {
  return ::geteuid() != 0 ? " (not root: DPDK needs root, or CAP_NET_RAW and CAP_SYS_ADMIN for "
                            "net_af_packet and hugepages)"
                          : "";
}

bool isWildcard(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a.family() == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr);
  }
  return true;
}

// rte_eal_init may run once per process, and keeps pointers into argv: the arguments live
// as long as the process.
std::mutex ealMutex;
bool ealTried = false;
std::vector<std::string>* ealArgStorage = nullptr;

Result<void> initEal(const std::string& ealArgs) {
  std::lock_guard lock(ealMutex);
  if (ealTried) {
    return fail(ErrorCode::kInvalidArgument,
                "the DPDK EAL was already initialised in this process (one device per process)");
  }
  ealTried = true;
  ealArgStorage = new std::vector<std::string>{"braid-gateway"};
  std::istringstream words(ealArgs);
  for (std::string word; words >> word;) ealArgStorage->push_back(word);
  std::vector<char*> argv;
  for (std::string& word : *ealArgStorage) argv.push_back(word.data());
  argv.push_back(nullptr);
  // The EAL pins the calling thread to its main lcore; the gateway's workers are created
  // later from this thread and would all inherit that one CPU. Give the thread its mask back.
  cpu_set_t before;
  bool haveMask = ::sched_getaffinity(0, sizeof(before), &before) == 0;
  int parsed = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  if (parsed < 0) {
    return fail(ErrorCode::kIo, fmt::format("DPDK EAL init with \"{}\" failed: {}{}", ealArgs,
                                            rte_strerror(rte_errno), notRootHint()));
  }
  if (haveMask) ::sched_setaffinity(0, sizeof(before), &before);
  return ok();
}

// Configures `portId` with `queues` rx/tx queue pairs on `pool` and starts it.
Result<void> startPort(uint16_t portId, uint16_t queues, rte_mempool* pool, int socket) {
  rte_eth_conf conf{};
  if (int r = rte_eth_dev_configure(portId, queues, queues, &conf); r != 0) {
    return fail(ErrorCode::kIo, fmt::format("DPDK port {}: configure {} queue pair(s): {}", portId,
                                            queues, rte_strerror(-r)));
  }
  uint16_t rxd = kRxDescriptors;
  uint16_t txd = kTxDescriptors;
  if (int r = rte_eth_dev_adjust_nb_rx_tx_desc(portId, &rxd, &txd); r != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("DPDK port {}: descriptor counts: {}", portId, rte_strerror(-r)));
  }
  for (uint16_t i = 0; i < queues; ++i) {
    if (int r =
            rte_eth_rx_queue_setup(portId, i, rxd, static_cast<unsigned>(socket), nullptr, pool);
        r != 0) {
      return fail(ErrorCode::kIo,
                  fmt::format("DPDK port {}: rx queue {}: {}", portId, i, rte_strerror(-r)));
    }
    if (int r = rte_eth_tx_queue_setup(portId, i, txd, static_cast<unsigned>(socket), nullptr);
        r != 0) {
      return fail(ErrorCode::kIo,
                  fmt::format("DPDK port {}: tx queue {}: {}", portId, i, rte_strerror(-r)));
    }
  }
  if (int r = rte_eth_dev_start(portId); r != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("DPDK port {}: start: {}{}", portId, rte_strerror(-r), notRootHint()));
  }
  return ok();
}

// Checks that `portId` exists and has `workers` queue pairs; `role` names it in errors.
Result<std::string> checkPort(uint16_t portId, unsigned workers, std::string_view role) {
  if (!rte_eth_dev_is_valid_port(portId)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} {}: no such DPDK port ({} port(s) available; "
                            "add a --vdev or bind a NIC to a DPDK driver)",
                            role, portId, rte_eth_dev_count_avail()));
  }
  rte_eth_dev_info info{};
  if (int r = rte_eth_dev_info_get(portId, &info); r != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("DPDK port {}: device info: {}", portId, rte_strerror(-r)));
  }
  std::string driver = info.driver_name != nullptr ? info.driver_name : "?";
  if (info.max_rx_queues < workers || info.max_tx_queues < workers) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("DPDK port {} ({}) has {} rx / {} tx queue(s) but gateway.workers = "
                    "{}: worker i takes queue pair i (net_af_packet: qpairs={})",
                    portId, driver, info.max_rx_queues, info.max_tx_queues, workers, workers));
  }
  return driver;
}

}  // namespace

Result<std::unique_ptr<DpdkDevice>> DpdkDevice::create(const std::string& ealArgs, uint16_t portId,
                                                       const SocketAddress& listen,
                                                       unsigned workers,
                                                       std::optional<uint16_t> exceptionPortId) {
  if (ealArgs.find_first_not_of(" \t") == std::string::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "backend dpdk needs gateway.dpdk_eal_args (--dpdk-eal-args), e.g. \"--no-huge "
                "-m 256 --no-pci --no-shconf --vdev=net_af_packet0,iface=eth1\"");
  }
  if (listen.port() == 0 || isWildcard(listen)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("gateway.listen must name the gateway's own address "
                            "and port (the kernel does not know the DPDK port's address), not {}",
                            toString(listen)));
  }
  if (workers == 0 || workers > RTE_MAX_QUEUES_PER_PORT) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("backend dpdk: {} workers", workers));
  }
  if (auto r = initEal(ealArgs); !r) return tl::unexpected(r.error());
  auto driver = checkPort(portId, workers, "gateway.dpdk_port");
  if (!driver) return tl::unexpected(driver.error());
  if (exceptionPortId) {
    if (*exceptionPortId == portId) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("gateway.dpdk_exception_port {} is gateway.dpdk_port: give it a "
                              "second port, e.g. --vdev=net_tap0,iface=braid-exc0",
                              portId));
    }
    auto exceptionDriver = checkPort(*exceptionPortId, workers, "gateway.dpdk_exception_port");
    if (!exceptionDriver) return tl::unexpected(exceptionDriver.error());
  }
  int socket = rte_eth_dev_socket_id(portId);
  if (socket < 0) socket = static_cast<int>(rte_socket_id());
  // The exception port's queues hold mbufs of their own (a TAP rx queue fills all of its
  // descriptors up front).
  const unsigned mbufs = (exceptionPortId ? 2 : 1) * kMbufsPerWorker * workers - 1;
  rte_mempool* pool = rte_pktmbuf_pool_create(fmt::format("braid_mbufs{}", portId).c_str(), mbufs,
                                              kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    return fail(ErrorCode::kIo, fmt::format("DPDK mbuf pool ({} mbufs): {} (raise the EAL's -m)",
                                            mbufs, rte_strerror(rte_errno)));
  }
  auto q = static_cast<uint16_t>(workers);
  auto self =
      std::unique_ptr<DpdkDevice>(new DpdkDevice(portId, q, pool, MacAddress{}, listen, *driver));
  if (auto started = startPort(portId, q, pool, socket); !started) {
    return tl::unexpected(started.error());
  }
  rte_ether_addr mac{};
  if (int r = rte_eth_macaddr_get(portId, &mac); r != 0) {
    return fail(ErrorCode::kIo,
                fmt::format("DPDK port {}: MAC address: {}", portId, rte_strerror(-r)));
  }
  std::memcpy(self->mac_.data(), mac.addr_bytes, self->mac_.size());
  if (exceptionPortId) {
    // The kernel drops unicast frames to another MAC: its interface takes the device's (a
    // device without one, such as net_ring, has nothing to give).
    if (int r = rte_is_zero_ether_addr(&mac)
                    ? 0
                    : rte_eth_dev_default_mac_addr_set(*exceptionPortId, &mac);
        r != 0) {
      return fail(ErrorCode::kIo, fmt::format("DPDK exception port {}: set MAC address: {}",
                                              *exceptionPortId, rte_strerror(-r)));
    }
    if (auto started = startPort(*exceptionPortId, q, pool, socket); !started) {
      return tl::unexpected(started.error());
    }
    self->exceptionPortId_ = exceptionPortId;
  }
  return self;
}

DpdkDevice::~DpdkDevice() {
  if (exceptionPortId_) {
    rte_eth_dev_stop(*exceptionPortId_);
    rte_eth_dev_close(*exceptionPortId_);
  }
  rte_eth_dev_stop(portId_);
  rte_eth_dev_close(portId_);
  rte_mempool_free(pool_);
  rte_eal_cleanup();
}

Result<std::unique_ptr<PacketPort>> DpdkDevice::makePort(unsigned index) {
  if (index >= queues_) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("worker {}: the DPDK port has {} queue pair(s)", index, queues_));
  }
  int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kIo, fmt::format("timerfd: {}", std::strerror(errno)));
  auto port =
      std::unique_ptr<DpdkPort>(new DpdkPort(portId_, static_cast<uint16_t>(index), pool_, mac_,
                                             listen_, &lastHop_, fd, exceptionPortId_));
  ports_.push_back(port.get());
  return std::unique_ptr<PacketPort>(std::move(port));
}

std::string DpdkDevice::statsFields() const {
  uint64_t arp = 0;
  uint64_t icmp = 0;
  uint64_t other = 0;
  uint64_t noNeighbour = 0;
  uint64_t noMbuf = 0;
  uint64_t toKernel = 0;
  uint64_t fromKernel = 0;
  uint64_t fromKernelDropped = 0;
  for (const DpdkPort* port : ports_) {
    const DpdkPortCounters& c = port->dpdkCounters();
    arp += c.arpAnswered.read();
    icmp += c.icmpAnswered.read();
    other += c.otherDropped.read();
    noNeighbour += c.noNeighbour.read();
    noMbuf += c.noMbuf.read();
    toKernel += c.toKernel.read();
    fromKernel += c.fromKernel.read();
    fromKernelDropped += c.fromKernelDropped.read();
  }
  rte_eth_stats stats{};
  rte_eth_stats_get(portId_, &stats);
  std::string fields = fmt::format(
      " dpdk_rx_missed={} dpdk_rx_nombuf={} dpdk_arp_answered={} dpdk_icmp_answered={} "
      "dpdk_other_dropped={} dpdk_tx_no_neighbour={} dpdk_tx_no_mbuf={}",
      stats.imissed, stats.rx_nombuf, arp, icmp, other, noNeighbour, noMbuf);
  if (exceptionPortId_) {
    fields += fmt::format(" dpdk_to_kernel={} dpdk_from_kernel={} dpdk_from_kernel_dropped={}",
                          toKernel, fromKernel, fromKernelDropped);
  }
  return fields;
}

DpdkPort::DpdkPort(uint16_t portId, uint16_t queue, rte_mempool* pool, const MacAddress& mac,
                   const SocketAddress& listen, std::atomic<uint64_t>* lastHop, int timerFd,
                   std::optional<uint16_t> exceptionPortId)
    : portId_(portId),
      queue_(queue),
      exceptionPortId_(exceptionPortId),
      pool_(pool),
      mac_(mac),
      listen_(listen),
      lastHop_(lastHop),
      timerFd_(timerFd) {
  if (listen.family() == AF_INET) {
    ownIpv4_ = reinterpret_cast<const sockaddr_in*>(listen.data())->sin_addr.s_addr;
  }
}

DpdkPort::~DpdkPort() {
  if (heldCount_ > 0) rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(heldCount_));
  if (replyCount_ > 0) {
    rte_pktmbuf_free_bulk(replies_.data(), static_cast<unsigned>(replyCount_));
  }
  ::close(timerFd_);
}

void DpdkPort::prepareSleep() noexcept {
  // Re-arming also clears an expiry the worker never read.
  itimerspec at{};
  at.it_value.tv_nsec = std::min(kPollIntervalNs << emptySleeps_, kMaxPollIntervalNs);
  if (at.it_value.tv_nsec < kMaxPollIntervalNs) ++emptySleeps_;
  ::timerfd_settime(timerFd_, 0, &at, nullptr);
}

size_t DpdkPort::receive(RxBurst& burst) noexcept {
  // A caller that skipped release(): the previous burst's views end here, as with the kernel
  // port, rather than overrunning held_.
  if (heldCount_ > 0) release(burst);
  if (exceptionPortId_) forwardFromKernel();
  std::array<rte_mbuf*, kBurstSize> mbufs;
  uint16_t n = rte_eth_rx_burst(portId_, queue_, mbufs.data(), kBurstSize);
  burst.count = 0;
  if (n == 0) return 0;
  emptySleeps_ = 0;
  counters_.rxCalls.add();
  std::array<rte_mbuf*, kBurstSize> drop;
  size_t dropCount = 0;
  std::array<rte_mbuf*, kBurstSize> kernel;
  size_t kernelCount = 0;
  bool learnt = false;
  MacAddress lastHop{};
  uint16_t listenPort = listen_.port();
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = mbufs[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + 1], void*));
    // Drivers here deliver a frame in one segment (no scatter asked for); a chained one is
    // not ours to reassemble.
    if (m->nb_segs != 1) {
      drop[dropCount++] = m;
      dpdkCounters_.otherDropped.add();
      continue;
    }
    std::span<uint8_t> frame{rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m)};
    UdpFrameView view;
    if (parseUdpFrame(frame, view) && view.destination.port() == listenPort &&
        view.destination == listen_) {
      neighbours_->learn(view.source, view.sourceMac);
      lastHop = view.sourceMac;
      learnt = true;
      size_t k = burst.count++;
      burst.packets[k] = view.payload;
      burst.sources[k] = view.source;
      held_[heldCount_++] = m;
      continue;
    }
    // Listening on IPv6 there is no IPv4 address to answer for (IPv6 neighbour discovery is
    // not answered: peers need a static neighbour entry).
    LocalReply reply =
        ownIpv4_ != 0 ? answerLocalRequest(frame, mac_, ownIpv4_) : LocalReply::kNone;
    switch (reply) {
      case LocalReply::kArp:
        dpdkCounters_.arpAnswered.add();
        replies_[replyCount_++] = m;
        break;
      case LocalReply::kIcmpEcho:
        dpdkCounters_.icmpAnswered.add();
        replies_[replyCount_++] = m;
        break;
      case LocalReply::kNone:
        if (exceptionPortId_) {
          kernel[kernelCount++] = m;
        } else {
          dpdkCounters_.otherDropped.add();
          drop[dropCount++] = m;
        }
        break;
    }
  }
  if (dropCount > 0) rte_pktmbuf_free_bulk(drop.data(), static_cast<unsigned>(dropCount));
  if (kernelCount > 0) flushToKernel(std::span(kernel.data(), kernelCount));
  if (replyCount_ > 0) flushLocalReplies();
  if (learnt) {
    // Written only when it changes: every port of the device reads it.
    uint64_t packed = packMac(lastHop);
    if (lastHop_->load(std::memory_order_relaxed) != packed) {
      lastHop_->store(packed, std::memory_order_relaxed);
    }
  }
  counters_.rxPackets.add(burst.count);
  return burst.count;
}

void DpdkPort::flushLocalReplies() noexcept {
  uint16_t sent =
      rte_eth_tx_burst(portId_, queue_, replies_.data(), static_cast<uint16_t>(replyCount_));
  if (sent < replyCount_) {
    rte_pktmbuf_free_bulk(replies_.data() + sent, static_cast<unsigned>(replyCount_ - sent));
  }
  replyCount_ = 0;
}

void DpdkPort::flushToKernel(std::span<rte_mbuf*> frames) noexcept {
  uint16_t sent = rte_eth_tx_burst(*exceptionPortId_, queue_, frames.data(),
                                   static_cast<uint16_t>(frames.size()));
  dpdkCounters_.toKernel.add(sent);
  if (sent < frames.size()) {
    dpdkCounters_.otherDropped.add(frames.size() - sent);
    rte_pktmbuf_free_bulk(frames.data() + sent, static_cast<unsigned>(frames.size() - sent));
  }
}

void DpdkPort::forwardFromKernel() noexcept {
  const uint64_t now = rte_get_tsc_cycles();
  if (now < nextExceptionPollTsc_) return;
  nextExceptionPollTsc_ = now + rte_get_tsc_hz() / kExceptionPollsPerSecond;
  std::array<rte_mbuf*, kBurstSize> frames;
  uint16_t n = rte_eth_rx_burst(*exceptionPortId_, queue_, frames.data(), kBurstSize);
  if (n == 0) return;
  uint16_t sent = rte_eth_tx_burst(portId_, queue_, frames.data(), n);
  dpdkCounters_.fromKernel.add(sent);
  if (sent < n) {
    dpdkCounters_.fromKernelDropped.add(n - sent);
    rte_pktmbuf_free_bulk(frames.data() + sent, static_cast<unsigned>(n - sent));
  }
}

void DpdkPort::release(RxBurst& burst) noexcept {
  if (heldCount_ > 0) rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(heldCount_));
  heldCount_ = 0;
  burst.count = 0;
}

size_t DpdkPort::transmit(TxBatch& batch) noexcept {
  size_t queued = batch.count;
  if (queued == 0) return 0;
  batch.count = 0;
  std::array<rte_mbuf*, kBurstSize> mbufs;
  if (rte_pktmbuf_alloc_bulk(pool_, mbufs.data(), static_cast<unsigned>(queued)) != 0) {
    dpdkCounters_.noMbuf.add(queued);
    counters_.txErrors.add(queued);
    return 0;
  }
  size_t built = 0;
  uint64_t lastHopPacked = lastHop_->load(std::memory_order_relaxed);
  for (size_t i = 0; i < queued; ++i) {
    const SocketAddress& to = batch.destinations[i];
    size_t headerSize = udpFrameHeaderSize(listen_, to);
    std::optional<MacAddress> mac = neighbours_->find(to);
    // A peer heard on another worker's queue: the device's last next hop (one router or one
    // link in the usual deployment).
    if (!mac && lastHopPacked != 0) mac = unpackMac(lastHopPacked);
    if (headerSize == 0 || !mac) {
      dpdkCounters_.noNeighbour.add();
      continue;
    }
    rte_mbuf* m = mbufs[built];
    size_t size = batch.sizes[i];
    auto* out =
        reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(headerSize + size)));
    if (out == nullptr) continue;
    // One copy per reply: feedback and handshake answers are a small share of the traffic,
    // and the Transmitter's batch stays backend-neutral.
    std::memcpy(out + headerSize, batch.buffers[i].data(), size);
    if (!writeUdpFrameHeaders({out, headerSize}, mac_, *mac, listen_, to,
                              {out + headerSize, size})) {
      rte_pktmbuf_reset(m);
      continue;
    }
    ++built;
  }
  uint16_t sent = 0;
  if (built > 0) {
    sent = rte_eth_tx_burst(portId_, queue_, mbufs.data(), static_cast<uint16_t>(built));
    counters_.txCalls.add();
  }
  if (sent < queued) {
    rte_pktmbuf_free_bulk(mbufs.data() + sent, static_cast<unsigned>(queued - sent));
  }
  counters_.txPackets.add(sent);
  if (sent < queued) counters_.txErrors.add(queued - sent);
  return sent;
}

}  // namespace braid::dp
