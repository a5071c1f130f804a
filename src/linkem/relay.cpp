#include "linkem/relay.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <spdlog/spdlog.h>

#include "dataplane/clock.h"

namespace braid::linkem {
namespace {

constexpr size_t kSlotBytes = dp::kDatagramCapacity;
constexpr size_t kBurst = dp::kBurstSize;
constexpr size_t kMaxBurstsPerWake = 16;  // bounds one socket's turn so the others are served
constexpr uint64_t kStopKey = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMaxSleepNs = 100'000'000;

uint64_t socketKey(size_t link, bool edgeSide) {
  return (uint64_t{link} << 1) | (edgeSide ? 1 : 0);
}

struct Pending {
  uint64_t deliveryNs = 0;
  uint64_t sequence = 0;  // arrival order: equal delivery times leave in it
  uint64_t arrivalNs = 0;
  uint64_t departureNs = 0;
  uint64_t digest = 0;
  uint32_t slot = 0;
  uint32_t size = 0;
};

// std::push_heap builds a max-heap: "later" is "smaller" here, so the top is the earliest.
bool later(const Pending& a, const Pending& b) {
  return a.deliveryNs != b.deliveryNs ? a.deliveryNs > b.deliveryNs : a.sequence > b.sequence;
}

}  // namespace

struct Relay::Direction {
  Direction(const DirectionModelConfig& config, std::vector<ModelEvent> events, uint64_t seed,
            uint64_t stream, bool isUp)
      : model(config, std::move(events), seed, stream), up(isUp) {
    heap.reserve(4096);
  }
  DirectionModel model;
  std::vector<Pending> heap;
  DirectionCounters counters;
  uint64_t sequence = 0;
  bool up;
};

struct Relay::Link {
  Link(const RelayLinkConfig& c, uint64_t seed, size_t linkIndex)
      : config(c),
        index(linkIndex),
        up(c.up, c.upEvents, seed, linkIndex * 2, true),
        down(c.down, c.downEvents, seed, linkIndex * 2 + 1, false) {}
  RelayLinkConfig config;
  size_t index;  // in links_, and in the epoll keys of its sockets
  dp::UdpSocket edgeSide;
  dp::UdpSocket gatewaySide;
  dp::SocketAddress listenAddress;
  dp::SocketAddress gatewayLocal;
  dp::SocketAddress edgePeer;
  bool havePeer = false;
  Direction up;
  Direction down;
  size_t nextRebind = 0;
  uint64_t rebinds = 0;
  uint64_t foreign = 0;  // datagrams at the gateway side from anyone but the gateway
};

Relay::Relay(RelayConfig config) : config_(std::move(config)) {}

Relay::~Relay() {
  if (epoll_ >= 0) ::close(epoll_);
}

Result<std::unique_ptr<Relay>> Relay::create(RelayConfig config) {
  std::unique_ptr<Relay> relay(new Relay(std::move(config)));
  for (size_t i = 0; i < relay->config_.links.size(); ++i) {
    RelayLinkConfig& link = relay->config_.links[i];
    std::sort(link.rebindAtNs.begin(), link.rebindAtNs.end());
    relay->links_.push_back(std::make_unique<Link>(link, relay->config_.seed, i));
  }
  relay->pool_.resize(relay->config_.poolPackets * kSlotBytes);
  relay->freeSlots_.reserve(relay->config_.poolPackets);
  for (size_t i = relay->config_.poolPackets; i > 0; --i) {
    relay->freeSlots_.push_back(static_cast<uint32_t>(i - 1));
  }
  relay->epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (relay->epoll_ < 0) return fail(ErrorCode::kIo, std::string("epoll: ") + std::strerror(errno));
  if (auto opened = relay->openSockets(); !opened) return tl::unexpected(opened.error());
  return relay;
}

namespace {

Result<void> watch(int epoll, int fd, uint64_t key) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = key;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
    return fail(ErrorCode::kIo, std::string("epoll_ctl: ") + std::strerror(errno));
  }
  return ok();
}

dp::SocketAddress anyAddressFor(const dp::SocketAddress& peer) {
  auto any = dp::parseSocketAddress(peer.family() == AF_INET6 ? "[::]:0" : "0.0.0.0:0");
  return *any;
}

// The kernel stamps each datagram as it arrives (SO_TIMESTAMPNS): a relay that was descheduled
// for a few ms then reads them together, and stamping them with the read time would show the
// model (and the record) a burst the sender never sent.
Result<void> stampArrivals(const dp::UdpSocket& socket, const std::string& what) {
  int on = 1;
  if (::setsockopt(socket.fd(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
    return fail(ErrorCode::kIo, what + ": SO_TIMESTAMPNS: " + std::strerror(errno));
  }
  return ok();
}

// The kernel's arrival stamp of a received message (CLOCK_REALTIME), 0 if it has none.
uint64_t arrivalStamp(const msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull +
             static_cast<uint64_t>(ts.tv_nsec);
    }
  }
  return 0;
}

Result<dp::UdpSocket> openGatewaySide(const RelayLinkConfig& c) {
  dp::SocketAddress local = c.source.isUnspecified() ? anyAddressFor(c.gateway) : c.source;
  auto socket = dp::UdpSocket::bind(local);
  if (!socket) {
    return fail(socket.error().code,
                "link " + c.name + ": socket towards the gateway: " + socket.error().context);
  }
  if (auto stamped = stampArrivals(*socket, "link " + c.name + ": socket towards the gateway");
      !stamped) {
    return tl::unexpected(stamped.error());
  }
  return socket;
}

}  // namespace

Result<void> Relay::openSockets() {
  for (size_t i = 0; i < links_.size(); ++i) {
    Link& link = *links_[i];
    auto edgeSide = dp::UdpSocket::bind(link.config.listen,
                                        dp::UdpSocketOptions{.bindDevice = link.config.device});
    if (!edgeSide) {
      return fail(edgeSide.error().code,
                  "link " + link.config.name + ": listen: " + edgeSide.error().context);
    }
    link.edgeSide = std::move(*edgeSide);
    if (auto stamped = stampArrivals(link.edgeSide, "link " + link.config.name + ": listen");
        !stamped) {
      return stamped;
    }
    auto gatewaySide = openGatewaySide(link.config);
    if (!gatewaySide) return tl::unexpected(gatewaySide.error());
    link.gatewaySide = std::move(*gatewaySide);
    link.listenAddress = link.edgeSide.localAddress().value_or(link.config.listen);
    link.gatewayLocal = link.gatewaySide.localAddress().value_or(dp::SocketAddress{});
    if (auto w = watch(epoll_, link.edgeSide.fd(), socketKey(i, true)); !w) return w;
    if (auto w = watch(epoll_, link.gatewaySide.fd(), socketKey(i, false)); !w) return w;
  }
  return ok();
}

Result<void> Relay::rebind(Link& link, uint64_t nowNs) {
  // A new socket means a new source port at the gateway, as when a carrier NAT rebinds; what
  // the gateway still sends to the old port is lost, as it would be.
  auto fresh = openGatewaySide(link.config);
  if (!fresh) return tl::unexpected(fresh.error());
  if (auto w = watch(epoll_, fresh->fd(), socketKey(link.index, false)); !w) return w;
  dp::SocketAddress before = link.gatewayLocal;
  link.gatewaySide = std::move(*fresh);
  link.gatewayLocal = link.gatewaySide.localAddress().value_or(dp::SocketAddress{});
  ++link.rebinds;
  spdlog::info("t={:.3f} link {}: NAT rebinding, the gateway now sees {} instead of {}",
               static_cast<double>(nowNs) / 1e9, link.config.name, dp::toString(link.gatewayLocal),
               dp::toString(before));
  return ok();
}

void Relay::receiveFrom(size_t index, bool fromEdge) {
  Link& link = *links_[index];
  Direction& d = fromEdge ? link.up : link.down;
  int fd = fromEdge ? link.edgeSide.fd() : link.gatewaySide.fd();
  std::array<mmsghdr, kBurst> headers{};
  std::array<iovec, kBurst> iovecs{};
  std::array<dp::SocketAddress, kBurst> sources{};
  std::array<uint32_t, kBurst> slots{};
  struct alignas(cmsghdr) Control {
    std::array<char, CMSG_SPACE(sizeof(timespec))> bytes;
  };
  std::array<Control, kBurst> controls{};
  // Used only when the pool is empty: the datagrams are read and dropped, so the socket does
  // not stay readable for ever.
  static thread_local std::array<uint8_t, kSlotBytes> scratch;
  for (size_t burst = 0; burst < kMaxBurstsPerWake; ++burst) {
    size_t wanted = std::min(kBurst, freeSlots_.size());
    bool spill = wanted == 0;
    if (spill) wanted = 1;
    for (size_t i = 0; i < wanted; ++i) {
      uint8_t* buffer = scratch.data();
      if (!spill) {
        slots[i] = freeSlots_.back();
        freeSlots_.pop_back();
        buffer = pool_.data() + size_t{slots[i]} * kSlotBytes;
      }
      iovecs[i] = {buffer, kSlotBytes};
      msghdr& msg = headers[i].msg_hdr;
      msg = {};
      msg.msg_name = &sources[i].storage;
      msg.msg_namelen = sizeof(sockaddr_storage);
      msg.msg_iov = &iovecs[i];
      msg.msg_iovlen = 1;
      msg.msg_control = controls[i].bytes.data();
      msg.msg_controllen = controls[i].bytes.size();
    }
    int received =
        ::recvmmsg(fd, headers.data(), static_cast<unsigned>(wanted), MSG_DONTWAIT, nullptr);
    size_t n = received > 0 ? static_cast<size_t>(received) : 0;
    // Kernel stamps are CLOCK_REALTIME; the relay runs on CLOCK_MONOTONIC since its epoch.
    // (No clock read for the empty last read of a wake-up.)
    uint64_t readNs = 0;
    int64_t realtimeAhead = 0;
    if (n > 0) {
      readNs = dp::monotonicNs() - epochNs_;
      realtimeAhead = static_cast<int64_t>(dp::realtimeNs() - (readNs + epochNs_));
    }
    for (size_t i = 0; i < n; ++i) {
      sources[i].length = headers[i].msg_hdr.msg_namelen;
      uint32_t size = headers[i].msg_len;
      const auto* data = static_cast<const uint8_t*>(iovecs[i].iov_base);
      if (!fromEdge && !(sources[i] == link.config.gateway)) {
        ++link.foreign;
        if (!spill) freeSlots_.push_back(slots[i]);
        continue;
      }
      if (fromEdge && !(link.havePeer && sources[i] == link.edgePeer)) {
        link.edgePeer = sources[i];
        link.havePeer = true;
      }
      ++d.counters.received;
      d.counters.receivedBytes += size;
      // Never after the read. (The model keeps its own arrivals in order, should the realtime
      // clock step back.)
      uint64_t arrivalNs = readNs;
      if (uint64_t stamp = arrivalStamp(headers[i].msg_hdr); stamp != 0) {
        auto stamped = static_cast<int64_t>(stamp) - realtimeAhead - static_cast<int64_t>(epochNs_);
        if (stamped > 0) arrivalNs = std::min(readNs, static_cast<uint64_t>(stamped));
      }
      uint64_t digest = payloadDigest(data, std::min<size_t>(size, kSlotBytes));
      Verdict verdict;
      if (spill) {
        verdict.drop = Drop::kPoolFull;
      } else if ((headers[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        verdict.drop = Drop::kOversize;
      } else if (!fromEdge && !link.havePeer) {
        verdict.drop = Drop::kNoPeer;
      } else {
        verdict = d.model.offer(arrivalNs, size);
      }
      if (verdict.drop != Drop::kNone) {
        ++d.counters.drops[static_cast<size_t>(verdict.drop)];
        record({.link = link.config.name,
                .up = d.up,
                .digest = digest,
                .size = size,
                .arrivalNs = arrivalNs,
                .result = verdict.drop});
        if (!spill) freeSlots_.push_back(slots[i]);
        continue;
      }
      d.heap.push_back({.deliveryNs = verdict.deliveryNs,
                        .sequence = d.sequence++,
                        .arrivalNs = arrivalNs,
                        .departureNs = verdict.departureNs,
                        .digest = digest,
                        .slot = slots[i],
                        .size = size});
      std::push_heap(d.heap.begin(), d.heap.end(), later);
    }
    if (!spill) {
      for (size_t i = n; i < wanted; ++i) freeSlots_.push_back(slots[i]);
    }
    if (n < wanted) break;
  }
}

void Relay::sendDue(Direction& d, Link& link, uint64_t nowNs) {
  std::array<Pending, kBurst> batch;
  std::array<mmsghdr, kBurst> headers{};
  std::array<iovec, kBurst> iovecs{};
  int fd = d.up ? link.gatewaySide.fd() : link.edgeSide.fd();
  dp::SocketAddress& to = d.up ? link.config.gateway : link.edgePeer;
  while (!d.heap.empty() && d.heap.front().deliveryNs <= nowNs) {
    size_t n = 0;
    while (n < kBurst && !d.heap.empty() && d.heap.front().deliveryNs <= nowNs) {
      std::pop_heap(d.heap.begin(), d.heap.end(), later);
      batch[n] = d.heap.back();
      d.heap.pop_back();
      iovecs[n] = {pool_.data() + size_t{batch[n].slot} * kSlotBytes, batch[n].size};
      msghdr& msg = headers[n].msg_hdr;
      msg = {};
      msg.msg_name = to.data();
      msg.msg_namelen = to.length;
      msg.msg_iov = &iovecs[n];
      msg.msg_iovlen = 1;
      ++n;
    }
    uint64_t sentNs = dp::monotonicNs() - epochNs_;
    size_t done = 0;
    while (done < n) {
      int r = ::sendmmsg(fd, headers.data() + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    for (size_t i = 0; i < n; ++i) {
      const Pending& p = batch[i];
      Drop result = i < done ? Drop::kNone : Drop::kSendError;
      if (result == Drop::kNone) {
        ++d.counters.sent;
        d.counters.sentBytes += p.size;
        if (sentNs > p.deliveryNs)
          d.counters.maxLateNs = std::max(d.counters.maxLateNs, sentNs - p.deliveryNs);
      } else {
        ++d.counters.drops[static_cast<size_t>(result)];
      }
      record({.link = link.config.name,
              .up = d.up,
              .digest = p.digest,
              .size = p.size,
              .arrivalNs = p.arrivalNs,
              .departureNs = p.departureNs,
              .deliveryNs = p.deliveryNs,
              .sentNs = sentNs,
              .result = result});
      freeSlots_.push_back(p.slot);
    }
  }
}

uint64_t Relay::nextWakeNs(uint64_t nowNs) const {
  uint64_t wake = nowNs + kMaxSleepNs;
  for (const auto& link : links_) {
    if (!link->up.heap.empty()) wake = std::min(wake, link->up.heap.front().deliveryNs);
    if (!link->down.heap.empty()) wake = std::min(wake, link->down.heap.front().deliveryNs);
    if (link->nextRebind < link->config.rebindAtNs.size()) {
      wake = std::min(wake, link->config.rebindAtNs[link->nextRebind]);
    }
  }
  if (config_.durationNs > 0) wake = std::min(wake, config_.durationNs);
  return wake;
}

void Relay::dropUnsent() {
  for (auto& link : links_) {
    for (Direction* d : {&link->up, &link->down}) {
      for (const Pending& p : d->heap) {
        ++d->counters.drops[static_cast<size_t>(Drop::kUnsent)];
        record({.link = link->config.name,
                .up = d->up,
                .digest = p.digest,
                .size = p.size,
                .arrivalNs = p.arrivalNs,
                .result = Drop::kUnsent});
        freeSlots_.push_back(p.slot);
      }
      d->heap.clear();
    }
  }
}

Result<void> Relay::run(int stopFd, uint64_t tickNs, const std::function<void(uint64_t)>& onTick) {
  // Wake-ups are the emulator's timing: the default 50 µs timer slack would be most of it.
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  if (stopFd >= 0) {
    if (auto w = watch(epoll_, stopFd, kStopKey); !w) return w;
  }
  epochNs_ = dp::monotonicNs();
  if (!config_.recordPath.empty()) {
    auto record = RecordWriter::open(config_.recordPath, epochNs_);
    if (!record) return tl::unexpected(record.error());
    record_ = std::move(*record);
  }
  uint64_t nextTick = tickNs;
  std::array<epoll_event, 64> events{};
  Result<void> outcome = ok();
  bool stop = false;
  while (!stop) {
    uint64_t now = dp::monotonicNs() - epochNs_;
    for (auto& link : links_) {
      while (link->nextRebind < link->config.rebindAtNs.size() &&
             link->config.rebindAtNs[link->nextRebind] <= now) {
        ++link->nextRebind;
        if (auto r = rebind(*link, now); !r) spdlog::error("{}", r.error().context);
      }
      sendDue(link->up, *link, now);
      sendDue(link->down, *link, now);
    }
    if (config_.durationNs > 0 && now >= config_.durationNs) break;
    if (tickNs > 0 && now >= nextTick) {
      if (onTick) onTick(now);
      while (nextTick <= now) nextTick += tickNs;
    }
    uint64_t wake = nextWakeNs(now);
    if (tickNs > 0) wake = std::min(wake, nextTick);
    uint64_t sleepNs = wake > now ? wake - now : 0;
    timespec timeout{static_cast<time_t>(sleepNs / 1'000'000'000),
                     static_cast<long>(sleepNs % 1'000'000'000)};
    int ready =
        ::epoll_pwait2(epoll_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
    if (ready < 0) {
      if (errno == EINTR) continue;
      outcome = fail(ErrorCode::kIo, std::string("epoll_pwait2: ") + std::strerror(errno));
      break;
    }
    now = dp::monotonicNs() - epochNs_;
    for (int i = 0; i < ready; ++i) {
      uint64_t key = events[static_cast<size_t>(i)].data.u64;
      if (key == kStopKey) {
        stop = true;
        continue;
      }
      receiveFrom(static_cast<size_t>(key >> 1), (key & 1) != 0);
    }
  }
  dropUnsent();
  if (record_ && !record_->finish()) {
    spdlog::error("record {}: write failed (disk full?)", config_.recordPath);
  }
  if (recordRowsDropped() > 0) {
    spdlog::warn("record {}: {} rows dropped because the disk fell behind", config_.recordPath,
                 recordRowsDropped());
  }
  return outcome;
}

size_t Relay::linkCount() const {
  return links_.size();
}

LinkStatus Relay::status(size_t index, uint64_t nowNs) {
  Link& link = *links_[index];
  return {.name = link.config.name,
          .listen = link.listenAddress,
          .towardsGateway = link.gatewayLocal,
          .up = link.up.counters,
          .down = link.down.counters,
          .upQueued = link.up.model.queuedPackets(nowNs),
          .downQueued = link.down.model.queuedPackets(nowNs),
          .rebinds = link.rebinds};
}

}  // namespace braid::linkem
