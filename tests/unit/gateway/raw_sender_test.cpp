// braid-loadgen's raw sender: datagrams built with each link's own source address and port
// arrive as if that link's UDP socket had sent them (over loopback; needs CAP_NET_RAW).
#include "raw_udp_sender.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "dataplane/io/udp_socket.h"

namespace braid::bench {
namespace {

TEST(RawUdpSender, DatagramsArriveFromTheNamedSourcesInOneBatch) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a raw socket); CI runs it as root";
  auto loopback = *dp::parseSocketAddress("127.0.0.1:0");
  auto receiver = dp::UdpSocket::bind(loopback);
  auto linkA = dp::UdpSocket::bind(loopback);
  auto linkB = dp::UdpSocket::bind(loopback);
  ASSERT_TRUE(receiver && linkA && linkB);
  auto destination = *receiver->localAddress();
  auto sender = RawUdpSender::open(destination);
  ASSERT_TRUE(sender) << sender.error().describe();

  std::vector<std::vector<uint8_t>> frames;
  std::vector<dp::SocketAddress> sources;
  for (int i = 0; i < 40; ++i) {
    const auto source = *(i % 2 == 0 ? linkA : linkB)->localAddress();
    std::vector<uint8_t> frame(RawUdpSender::kHeaderBytes + 100 + i, static_cast<uint8_t>(i));
    ASSERT_TRUE(sender->writeHeaders(source, frame.size() - RawUdpSender::kHeaderBytes,
                                     std::span(frame).first<RawUdpSender::kHeaderBytes>()));
    frames.push_back(std::move(frame));
    sources.push_back(source);
  }
  std::vector<std::span<const uint8_t>> spans(frames.begin(), frames.end());
  EXPECT_EQ(sender->send(spans), frames.size());

  auto batch = std::make_unique<dp::RxBatch>();
  size_t received = 0;
  while (received < frames.size()) {
    pollfd p{receiver->fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 2000), 0) << "only " << received << " datagrams arrived";
    int n = receiver->receiveBatch(*batch);
    ASSERT_GE(n, 0);
    for (int k = 0; k < n; ++k, ++received) {
      std::span<const uint8_t> got = batch->datagram(static_cast<size_t>(k));
      std::span<const uint8_t> sent =
          std::span<const uint8_t>(frames[received]).subspan(RawUdpSender::kHeaderBytes);
      EXPECT_TRUE(std::equal(got.begin(), got.end(), sent.begin(), sent.end())) << received;
      EXPECT_EQ(batch->sources[static_cast<size_t>(k)], sources[received]) << received;
    }
  }
}

TEST(RawUdpSender, RefusesWhatItCannotSend) {
  auto v6 = *dp::parseSocketAddress("[::1]:7400");
  auto opened = RawUdpSender::open(v6);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().describe().find("IPv4"), std::string::npos);
  if (::geteuid() != 0) return;  // the rest needs the socket
  auto sender = RawUdpSender::open(*dp::parseSocketAddress("127.0.0.1:7400"));
  ASSERT_TRUE(sender);
  std::array<uint8_t, RawUdpSender::kHeaderBytes> header{};
  EXPECT_FALSE(sender->writeHeaders(v6, 100, header));
  EXPECT_FALSE(sender->writeHeaders(*dp::parseSocketAddress("127.0.0.1:1"), 70000, header));
}

}  // namespace
}  // namespace braid::bench
