#pragma once

#include <xdp/xsk.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/counter.h"
#include "dataplane/io/neighbour_table.h"
#include "dataplane/io/socket_address.h"
#include "dataplane/io/udp_frame.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

class XdpProgram;

enum class XdpBindMode {
  kAuto,      // zero-copy where the driver has it, copy mode otherwise (veth: copy only)
  kCopy,      // always copy mode
  kZeroCopy,  // zero-copy or fail
};

struct XdpPortOptions {
  std::string interface;
  uint32_t queue = 0;
  // UMEM frames (4 KiB each, no hugepages): half feed the fill ring, half carry replies.
  uint32_t frameCount = 4096;
  // Descriptors per ring (RX, TX, fill, completion); a power of two, >= frameCount / 2.
  uint32_t ringSize = 2048;
  XdpBindMode bind = XdpBindMode::kAuto;
  // Shared by the ports of one interface, or null: the next-hop MAC that any of them learnt
  // last (48 bits; bit 63 set once valid). A reply to a peer this socket never received
  // from goes there (the router, or the veth peer) instead of being refused: a gateway
  // worker answers the links of its sessions, which may reach the host through another
  // queue.
  std::atomic<uint64_t>* lastHop = nullptr;
};

// Datagrams taken from the RX ring by one XdpPort::receive call, in RxBatch's shape. The
// payloads point into the UMEM: valid, and writable in place (decryption), until release().
struct XdpRxBurst {
  std::array<std::span<uint8_t>, kBurstSize> payloads{};
  std::array<SocketAddress, kBurstSize> sources;
  std::array<SocketAddress, kBurstSize> destinations;  // the local address the peer sent to
  size_t count = 0;

  std::span<uint8_t> datagram(size_t i) { return payloads[i]; }

 private:
  friend class XdpPort;
  std::array<uint64_t, kBurstSize> frames_{};  // every descriptor taken, valid or not
  size_t taken_ = 0;
};

// Per-port counters: written by the owner thread, read by any thread.
struct XdpPortCounters {
  OwnedCounter rxPackets;
  OwnedCounter rxBytes;
  OwnedCounter rxBadFrames;  // not UDP over IPv4/IPv6 (the XDP program lets none through)
  OwnedCounter rxWakeups;    // recvfrom kicks because the fill ring needed a wakeup
  OwnedCounter txPackets;
  OwnedCounter txBytes;
  OwnedCounter txNoFrame;      // no free UMEM frame for a reply (completions lag)
  OwnedCounter txNoNeighbour;  // reply to a peer we never received from: no MAC to send to
  OwnedCounter txViaLastHop;   // replies to such a peer sent to options.lastHop instead
  OwnedCounter txRingFull;     // the TX ring had no room: reply dropped
  OwnedCounter txWakeups;      // sendto kicks because the TX ring needed a wakeup
};

// One AF_XDP socket on (interface, queue) with its own UMEM, fed by bpf/braid_xdp.bpf.c
// through the program's XSKMAP. Receives UDP datagrams for the gateway port in bursts and
// sends replies as whole Ethernet/IP/UDP frames built in UMEM frames. Uses need_wakeup: the
// kernel is kicked (one recvfrom/sendto) only when a ring says so. Nothing on the rx/tx path
// allocates, locks or logs. One owner thread for everything but counters().
class XdpPort {
 public:
  ~XdpPort();
  XdpPort(const XdpPort&) = delete;
  XdpPort& operator=(const XdpPort&) = delete;

  // Creates the UMEM and socket on `options.interface`/`options.queue` and registers it in
  // `program`'s XSKMAP (borrowed for the call: closing the socket removes the entry, so the
  // port may outlive the program). Any thread, then hand the port to its owner.
  static Result<std::unique_ptr<XdpPort>> create(const XdpProgram& program,
                                                 const XdpPortOptions& options);

  // The socket: poll() it for POLLIN to sleep while idle (poll also wakes the driver).
  int fd() const;
  bool zeroCopy() const { return zeroCopy_; }
  const XdpPortOptions& options() const { return options_; }
  const XdpPortCounters& counters() const { return counters_; }

  // Takes up to kBurstSize datagrams from the RX ring into `burst` (releasing what it still
  // held first); returns how many are valid datagrams (burst.count). Owner thread.
  size_t receive(XdpRxBurst& burst) noexcept;
  // Hands the burst's frames back to the fill ring; its payloads are invalid afterwards.
  // Owner thread.
  void release(XdpRxBurst& burst) noexcept;

  // A UMEM frame's payload area for one reply (at least kDatagramCapacity bytes), or an empty
  // span when every TX frame is in flight. Fill it, then txCommit(). Owner thread.
  std::span<uint8_t> txNext() noexcept;
  // Queues the txNext() buffer's first `size` bytes as a datagram `from` (a local address,
  // e.g. the destination of the request) `to` a peer we received from. Sends the queue when
  // it holds a burst. Owner thread.
  void txCommit(size_t size, const SocketAddress& to, const SocketAddress& from) noexcept;
  // Puts the queued replies on the TX ring, kicks the kernel if it asks, and recycles the
  // frames it finished. Returns how many went on the ring. Owner thread.
  size_t txFlush() noexcept;

  // Replies on the TX ring or in the kernel, not yet completed. Owner thread.
  size_t txInFlight() const { return txInFlight_; }

  // Waits until the RX ring has data or the timeout passes; true if readable. Owner thread.
  bool waitReadable(int timeoutMs) const noexcept;

 private:
  explicit XdpPort(XdpPortOptions options) : options_(std::move(options)) {}
  Result<void> setUp(const XdpProgram& program);
  Result<void> createSocket(const XdpProgram& program, bool zeroCopy);
  void closeSocket();
  void reapCompletions() noexcept;

  XdpPortOptions options_;
  uint8_t* area_ = nullptr;  // the UMEM, mmap'ed
  size_t areaSize_ = 0;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fill_{};
  xsk_ring_cons completion_{};
  xsk_ring_cons rx_{};
  xsk_ring_prod tx_{};
  bool zeroCopy_ = false;
  MacAddress localMac_{};

  // TX frames not in flight (a stack; capacity fixed at creation).
  std::vector<uint64_t> txFree_;
  size_t txFreeCount_ = 0;
  // The frame txNext() handed out and its descriptors queued for the next flush.
  uint64_t txCurrent_ = kNoFrame;
  std::array<xdp_desc, kBurstSize> txQueued_{};
  size_t txQueuedCount_ = 0;
  uint64_t txQueuedBytes_ = 0;
  // Frames on the TX ring or in the kernel, not yet back through the completion ring.
  size_t txInFlight_ = 0;
  static constexpr uint64_t kNoFrame = ~uint64_t{0};

  NeighbourTable neighbours_;
  uint64_t lastHopSeen_ = 0;  // what this port last stored in options_.lastHop
  XdpPortCounters counters_;
};

}  // namespace braid::dp
