#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/io/packet_port.h"
#include "dataplane/io/socket_address.h"
#include "dataplane/io/xdp_program.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

// The gateway's AF_XDP backend (gateway.backend = "af_xdp"): the XDP junk filter attached
// to one interface for the listen port, and one AF_XDP port per worker, worker i on rx
// queue i. Must outlive the workers' ports (they share its next-hop cell). Control thread.
class XdpBackend {
 public:
  // Checks the interface (exists, exactly `workers` rx queues) and attaches the program.
  // Returns the backend, or an error that names the cause (missing interface, queue count,
  // privileges, attach failure).
  static Result<std::unique_ptr<XdpBackend>> create(const std::string& interface,
                                                    const SocketAddress& listen, unsigned workers);

  // Worker `index`'s port: an AF_XDP socket on rx queue `index`. Control thread, before the
  // worker starts.
  Result<std::unique_ptr<PacketPort>> makePort(unsigned index);

  // The program's per-reason totals (one map read). Control or scraper thread.
  Result<XdpProgramStats> readStats() const { return program_->readStats(); }
  // " xdp_redirected=N xdp_no_socket=N xsk_rx_dropped=N xsk_rx_ring_full=N
  // xsk_fill_empty=N xdp_drop_REASON=N ..." (reasons with a count only) for the stats line:
  // the program's map, then what the kernel could not put on the workers' RX rings. Empty if
  // the map cannot be read. Control thread.
  std::string statsFields() const;
  const XdpProgram& program() const { return *program_; }

 private:
  XdpBackend(std::unique_ptr<XdpProgram> program, const std::string& interface,
             const SocketAddress& listen)
      : program_(std::move(program)), interface_(interface), listen_(listen) {}

  std::unique_ptr<XdpProgram> program_;
  std::string interface_;
  SocketAddress listen_;
  bool zeroCopyLogged_ = false;
  // The workers' AF_XDP sockets (owned by their ports), for the kernel's per-socket drop
  // statistics: getsockopt is safe from the control thread.
  std::vector<int> socketFds_;
  // The next-hop MAC the ports learnt last (XdpPortOptions::lastHop).
  std::atomic<uint64_t> lastHop_{0};
};

// How many rx queues `interface` has (/sys/class/net/IF/queues/rx-*). Any thread.
Result<unsigned> rxQueueCount(const std::string& interface);

}  // namespace braid::dp
