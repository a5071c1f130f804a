#pragma once

#include <optional>
#include <string>

#include "dataplane/io/socket_address.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/result.h"

namespace braid::edge {

// What a link is for. Primary and normal links share the media by expected delivery (a
// primary link is tried first for the handshake); a backup link (e.g. metered satellite)
// carries media only when the others fall short: when none of them carries media, or when
// the input backs up behind them.
enum class LinkPriority : uint8_t { kPrimary, kNormal, kBackup };
const char* linkPriorityName(LinkPriority priority);
// "primary", "normal" or "backup" (the config's values); nullopt otherwise.
std::optional<LinkPriority> parseLinkPriority(const std::string& text);

// One network path to the gateway: its own UDP socket, bound to a device or source address.
struct EdgeLinkOptions {
  std::string name = "link0";
  dp::SocketAddress gateway = {};      // where this link sends (unspecified: the session's gateway)
  dp::SocketAddress bindAddress = {};  // local address (unspecified: any, ephemeral port)
  std::string bindDevice = {};         // SO_BINDTODEVICE, empty: none
  LinkPriority priority = LinkPriority::kNormal;

  bool operator==(const EdgeLinkOptions&) const = default;
};

// The address `link` sends to: its own gateway, or `sessionGateway` when it has none. Any thread.
dp::SocketAddress linkGateway(const EdgeLinkOptions& link, const dp::SocketAddress& sessionGateway);

// Creates the link's UDP socket, bound to its device and source address (any address of the
// gateway's family and an ephemeral port when it has none). Any thread (a control-plane
// operation: the SIGHUP handler opens added links' sockets before the sender takes them).
// Returns the socket, or an error naming the link.
[[nodiscard]] Result<dp::UdpSocket> openLinkSocket(const EdgeLinkOptions& link,
                                                   const dp::SocketAddress& sessionGateway);

}  // namespace braid::edge
