// libFuzzer target: the ARP / ICMP echo responder of the DPDK backend on arbitrary frames
// never reads or writes outside the frame, and an answered request is a well-formed reply
// that is not itself answered again (no ping-pong between two gateways).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/io/local_reply.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::dp;
  if (size < 4) return 0;
  // The first 4 bytes are the own address, so that the fuzzer can match it.
  uint32_t ownIp = 0;
  __builtin_memcpy(&ownIp, data, 4);
  std::vector<uint8_t> frame(data + 4, data + size);
  const MacAddress ownMac = {0x02, 0, 0, 0, 0, 0x01};
  LocalReply kind = answerLocalRequest(frame, ownMac, ownIp);
  if (kind == LocalReply::kNone) {
    FUZZ_CHECK(std::equal(frame.begin(), frame.end(), data + 4));
    return 0;
  }
  FUZZ_CHECK(frame.size() == size - 4);
  FUZZ_CHECK(std::equal(ownMac.begin(), ownMac.end(), frame.begin() + 6));
  FUZZ_CHECK(answerLocalRequest(frame, ownMac, ownIp) == LocalReply::kNone);
  if (kind == LocalReply::kIcmpEcho) {
    size_t ihl = static_cast<size_t>(frame[kEthHeaderSize] & 0x0f) * 4;
    FUZZ_CHECK(checksumFinish(checksumAdd(0, {frame.data() + kEthHeaderSize, ihl})) == 0);
  }
  return 0;
}
