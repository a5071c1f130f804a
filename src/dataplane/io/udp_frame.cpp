#include "dataplane/io/udp_frame.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace braid::dp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kTtl = 64;

void setV4(SocketAddress& address, const uint8_t* ip, const uint8_t* port) {
  // Only the fields operator== and the users read: no 128-byte clear per packet.
  auto* sin = reinterpret_cast<sockaddr_in*>(&address.storage);
  sin->sin_family = AF_INET;
  std::memcpy(&sin->sin_port, port, 2);
  std::memcpy(&sin->sin_addr, ip, 4);
  std::memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
  address.length = sizeof(sockaddr_in);
}

void setV6(SocketAddress& address, const uint8_t* ip, const uint8_t* port) {
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  sin6->sin6_family = AF_INET6;
  std::memcpy(&sin6->sin6_port, port, 2);
  sin6->sin6_flowinfo = 0;
  std::memcpy(&sin6->sin6_addr, ip, 16);
  sin6->sin6_scope_id = 0;
  address.length = sizeof(sockaddr_in6);
}

// The UDP header at `udp` with `available` bytes (to the end of the IP payload).
bool parseUdp(uint8_t* udp, size_t available, UdpFrameView& out) {
  if (available < kUdpHeaderSize) return false;
  size_t length = load16(udp + 4);
  if (length < kUdpHeaderSize || length > available) return false;
  out.payload = {udp + kUdpHeaderSize, length - kUdpHeaderSize};
  return true;
}

}  // namespace

bool parseUdpFrame(std::span<uint8_t> frame, UdpFrameView& out) noexcept {
  if (frame.size() < kEthHeaderSize) return false;
  uint8_t* eth = frame.data();
  std::memcpy(out.destinationMac.data(), eth, 6);
  std::memcpy(out.sourceMac.data(), eth + 6, 6);
  uint16_t etherType = load16(eth + 12);
  uint8_t* ip = eth + kEthHeaderSize;
  size_t rest = frame.size() - kEthHeaderSize;
  if (etherType == kEtherTypeIpv4) {
    if (rest < kIpv4HeaderSize || (ip[0] >> 4) != 4) return false;
    size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    size_t total = load16(ip + 2);
    // Any fragment (MF set or an offset): Braid never sends one, and only the kernel
    // could reassemble it.
    if (ihl < kIpv4HeaderSize || total < ihl || total > rest || ip[9] != kProtoUdp ||
        (load16(ip + 6) & 0x3fff) != 0) {
      return false;
    }
    uint8_t* udp = ip + ihl;
    if (!parseUdp(udp, total - ihl, out)) return false;
    setV4(out.source, ip + 12, udp);
    setV4(out.destination, ip + 16, udp + 2);
    return true;
  }
  if (etherType == kEtherTypeIpv6) {
    if (rest < kIpv6HeaderSize || (ip[0] >> 4) != 6 || ip[6] != kProtoUdp) return false;
    size_t payloadLength = load16(ip + 4);
    if (payloadLength > rest - kIpv6HeaderSize) return false;
    uint8_t* udp = ip + kIpv6HeaderSize;
    if (!parseUdp(udp, payloadLength, out)) return false;
    setV6(out.source, ip + 8, udp);
    setV6(out.destination, ip + 24, udp + 2);
    return true;
  }
  return false;
}

size_t udpFrameHeaderSize(const SocketAddress& from, const SocketAddress& to) noexcept {
  if (from.family() != to.family()) return 0;
  if (to.family() == AF_INET) return kEthHeaderSize + kIpv4HeaderSize + kUdpHeaderSize;
  if (to.family() == AF_INET6) return kEthHeaderSize + kIpv6HeaderSize + kUdpHeaderSize;
  return 0;
}

uint64_t checksumAdd(uint64_t sum, std::span<const uint8_t> bytes) noexcept {
  // Sums native-order 32-bit words: the ones' complement sum is byte-order independent
  // (RFC 1071 §2B), so the folded result is already in memory order.
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 4; p += 4, n -= 4) {
    uint32_t word;
    std::memcpy(&word, p, 4);
    sum += word;
  }
  if (n >= 2) {
    uint16_t half;
    std::memcpy(&half, p, 2);
    sum += half;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd byte is the high byte of a zero-padded 16-bit word in network order.
    uint8_t pad[2] = {*p, 0};
    uint16_t half;
    std::memcpy(&half, pad, 2);
    sum += half;
  }
  return sum;
}

uint16_t checksumFinish(uint64_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool writeUdpFrameHeaders(std::span<uint8_t> headers, const MacAddress& sourceMac,
                          const MacAddress& destinationMac, const SocketAddress& from,
                          const SocketAddress& to, std::span<const uint8_t> payload) noexcept {
  size_t headerSize = udpFrameHeaderSize(from, to);
  if (headerSize == 0 || headers.size() != headerSize) return false;
  size_t udpLength = kUdpHeaderSize + payload.size();
  if (udpLength > 0xffff - kIpv6HeaderSize) return false;
  uint8_t* eth = headers.data();
  std::memcpy(eth, destinationMac.data(), 6);
  std::memcpy(eth + 6, sourceMac.data(), 6);
  uint8_t* ip = eth + kEthHeaderSize;
  uint8_t* udp;
  if (to.family() == AF_INET) {
    auto* src = reinterpret_cast<const sockaddr_in*>(&from.storage);
    auto* dst = reinterpret_cast<const sockaddr_in*>(&to.storage);
    store16(eth + 12, kEtherTypeIpv4);
    ip[0] = 0x45;
    ip[1] = 0;
    store16(ip + 2, static_cast<uint16_t>(kIpv4HeaderSize + udpLength));
    store16(ip + 4, 0);
    store16(ip + 6, 0x4000);  // DF
    ip[8] = kTtl;
    ip[9] = kProtoUdp;
    store16(ip + 10, 0);
    std::memcpy(ip + 12, &src->sin_addr, 4);
    std::memcpy(ip + 16, &dst->sin_addr, 4);
    uint16_t sum = checksumFinish(checksumAdd(0, {ip, kIpv4HeaderSize}));
    std::memcpy(ip + 10, &sum, 2);
    udp = ip + kIpv4HeaderSize;
    std::memcpy(udp, &src->sin_port, 2);
    std::memcpy(udp + 2, &dst->sin_port, 2);
    store16(udp + 4, static_cast<uint16_t>(udpLength));
    store16(udp + 6, 0);
    return true;
  }
  auto* src = reinterpret_cast<const sockaddr_in6*>(&from.storage);
  auto* dst = reinterpret_cast<const sockaddr_in6*>(&to.storage);
  store16(eth + 12, kEtherTypeIpv6);
  ip[0] = 0x60;
  ip[1] = ip[2] = ip[3] = 0;
  store16(ip + 4, static_cast<uint16_t>(udpLength));
  ip[6] = kProtoUdp;
  ip[7] = kTtl;
  std::memcpy(ip + 8, &src->sin6_addr, 16);
  std::memcpy(ip + 24, &dst->sin6_addr, 16);
  udp = ip + kIpv6HeaderSize;
  std::memcpy(udp, &src->sin6_port, 2);
  std::memcpy(udp + 2, &dst->sin6_port, 2);
  store16(udp + 4, static_cast<uint16_t>(udpLength));
  store16(udp + 6, 0);
  // Pseudo-header (RFC 8200 §8.1): addresses, upper-layer length, next header.
  uint8_t pseudo[8] = {
      0, 0,        static_cast<uint8_t>(udpLength >> 8), static_cast<uint8_t>(udpLength), 0, 0,
      0, kProtoUdp};
  uint64_t sum = checksumAdd(0, {ip + 8, 32});
  sum = checksumAdd(sum, pseudo);
  sum = checksumAdd(sum, {udp, kUdpHeaderSize});
  sum = checksumAdd(sum, payload);
  uint16_t check = checksumFinish(sum);
  if (check == 0) check = 0xffff;  // 0 means "no checksum", which IPv6 forbids
  std::memcpy(udp + 6, &check, 2);
  return true;
}

}  // namespace braid::dp
