#include "edge/link_options.h"

#include <sys/socket.h>

namespace braid::edge {

const char* linkPriorityName(LinkPriority priority) {
  switch (priority) {
    case LinkPriority::kPrimary:
      return "primary";
    case LinkPriority::kNormal:
      return "normal";
    case LinkPriority::kBackup:
      return "backup";
  }
  return "unknown";
}

std::optional<LinkPriority> parseLinkPriority(const std::string& text) {
  if (text == "primary") return LinkPriority::kPrimary;
  if (text == "normal") return LinkPriority::kNormal;
  if (text == "backup") return LinkPriority::kBackup;
  return std::nullopt;
}

dp::SocketAddress linkGateway(const EdgeLinkOptions& link,
                              const dp::SocketAddress& sessionGateway) {
  return link.gateway.isUnspecified() ? sessionGateway : link.gateway;
}

Result<dp::UdpSocket> openLinkSocket(const EdgeLinkOptions& link,
                                     const dp::SocketAddress& sessionGateway) {
  dp::SocketAddress bind = link.bindAddress;
  if (bind.isUnspecified()) {
    bool v6 = linkGateway(link, sessionGateway).family() == AF_INET6;
    auto any = dp::parseSocketAddress(v6 ? "[::]:0" : "0.0.0.0:0");
    if (!any) return tl::unexpected(any.error());
    bind = *any;
  }
  dp::UdpSocketOptions options;
  options.bindDevice = link.bindDevice;
  auto socket = dp::UdpSocket::bind(bind, options);
  if (!socket)
    return fail(socket.error().code, "link " + link.name + ": " + socket.error().context);
  return socket;
}

}  // namespace braid::edge
