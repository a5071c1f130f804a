// The edge's TS file reader on arbitrary bytes: sync search and resync, PCR extraction,
// discontinuities, loop handling (unpaced, so nothing sleeps).

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "edge/media/ts_file_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::edge;
  static std::string path = [] {
    char name[] = "/tmp/braid-fuzz-ts.XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0) close(fd);
    return std::string(name);
  }();
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  if (size > 0) std::fwrite(data, 1, size, file);
  std::fclose(file);
  bool loop = size > 0 && (data[0] & 1);
  auto source = TsFileSource::open(path, TsFileOptions{.loop = loop, .pace = false});
  if (!source) return 0;
  auto batch = std::make_unique<TsBatch>();
  // Bounded: a looping file never finishes.
  for (int i = 0; i < 64 && !(*source)->finished(); ++i) {
    batch->count = 0;
    auto read = (*source)->read(*batch);
    if (!read) break;
    for (size_t k = 0; k < batch->count; ++k) {
      if (batch->packet(k)[0] != 0x47) __builtin_trap();  // only whole, synced packets
    }
  }
  return 0;
}
