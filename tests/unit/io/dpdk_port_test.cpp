// DpdkPort on DPDK's net_ring vdev (a loopback: what a queue transmits, it receives), without
// hugepages, NIC or root: frames injected on the queue come out of receive() as datagrams or
// are answered (ARP, ping) or dropped, and transmit() builds frames a parser reads back.
#include "dataplane/io/dpdk_port.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/io/local_reply.h"
#include "dataplane/io/udp_frame.h"
#include "dpdk_frames.h"

namespace braid::dp {
namespace {

const MacAddress kPeerMac = {0x02, 0, 0, 0, 0, 0x0b};
constexpr uint16_t kPortId = 0;

SocketAddress addr(const char* text) {
  return *parseSocketAddress(text);
}

// The EAL runs once per process: one device for every test.
class DpdkPortTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto device = DpdkDevice::create(
        "--no-huge -m 128 --no-pci --no-shconf --no-telemetry -l 0 --log-level=*:error "
        "--vdev=net_ring0",
        kPortId, addr("10.95.0.1:7400"), 1);
    if (!device) {
      setupError_ = new std::string(device.error().context);
      return;
    }
    device_ = device->release();
    auto port = device_->makePort(0);
    ASSERT_TRUE(port) << port.error().context;
    port_ = static_cast<DpdkPort*>(port->release());
    pool_ =
        rte_pktmbuf_pool_create("test_inject", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  static void TearDownTestSuite() {
    delete port_;
    rte_mempool_free(pool_);
    delete device_;
  }
  void SetUp() override {
    if (setupError_ != nullptr) GTEST_SKIP() << "no DPDK EAL here: " << *setupError_;
    drain();
  }

  // Puts `frame` on the queue as if the wire had delivered it.
  static void inject(const std::vector<uint8_t>& frame) { test::putFrame(pool_, kPortId, frame); }
  // What the port sent (the loopback returns it on the rx queue), as byte vectors.
  static std::vector<std::vector<uint8_t>> drain() { return test::takeFrames(kPortId); }
  static std::vector<uint8_t> udpFrame(const SocketAddress& from, const SocketAddress& to,
                                       const std::vector<uint8_t>& payload) {
    size_t header = udpFrameHeaderSize(from, to);
    std::vector<uint8_t> f(header + payload.size());
    std::memcpy(f.data() + header, payload.data(), payload.size());
    EXPECT_TRUE(writeUdpFrameHeaders({f.data(), header}, kPeerMac, {0x02, 0, 0, 0, 0, 0x01}, from,
                                     to, payload));
    return f;
  }

  static inline std::string* setupError_ = nullptr;
  static inline DpdkDevice* device_ = nullptr;
  static inline DpdkPort* port_ = nullptr;
  static inline rte_mempool* pool_ = nullptr;
};

TEST_F(DpdkPortTest, DatagramsForTheListenAddressReachTheWorkerOthersAreDropped) {
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5, 6, 7};
  inject(udpFrame(addr("10.95.0.2:40000"), addr("10.95.0.1:7400"), payload));
  inject(udpFrame(addr("10.95.0.2:40000"), addr("10.95.0.1:7401"), payload));  // other port
  inject(udpFrame(addr("10.95.0.2:40000"), addr("10.95.0.9:7400"), payload));  // other IP
  uint64_t droppedBefore = port_->dpdkCounters().otherDropped.read();
  RxBurst burst;
  ASSERT_EQ(port_->receive(burst), 1u);
  EXPECT_EQ(burst.sources[0], addr("10.95.0.2:40000"));
  EXPECT_EQ(std::vector<uint8_t>(burst.packets[0].begin(), burst.packets[0].end()), payload);
  port_->release(burst);
  EXPECT_EQ(port_->dpdkCounters().otherDropped.read() - droppedBefore, 2u);
}

TEST_F(DpdkPortTest, TransmitBuildsFramesToTheLearntNeighbour) {
  inject(udpFrame(addr("10.95.0.2:40000"), addr("10.95.0.1:7400"), {9}));
  RxBurst burst;
  ASSERT_EQ(port_->receive(burst), 1u);
  port_->release(burst);

  auto batch = std::make_unique<TxBatch>();
  for (uint8_t i = 0; i < 3; ++i) {
    auto buffer = batch->next();
    std::memset(buffer.data(), 0x40 + i, 100 + i);
    batch->commit(100 + i, addr("10.95.0.2:40000"));
  }
  uint64_t callsBefore = port_->counters().txCalls.read();
  EXPECT_EQ(port_->transmit(*batch), 3u);
  EXPECT_EQ(batch->count, 0u);
  EXPECT_EQ(port_->counters().txCalls.read() - callsBefore, 1u);  // one burst for the batch
  auto sent = drain();
  ASSERT_EQ(sent.size(), 3u);
  for (size_t i = 0; i < sent.size(); ++i) {
    UdpFrameView view;
    ASSERT_TRUE(parseUdpFrame(sent[i], view));
    EXPECT_EQ(view.source, addr("10.95.0.1:7400"));
    EXPECT_EQ(view.destination, addr("10.95.0.2:40000"));
    EXPECT_EQ(view.destinationMac, kPeerMac);
    EXPECT_EQ(view.payload.size(), 100 + i);
    EXPECT_EQ(view.payload[0], 0x40 + i);
  }
}

TEST_F(DpdkPortTest, AnswersArpOnTheQueue) {
  std::vector<uint8_t> arp(60, 0);
  const uint8_t request[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,  0, 0,    0,
                             0x0c, 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6,  4, 0x00, 0x01,
                             0x02, 0,    0,    0,    0,    0x0c, 10,   95, 0, 3,    0,
                             0,    0,    0,    0,    0,    10,   95,   0,  1};
  std::memcpy(arp.data(), request, sizeof(request));
  inject(arp);
  uint64_t answeredBefore = port_->dpdkCounters().arpAnswered.read();
  RxBurst burst;
  EXPECT_EQ(port_->receive(burst), 0u);
  EXPECT_EQ(port_->dpdkCounters().arpAnswered.read() - answeredBefore, 1u);
  auto sent = drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0][21], 2);                                              // an ARP reply
  EXPECT_EQ(0, std::memcmp(sent[0].data(), "\x02\0\0\0\0\x0c", 6));       // to the asker
  EXPECT_EQ(0, std::memcmp(sent[0].data() + 28, "\x0a\x5f\x00\x01", 4));  // for our IP
}

}  // namespace
}  // namespace braid::dp
