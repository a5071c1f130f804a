#include "dataplane/output/host_port.h"

#include <netdb.h>

#include <charconv>
#include <cstring>
#include <string>

namespace braid::dp {

namespace {

constexpr std::string_view kUdpScheme = "udp://";

}  // namespace

Result<SocketAddress> resolveHostPort(std::string_view text, bool allowEmptyHost) {
  std::string_view host;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(ErrorCode::kInvalidArgument,
                  "bad address '" + std::string(text) + "': expected [IPv6]:PORT");
    }
    host = text.substr(1, close - 1);
    portText = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad address '" + std::string(text) + "': expected HOST:PORT");
    }
    host = text.substr(0, colon);
    portText = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (portText.empty() || ec != std::errc() || end != portText.data() + portText.size() ||
      port > 65535) {
    return fail(ErrorCode::kInvalidArgument,
                "bad port in '" + std::string(text) + "': expected 0..65535");
  }
  if (host.empty()) {
    if (!allowEmptyHost) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad address '" + std::string(text) + "': a destination needs a host");
    }
    return parseSocketAddress("0.0.0.0:" + std::to_string(port));
  }
  if (auto numeric = parseSocketAddress(text); numeric) return numeric;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string hostString(host);
  const std::string portString = std::to_string(port);
  int rc = ::getaddrinfo(hostString.c_str(), portString.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return fail(ErrorCode::kNotFound, "cannot resolve '" + hostString + "': " + ::gai_strerror(rc));
  }
  SocketAddress address;
  std::memcpy(&address.storage, found->ai_addr, found->ai_addrlen);
  address.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return address;
}

Result<SocketAddress> parseUdpUrl(std::string_view url, bool allowEmptyHost) {
  if (url.substr(0, kUdpScheme.size()) != kUdpScheme) {
    return fail(ErrorCode::kInvalidArgument,
                "bad URL '" + std::string(url) + "': expected udp://HOST:PORT");
  }
  std::string_view rest = url.substr(kUdpScheme.size());
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "bad URL '" + std::string(url) +
                                                 "': udp:// takes only HOST:PORT (no path, "
                                                 "options or user)");
  }
  return resolveHostPort(rest, allowEmptyHost);
}

}  // namespace braid::dp
