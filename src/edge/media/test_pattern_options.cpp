#include "edge/media/test_pattern_options.h"

#include <array>
#include <charconv>
#include <cmath>

#include "fmt/format.h"

namespace braid::edge {
namespace {

constexpr std::array<std::string_view, 6> kPresets = {"ultrafast", "superfast", "veryfast",
                                                      "faster",    "fast",      "medium"};

// A non-negative decimal filling all of `text`.
bool parseNumber(std::string_view text, double& out) {
  if (text.empty() || text.front() == '-' || text.front() == '+') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

bool parseUnsigned(std::string_view text, uint32_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "4M", "2.5M", "2500k", "3000000" (bit/s).
bool parseBitrate(std::string_view text, uint64_t& out) {
  double scale = 1;
  if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) {
    scale = 1e3;
    text.remove_suffix(1);
  } else if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) {
    scale = 1e6;
    text.remove_suffix(1);
  }
  double value = 0;
  if (!parseNumber(text, value) || value * scale > 1e12) return false;
  out = static_cast<uint64_t>(std::llround(value * scale));
  return true;
}

}  // namespace

bool isTestPatternUrl(std::string_view url) {
  return url.starts_with(kTestPatternScheme);
}

Result<TestPatternOptions> parseTestPatternUrl(std::string_view url) {
  auto bad = [url](std::string_view what) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("input '{}': {} (expected testpattern:[?bitrate=4M&size=1280x720&"
                            "fps=30&gop=1&preset=veryfast&duration=60])",
                            url, what));
  };
  if (!isTestPatternUrl(url)) return bad("not a testpattern: URL");
  std::string_view rest = url.substr(kTestPatternScheme.size());
  if (!rest.empty() && rest.front() != '?') return bad("options must follow a '?'");
  std::string_view query = rest.empty() ? rest : rest.substr(1);
  TestPatternOptions options;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;  // "?&fps=25" or a trailing '&'
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return bad(fmt::format("option '{}' has no value (write KEY=VALUE)", item));
    }
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    if (key == "bitrate") {
      uint64_t bps = 0;
      if (!parseBitrate(value, bps) || bps < kMinTestPatternBitrate ||
          bps > kMaxTestPatternBitrate) {
        return bad(
            fmt::format("bitrate '{}' is not a bit rate from 100k to 100M (bit/s, e.g. "
                        "4M, 2500k, 3000000)",
                        value));
      }
      options.bitrate = bps;
    } else if (key == "size") {
      auto x = value.find('x');
      uint32_t w = 0, h = 0;
      if (x == std::string_view::npos || !parseUnsigned(value.substr(0, x), w) ||
          !parseUnsigned(value.substr(x + 1), h) || w < 64 || h < 64 || w > 3840 || h > 2160 ||
          w % 2 != 0 || h % 2 != 0) {
        return bad(
            fmt::format("size '{}' is not WIDTHxHEIGHT with even sides from 64x64 to "
                        "3840x2160",
                        value));
      }
      options.width = w;
      options.height = h;
    } else if (key == "fps") {
      uint32_t fps = 0;
      if (!parseUnsigned(value, fps) || fps < 1 || fps > 60) {
        return bad(fmt::format("fps '{}' is not a whole frame rate from 1 to 60", value));
      }
      options.fps = fps;
    } else if (key == "gop") {
      double seconds = 0;
      if (!parseNumber(value, seconds) || seconds < 0.1 || seconds > 10) {
        return bad(fmt::format("gop '{}' is not a keyframe interval from 0.1 to 10 s", value));
      }
      options.gopSeconds = seconds;
    } else if (key == "duration") {
      double seconds = 0;
      if (!parseNumber(value, seconds) || seconds < 0.1 || seconds > 86400) {
        return bad(fmt::format("duration '{}' is not a length from 0.1 to 86400 s", value));
      }
      options.durationSeconds = seconds;
    } else if (key == "preset") {
      bool known = false;
      for (std::string_view p : kPresets) known = known || p == value;
      if (!known) {
        return bad(
            fmt::format("preset '{}' is not one of ultrafast, superfast, veryfast, "
                        "faster, fast, medium",
                        value));
      }
      options.preset = std::string(value);
    } else {
      return bad(fmt::format(
          "unknown option '{}' (known: bitrate, size, fps, gop, preset, duration)", key));
    }
  }
  return options;
}

std::string describeTestPattern(const TestPatternOptions& o) {
  std::string text = fmt::format("bitrate={}&size={}x{}&fps={}&gop={:g}&preset={}", o.bitrate,
                                 o.width, o.height, o.fps, o.gopSeconds, o.preset);
  if (o.durationSeconds > 0) text += fmt::format("&duration={:g}", o.durationSeconds);
  return text;
}

}  // namespace braid::edge
