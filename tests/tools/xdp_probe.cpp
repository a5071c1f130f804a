// braid-xdp-probe: an AF_XDP port (XdpProgram + XdpPort) run on its own, for the netns tests
// (tests/integration/xdp_port_test.sh) and by hand.
//
// Attaches bpf/braid_xdp.bpf.c to --interface for --port, opens the port on --queue, and
// receives until --count valid datagrams arrived or --timeout passed. Each datagram is written
// to --out as `SOURCE DESTINATION HEXPAYLOAD`; with --echo the probe answers each one with
// "echo:" + the payload through the port's TX path. At the end it prints the XDP program's
// counters (`xdp_stat NAME PACKETS BYTES`) and the port's (`port_stat NAME VALUE`).

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "dataplane/clock.h"
#include "dataplane/io/xdp_port.h"
#include "dataplane/io/xdp_program.h"

namespace {

using namespace braid;

std::atomic<bool> stopRequested{false};

void onSignal(int) {
  stopRequested.store(true, std::memory_order_relaxed);
}

void writeHex(FILE* out, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) std::fprintf(out, "%02x", b);
}

void printCounters(const dp::XdpProgram& program, const dp::XdpPort& port) {
  auto stats = program.readStats();
  if (!stats) {
    std::fprintf(stderr, "xdp-probe: %s\n", stats.error().describe().c_str());
  } else {
    for (int i = 0; i < BRAID_XDP_STAT_COUNT; ++i) {
      auto stat = static_cast<braid_xdp_stat>(i);
      std::printf("xdp_stat %s %llu %llu\n", dp::xdpStatName(stat),
                  static_cast<unsigned long long>(stats->counters[i].packets),
                  static_cast<unsigned long long>(stats->counters[i].bytes));
    }
  }
  const dp::XdpPortCounters& c = port.counters();
  std::printf(
      "port_stat rx_packets %llu\nport_stat rx_bytes %llu\nport_stat rx_bad_frames %llu\n"
      "port_stat rx_wakeups %llu\nport_stat tx_packets %llu\nport_stat tx_bytes %llu\n"
      "port_stat tx_no_frame %llu\nport_stat tx_no_neighbour %llu\n"
      "port_stat tx_ring_full %llu\nport_stat tx_wakeups %llu\n",
      static_cast<unsigned long long>(c.rxPackets.read()),
      static_cast<unsigned long long>(c.rxBytes.read()),
      static_cast<unsigned long long>(c.rxBadFrames.read()),
      static_cast<unsigned long long>(c.rxWakeups.read()),
      static_cast<unsigned long long>(c.txPackets.read()),
      static_cast<unsigned long long>(c.txBytes.read()),
      static_cast<unsigned long long>(c.txNoFrame.read()),
      static_cast<unsigned long long>(c.txNoNeighbour.read()),
      static_cast<unsigned long long>(c.txRingFull.read()),
      static_cast<unsigned long long>(c.txWakeups.read()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"braid-xdp-probe: receive (and answer) through one AF_XDP port"};
  std::string interface;
  uint16_t udpPort = 0;
  uint32_t queue = 0;
  std::string mode = "native";
  std::string bind = "auto";
  uint64_t count = 0;
  double timeoutS = 10;
  bool echo = false;
  std::string outPath;
  app.add_option("--interface", interface, "interface to attach to")->required();
  app.add_option("--port", udpPort, "UDP port the XDP program steers (the gateway port)")
      ->required();
  app.add_option("--queue", queue, "receive queue of the AF_XDP socket");
  app.add_option("--mode", mode, "XDP attach mode")->check(CLI::IsMember({"native", "skb"}));
  app.add_option("--bind", bind, "AF_XDP bind mode")
      ->check(CLI::IsMember({"auto", "copy", "zerocopy"}));
  app.add_option("--count", count, "stop after this many valid datagrams (0: at the timeout)");
  app.add_option("--timeout", timeoutS, "stop after this many seconds");
  app.add_flag("--echo", echo, "answer each datagram with \"echo:\" + its payload");
  app.add_option("--out", outPath, "write each datagram here (SOURCE DESTINATION HEX)");
  CLI11_PARSE(app, argc, argv);

  auto program = dp::XdpProgram::attach(dp::XdpProgramOptions{
      .interface = interface,
      .udpPort = udpPort,
      .mode = mode == "skb" ? dp::XdpAttachMode::kSkb : dp::XdpAttachMode::kNative});
  if (!program) {
    std::fprintf(stderr, "xdp-probe: %s\n", program.error().describe().c_str());
    return 1;
  }
  auto port = dp::XdpPort::create(
      **program, dp::XdpPortOptions{.interface = interface,
                                    .queue = queue,
                                    .bind = bind == "copy"       ? dp::XdpBindMode::kCopy
                                            : bind == "zerocopy" ? dp::XdpBindMode::kZeroCopy
                                                                 : dp::XdpBindMode::kAuto});
  if (!port) {
    std::fprintf(stderr, "xdp-probe: %s\n", port.error().describe().c_str());
    return 1;
  }
  FILE* out = nullptr;
  if (!outPath.empty() && (out = std::fopen(outPath.c_str(), "w")) == nullptr) {
    std::fprintf(stderr, "xdp-probe: %s: %s\n", outPath.c_str(), std::strerror(errno));
    return 1;
  }
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  std::printf("xdp-probe ready interface=%s queue=%u mode=%s dispatcher=%d zero_copy=%d\n",
              interface.c_str(), queue, (*program)->modeName(), (*program)->dispatcher() ? 1 : 0,
              (*port)->zeroCopy() ? 1 : 0);
  std::fflush(stdout);

  dp::XdpPort& p = **port;
  dp::XdpRxBurst burst;
  uint64_t received = 0;
  uint64_t deadlineNs = dp::monotonicNs() + static_cast<uint64_t>(timeoutS * 1e9);
  while (!stopRequested.load(std::memory_order_relaxed) && (count == 0 || received < count) &&
         dp::monotonicNs() < deadlineNs) {
    size_t n = p.receive(burst);
    for (size_t i = 0; i < n; ++i) {
      std::span<uint8_t> payload = burst.datagram(i);
      if (out != nullptr) {
        std::fprintf(out, "%s %s ", dp::toString(burst.sources[i]).c_str(),
                     dp::toString(burst.destinations[i]).c_str());
        writeHex(out, payload);
        std::fputc('\n', out);
      }
      if (echo) {
        std::span<uint8_t> reply = p.txNext();
        if (reply.size() >= payload.size() + 5) {
          std::memcpy(reply.data(), "echo:", 5);
          std::memcpy(reply.data() + 5, payload.data(), payload.size());
          p.txCommit(payload.size() + 5, burst.sources[i], burst.destinations[i]);
        }
      }
    }
    received += n;
    p.release(burst);
    p.txFlush();
    if (n == 0) p.waitReadable(20);
  }
  // Let the last replies leave: bounded, a stuck TX ring must not hang the probe.
  for (int i = 0; i < 100 && p.txInFlight() > 0; ++i) {
    p.txFlush();
    usleep(1000);
  }
  if (out != nullptr) std::fclose(out);
  std::printf("xdp-probe received=%llu\n", static_cast<unsigned long long>(received));
  printCounters(**program, p);
  return 0;
}
