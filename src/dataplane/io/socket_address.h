#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/proto/result.h"

namespace braid::dp {

// An IPv4 or IPv6 UDP endpoint, stored inline (no allocation; copied per packet).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  // The address as 16 bytes (IPv4 as IPv4-mapped IPv6), for cookies and hashing.
  void toV6Bytes(uint8_t out[16]) const;
  bool isUnspecified() const { return length == 0; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);
};

// Parses "HOST:PORT" or "[V6HOST]:PORT" with a numeric host. Any thread.
Result<SocketAddress> parseSocketAddress(std::string_view text);

// "1.2.3.4:5" / "[::1]:5". Any thread; allocates (slow path only).
std::string toString(const SocketAddress& address);

}  // namespace braid::dp
