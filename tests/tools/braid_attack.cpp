// braid-attack: hostile traffic for the gateway's bad-input tests (loopback only).
//
//   junk        garbage, truncated, wrong-version and unknown-type packets
//   init-flood  handshake inits without cookies from many source ports, at a set rate
//   wrong-key   sealed packets for a live session ID under a random key
//   relay       a man in the middle between edge and gateway that forwards everything and
//               also injects replayed and tampered copies of the edge's packets and replays
//               its authenticated handshake init
//
// Prints one summary line `attack mode=... key=value ...` at the end.

#include <poll.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "dataplane/clock.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/crypto/primitives.h"
#include "dataplane/proto/wire/handshake_messages.h"
#include "dataplane/proto/wire/packet.h"
#include "dataplane/proto/wire/sealed_header.h"

namespace {

using namespace braid;
using dp::monotonicNs;

// Sleeps so that `sent` packets take `sent / rate` seconds since `startNs`.
void pace(uint64_t startNs, uint64_t sent, double rate) {
  if (rate <= 0) return;
  uint64_t dueNs = startNs + static_cast<uint64_t>(static_cast<double>(sent) / rate * 1e9);
  uint64_t now = monotonicNs();
  if (dueNs > now + 200'000) {
    timespec ts{0, static_cast<long>(dueNs - now)};
    nanosleep(&ts, nullptr);
  }
}

int runJunk(const dp::SocketAddress& target, uint64_t count, double rate, uint32_t seed) {
  auto socket = dp::UdpSocket::bind(*dp::parseSocketAddress("127.0.0.1:0"));
  if (!socket) {
    std::fprintf(stderr, "%s\n", socket.error().describe().c_str());
    return 1;
  }
  std::mt19937_64 rng(seed);
  std::array<uint8_t, 1400> buf{};
  uint64_t kinds[4] = {};
  uint64_t startNs = monotonicNs();
  for (uint64_t i = 0; i < count; ++i) {
    pace(startNs, i, rate);
    size_t size = 1 + rng() % buf.size();
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    int kind = static_cast<int>(i % 4);
    switch (kind) {
      case 0:  // random bytes with a wrong version
        buf[0] = static_cast<uint8_t>(2 + rng() % 250);
        break;
      case 1:  // right version, unknown type
        buf[0] = proto::kVersion;
        buf[1] = static_cast<uint8_t>(5 + rng() % 10);
        break;
      case 2:  // a truncated sealed header
        buf[0] = proto::kVersion;
        buf[1] = static_cast<uint8_t>(proto::PacketType::kData);
        size = 1 + rng() % 20;
        break;
      case 3:  // a truncated handshake init
        buf[0] = proto::kVersion;
        buf[1] = static_cast<uint8_t>(proto::PacketType::kHandshakeInit);
        size = 13 + rng() % 1000;
        break;
    }
    ++kinds[kind];
    while (!socket->sendTo(std::span<const uint8_t>(buf.data(), size), target)) {
      socket->waitReadable(1);
    }
  }
  std::printf(
      "attack mode=junk sent=%llu bad_version=%llu unknown_type=%llu truncated_sealed=%llu "
      "truncated_init=%llu\n",
      (unsigned long long)count, (unsigned long long)kinds[0], (unsigned long long)kinds[1],
      (unsigned long long)kinds[2], (unsigned long long)kinds[3]);
  return 0;
}

int runInitFlood(const dp::SocketAddress& target, uint64_t count, double rate, unsigned ports,
                 uint32_t seed) {
  std::vector<dp::UdpSocket> sockets;
  for (unsigned i = 0; i < ports; ++i) {
    dp::UdpSocketOptions small;
    small.receiveBufferBytes = 4096;
    auto socket = dp::UdpSocket::bind(*dp::parseSocketAddress("127.0.0.1:0"), small);
    if (!socket) {
      std::fprintf(stderr, "%s\n", socket.error().describe().c_str());
      return 1;
    }
    sockets.push_back(std::move(*socket));
  }
  std::mt19937_64 rng(seed);
  dp::TxBatch batch;
  dp::RxBatch rx;
  uint64_t sent = 0, failed = 0, cookies = 0;
  uint64_t startNs = monotonicNs();
  while (sent < count) {
    dp::UdpSocket& socket = sockets[(sent / dp::kBurstSize) % sockets.size()];
    size_t n = std::min<uint64_t>(dp::kBurstSize, count - sent);
    for (size_t i = 0; i < n; ++i) {
      proto::HandshakeInit init;
      init.keyId = static_cast<uint32_t>(rng());
      for (auto& b : init.edgeNonce) b = static_cast<uint8_t>(rng());
      for (auto& b : init.edgePublic) b = static_cast<uint8_t>(rng());
      for (auto& b : init.mac) b = static_cast<uint8_t>(rng());
      init.requestedLatencyMs = 500;
      size_t size = init.encode(batch.next());
      batch.commit(size, target);
    }
    int r = socket.sendBatch(batch);
    if (r > 0) sent += static_cast<uint64_t>(r);
    if (r < static_cast<int>(n)) {
      failed += n - static_cast<size_t>(std::max(r, 0));
      socket.waitReadable(1);
    }
    // Drain the cookie answers so the sockets never fill (their count is reported).
    while (socket.receiveBatch(rx) > 0) cookies += rx.count;
    pace(startNs, sent, rate);
  }
  for (auto& socket : sockets) {
    while (socket.receiveBatch(rx) > 0) cookies += rx.count;
  }
  double seconds = static_cast<double>(monotonicNs() - startNs) / 1e9;
  std::printf(
      "attack mode=init-flood sent=%llu ports=%u seconds=%.2f rate=%.0f cookies_seen=%llu "
      "send_retries=%llu\n",
      (unsigned long long)sent, ports, seconds, static_cast<double>(sent) / seconds,
      (unsigned long long)cookies, (unsigned long long)failed);
  return 0;
}

int runWrongKey(const dp::SocketAddress& target, uint64_t sessionId, uint64_t count, double rate,
                uint32_t seed) {
  auto socket = dp::UdpSocket::bind(*dp::parseSocketAddress("127.0.0.1:0"));
  if (!socket) return 1;
  proto::AeadKey key{};
  std::mt19937_64 rng(seed);
  for (auto& b : key) b = static_cast<uint8_t>(rng());
  auto aead = proto::Aead::create(proto::AeadBackend::kOpenSsl, key);
  if (!aead) return 1;
  std::array<uint8_t, 1500> packet{};
  std::array<uint8_t, 1128> payload{};
  uint64_t startNs = monotonicNs();
  for (uint64_t i = 0; i < count; ++i) {
    pace(startNs, i, rate);
    proto::SealedHeader header{.prefix = {.type = proto::PacketType::kData,
                                          .sessionId = proto::SessionId{sessionId},
                                          .linkId = 0},
                               .linkSeq = 1'000'000 + i,
                               .sendTsUs = 0};
    proto::MediaFields media{.mediaSeq = i, .mediaTsUs = i};
    size_t aad = proto::writeSealedHeader(header, &media, packet);
    std::copy(payload.begin(), payload.end(), packet.begin() + aad);
    auto nonce = proto::makeNonce(proto::Direction::kEdgeToGateway, 0, header.linkSeq);
    std::span<uint8_t, 16> tag(packet.data() + aad + payload.size(), 16);
    aead->seal(nonce, std::span<const uint8_t>(packet.data(), aad),
               std::span<uint8_t>(packet.data() + aad, payload.size()), tag);
    socket->sendTo(std::span<const uint8_t>(packet.data(), aad + payload.size() + 16), target);
  }
  std::printf("attack mode=wrong-key sent=%llu session=%016llx\n", (unsigned long long)count,
              (unsigned long long)sessionId);
  return 0;
}

// Forwards edge <-> gateway and injects replays and tampered copies of the edge's packets.
int runRelay(const dp::SocketAddress& listen, const dp::SocketAddress& target, unsigned replayEvery,
             unsigned tamperEvery, unsigned handshakeReplays, unsigned rebindAfter,
             double durationSeconds) {
  auto front = dp::UdpSocket::bind(listen);
  if (!front) {
    std::fprintf(stderr, "%s\n", front.error().describe().c_str());
    return 1;
  }
  auto back = dp::UdpSocket::bind(*dp::parseSocketAddress("127.0.0.1:0"));
  if (!back) return 1;
  auto local = front->localAddress();
  std::printf("relay listening on %s\n", dp::toString(*local).c_str());
  std::fflush(stdout);
  dp::SocketAddress edge;
  dp::RxBatch rx;
  std::vector<uint8_t> lastInit;
  uint64_t forwarded = 0, replays = 0, tampered = 0, initReplays = 0, dataSeen = 0, rebinds = 0;
  bool initReplayed = false;
  uint64_t endNs = monotonicNs() + static_cast<uint64_t>(durationSeconds * 1e9);
  while (monotonicNs() < endNs) {
    pollfd fds[2] = {{front->fd(), POLLIN, 0}, {back->fd(), POLLIN, 0}};
    ::poll(fds, 2, 10);
    while (front->receiveBatch(rx) > 0) {
      for (size_t i = 0; i < rx.count; ++i) {
        auto packet = rx.datagram(i);
        edge = rx.sources[i];
        back->sendTo(packet, target);
        ++forwarded;
        if (packet.size() == proto::kHandshakeInitSize && packet[1] == 1 && packet[90] == 16) {
          lastInit.assign(packet.begin(), packet.end());  // the authenticated init
        }
        if (packet.size() > 40 && packet[1] == static_cast<uint8_t>(proto::PacketType::kData)) {
          ++dataSeen;
          if (rebindAfter && dataSeen % rebindAfter == 0) {
            // A NAT rebinding: from now on the gateway sees this link from a new port.
            auto fresh = dp::UdpSocket::bind(*dp::parseSocketAddress("127.0.0.1:0"));
            if (fresh) {
              back = std::move(fresh);
              ++rebinds;
            }
          }
          if (replayEvery && dataSeen % replayEvery == 0) {
            back->sendTo(packet, target);
            ++replays;
          }
          if (tamperEvery && dataSeen % tamperEvery == 0) {
            // Flip a bit in the ciphertext of a copy sent with a fresh-looking sequence,
            // and in the cleartext header of another: both must fail authentication.
            std::vector<uint8_t> copy(packet.begin(), packet.end());
            copy[copy.size() / 2] ^= 0x01;
            copy[proto::kLinkSeqOffset + 5] ^= 0x80;
            back->sendTo(copy, target);
            std::vector<uint8_t> copy2(packet.begin(), packet.end());
            copy2[proto::kSendTsOffset] ^= 0x10;
            copy2[proto::kLinkSeqOffset + 4] ^= 0x40;
            back->sendTo(copy2, target);
            tampered += 2;
          }
          if (!initReplayed && !lastInit.empty() && dataSeen > 50) {
            for (unsigned k = 0; k < handshakeReplays; ++k) back->sendTo(lastInit, target);
            initReplays += handshakeReplays;
            initReplayed = true;
          }
        }
      }
    }
    while (back->receiveBatch(rx) > 0) {
      for (size_t i = 0; i < rx.count; ++i) {
        if (!edge.isUnspecified()) front->sendTo(rx.datagram(i), edge);
      }
    }
  }
  std::printf(
      "attack mode=relay forwarded=%llu replays=%llu tampered=%llu init_replays=%llu "
      "rebinds=%llu\n",
      (unsigned long long)forwarded, (unsigned long long)replays, (unsigned long long)tampered,
      (unsigned long long)initReplays, (unsigned long long)rebinds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"braid-attack: hostile traffic for Braid's bad-input tests (loopback only)"};
  app.require_subcommand(1);
  std::string target = "127.0.0.1:7400";
  uint64_t count = 1000;
  uint32_t seed = 1;
  app.add_option("--target", target, "gateway address")->capture_default_str();
  app.add_option("--count", count, "packets to send")->capture_default_str();
  app.add_option("--seed", seed, "random seed")->capture_default_str();
  double rate = 0;
  app.add_option("--rate", rate, "packets per second (0: as fast as possible)");

  auto* junk = app.add_subcommand("junk", "garbage, truncated, wrong version, unknown type");
  auto* flood = app.add_subcommand("init-flood", "cookie-less handshake inits from many ports");
  unsigned ports = 64;
  flood->add_option("--ports", ports, "source sockets")->capture_default_str();
  auto* wrongKey = app.add_subcommand("wrong-key", "sealed packets under a random key");
  std::string session;
  wrongKey->add_option("--session", session, "session ID (hex)")->required();
  auto* relay = app.add_subcommand("relay", "forward edge<->gateway, inject replays/tampering");
  std::string listen = "127.0.0.1:0";
  unsigned replayEvery = 10, tamperEvery = 10, handshakeReplays = 3, rebindAfter = 0;
  double duration = 10;
  relay->add_option("--listen", listen, "address the edge sends to")->capture_default_str();
  relay->add_option("--replay-every", replayEvery, "replay every Nth data packet");
  relay->add_option("--tamper-every", tamperEvery, "tamper with every Nth data packet");
  relay->add_option("--handshake-replays", handshakeReplays, "replays of the edge's init");
  relay->add_option("--rebind-after", rebindAfter,
                    "move to a new source port every N data packets");
  relay->add_option("--duration", duration, "seconds to run")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto targetAddress = dp::parseSocketAddress(target);
  if (!targetAddress) {
    std::fprintf(stderr, "--target: %s\n", targetAddress.error().describe().c_str());
    return 2;
  }
  if (junk->parsed()) return runJunk(*targetAddress, count, rate, seed);
  if (flood->parsed()) return runInitFlood(*targetAddress, count, rate, ports, seed);
  if (wrongKey->parsed()) {
    return runWrongKey(*targetAddress, std::stoull(session, nullptr, 16), count, rate, seed);
  }
  auto listenAddress = dp::parseSocketAddress(listen);
  if (!listenAddress) return 2;
  return runRelay(*listenAddress, *targetAddress, replayEvery, tamperEvery, handshakeReplays,
                  rebindAfter, duration);
}
