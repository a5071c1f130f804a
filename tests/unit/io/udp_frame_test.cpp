// Ethernet/IP/UDP framing of the kernel-bypass backends: build, parse back, checksums, and
// the frames the parser must refuse.
#include "dataplane/io/udp_frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/io/neighbour_table.h"

namespace braid::dp {
namespace {

const MacAddress kMacA = {0x02, 0, 0, 0, 0, 0x0a};
const MacAddress kMacB = {0x02, 0, 0, 0, 0, 0x0b};

SocketAddress addr(const char* text) {
  return *parseSocketAddress(text);
}

// A whole frame: headers then payload, as a backend lays them out.
std::vector<uint8_t> frame(const SocketAddress& from, const SocketAddress& to,
                           const std::vector<uint8_t>& payload) {
  size_t header = udpFrameHeaderSize(from, to);
  std::vector<uint8_t> out(header + payload.size());
  if (!payload.empty()) std::memcpy(out.data() + header, payload.data(), payload.size());
  EXPECT_TRUE(writeUdpFrameHeaders({out.data(), header}, kMacA, kMacB, from, to, payload));
  return out;
}

std::vector<uint8_t> payloadOf(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + 1);
  return p;
}

TEST(UdpFrame, Ipv4RoundTripAndHeaderChecksum) {
  auto from = addr("10.1.2.3:7400");
  auto to = addr("192.0.2.9:40000");
  auto bytes = frame(from, to, payloadOf(101));
  ASSERT_EQ(bytes.size(), 42u + 101u);
  // The IPv4 header sums to 0xffff with its checksum in place (folded complement = 0).
  EXPECT_EQ(checksumFinish(checksumAdd(0, {bytes.data() + 14, 20})), 0);
  EXPECT_EQ(bytes[14 + 6], 0x40);  // DF
  EXPECT_EQ(bytes[14 + 8], 64);    // TTL
  UdpFrameView view;
  ASSERT_TRUE(parseUdpFrame(bytes, view));
  EXPECT_EQ(view.source, from);
  EXPECT_EQ(view.destination, to);
  EXPECT_EQ(view.sourceMac, kMacA);
  EXPECT_EQ(view.destinationMac, kMacB);
  EXPECT_EQ(std::vector<uint8_t>(view.payload.begin(), view.payload.end()), payloadOf(101));
}

TEST(UdpFrame, KnownIpv4HeaderChecksum) {
  // 10.0.0.1 -> 10.0.0.2, UDP, 28 bytes total, DF, TTL 64, ID 0: checksum 0x26cf
  // (by hand: 0x4500 + 0x001c + 0x4000 + 0x4011 + 0x0a00 + 0x0001 + 0x0a00 + 0x0002 = 0xd930,
  // complemented).
  auto bytes = frame(addr("10.0.0.1:1"), addr("10.0.0.2:2"), {});
  EXPECT_EQ(bytes[14 + 10], 0x26);
  EXPECT_EQ(bytes[14 + 11], 0xcf);
}

TEST(UdpFrame, Ipv6RoundTripAndUdpChecksum) {
  auto from = addr("[fd00::1]:7400");
  auto to = addr("[2001:db8::42]:5000");
  for (size_t n : {0u, 1u, 38u, 1199u, 1200u}) {
    auto bytes = frame(from, to, payloadOf(n));
    ASSERT_EQ(bytes.size(), 62u + n);
    // The pseudo-header, UDP header and payload sum to 0xffff with the checksum in place.
    uint16_t udpLength = static_cast<uint16_t>(8 + n);
    uint8_t pseudo[8] = {
        0, 0, static_cast<uint8_t>(udpLength >> 8), static_cast<uint8_t>(udpLength), 0, 0, 0, 17};
    uint64_t sum = checksumAdd(0, {bytes.data() + 14 + 8, 32});
    sum = checksumAdd(sum, pseudo);
    sum = checksumAdd(sum, {bytes.data() + 54, 8 + n});
    EXPECT_EQ(checksumFinish(sum), 0) << n;
    UdpFrameView view;
    ASSERT_TRUE(parseUdpFrame(bytes, view));
    EXPECT_EQ(view.source, from);
    EXPECT_EQ(view.destination, to);
    EXPECT_EQ(view.payload.size(), n);
  }
}

TEST(UdpFrame, EthernetPaddingIsNotPayload) {
  auto bytes = frame(addr("10.0.0.1:1"), addr("10.0.0.2:2"), payloadOf(4));
  bytes.resize(60, 0xee);  // a NIC pads short frames to 60 bytes
  UdpFrameView view;
  ASSERT_TRUE(parseUdpFrame(bytes, view));
  EXPECT_EQ(view.payload.size(), 4u);
}

TEST(UdpFrame, RefusesWhatIsNotPlainUdp) {
  auto good = frame(addr("10.0.0.1:1"), addr("10.0.0.2:2"), payloadOf(20));
  UdpFrameView view;
  auto refused = [&](auto mutate) {
    auto bytes = good;
    mutate(bytes);
    return !parseUdpFrame(bytes, view);
  };
  EXPECT_TRUE(refused([](auto& b) { b[12] = 0x08, b[13] = 0x06; }));  // ARP
  EXPECT_TRUE(refused([](auto& b) { b[14 + 9] = 6; }));               // TCP
  EXPECT_TRUE(refused([](auto& b) { b[14 + 6] = 0x20; }));            // MF: first fragment
  EXPECT_TRUE(refused([](auto& b) { b[14 + 7] = 0x10; }));            // later fragment
  EXPECT_TRUE(refused([](auto& b) { b[14] = 0x44; }));                // IHL 4
  EXPECT_TRUE(refused([](auto& b) { b[14 + 3] = 0xff; }));            // total length > frame
  EXPECT_TRUE(refused([](auto& b) { b[34 + 5] = 7; }));               // UDP length < 8
  EXPECT_TRUE(refused([](auto& b) { b[34 + 5] = 40; }));              // UDP length > IP
  EXPECT_TRUE(refused([](auto& b) { b.resize(40); }));                // cut in the UDP header
  EXPECT_TRUE(refused([](auto& b) { b.resize(13); }));
  auto v6 = frame(addr("[fd00::1]:1"), addr("[fd00::2]:2"), payloadOf(20));
  v6[14 + 6] = 0;  // hop-by-hop extension header
  EXPECT_FALSE(parseUdpFrame(v6, view));
  EXPECT_TRUE(parseUdpFrame(good, view));
}

TEST(UdpFrame, IpOptionsAreSkipped) {
  auto bytes = frame(addr("10.0.0.1:1"), addr("10.0.0.2:2"), payloadOf(10));
  // Insert 4 bytes of options (NOPs) after the 20-byte header.
  bytes.insert(bytes.begin() + 34, {1, 1, 1, 1});
  bytes[14] = 0x46;
  bytes[14 + 3] = static_cast<uint8_t>(bytes[14 + 3] + 4);
  UdpFrameView view;
  ASSERT_TRUE(parseUdpFrame(bytes, view));
  EXPECT_EQ(view.payload.size(), 10u);
  EXPECT_EQ(view.payload[0], payloadOf(10)[0]);
}

TEST(UdpFrame, MixedFamiliesAreRefusedWhenWriting) {
  std::vector<uint8_t> buf(62);
  EXPECT_EQ(udpFrameHeaderSize(addr("10.0.0.1:1"), addr("[fd00::2]:2")), 0u);
  EXPECT_FALSE(
      writeUdpFrameHeaders(buf, kMacA, kMacB, addr("10.0.0.1:1"), addr("[fd00::2]:2"), {}));
  // The header span must be exactly the header size.
  EXPECT_FALSE(writeUdpFrameHeaders(buf, kMacA, kMacB, addr("10.0.0.1:1"), addr("10.0.0.2:2"), {}));
}

TEST(NeighbourTable, LearnsPerIpAndForgetsOnlyUnderPressure) {
  NeighbourTable table;
  EXPECT_FALSE(table.find(addr("10.0.0.1:5")).has_value());
  table.learn(addr("10.0.0.1:5"), kMacA);
  // The port does not matter: replies go to the next hop of the IP.
  ASSERT_TRUE(table.find(addr("10.0.0.1:9")).has_value());
  EXPECT_EQ(*table.find(addr("10.0.0.1:9")), kMacA);
  table.learn(addr("10.0.0.1:6"), kMacB);  // a new router for the same peer
  EXPECT_EQ(*table.find(addr("10.0.0.1:5")), kMacB);
  EXPECT_FALSE(table.find(addr("[::ffff:10.0.0.2]:5")).has_value());
  // Far more peers than the 4096 entries: nearly all of the last 1000 are still there (a set
  // keeps its 4 most recent; a few sets get more than 4 of them).
  for (int i = 0; i < 10000; ++i) {
    SocketAddress a = addr("10.0.0.0:1");
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_addr.s_addr = htonl(0x0b000000u + i);
    table.learn(a, kMacA);
  }
  size_t found = 0;
  for (int i = 10000 - 1000; i < 10000; ++i) {
    SocketAddress a = addr("10.0.0.0:1");
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_addr.s_addr = htonl(0x0b000000u + i);
    found += table.find(a).has_value();
  }
  EXPECT_GE(found, 950u);
}

}  // namespace
}  // namespace braid::dp
