#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "edge/media/clock.h"
#include "edge/media/ts_packet.h"

namespace braid::edge::test {

// Time that moves only when a source sleeps: pacing tests run instantly and exactly.
class FakeClock final : public MonotonicClock {
 public:
  explicit FakeClock(uint64_t startUs = 1'000'000) : now_(startUs) {}
  uint64_t nowUs() const noexcept override { return now_; }
  void sleepUntilUs(uint64_t deadlineUs) noexcept override {
    if (deadlineUs > now_) now_ = deadlineUs;
    ++sleeps_;
  }
  void set(uint64_t us) { now_ = us; }
  uint64_t sleeps() const { return sleeps_; }

 private:
  uint64_t now_;
  uint64_t sleeps_ = 0;
};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "braid-media-XXXXXX").string();
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::vector<uint8_t> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void writeFile(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// A TS packet on `pid` with continuity counter `cc`, stuffed payload, and a PCR in the
// adaptation field when given.
inline std::vector<uint8_t> makeTsPacket(uint16_t pid, uint8_t cc, std::optional<uint64_t> pcr) {
  std::vector<uint8_t> p(kTsPacketSize, 0xff);
  p[0] = kTsSyncByte;
  p[1] = static_cast<uint8_t>((pid >> 8) & 0x1f);
  p[2] = static_cast<uint8_t>(pid);
  if (pcr) {
    p[3] = static_cast<uint8_t>(0x30 | (cc & 0x0f));  // adaptation field + payload
    p[4] = 7;
    p[5] = 0x10;  // PCR_flag
    const uint64_t base = *pcr / 300;
    const uint64_t ext = *pcr % 300;
    p[6] = static_cast<uint8_t>(base >> 25);
    p[7] = static_cast<uint8_t>(base >> 17);
    p[8] = static_cast<uint8_t>(base >> 9);
    p[9] = static_cast<uint8_t>(base >> 1);
    p[10] = static_cast<uint8_t>(((base & 1) << 7) | 0x7e | ((ext >> 8) & 1));
    p[11] = static_cast<uint8_t>(ext);
  } else {
    p[3] = static_cast<uint8_t>(0x10 | (cc & 0x0f));  // payload only
  }
  return p;
}

// Runs ffmpeg to encode `seconds` of test pattern into an MPEG-TS file; false when ffmpeg
// is missing or fails.
inline bool makeTestTs(const std::filesystem::path& out, int seconds) {
  if (std::system("command -v ffmpeg >/dev/null 2>&1") != 0) return false;
  const std::string command =
      "ffmpeg -nostdin -y -v error -f lavfi -i testsrc=size=320x240:rate=25 -t " +
      std::to_string(seconds) + " -c:v libx264 -g 25 -f mpegts '" + out.string() + "'";
  return std::system(command.c_str()) == 0 && std::filesystem::exists(out);
}

}  // namespace braid::edge::test
