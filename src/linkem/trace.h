#pragma once

// A Mahimahi packet-delivery trace: each line is a millisecond (from the trace's start) at
// which one 1500-byte delivery opportunity occurs; repeated values are several opportunities
// in that millisecond; the trace loops with the period of its last timestamp.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/proto/result.h"

namespace braid::linkem {

inline constexpr uint32_t kTraceOpportunityBytes = 1500;

struct Trace {
  std::vector<uint32_t> opportunityMs;  // non-decreasing; the last one is > 0
  uint32_t periodMs = 0;                // the last timestamp: where the trace loops

  // Opportunities whose times fall in [fromMs, toMs) of looped trace time. Any thread.
  uint64_t opportunitiesBetween(uint64_t fromMs, uint64_t toMs) const;
};

// Parses trace text (one non-negative integer per line, non-decreasing, blank lines ignored).
// Any thread. Returns the trace, or a kParse Error naming `name` and the line.
[[nodiscard]] Result<Trace> parseTrace(std::string_view text, std::string_view name);

// Reads and parses the trace file at `path`. Returns the trace, or a kIo / kParse Error.
[[nodiscard]] Result<Trace> loadTrace(const std::string& path);

}  // namespace braid::linkem
