// xdp_rx_bench: receive-path cost of the gateway's backends, kernel UDP (recvmmsg) vs AF_XDP
// (XdpPort behind bpf/braid_xdp.bpf.c), driven by a sendmmsg blaster. bench/xdp_bench.sh runs
// both in a veth namespace pair with pinned CPUs; results in bench/RESULTS.md.
//
//   xdp_rx_bench blast --target HOST:PORT --size N --seconds S [--rate PPS]
//   xdp_rx_bench rx --backend udp|xdp --listen HOST:PORT [--interface IF] --seconds S
//
// The receiver takes bursts of 32 the way a worker does, busy-polling while traffic flows and
// sleeping in poll() after --spin-us without any, and touches each payload (sums its first
// bytes) so the data is really read. busy_us_per_packet is the time inside receive calls that
// returned packets, with their handling, per packet: the user-space rx path alone. It reports
// `rx backend=... packets=... pps=... cpu_us_per_packet=... user_us=... sys_us=...
// softirq_us_per_packet=...`; the blaster reports `blast packets=... pps=...`.

#include <poll.h>
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "dataplane/clock.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/io/xdp_port.h"
#include "dataplane/io/xdp_program.h"

namespace {

using namespace braid;

// Softirq time of all CPUs so far, in µs (from /proc/stat, USER_HZ ticks).
double softirqUs() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  uint64_t v[7] = {};
  stat >> cpu >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5] >> v[6];
  return static_cast<double>(v[6]) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct ThreadCpu {
  double userUs = 0;
  double sysUs = 0;
};

ThreadCpu threadCpu() {
  rusage r{};
  getrusage(RUSAGE_THREAD, &r);
  return {static_cast<double>(r.ru_utime.tv_sec) * 1e6 + static_cast<double>(r.ru_utime.tv_usec),
          static_cast<double>(r.ru_stime.tv_sec) * 1e6 + static_cast<double>(r.ru_stime.tv_usec)};
}

int blast(const std::string& target, size_t size, double seconds, double rate) {
  auto to = dp::parseSocketAddress(target);
  if (!to) {
    std::fprintf(stderr, "%s\n", to.error().describe().c_str());
    return 1;
  }
  auto local = dp::parseSocketAddress(to->family() == AF_INET ? "0.0.0.0:0" : "[::]:0");
  auto socket = dp::UdpSocket::bind(*local);
  if (!socket) {
    std::fprintf(stderr, "%s\n", socket.error().describe().c_str());
    return 1;
  }
  auto batch = std::make_unique<dp::TxBatch>();
  uint64_t sent = 0;
  uint64_t startNs = dp::monotonicNs();
  uint64_t endNs = startNs + static_cast<uint64_t>(seconds * 1e9);
  uint64_t seq = 0;
  for (uint64_t now = startNs; now < endNs; now = dp::monotonicNs()) {
    if (rate > 0) {
      uint64_t dueNs = startNs + static_cast<uint64_t>(static_cast<double>(sent) / rate * 1e9);
      if (dueNs > now + 100'000) {
        timespec ts{0, static_cast<long>(dueNs - now)};
        nanosleep(&ts, nullptr);
      }
    }
    while (!batch->full()) {
      std::span<uint8_t> b = batch->next();
      // A DATA-looking packet (version 1, type 16, link 0) the XDP program lets through.
      std::memset(b.data(), 0, size);
      b[0] = 1;
      b[1] = 16;
      std::memcpy(b.data() + 12, &seq, sizeof(seq));
      ++seq;
      batch->commit(size, *to);
    }
    int n = socket->sendBatch(*batch);
    if (n > 0) sent += static_cast<uint64_t>(n);
  }
  double elapsed = static_cast<double>(dp::monotonicNs() - startNs) / 1e9;
  std::printf("blast packets=%llu seconds=%.3f pps=%.0f size=%zu\n",
              static_cast<unsigned long long>(sent), elapsed, static_cast<double>(sent) / elapsed,
              size);
  return 0;
}

// The per-packet work every backend does here: read the datagram.
uint64_t touch(std::span<const uint8_t> payload) {
  uint64_t sum = payload.size();
  for (size_t i = 0; i < payload.size() && i < 64; i += 8) sum += payload[i];
  return sum;
}

struct RxResult {
  uint64_t packets = 0;
  uint64_t bursts = 0;  // receive calls that returned packets
  uint64_t sleeps = 0;  // poll() calls on an empty ring/socket
  uint64_t busyNs = 0;  // time inside receive calls that returned packets (+ their handling)
  uint64_t checksum = 0;
};

// Busy-polls an empty ring/socket this long before sleeping in poll(): the worker's
// "poll while busy, back off when idle".
uint64_t spinNs = 50'000;

template <typename Receive>
int measure(const char* backend, double seconds, Receive&& receive) {
  RxResult result;
  // Wait for the first packet so the window covers traffic only.
  while (result.packets == 0) receive(result, 100);
  RxResult start = result;
  ThreadCpu cpu0 = threadCpu();
  double soft0 = softirqUs();
  uint64_t startNs = dp::monotonicNs();
  uint64_t endNs = startNs + static_cast<uint64_t>(seconds * 1e9);
  while (dp::monotonicNs() < endNs) receive(result, 1);
  double elapsed = static_cast<double>(dp::monotonicNs() - startNs) / 1e9;
  ThreadCpu cpu1 = threadCpu();
  double soft1 = softirqUs();
  double packets = static_cast<double>(result.packets - start.packets);
  double bursts = static_cast<double>(result.bursts - start.bursts);
  double busyUs = static_cast<double>(result.busyNs - start.busyNs) / 1e3;
  double user = cpu1.userUs - cpu0.userUs;
  double sys = cpu1.sysUs - cpu0.sysUs;
  std::printf(
      "rx backend=%s packets=%.0f seconds=%.3f pps=%.0f cpu_us_per_packet=%.3f user_us=%.0f "
      "sys_us=%.0f busy_us_per_packet=%.3f softirq_us_per_packet=%.3f mean_burst=%.1f "
      "sleeps=%llu checksum=%llu\n",
      backend, packets, elapsed, packets / elapsed, (user + sys) / packets, user, sys,
      busyUs / packets, (soft1 - soft0) / packets, packets / bursts,
      static_cast<unsigned long long>(result.sleeps - start.sleeps),
      static_cast<unsigned long long>(result.checksum));
  return 0;
}

int rxUdp(const std::string& listen, double seconds) {
  auto address = dp::parseSocketAddress(listen);
  if (!address) {
    std::fprintf(stderr, "%s\n", address.error().describe().c_str());
    return 1;
  }
  auto socket = dp::UdpSocket::bind(*address);
  if (!socket) {
    std::fprintf(stderr, "%s\n", socket.error().describe().c_str());
    return 1;
  }
  std::printf("rx ready backend=udp\n");
  std::fflush(stdout);
  auto batch = std::make_unique<dp::RxBatch>();
  uint64_t idleSinceNs = 0;
  return measure("udp", seconds, [&](RxResult& r, int idleMs) {
    uint64_t t0 = dp::monotonicNs();
    int n = socket->receiveBatch(*batch);
    if (n <= 0) {
      if (idleSinceNs == 0) idleSinceNs = t0;
      if (t0 - idleSinceNs >= spinNs) {
        ++r.sleeps;
        socket->waitReadable(idleMs);
        idleSinceNs = 0;
      }
      return;
    }
    idleSinceNs = 0;
    ++r.bursts;
    for (int i = 0; i < n; ++i) r.checksum += touch(batch->datagram(static_cast<size_t>(i)));
    r.packets += static_cast<uint64_t>(n);
    r.busyNs += dp::monotonicNs() - t0;
  });
}

int rxXdp(const std::string& interface, const std::string& listen, double seconds) {
  auto address = dp::parseSocketAddress(listen);
  if (!address) {
    std::fprintf(stderr, "%s\n", address.error().describe().c_str());
    return 1;
  }
  auto program = dp::XdpProgram::attach({.interface = interface, .udpPort = address->port()});
  if (!program) {
    std::fprintf(stderr, "%s\n", program.error().describe().c_str());
    return 1;
  }
  auto port = dp::XdpPort::create(**program, {.interface = interface});
  if (!port) {
    std::fprintf(stderr, "%s\n", port.error().describe().c_str());
    return 1;
  }
  std::printf("rx ready backend=xdp zero_copy=%d\n", (*port)->zeroCopy() ? 1 : 0);
  std::fflush(stdout);
  dp::XdpPort& p = **port;
  dp::XdpRxBurst burst;
  uint64_t idleSinceNs = 0;
  int rc = measure((*port)->zeroCopy() ? "xdp-zerocopy" : "xdp-copy", seconds,
                   [&](RxResult& r, int idleMs) {
                     uint64_t t0 = dp::monotonicNs();
                     size_t n = p.receive(burst);
                     if (n == 0) {
                       p.release(burst);
                       if (idleSinceNs == 0) idleSinceNs = t0;
                       if (t0 - idleSinceNs >= spinNs) {
                         ++r.sleeps;
                         p.waitReadable(idleMs);
                         idleSinceNs = 0;
                       }
                       return;
                     }
                     idleSinceNs = 0;
                     for (size_t i = 0; i < n; ++i) r.checksum += touch(burst.datagram(i));
                     p.release(burst);
                     r.packets += n;
                     ++r.bursts;
                     r.busyNs += dp::monotonicNs() - t0;
                   });
  if (auto stats = (*program)->readStats()) {
    std::printf("xdp redirected=%llu dropped=%llu rx_wakeups=%llu\n",
                static_cast<unsigned long long>(stats->packets(BRAID_XDP_REDIRECTED)),
                static_cast<unsigned long long>(stats->dropped()),
                static_cast<unsigned long long>(p.counters().rxWakeups.read()));
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"xdp_rx_bench: receive-path cost, kernel UDP vs AF_XDP"};
  app.require_subcommand(1);
  std::string target;
  std::string listen;
  std::string interface;
  std::string backend = "xdp";
  size_t size = 1200;
  double seconds = 5;
  double rate = 0;
  auto* blastCmd = app.add_subcommand("blast", "send DATA-looking datagrams with sendmmsg");
  blastCmd->add_option("--target", target, "HOST:PORT")->required();
  blastCmd->add_option("--size", size, "datagram size")->check(CLI::Range(38, 1472));
  blastCmd->add_option("--seconds", seconds, "duration");
  blastCmd->add_option("--rate", rate, "packets per second (0: as fast as possible)");
  auto* rxCmd = app.add_subcommand("rx", "receive and measure");
  rxCmd->add_option("--backend", backend)->check(CLI::IsMember({"udp", "xdp"}));
  rxCmd->add_option("--listen", listen, "HOST:PORT (xdp: the port the program steers)")->required();
  rxCmd->add_option("--interface", interface, "interface (xdp)");
  rxCmd->add_option("--seconds", seconds, "measuring window after the first packet");
  double spinUs = 50;
  rxCmd->add_option("--spin-us", spinUs, "busy-poll an idle ring this long before poll()");
  CLI11_PARSE(app, argc, argv);
  if (*blastCmd) return blast(target, size, seconds, rate);
  spinNs = static_cast<uint64_t>(spinUs * 1e3);
  if (backend == "udp") return rxUdp(listen, seconds);
  return rxXdp(interface, listen, seconds);
}
