#include "ctrl/config/common_keys.h"

#include <charconv>

#include "ctrl/config/schema.h"

namespace braid::ctrl {
namespace {

// HOST:PORT or [IPV6]:PORT where HOST may be a name (resolved when the socket opens).
bool hostPortSyntax(std::string_view text, bool allowEmptyHost) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return (allowEmptyHost || !host.empty()) && !port.empty() && ec == std::errc() &&
         end == port.data() + port.size() && value <= 65535;
}

std::string quoted(std::string_view text) {
  return renderValue(std::string(text));
}

// file:PATH, udp://HOST:PORT or a plain PATH; other "scheme://" are not supported.
std::string checkMediaUrl(std::string_view url, bool allowEmptyHost, std::string_view expected) {
  std::string bad = quoted(url) + " is not " + std::string(expected);
  if (url.starts_with("udp://")) {
    return hostPortSyntax(url.substr(6), allowEmptyHost) ? std::string() : bad;
  }
  if (url.starts_with("file:")) {
    std::string_view path = url.substr(url.starts_with("file://") ? 7 : 5);
    return path.empty() || path.front() == '?' ? bad : std::string();
  }
  if (url.empty() || url.find("://") != std::string_view::npos) return bad;
  return {};
}

}  // namespace

std::string checkOutputUrl(std::string_view url) {
  if (url == "null:") return {};
  return checkMediaUrl(url, false,
                       "an output (expected file:PATH, PATH, udp://HOST:PORT or null:)");
}

std::string checkMediaInput(std::string_view input) {
  constexpr std::string_view kExpected =
      "an input (expected file:PATH[?loop=1], PATH, udp://[HOST]:PORT or "
      "testpattern:[?KEY=VALUE&...])";
  // The test pattern's option values are checked by braid-edge itself (--check-config, or
  // when it opens the input): the edge owns their parser, ctrl does not depend on it.
  if (input.starts_with("testpattern:")) {
    std::string_view rest = input.substr(12);
    return rest.empty() || rest.front() == '?'
               ? std::string()
               : quoted(input) + " is not " + std::string(kExpected);
  }
  return checkMediaUrl(input, true, kExpected);
}

std::string checkLinkName(std::string_view name) {
  bool good = !name.empty() && name.size() <= 32;
  for (char c : name) {
    good = good && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.');
  }
  return good ? std::string() : quoted(name) + " is not a link name (1-32 of A-Z a-z 0-9 _ - .)";
}

std::string checkInterfaceName(std::string_view name) {
  bool good = !name.empty() && name.size() <= 15 && name != "." && name != "..";
  for (char c : name) {
    good = good && c != '/' && c != ':' && static_cast<unsigned char>(c) > ' ' && c != 0x7f;
  }
  return good ? std::string()
              : quoted(name) + " is not an interface name (1-15 bytes, no '/', ':' or spaces)";
}

}  // namespace braid::ctrl
