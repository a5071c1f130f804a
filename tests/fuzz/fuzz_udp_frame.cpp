// libFuzzer target: the Ethernet/IP/UDP frame parser of the bypass backends (AF_XDP, DPDK)
// on arbitrary frames never reads outside the frame; a parsed payload lies inside it; and
// rebuilding the headers for the parsed addresses and payload parses back to the same view.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/io/udp_frame.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::dp;
  // A private copy: the parser hands out a writable span and ASan bounds it to the frame.
  std::vector<uint8_t> frame(data, data + size);
  UdpFrameView view;
  if (!parseUdpFrame(frame, view)) return 0;
  FUZZ_CHECK(view.payload.data() >= frame.data());
  FUZZ_CHECK(view.payload.data() + view.payload.size() <= frame.data() + frame.size());
  size_t header = udpFrameHeaderSize(view.destination, view.source);
  FUZZ_CHECK(header == kEthHeaderSize + kIpv4HeaderSize + kUdpHeaderSize ||
             header == kEthHeaderSize + kIpv6HeaderSize + kUdpHeaderSize);

  // The reply direction: from the destination back to the source.
  std::vector<uint8_t> reply(header + view.payload.size());
  std::memcpy(reply.data() + header, view.payload.data(), view.payload.size());
  FUZZ_CHECK(writeUdpFrameHeaders({reply.data(), header}, view.destinationMac, view.sourceMac,
                                  view.destination, view.source, view.payload));
  UdpFrameView back;
  FUZZ_CHECK(parseUdpFrame(reply, back));
  FUZZ_CHECK(back.source == view.destination && back.destination == view.source);
  FUZZ_CHECK(back.sourceMac == view.destinationMac && back.destinationMac == view.sourceMac);
  FUZZ_CHECK(back.payload.size() == view.payload.size());
  FUZZ_CHECK(std::memcmp(back.payload.data(), view.payload.data(), view.payload.size()) == 0);
  return 0;
}
