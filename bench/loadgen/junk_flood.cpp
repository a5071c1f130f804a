#include "junk_flood.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "dataplane/clock.h"
#include "dataplane/io/udp_socket.h"

namespace braid::bench {
namespace {

constexpr size_t kBurst = dp::kBurstSize;
constexpr size_t kInitSize = 1200;  // an HS_INIT is exactly this (docs/protocol.md §4.1)

// The 12-byte prefix of docs/protocol.md §1: version, type, session ID, link ID, flags.
std::vector<uint8_t> prefix(uint8_t type, uint8_t link = 0, uint8_t flags = 0, uint8_t version = 1,
                            uint64_t session = 0x0001020304050607) {
  std::vector<uint8_t> out{version, type};
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(session >> (8 * i)));
  out.push_back(link);
  out.push_back(flags);
  return out;
}

std::vector<uint8_t> padded(std::vector<uint8_t> bytes, size_t size) {
  bytes.resize(size, 0);
  return bytes;
}

// One datagram per junk kind, each dropped by the XDP filter for that reason.
std::array<std::vector<uint8_t>, kJunkKinds> junkTemplates() {
  std::array<std::vector<uint8_t>, kJunkKinds> t;
  t[static_cast<size_t>(FloodKind::kTooShort)] = {1, 16, 0, 0, 0};
  t[static_cast<size_t>(FloodKind::kBadVersion)] = padded(prefix(16, 2, 0, 2), 60);
  t[static_cast<size_t>(FloodKind::kUnknownType)] = padded(prefix(9), 52);
  t[static_cast<size_t>(FloodKind::kBadLinkId)] = padded(prefix(16, 16), 52);
  t[static_cast<size_t>(FloodKind::kSealedTooShort)] = padded(prefix(16, 2), 37);
  t[static_cast<size_t>(FloodKind::kBadInit)] = padded(prefix(1, 1, 0, 1, 0), kInitSize - 1);
  t[static_cast<size_t>(FloodKind::kWrongDirection)] = padded(prefix(18, 2), 60);  // an ACK
  return t;
}

void sleepUntil(uint64_t dueNs) {
  timespec ts{static_cast<time_t>(dueNs / 1'000'000'000), static_cast<long>(dueNs % 1'000'000'000)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

}  // namespace

const char* floodKindName(FloodKind kind) {
  switch (kind) {
    case FloodKind::kTooShort:
      return "too_short";
    case FloodKind::kBadVersion:
      return "bad_version";
    case FloodKind::kUnknownType:
      return "unknown_type";
    case FloodKind::kBadLinkId:
      return "bad_link_id";
    case FloodKind::kSealedTooShort:
      return "sealed_too_short";
    case FloodKind::kBadInit:
      return "bad_init";
    case FloodKind::kWrongDirection:
      return "wrong_direction";
    case FloodKind::kHandshakeInit:
      return "hs_init";
  }
  return "?";
}

Result<FloodReport> runFlood(const FloodOptions& o) {
  if (o.sources.empty() || o.socketsPerSource == 0) {
    return fail(ErrorCode::kInvalidArgument, "flood: no source address");
  }
  double totalPps = o.junkPps + o.initPps;
  if (totalPps <= 0 || o.seconds <= 0) {
    return fail(ErrorCode::kInvalidArgument, "flood: nothing to send");
  }
  std::vector<dp::UdpSocket> sockets;
  for (const dp::SocketAddress& source : o.sources) {
    for (size_t i = 0; i < o.socketsPerSource; ++i) {
      auto socket = dp::UdpSocket::bind(source);
      if (!socket) return tl::unexpected(socket.error());
      sockets.push_back(std::move(*socket));
    }
  }
  auto junk = junkTemplates();
  // HS_INITs differ in their key ID (bytes 12..15) and random field, so each looks new.
  std::array<std::array<uint8_t, kInitSize>, kBurst> inits{};
  std::vector<uint8_t> initTemplate = padded(prefix(1, 1, 0, 1, 0), kInitSize);
  for (auto& init : inits) std::memcpy(init.data(), initTemplate.data(), kInitSize);

  std::array<mmsghdr, kBurst> headers{};
  std::array<iovec, kBurst> iov{};
  std::array<FloodKind, kBurst> kinds{};
  FloodReport report;
  const uint64_t total = static_cast<uint64_t>(totalPps * o.seconds);
  const double intervalNs = 1e9 / totalPps;
  const double initShare = o.initPps / totalPps;
  uint64_t junkTurn = 0;
  uint64_t initCounter = 0x10000000;  // key IDs no real key file uses
  size_t socketTurn = 0;
  const uint64_t t0 = dp::monotonicNs() + 10'000'000;
  uint64_t lastSendNs = t0;
  // The flood lasts the stated time: a generator that falls behind sends less, and says so.
  const uint64_t endNs = t0 + static_cast<uint64_t>(o.seconds * 1e9);
  for (uint64_t g = 0; g < total; g += kBurst) {
    uint64_t dueNs = t0 + static_cast<uint64_t>(static_cast<double>(g) * intervalNs);
    uint64_t now = dp::monotonicNs();
    if (now >= endNs) break;
    if (now + 20'000 < dueNs) {
      sleepUntil(dueNs);
    } else if (now > dueNs) {
      report.maxLateNs = std::max(report.maxLateNs, now - dueNs);
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBurst, total - g));
    for (size_t i = 0; i < n; ++i) {
      uint64_t k = g + i;
      // Datagram k is an INIT when the INIT share's running total crosses an integer.
      bool init = static_cast<uint64_t>(static_cast<double>(k + 1) * initShare) >
                  static_cast<uint64_t>(static_cast<double>(k) * initShare);
      if (init) {
        auto& buffer = inits[i];
        uint32_t keyId = static_cast<uint32_t>(initCounter++);
        for (int b = 0; b < 4; ++b) buffer[12 + b] = static_cast<uint8_t>(keyId >> (24 - 8 * b));
        std::memcpy(buffer.data() + 16, &initCounter, sizeof(initCounter));
        iov[i] = {buffer.data(), kInitSize};
        kinds[i] = FloodKind::kHandshakeInit;
      } else {
        size_t kind = junkTurn++ % kJunkKinds;
        iov[i] = {junk[kind].data(), junk[kind].size()};
        kinds[i] = static_cast<FloodKind>(kind);
      }
      headers[i].msg_hdr = msghdr{};
      headers[i].msg_hdr.msg_name = const_cast<sockaddr*>(o.gateway.data());
      headers[i].msg_hdr.msg_namelen = o.gateway.length;
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    dp::UdpSocket& socket = sockets[socketTurn++ % sockets.size()];
    size_t done = 0;
    while (done < n) {
      int r = ::sendmmsg(socket.fd(), headers.data() + done, static_cast<unsigned>(n - done), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        // The socket buffer is full: wait for room (briefly; the rate then falls behind,
        // which the report shows).
        pollfd p{socket.fd(), POLLOUT, 0};
        if (errno == EAGAIN && ::poll(&p, 1, 10) > 0) continue;
        break;
      }
      for (int i = 0; i < r; ++i) ++report.sent[static_cast<size_t>(kinds[done + i])];
      done += static_cast<size_t>(r);
      if (r == 0) break;
    }
    report.sendErrors += n - done;
    lastSendNs = dp::monotonicNs();
  }
  report.seconds = static_cast<double>(lastSendNs - t0) / 1e9;
  return report;
}

}  // namespace braid::bench
