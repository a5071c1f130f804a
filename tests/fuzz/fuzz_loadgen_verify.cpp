// Fuzzes braid-loadgen's output checker (it reads whatever a gateway wrote): any bytes and
// payload size give consistent counts, and a stream it wrote itself checks clean.

#include <cstdint>
#include <vector>

#include "fuzz_check.h"
#include "synthetic_session.h"

using namespace braid::bench;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t payloadBytes = static_cast<size_t>(data[0]) * 8 + data[1] % 8;
  std::vector<uint8_t> bytes(data + 2, data + size);
  StreamCheck check = verifyStream(bytes, payloadBytes, 7);
  if (payloadBytes >= kPayloadHeaderSize) {
    FUZZ_CHECK(check.packets + check.corrupt <= bytes.size() / payloadBytes + 1);
    FUZZ_CHECK(check.packets == 0 || check.lastSeq >= check.firstSeq);
    // A stream made of the same number of well-formed payloads checks clean.
    size_t count = bytes.size() / payloadBytes;
    std::vector<uint8_t> clean(count * payloadBytes);
    for (size_t i = 0; i < count; ++i) {
      fillPayload(7, 100 + i, std::span(clean).subspan(i * payloadBytes, payloadBytes));
    }
    StreamCheck good = verifyStream(clean, payloadBytes, 7);
    FUZZ_CHECK(good.packets == count && good.gaps == 0 && good.corrupt == 0 && good.reordered == 0);
  }
  return 0;
}
