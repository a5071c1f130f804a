#pragma once

// Value lists and checks that both binaries' schemas share.

#include <string>
#include <string_view>
#include <vector>

namespace braid::ctrl {

// The names ctrl::parseLogLevel accepts (its "warning" alias left out to keep one spelling).
inline std::vector<std::string> logLevelChoices() {
  return {"trace", "debug", "info", "warn", "error", "critical", "off"};
}

// The names proto::parseAeadBackend accepts.
inline std::vector<std::string> aeadChoices() {
  return {"auto", "ipsec-mb", "openssl"};
}

// An output URL: file:PATH or udp://HOST:PORT. Returns an error message or "".
std::string checkOutputUrl(std::string_view url);

// A link name: 1-32 of [A-Za-z0-9_.-], so it is safe as a metrics label and in URLs.
std::string checkLinkName(std::string_view name);

// A network interface name: 1-15 bytes (IFNAMSIZ), no '/', ':' or whitespace.
std::string checkInterfaceName(std::string_view name);

// A media input: file:PATH[?loop=1], udp://HOST:PORT, a plain path, or testpattern:[?OPTIONS]
// (whose option values the edge checks); must not be empty.
std::string checkMediaInput(std::string_view input);

}  // namespace braid::ctrl
