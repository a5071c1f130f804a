// The testpattern: URL parser on arbitrary text (an operator writes it into --input or
// edge.input): what it accepts is within the documented ranges and reads back the same from
// its own description.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "edge/media/test_pattern_options.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::edge;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Half the inputs as they are, half behind the scheme, so the options get exercised.
  std::string url =
      size > 0 && (data[0] & 1) ? std::string(text.substr(1)) : "testpattern:?" + std::string(text);
  auto parsed = parseTestPatternUrl(url);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code == braid::ErrorCode::kInvalidArgument);
    FUZZ_CHECK(!parsed.error().context.empty());
    return 0;
  }
  const TestPatternOptions& o = *parsed;
  FUZZ_CHECK(isTestPatternUrl(url));
  FUZZ_CHECK(o.bitrate >= kMinTestPatternBitrate && o.bitrate <= kMaxTestPatternBitrate);
  FUZZ_CHECK(o.width >= 64 && o.width <= 3840 && o.width % 2 == 0);
  FUZZ_CHECK(o.height >= 64 && o.height <= 2160 && o.height % 2 == 0);
  FUZZ_CHECK(o.fps >= 1 && o.fps <= 60);
  FUZZ_CHECK(o.gopSeconds >= 0.1 && o.gopSeconds <= 10);
  FUZZ_CHECK(o.durationSeconds == 0 || (o.durationSeconds >= 0.1 && o.durationSeconds <= 86400));
  auto again = parseTestPatternUrl("testpattern:?" + describeTestPattern(o));
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->bitrate == o.bitrate && again->width == o.width && again->height == o.height &&
             again->fps == o.fps && again->preset == o.preset);
  return 0;
}
