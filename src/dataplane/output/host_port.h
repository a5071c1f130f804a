#pragma once

#include <string_view>

#include "dataplane/io/socket_address.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

// Parses "HOST:PORT" / "[V6HOST]:PORT" where HOST may be a name (resolved with
// getaddrinfo, first result wins) or a numeric address. An empty host ("" or ":PORT") is
// accepted as 0.0.0.0 only when `allowEmptyHost` (a local bind). Slow path, any thread;
// may block on DNS. Returns kInvalidArgument / kNotFound with the text in the context.
[[nodiscard]] Result<SocketAddress> resolveHostPort(std::string_view text,
                                                    bool allowEmptyHost = false);

// Parses "udp://HOST:PORT" (no path or query). Same threading and errors as resolveHostPort.
[[nodiscard]] Result<SocketAddress> parseUdpUrl(std::string_view url, bool allowEmptyHost = false);

}  // namespace braid::dp
