// The DPDK exception path on two net_ring vdevs (loopbacks: what a queue transmits, it
// receives), without hugepages, NIC or root: port 0 stands for the NIC, port 1 for the TAP to
// the kernel. A frame that is not for the gateway goes to port 1; what port 1 delivers (the
// kernel's frames) goes out on port 0. A process initialises the EAL once, hence a test
// program of its own.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "dataplane/io/dpdk_port.h"
#include "dataplane/io/udp_frame.h"
#include "dpdk_frames.h"

namespace braid::dp {
namespace {

constexpr uint16_t kNicPort = 0;
constexpr uint16_t kTapPort = 1;

SocketAddress addr(const char* text) {
  return *parseSocketAddress(text);
}

std::vector<uint8_t> udpFrame(const SocketAddress& from, const SocketAddress& to, uint8_t fill) {
  const std::vector<uint8_t> payload(40, fill);
  size_t header = udpFrameHeaderSize(from, to);
  std::vector<uint8_t> f(header + payload.size());
  std::memcpy(f.data() + header, payload.data(), payload.size());
  EXPECT_TRUE(writeUdpFrameHeaders({f.data(), header}, {0x02, 0, 0, 0, 0, 0x0b},
                                   {0x02, 0, 0, 0, 0, 0x01}, from, to, payload));
  return f;
}

TEST(DpdkExceptionPath, OtherFramesGoToTheKernelAndTheKernelsFramesGoOut) {
  auto device = DpdkDevice::create(
      "--no-huge -m 128 --no-pci --no-shconf --no-telemetry -l 0 --log-level=*:error "
      "--vdev=net_ring0 --vdev=net_ring1",
      kNicPort, addr("10.95.0.1:7400"), 1, kTapPort);
  if (!device && device.error().context.find("EAL init") != std::string::npos) {
    GTEST_SKIP() << "no DPDK EAL here: " << device.error().context;
  }
  ASSERT_TRUE(device) << device.error().context;
  auto made = (*device)->makePort(0);
  ASSERT_TRUE(made) << made.error().context;
  auto* port = static_cast<DpdkPort*>(made->get());
  rte_mempool* pool =
      rte_pktmbuf_pool_create("test_inject", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);

  // From the wire: one Braid datagram, one datagram for another port (an admin service).
  const auto braid = udpFrame(addr("10.95.0.2:40000"), addr("10.95.0.1:7400"), 1);
  const auto admin = udpFrame(addr("10.95.0.2:40000"), addr("10.95.0.1:22"), 2);
  test::putFrame(pool, kNicPort, braid);
  test::putFrame(pool, kNicPort, admin);
  RxBurst burst;
  EXPECT_EQ(port->receive(burst), 1u);
  port->release(burst);
  EXPECT_EQ(port->dpdkCounters().toKernel.read(), 1u);
  EXPECT_EQ(port->dpdkCounters().otherDropped.read(), 0u);
  auto atKernel = test::takeFrames(kTapPort);
  ASSERT_EQ(atKernel.size(), 1u);
  EXPECT_EQ(atKernel[0], admin);

  // From the kernel: a frame it writes on the TAP leaves on the NIC at the next poll (at most
  // a millisecond later).
  const auto reply = udpFrame(addr("10.95.0.1:22"), addr("10.95.0.2:40000"), 3);
  test::putFrame(pool, kTapPort, reply);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  // The NIC loopback returns the kernel's frame on the rx queue, and receive() passes it to the
  // kernel again (it is not for the gateway): both directions in one call.
  EXPECT_EQ(port->receive(burst), 0u);
  port->release(burst);
  EXPECT_EQ(port->dpdkCounters().fromKernel.read(), 1u);
  EXPECT_EQ(port->dpdkCounters().toKernel.read(), 2u);
  auto again = test::takeFrames(kTapPort);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], reply);
  EXPECT_NE((*device)->statsFields().find("dpdk_to_kernel=2 dpdk_from_kernel=1"), std::string::npos)
      << (*device)->statsFields();

  made->reset();
  rte_mempool_free(pool);
}

}  // namespace
}  // namespace braid::dp
