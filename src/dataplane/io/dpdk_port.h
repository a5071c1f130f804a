#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "dataplane/io/neighbour_table.h"
#include "dataplane/io/packet_port.h"
#include "dataplane/io/udp_frame.h"
#include "dataplane/proto/result.h"

struct rte_mbuf;
struct rte_mempool;

namespace braid::dp {

// What the DPDK port saw besides Braid datagrams. Owner worker writes, any thread reads.
struct alignas(64) DpdkPortCounters {
  OwnedCounter arpAnswered;        // ARP requests for the gateway's address, answered
  OwnedCounter icmpAnswered;       // ICMP echo requests to it, answered
  OwnedCounter otherDropped;       // frames neither for the Braid port nor answerable: dropped
                                   // (no exception port, or its queue was full)
  OwnedCounter toKernel;           // such frames handed to the exception port
  OwnedCounter fromKernel;         // frames from the exception port sent out on the device
  OwnedCounter fromKernelDropped;  // of those, refused by the device's tx queue
  OwnedCounter noNeighbour;        // replies to a peer whose next-hop MAC is not known yet
  OwnedCounter noMbuf;             // replies dropped because the mbuf pool was empty
};

class DpdkPort;

// One DPDK ethdev for the gateway: the EAL (initialised once per process), the device
// configured with one rx/tx queue pair per worker, and the mbuf pool they share. Must outlive
// its ports (they share its pool and next-hop cell). Control thread.
class DpdkDevice {
 public:
  // Initialises the EAL from `ealArgs` (whitespace-separated, e.g. "--no-huge -m 256
  // --no-pci --no-shconf --vdev=net_af_packet0,iface=eth1,qpairs=2"), then configures and
  // starts ethdev `portId` with `workers` queue pairs. `listen` must name the gateway's own
  // address with a fixed port: the kernel does not know the DPDK NIC's address.
  // `exceptionPortId`, if set, is a second ethdev (a net_tap vdev: a kernel TAP interface)
  // configured the same way and given the device's MAC: frames that are neither Braid
  // datagrams nor ARP/ICMP requests for the gateway go to it, and what the kernel sends on it
  // goes out on the device. Returns the device or an error that names the cause (EAL init, no
  // such port, too few queues, not root). The EAL cannot be initialised twice: a second call
  // in one process fails.
  static Result<std::unique_ptr<DpdkDevice>> create(
      const std::string& ealArgs, uint16_t portId, const SocketAddress& listen, unsigned workers,
      std::optional<uint16_t> exceptionPortId = std::nullopt);
  ~DpdkDevice();
  DpdkDevice(const DpdkDevice&) = delete;
  DpdkDevice& operator=(const DpdkDevice&) = delete;

  // Worker `index`'s port: queue pair `index`. Control thread, before the worker starts.
  Result<std::unique_ptr<PacketPort>> makePort(unsigned index);

  // " dpdk_rx_missed=N dpdk_arp_answered=N ..." for the stats line: the device's drops
  // (rte_eth_stats) and the ports' counters. Control thread.
  std::string statsFields() const;
  const std::string& driverName() const { return driver_; }
  uint16_t queueCount() const { return queues_; }

 private:
  DpdkDevice(uint16_t portId, uint16_t queues, rte_mempool* pool, const MacAddress& mac,
             const SocketAddress& listen, std::string driver)
      : portId_(portId),
        queues_(queues),
        pool_(pool),
        mac_(mac),
        listen_(listen),
        driver_(std::move(driver)) {}

  uint16_t portId_;
  std::optional<uint16_t> exceptionPortId_;  // set once it is started
  uint16_t queues_;
  rte_mempool* pool_;
  MacAddress mac_;
  SocketAddress listen_;
  std::string driver_;
  std::vector<const DpdkPort*> ports_;
  // The next-hop MAC the ports learnt last (see DpdkPort::transmit).
  std::atomic<uint64_t> lastHop_{0};
};

// The DPDK backend of a gateway worker: a PacketPort over one rx/tx queue pair of an ethdev.
// receive() polls one rx burst, hands out the UDP payloads for the gateway's address and
// port (views into the mbufs, kept until release()), answers ARP and ICMP echo requests for
// that address on the same queue, and hands everything else to the exception port (the
// kernel) if the device has one, else counts and frees it; at most once a millisecond it
// sends what the kernel wrote on the exception port out on its queue. transmit() builds one
// frame per datagram in a fresh mbuf and sends the batch with one tx burst. DPDK queues
// cannot wake a thread, so wakeFd() is a timerfd that prepareSleep() arms for a poll
// interval (100 µs after traffic, backing off to 1 ms while the queue stays empty). Counters:
// rxCalls are rx bursts that returned frames, txCalls tx bursts. Owner worker thread only (created
// by DpdkDevice on the control thread).
class DpdkPort final : public PacketPort {
 public:
  ~DpdkPort() override;
  DpdkPort(const DpdkPort&) = delete;
  DpdkPort& operator=(const DpdkPort&) = delete;

  size_t receive(RxBurst& burst) noexcept override;
  void release(RxBurst& burst) noexcept override;
  size_t transmit(TxBatch& batch) noexcept override;
  int wakeFd() const noexcept override { return timerFd_; }
  void prepareSleep() noexcept override;
  SocketAddress localAddress() const noexcept override { return listen_; }

  const DpdkPortCounters& dpdkCounters() const noexcept { return dpdkCounters_; }

 private:
  friend class DpdkDevice;
  DpdkPort(uint16_t portId, uint16_t queue, rte_mempool* pool, const MacAddress& mac,
           const SocketAddress& listen, std::atomic<uint64_t>* lastHop, int timerFd,
           std::optional<uint16_t> exceptionPortId);
  // Sends the ARP/ICMP answers collected during a receive().
  void flushLocalReplies() noexcept;
  // Hands the frames collected during a receive() to the exception port.
  void flushToKernel(std::span<rte_mbuf*> frames) noexcept;
  // Sends what the kernel wrote on the exception port out on the device; at most once per
  // kExceptionPollCycles (a TAP rx burst is a read() per frame and one when empty).
  void forwardFromKernel() noexcept;

  uint16_t portId_;
  uint16_t queue_;
  std::optional<uint16_t> exceptionPortId_;
  uint64_t nextExceptionPollTsc_ = 0;
  rte_mempool* pool_;
  MacAddress mac_;
  SocketAddress listen_;
  uint32_t ownIpv4_ = 0;  // network byte order; 0 when listening on IPv6
  std::atomic<uint64_t>* lastHop_;
  int timerFd_;
  unsigned emptySleeps_ = 0;  // sleeps since the last frame: the poll interval backs off
  std::array<rte_mbuf*, kBurstSize> held_{};  // the mbufs behind the current RxBurst
  size_t heldCount_ = 0;
  std::array<rte_mbuf*, kBurstSize> replies_{};
  size_t replyCount_ = 0;
  std::unique_ptr<NeighbourTable> neighbours_ = std::make_unique<NeighbourTable>();
  DpdkPortCounters dpdkCounters_;
};

}  // namespace braid::dp
