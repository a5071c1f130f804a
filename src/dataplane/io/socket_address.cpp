#include "dataplane/io/socket_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>
#include <cstring>

namespace braid::dp {

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SocketAddress::toV6Bytes(uint8_t out[16]) const {
  std::memset(out, 0, 16);
  if (family() == AF_INET) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out + 12, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, 4);
  } else if (family() == AF_INET6) {
    std::memcpy(out, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, 16);
  }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return a.length == b.length;
}

Result<SocketAddress> parseSocketAddress(std::string_view text) {
  std::string host;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(ErrorCode::kInvalidArgument,
                  "bad address '" + std::string(text) + "': expected [IPv6]:PORT");
    }
    host = std::string(text.substr(1, close - 1));
    portText = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad address '" + std::string(text) + "': expected HOST:PORT");
    }
    host = std::string(text.substr(0, colon));
    portText = text.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port > 65535) {
    return fail(ErrorCode::kInvalidArgument,
                "bad port in '" + std::string(text) + "': expected 0..65535");
  }
  SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    address.length = sizeof(sockaddr_in);
    return address;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  return fail(ErrorCode::kInvalidArgument,
              "bad host in '" + std::string(text) + "': expected a numeric IPv4/IPv6 address");
}

std::string toString(const SocketAddress& address) {
  char host[INET6_ADDRSTRLEN] = {};
  char out[INET6_ADDRSTRLEN + 16] = {};
  if (address.family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&address.storage)->sin_addr, host,
              sizeof(host));
    std::snprintf(out, sizeof(out), "%s:%u", host, address.port());
    return out;
  }
  if (address.family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&address.storage)->sin6_addr, host,
              sizeof(host));
    std::snprintf(out, sizeof(out), "[%s]:%u", host, address.port());
    return out;
  }
  return "(none)";
}

}  // namespace braid::dp
