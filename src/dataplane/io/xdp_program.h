#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "braid_xdp_shared.h"
#include "dataplane/proto/result.h"

struct braid_xdp_bpf;
struct xdp_program;

namespace braid::dp {

enum class XdpAttachMode {
  kNative,  // in the driver (veth has it; the fast path)
  kSkb,     // generic XDP after the kernel allocated the skb: any device, slower
};

struct XdpProgramOptions {
  std::string interface;
  uint16_t udpPort = 0;  // the gateway's UDP port, host order
  XdpAttachMode mode = XdpAttachMode::kNative;
};

// Per-reason totals of the XDP program, summed over CPUs; indexed by braid_xdp_stat.
struct XdpProgramStats {
  std::array<braid_xdp_counter, BRAID_XDP_STAT_COUNT> counters{};

  uint64_t packets(braid_xdp_stat stat) const { return counters[stat].packets; }
  // Packets the program dropped, all reasons.
  uint64_t dropped() const;
};

// The metric name suffix of a statistic ("redirected", "too_short", ...). Any thread.
const char* xdpStatName(braid_xdp_stat stat);

// bpf/braid_xdp.bpf.c loaded into the kernel: the junk filter and AF_XDP steering for one
// UDP port on one interface. Attached through libxdp, which puts it behind its dispatcher so
// other XDP programs on the interface keep running (and falls back to a plain attach when the
// kernel or a missing bpffs rules the dispatcher out). Owns the attachment: the destructor
// detaches. Create, destroy and read on the control thread; the data path never calls it.
class XdpProgram {
 public:
  ~XdpProgram();
  XdpProgram(const XdpProgram&) = delete;
  XdpProgram& operator=(const XdpProgram&) = delete;

  // Loads the program for `options.udpPort` and attaches it to `options.interface`.
  static Result<std::unique_ptr<XdpProgram>> attach(const XdpProgramOptions& options);
  // Loads the program for `udpPort` without attaching it anywhere: for running it on packet
  // fixtures (bpf_prog_test_run_opts on programFd()) in tests and benchmarks.
  static Result<std::unique_ptr<XdpProgram>> loadDetached(uint16_t udpPort);

  int programFd() const;
  // The XSKMAP (rx queue index -> AF_XDP socket) that XdpPort registers in.
  int xskMapFd() const;
  int ifindex() const { return ifindex_; }
  const std::string& interface() const { return options_.interface; }
  // True when libxdp attached through its dispatcher (multi-program), false for a plain
  // attach or a detached program.
  bool dispatcher() const { return dispatcher_; }
  const char* modeName() const;

  // Reads and sums the per-CPU statistics map (one syscall). Control thread.
  Result<XdpProgramStats> readStats() const;

 private:
  explicit XdpProgram(XdpProgramOptions options) : options_(std::move(options)) {}

  XdpProgramOptions options_;
  braid_xdp_bpf* skeleton_ = nullptr;
  xdp_program* program_ = nullptr;  // libxdp's handle; null when detached
  int ifindex_ = 0;
  bool attached_ = false;
  bool dispatcher_ = false;
};

}  // namespace braid::dp
