#include "dataplane/gateway/xdp_backend.h"

#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "dataplane/io/xdp_packet_port.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace braid::dp {
namespace {

// UMEM frames per worker (4 KiB each: 64 MiB, like the kernel backend's socket buffer): 8192
// on the fill ring hold ~140 ms of a 60 kpps flood, or ~0.75 s of the 11 kpps a worker sees
// in the flood test, while the worker is descheduled on a busy machine.
constexpr uint32_t kFrames = 16384;

}  // namespace

Result<unsigned> rxQueueCount(const std::string& interface) {
  std::error_code error;
  std::filesystem::directory_iterator it("/sys/class/net/" + interface + "/queues", error);
  if (error) {
    return fail(ErrorCode::kIo, fmt::format("rx queues of {}: {}", interface, error.message()));
  }
  unsigned count = 0;
  for (const auto& entry : it) {
    if (entry.path().filename().string().rfind("rx-", 0) == 0) ++count;
  }
  return count;
}

Result<std::unique_ptr<XdpBackend>> XdpBackend::create(const std::string& interface,
                                                       const SocketAddress& listen,
                                                       unsigned workers) {
  if (interface.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "backend af_xdp needs gateway.xdp_interface (--xdp-interface)");
  }
  if (if_nametoindex(interface.c_str()) == 0) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("xdp_interface '{}': no such interface in this network namespace", interface));
  }
  if (listen.port() == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "backend af_xdp: the listen address needs a fixed port (the XDP program "
                "steers that port), not 0");
  }
  auto queues = rxQueueCount(interface);
  if (!queues) return tl::unexpected(queues.error());
  // A queue without a worker's socket would pass its datagrams to the kernel, where nothing
  // listens: they would be lost without a trace but the no_socket counter.
  if (*queues != workers) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("xdp_interface {} has {} rx queue(s) but gateway.workers = {}: "
                            "worker i takes rx queue i, so they must match (ethtool -L {} "
                            "combined {}, or a veth made with numrxqueues {} numtxqueues {})",
                            interface, *queues, workers, interface, workers, workers, workers));
  }
  auto program = XdpProgram::attach(XdpProgramOptions{
      .interface = interface, .udpPort = listen.port(), .mode = XdpAttachMode::kNative});
  if (!program) {
    std::string hint = ::geteuid() != 0 ? " (not root: AF_XDP needs CAP_NET_ADMIN, CAP_BPF and "
                                          "CAP_NET_RAW)"
                                        : "";
    return fail(ErrorCode::kIo, fmt::format("cannot attach the XDP program to {}: {}{}", interface,
                                            program.error().context, hint));
  }
  spdlog::info("XDP program attached to {} ({} mode, {}) for UDP port {}", interface,
               (*program)->modeName(),
               (*program)->dispatcher() ? "libxdp dispatcher" : "plain attach", listen.port());
  return std::unique_ptr<XdpBackend>(new XdpBackend(std::move(*program), interface, listen));
}

Result<std::unique_ptr<PacketPort>> XdpBackend::makePort(unsigned index) {
  auto port = XdpPacketPort::create(*program_, XdpPacketPortOptions{.xdp = {.interface = interface_,
                                                                            .queue = index,
                                                                            .frameCount = kFrames,
                                                                            .ringSize = kFrames / 2,
                                                                            .lastHop = &lastHop_},
                                                                    .listen = listen_});
  if (!port) {
    std::string hint = ::geteuid() != 0 ? " (not root: AF_XDP sockets need CAP_NET_RAW)" : "";
    return fail(port.error().code,
                fmt::format("worker {}: {}{}", index, port.error().context, hint));
  }
  socketFds_.push_back((*port)->wakeFd());
  if (!zeroCopyLogged_) {
    spdlog::info("AF_XDP sockets on {} in {} mode", interface_,
                 (*port)->zeroCopy() ? "zero-copy" : "copy");
    zeroCopyLogged_ = true;
  }
  return std::unique_ptr<PacketPort>(std::move(*port));
}

std::string XdpBackend::statsFields() const {
  auto stats = program_->readStats();
  if (!stats) return {};
  std::string out =
      fmt::format(" xdp_redirected={} xdp_no_socket={}", stats->packets(BRAID_XDP_REDIRECTED),
                  stats->packets(BRAID_XDP_NO_SOCKET));
  // Redirected frames the kernel dropped because a worker's RX ring was full or its fill
  // ring empty (the worker fell behind): the AF_XDP counterpart of a full socket buffer.
  xdp_statistics total{};
  for (int fd : socketFds_) {
    xdp_statistics one{};
    socklen_t length = sizeof(one);
    if (::getsockopt(fd, SOL_XDP, XDP_STATISTICS, &one, &length) != 0) continue;
    total.rx_dropped += one.rx_dropped;
    total.rx_ring_full += one.rx_ring_full;
    total.rx_fill_ring_empty_descs += one.rx_fill_ring_empty_descs;
  }
  out += fmt::format(" xsk_rx_dropped={} xsk_rx_ring_full={} xsk_fill_empty={}", total.rx_dropped,
                     total.rx_ring_full, total.rx_fill_ring_empty_descs);
  for (int s = BRAID_XDP_DROP_TOO_SHORT; s < BRAID_XDP_STAT_COUNT; ++s) {
    auto stat = static_cast<braid_xdp_stat>(s);
    if (stats->packets(stat) == 0) continue;
    out += fmt::format(" xdp_drop_{}={}", xdpStatName(stat), stats->packets(stat));
  }
  return out;
}

}  // namespace braid::dp
