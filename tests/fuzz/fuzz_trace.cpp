// libFuzzer target: the Mahimahi trace parser on arbitrary text returns a trace or an error,
// never crashes; a parsed trace is non-decreasing with a positive period, and counting its
// opportunities over a window agrees with the sum of its parts.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "linkem/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto trace = braid::linkem::parseTrace(text, "fuzz");
  if (!trace) return 0;
  const auto& ms = trace->opportunityMs;
  if (ms.empty() || trace->periodMs == 0 || trace->periodMs != ms.back()) std::abort();
  for (size_t i = 1; i < ms.size(); ++i) {
    if (ms[i] < ms[i - 1]) std::abort();
  }
  uint64_t a = size, b = 3 * uint64_t{trace->periodMs} + 7, c = b + size * 13;
  if (a <= b && trace->opportunitiesBetween(a, b) + trace->opportunitiesBetween(b, c) !=
                    trace->opportunitiesBetween(a, c)) {
    std::abort();
  }
  if (trace->opportunitiesBetween(0, trace->periodMs + 1) < ms.size()) std::abort();
  return 0;
}
