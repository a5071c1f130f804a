// ARP and ICMP echo answers of the DPDK backend (the kernel never sees those frames): the
// replies byte for byte, and the requests that must be left alone.
#include "dataplane/io/local_reply.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace braid::dp {
namespace {

const MacAddress kOwnMac = {0x02, 0, 0, 0, 0, 0x01};
const uint32_t kOwnIp = htonl(0x0a5f0001);  // 10.95.0.1

// `bytes` zero-padded to Ethernet's minimum of 60 bytes.
std::vector<uint8_t> padded(std::initializer_list<uint8_t> bytes) {
  std::vector<uint8_t> f(60, 0);
  std::copy(bytes.begin(), bytes.end(), f.begin());
  return f;
}

// Who-has 10.95.0.1 tell 10.95.0.2 from 02:00:00:00:00:02, padded to 60 bytes.
std::vector<uint8_t> arpRequest() {
  return padded({
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,    0, 0, 0, 0x02, 0x08, 0x06,  // Ethernet
      0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01,                             // request
      0x02, 0,    0,    0,    0,    0x02, 10,   95,   0, 2,                       // sender
      0,    0,    0,    0,    0,    0,    10,   95,   0, 1,                       // target
  });
}

// Echo request 10.95.0.2 -> 10.95.0.1, id 0x1234 seq 1, 8 bytes of data.
std::vector<uint8_t> echoRequest() {
  std::vector<uint8_t> f = {
      0x02, 0, 0, 0,  0,    0x01, 0x02, 0,    0,  0, 0,   0x02, 0x08, 0x00,  // Ethernet
      0x45, 0, 0, 36, 0x12, 0x34, 0x40, 0,    64, 1, 0,   0,    10,   95,   0,   2,   10,  95,
      0,    1, 8, 0,  0,    0,    0x12, 0x34, 0,  1, 'a', 'b',  'c',  'd',  'e', 'f', 'g', 'h',
  };
  uint8_t* ip = f.data() + 14;
  uint16_t sum = checksumFinish(checksumAdd(0, {ip, 20}));
  std::memcpy(ip + 10, &sum, 2);
  sum = checksumFinish(checksumAdd(0, {ip + 20, 16}));
  std::memcpy(ip + 22, &sum, 2);
  return f;
}

TEST(LocalReply, AnswersArpRequestForOwnAddress) {
  auto f = arpRequest();
  ASSERT_EQ(answerLocalRequest(f, kOwnMac, kOwnIp), LocalReply::kArp);
  std::vector<uint8_t> want = padded({
      0x02, 0,    0,    0,    0, 0x02, 0x02, 0,    0, 0,
      0,    0x01, 0x08, 0x06,                             // to the asker, from us
      0x00, 0x01, 0x08, 0x00, 6, 4,    0x00, 0x02,        // reply
      0x02, 0,    0,    0,    0, 0x01, 10,   95,   0, 1,  // sender: us
      0x02, 0,    0,    0,    0, 0x02, 10,   95,   0, 2,  // target: the asker
  });
  EXPECT_EQ(f, want);
}

TEST(LocalReply, LeavesOtherArpAlone) {
  auto other = arpRequest();
  other[41] = 7;  // who-has 10.95.0.7
  auto reply = arpRequest();
  reply[21] = 2;  // a reply, not a request
  auto shortFrame = arpRequest();
  shortFrame.resize(kArpFrameSize - 1);
  for (auto* f : {&other, &reply, &shortFrame}) {
    auto before = *f;
    EXPECT_EQ(answerLocalRequest(*f, kOwnMac, kOwnIp), LocalReply::kNone);
    EXPECT_EQ(*f, before);
  }
}

TEST(LocalReply, AnswersEchoRequestWithValidChecksums) {
  auto f = echoRequest();
  ASSERT_EQ(answerLocalRequest(f, kOwnMac, kOwnIp), LocalReply::kIcmpEcho);
  const uint8_t* ip = f.data() + 14;
  EXPECT_EQ(0, std::memcmp(f.data(), "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12));
  EXPECT_EQ(0, std::memcmp(ip + 12, "\x0a\x5f\x00\x01\x0a\x5f\x00\x02", 8));
  EXPECT_EQ(ip[20], 0);  // echo reply
  EXPECT_EQ(0, std::memcmp(ip + 24,
                           "\x12\x34\x00\x01"
                           "abcdefgh",
                           12));
  // A correct checksum makes the sum over the covered bytes fold to zero.
  EXPECT_EQ(checksumFinish(checksumAdd(0, {ip, 20})), 0);
  EXPECT_EQ(checksumFinish(checksumAdd(0, {ip + 20, 16})), 0);
}

TEST(LocalReply, LeavesOtherIpv4Alone) {
  auto notUs = echoRequest();
  notUs[33] = 9;
  auto fragment = echoRequest();
  fragment[20] = 0x20;  // more fragments
  auto udp = echoRequest();
  udp[23] = 17;
  auto truncated = echoRequest();
  truncated.resize(truncated.size() - 1);  // total length beyond the frame
  auto reply = echoRequest();
  reply[34] = 0;
  for (auto* f : {&notUs, &fragment, &udp, &truncated, &reply}) {
    auto before = *f;
    EXPECT_EQ(answerLocalRequest(*f, kOwnMac, kOwnIp), LocalReply::kNone);
    EXPECT_EQ(*f, before);
  }
}

}  // namespace
}  // namespace braid::dp
