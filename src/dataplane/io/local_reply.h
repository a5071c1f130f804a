#pragma once

// Answers to the few non-Braid frames a kernel-bypass backend must handle itself because
// the kernel never sees them (DPDK owns the NIC): ARP requests and ICMP echo requests for
// the gateway's own IPv4 address. Without ARP answers no router or peer on the link could
// reach the gateway at all.

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/io/udp_frame.h"

namespace braid::dp {

enum class LocalReply : uint8_t {
  kNone,      // not a request for us: the caller counts and drops it
  kArp,       // `frame` now holds the ARP reply
  kIcmpEcho,  // `frame` now holds the ICMP echo reply
};

inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr size_t kArpFrameSize = kEthHeaderSize + 28;

// If `frame` (a whole Ethernet II frame) is an ARP request (Ethernet/IPv4) for `ownIpv4`, or
// an unfragmented ICMP echo request to `ownIpv4` (network byte order), rewrites it in place
// into the reply from `ownMac`, to be sent back out as is (its length does not change), and
// says which. Otherwise leaves it untouched and returns kNone. Any thread; no allocation.
LocalReply answerLocalRequest(std::span<uint8_t> frame, const MacAddress& ownMac,
                              uint32_t ownIpv4) noexcept;

}  // namespace braid::dp
