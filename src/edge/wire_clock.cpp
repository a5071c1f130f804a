#include "edge/wire_clock.h"

#include <charconv>
#include <cmath>
#include <string>

namespace braid::edge {

namespace {

// One period of the 32-bit µs send timestamp, in ns.
constexpr uint64_t kSendTimestampPeriodNs = (uint64_t{1} << 32) * 1000;

tl::unexpected<Error> badSkew(std::string_view text, const std::string& why) {
  return fail(ErrorCode::kInvalidArgument,
              "clock skew '" + std::string(text) + "': " + why +
                  " (expected OFFSET_MS:PPM, e.g. 3600000:100 or -3600000:-100)");
}

// std::from_chars does not take a leading '+'.
std::string_view withoutPlus(std::string_view s) {
  return s.starts_with('+') ? s.substr(1) : s;
}

}  // namespace

Result<ClockSkew> parseClockSkew(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return badSkew(text, "no ':'");
  const std::string_view offsetText = withoutPlus(text.substr(0, colon));
  const std::string_view ppmText = withoutPlus(text.substr(colon + 1));

  int64_t offsetMs = 0;
  auto [offsetEnd, offsetError] =
      std::from_chars(offsetText.data(), offsetText.data() + offsetText.size(), offsetMs);
  if (offsetText.empty() || offsetError != std::errc() ||
      offsetEnd != offsetText.data() + offsetText.size()) {
    return badSkew(text, "the offset is not a whole number of milliseconds");
  }
  if (offsetMs < -kMaxClockSkewOffsetMs || offsetMs > kMaxClockSkewOffsetMs) {
    return badSkew(text,
                   "the offset must be within ±" + std::to_string(kMaxClockSkewOffsetMs) + " ms");
  }

  double ppm = 0;
  auto [ppmEnd, ppmError] = std::from_chars(ppmText.data(), ppmText.data() + ppmText.size(), ppm,
                                            std::chars_format::fixed);
  if (ppmText.empty() || ppmError != std::errc() || ppmEnd != ppmText.data() + ppmText.size() ||
      !std::isfinite(ppm)) {
    return badSkew(text, "the drift is not a number of ppm");
  }
  if (std::fabs(ppm) > static_cast<double>(kMaxClockSkewPpm)) {
    return badSkew(text, "the drift must be within ±" + std::to_string(kMaxClockSkewPpm) + " ppm");
  }
  const double ppb = ppm * 1000;
  if (std::fabs(ppb - std::round(ppb)) > 1e-6) {
    return badSkew(text, "the drift has more than 3 decimals");
  }
  return ClockSkew{.offsetNs = offsetMs * 1'000'000, .ppb = std::llround(ppb)};
}

WireClock::WireClock(const ClockSkew& skew, uint64_t originNs) noexcept
    : originNs_(originNs), ppb_(skew.ppb) {
  if (skew.offsetNs >= 0) {
    baseNs_ = static_cast<uint64_t>(skew.offsetNs);
  } else {
    const auto magnitude = static_cast<uint64_t>(-skew.offsetNs);
    const uint64_t periods = (magnitude + kSendTimestampPeriodNs - 1) / kSendTimestampPeriodNs;
    baseNs_ = periods * kSendTimestampPeriodNs - magnitude;
  }
}

}  // namespace braid::edge
