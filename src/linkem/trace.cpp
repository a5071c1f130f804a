#include "linkem/trace.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace braid::linkem {
namespace {

// Traces of a day at 1 Gbit/s stay far below this; a bound keeps a hostile file from asking
// for unbounded memory or times that overflow nanosecond arithmetic.
constexpr uint32_t kMaxTraceMs = 24u * 3600u * 1000u;
constexpr size_t kMaxOpportunities = size_t{1} << 26;

}  // namespace

uint64_t Trace::opportunitiesBetween(uint64_t fromMs, uint64_t toMs) const {
  if (toMs <= fromMs || periodMs == 0) return 0;
  auto countBelow = [this](uint64_t ms) {
    // Opportunities at looped times < ms. Loop k holds k·P + t for every t, and its last
    // opportunity (t = P) falls at (k + 1)·P, as mahimahi moves its base by the last timestamp.
    uint64_t loops = ms / periodMs;
    uint64_t rest = ms % periodMs;
    auto first = opportunityMs.begin();
    auto below = [&](uint64_t t) {
      return static_cast<uint64_t>(std::lower_bound(first, opportunityMs.end(), t) - first);
    };
    uint64_t count = loops * opportunityMs.size() + below(rest);
    if (rest == 0 && loops > 0) count -= opportunityMs.size() - below(periodMs);
    return count;
  };
  return countBelow(toMs) - countBelow(fromMs);
}

Result<Trace> parseTrace(std::string_view text, std::string_view name) {
  Trace trace;
  uint32_t lineNumber = 0;
  auto where = [&] { return std::string(name) + ":" + std::to_string(lineNumber) + ": "; };
  while (!text.empty()) {
    ++lineNumber;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    uint64_t ms = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), ms);
    if (ec != std::errc() || ptr != line.data() + line.size()) {
      return fail(ErrorCode::kParse, where() + "expected a millisecond count, got \"" +
                                         std::string(line.substr(0, 40)) + "\"");
    }
    if (ms > kMaxTraceMs) {
      return fail(ErrorCode::kParse,
                  where() + std::to_string(ms) + " ms is beyond the longest trace taken (24 h)");
    }
    if (!trace.opportunityMs.empty() && ms < trace.opportunityMs.back()) {
      return fail(ErrorCode::kParse, where() + std::to_string(ms) + " is before the line above (" +
                                         std::to_string(trace.opportunityMs.back()) +
                                         "); timestamps must not decrease");
    }
    if (trace.opportunityMs.size() >= kMaxOpportunities) {
      return fail(ErrorCode::kParse, where() + "more than 2^26 opportunities");
    }
    trace.opportunityMs.push_back(static_cast<uint32_t>(ms));
  }
  if (trace.opportunityMs.empty()) {
    return fail(ErrorCode::kParse, std::string(name) + ": the trace has no opportunities");
  }
  trace.periodMs = trace.opportunityMs.back();
  if (trace.periodMs == 0) {
    return fail(ErrorCode::kParse,
                std::string(name) + ": the last timestamp is 0, so the trace has no period");
  }
  return trace;
}

Result<Trace> loadTrace(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return fail(ErrorCode::kIo, path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  return parseTrace(text.str(), path);
}

}  // namespace braid::linkem
