#pragma once

#include <memory>
#include <string_view>

#include "edge/media/clock.h"
#include "edge/media/ts_source.h"

namespace braid::edge {

struct TsInputOptions {
  bool pace = true;                       // files only: real time by PCR
  uint64_t fallbackBitrate = 8'000'000;   // files without PCR, bit/s
  std::shared_ptr<MonotonicClock> clock;  // null: steadyClock()
};

// Opens the media input named by `url`: "file:PATH[?loop=1]", a plain PATH,
// "udp://HOST:PORT" (HOST may be empty or 0.0.0.0 for any local address, or a multicast
// group), or "testpattern:[?OPTIONS]" (the built-in encoder, test_pattern_options.h).
// Any thread. Errors: kInvalidArgument (malformed URL or option), kUnsupported (another
// scheme; testpattern: in a build without FFmpeg), and the errors of the sources' open().
[[nodiscard]] Result<std::unique_ptr<TsSource>> openTsSource(std::string_view url,
                                                             const TsInputOptions& options = {});

}  // namespace braid::edge
