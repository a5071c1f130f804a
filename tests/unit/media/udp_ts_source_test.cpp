#include "edge/media/udp_ts_source.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dataplane/io/udp_socket.h"
#include "media_test_util.h"

namespace braid::edge {
namespace {

std::vector<uint8_t> packets(size_t count, uint8_t firstCc) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < count; ++i) {
    auto p = test::makeTsPacket(300, static_cast<uint8_t>(firstCc + i), std::nullopt);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

class UdpTsSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<test::FakeClock>(5'000);
    auto source = UdpTsSource::open(*dp::parseSocketAddress("127.0.0.1:0"),
                                    {.receiveBufferBytes = 1 << 20, .clock = clock_});
    ASSERT_TRUE(source) << source.error().describe();
    source_ = std::move(*source);
    auto sender = dp::UdpSocket::bind(*dp::parseSocketAddress("127.0.0.1:0"));
    ASSERT_TRUE(sender);
    sender_ = std::move(*sender);
  }

  void send(const std::vector<uint8_t>& datagram) {
    ASSERT_TRUE(sender_.sendTo(datagram, source_->localAddress()));
  }

  // Reads until `count` packets arrived (or 2 s of real waiting passed).
  std::vector<uint8_t> receive(size_t count, std::vector<uint64_t>* times = nullptr) {
    std::vector<uint8_t> got;
    auto batch = std::make_unique<TsBatch>();
    for (int tries = 0; got.size() < count * kTsPacketSize && tries < 200; ++tries) {
      auto n = source_->read(*batch);
      EXPECT_TRUE(n) << n.error().describe();
      if (!n) break;
      if (*n == 0) {
        source_->wait(10'000);
        continue;
      }
      auto data = batch->data();
      got.insert(got.end(), data.begin(), data.end());
      for (size_t i = 0; times && i < batch->count; ++i) times->push_back(batch->mediaTimeUs[i]);
    }
    return got;
  }

  std::shared_ptr<test::FakeClock> clock_;
  std::unique_ptr<UdpTsSource> source_;
  dp::UdpSocket sender_;
};

TEST_F(UdpTsSourceTest, DeliversDatagramsInOrderWithArrivalTime) {
  EXPECT_NE(source_->localAddress().port(), 0);
  std::vector<uint8_t> expected;
  for (int i = 0; i < 50; ++i) {  // 350 packets: more than one TsBatch
    auto d = packets(7, static_cast<uint8_t>(i * 7));
    send(d);
    expected.insert(expected.end(), d.begin(), d.end());
  }
  clock_->set(8'000);
  std::vector<uint64_t> times;
  auto got = receive(350, &times);
  EXPECT_EQ(got, expected);
  ASSERT_EQ(times.size(), 350u);
  EXPECT_EQ(times.front(), 3'000u);  // arrival time since the source was opened
  EXPECT_EQ(source_->mediaNowUs(), 3'000u);
  EXPECT_EQ(source_->counters().datagrams.read(), 50u);
  EXPECT_EQ(source_->counters().packets.read(), 350u);
  EXPECT_EQ(source_->counters().badDatagrams.read(), 0u);
  EXPECT_FALSE(source_->finished());
}

TEST_F(UdpTsSourceTest, StripsRtpAndCountsBrokenDatagrams) {
  auto payload = packets(7, 0);
  std::vector<uint8_t> rtp = {0x80, 33, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};  // RTP, MP2T
  rtp.insert(rtp.end(), payload.begin(), payload.end());
  send(rtp);

  auto cut = packets(3, 7);
  cut.resize(cut.size() - 100);  // 2 whole packets and 88 stray bytes
  send(cut);

  auto bad = packets(2, 10);
  bad[kTsPacketSize] = 0x00;  // second packet lost sync
  send(bad);

  auto got = receive(10);
  std::vector<uint8_t> expected = payload;
  expected.insert(expected.end(), cut.begin(), cut.begin() + 2 * kTsPacketSize);
  expected.insert(expected.end(), bad.begin(), bad.begin() + kTsPacketSize);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(source_->counters().badDatagrams.read(), 1u);
  EXPECT_EQ(source_->counters().skippedBytes.read(), 88u + kTsPacketSize);
}

TEST_F(UdpTsSourceTest, WaitReturnsWhenNothingArrives) {
  auto batch = std::make_unique<TsBatch>();
  auto n = source_->read(*batch);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  source_->wait(1000);  // returns after ~1 ms
  n = source_->read(*batch);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

}  // namespace
}  // namespace braid::edge
