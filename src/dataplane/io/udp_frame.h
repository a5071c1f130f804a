#pragma once

// Ethernet II + IPv4/IPv6 + UDP framing for the kernel-bypass backends (AF_XDP, DPDK), which
// see whole frames where the kernel UDP socket sees datagrams.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/io/socket_address.h"

namespace braid::dp {

using MacAddress = std::array<uint8_t, 6>;

// Network-order 16-bit fields of the headers this file and the ports' local replies handle.
inline uint16_t load16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline void store16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// A MAC packed into one word, so a port can publish the last next hop it learnt through a
// single atomic: the address in the low 48 bits, bit 63 set (a zero MAC is still a value; a
// zero word is "none").
inline constexpr uint64_t kPackedMacValid = uint64_t{1} << 63;
inline uint64_t packMac(const MacAddress& mac) noexcept {
  uint64_t v = 0;
  for (uint8_t b : mac) v = (v << 8) | b;
  return v | kPackedMacValid;
}
inline MacAddress unpackMac(uint64_t v) noexcept {
  MacAddress mac;
  for (size_t i = mac.size(); i-- > 0; v >>= 8) mac[i] = static_cast<uint8_t>(v);
  return mac;
}

inline constexpr size_t kEthHeaderSize = 14;
inline constexpr size_t kIpv4HeaderSize = 20;  // as written; received ones may carry options
inline constexpr size_t kIpv6HeaderSize = 40;
inline constexpr size_t kUdpHeaderSize = 8;
// Headers in front of a payload the backends write: the IPv6 case, the larger one.
inline constexpr size_t kMaxUdpFrameHeaders = kEthHeaderSize + kIpv6HeaderSize + kUdpHeaderSize;

// One received UDP datagram inside a frame. The payload points into the frame.
struct UdpFrameView {
  std::span<uint8_t> payload;
  SocketAddress source;
  SocketAddress destination;
  MacAddress sourceMac{};
  MacAddress destinationMac{};
};

// Parses an Ethernet II frame carrying UDP over IPv4 (options allowed, no fragments) or
// IPv6 (no extension headers). The payload length comes from the UDP header (frames may be
// padded) and must fit in the IP packet and the frame. Returns false for anything else.
// Any thread; no allocation.
bool parseUdpFrame(std::span<uint8_t> frame, UdpFrameView& out) noexcept;

// Header bytes in front of the payload for a datagram from `from` to `to`: 42 for IPv4, 62
// for IPv6, 0 when the two are not both of one family.
size_t udpFrameHeaderSize(const SocketAddress& from, const SocketAddress& to) noexcept;

// Writes Ethernet, IP and UDP headers into `headers` (exactly udpFrameHeaderSize bytes, just
// before the payload in one buffer) for `payload`. IPv4: DF set, ID 0 (RFC 6864 atomic
// datagram), TTL 64, header checksum, UDP checksum 0 (allowed for IPv4, saves a pass over
// the payload). IPv6: hop limit 64, the mandatory UDP checksum. Returns false when the sizes
// or families do not fit. Any thread; no allocation.
bool writeUdpFrameHeaders(std::span<uint8_t> headers, const MacAddress& sourceMac,
                          const MacAddress& destinationMac, const SocketAddress& from,
                          const SocketAddress& to, std::span<const uint8_t> payload) noexcept;

// The Internet checksum (RFC 1071) of `bytes` added to `sum` (a running 32-bit ones'
// complement accumulator in memory byte order, as returned by a previous call), not folded.
// Only the last span of a chain may have an odd length.
uint64_t checksumAdd(uint64_t sum, std::span<const uint8_t> bytes) noexcept;
// Folds an accumulator to 16 bits and complements it; the result is in memory byte order
// (store it with memcpy).
uint16_t checksumFinish(uint64_t sum) noexcept;

}  // namespace braid::dp
