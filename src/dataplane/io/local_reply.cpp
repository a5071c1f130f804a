#include "dataplane/io/local_reply.h"

#include <arpa/inet.h>

#include <cstring>

namespace braid::dp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint8_t kIpProtoIcmp = 1;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpEchoReply = 0;

// Ethernet: the reply goes back to whoever sent the request.
void turnEthernet(uint8_t* eth, const MacAddress& ownMac) {
  std::memcpy(eth, eth + 6, 6);
  std::memcpy(eth + 6, ownMac.data(), 6);
}

LocalReply answerArp(std::span<uint8_t> frame, const MacAddress& ownMac, uint32_t ownIpv4) {
  if (frame.size() < kArpFrameSize) return LocalReply::kNone;
  uint8_t* arp = frame.data() + kEthHeaderSize;
  // htype Ethernet, ptype IPv4, hlen 6, plen 4, oper request.
  if (load16(arp) != 1 || load16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4 ||
      load16(arp + 6) != 1) {
    return LocalReply::kNone;
  }
  if (std::memcmp(arp + 24, &ownIpv4, 4) != 0) return LocalReply::kNone;
  // Target <- sender, sender <- us; oper reply.
  uint8_t sender[10];
  std::memcpy(sender, arp + 8, 10);
  std::memcpy(arp + 18, sender, 10);
  std::memcpy(arp + 8, ownMac.data(), 6);
  std::memcpy(arp + 14, &ownIpv4, 4);
  store16(arp + 6, 2);
  turnEthernet(frame.data(), ownMac);
  return LocalReply::kArp;
}

LocalReply answerIcmpEcho(std::span<uint8_t> frame, const MacAddress& ownMac, uint32_t ownIpv4) {
  if (frame.size() < kEthHeaderSize + kIpv4HeaderSize) return LocalReply::kNone;
  uint8_t* ip = frame.data() + kEthHeaderSize;
  size_t headerSize = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || headerSize < kIpv4HeaderSize) return LocalReply::kNone;
  size_t total = load16(ip + 2);
  // The IP packet must fit in the frame (which may be padded), with an ICMP header.
  if (total < headerSize + 8 || total > frame.size() - kEthHeaderSize) return LocalReply::kNone;
  if (ip[9] != kIpProtoIcmp || (load16(ip + 6) & 0x3fff) != 0) return LocalReply::kNone;
  if (std::memcmp(ip + 16, &ownIpv4, 4) != 0) return LocalReply::kNone;
  uint8_t* icmp = ip + headerSize;
  if (icmp[0] != kIcmpEchoRequest || icmp[1] != 0) return LocalReply::kNone;

  icmp[0] = kIcmpEchoReply;
  std::memset(icmp + 2, 0, 2);
  uint16_t sum = checksumFinish(checksumAdd(0, {icmp, total - headerSize}));
  std::memcpy(icmp + 2, &sum, 2);
  // Back to the sender, from us; a fresh TTL (options, if any, are echoed unchanged).
  std::memcpy(ip + 16, ip + 12, 4);
  std::memcpy(ip + 12, &ownIpv4, 4);
  ip[8] = 64;
  std::memset(ip + 10, 0, 2);
  sum = checksumFinish(checksumAdd(0, {ip, headerSize}));
  std::memcpy(ip + 10, &sum, 2);
  turnEthernet(frame.data(), ownMac);
  return LocalReply::kIcmpEcho;
}

}  // namespace

LocalReply answerLocalRequest(std::span<uint8_t> frame, const MacAddress& ownMac,
                              uint32_t ownIpv4) noexcept {
  if (frame.size() < kEthHeaderSize) return LocalReply::kNone;
  uint16_t type = load16(frame.data() + 12);
  if (type == kEtherTypeArp) return answerArp(frame, ownMac, ownIpv4);
  if (type == kEtherTypeIpv4) return answerIcmpEcho(frame, ownMac, ownIpv4);
  return LocalReply::kNone;
}

}  // namespace braid::dp
