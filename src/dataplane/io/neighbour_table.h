#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "dataplane/io/socket_address.h"
#include "dataplane/io/udp_frame.h"

namespace braid::dp {

// Peer IP address -> next-hop MAC, learnt from the source MAC of received frames, so that
// replies built by a kernel-bypass backend go back the way the request came (through the
// router that delivered it) without ARP/ND. Fixed size, 4-way set associative, no allocation:
// a full set forgets its oldest-filled way, which only matters for a peer that sends nothing
// for long (its reply waits for its next packet). One owner thread.
class NeighbourTable {
 public:
  static constexpr size_t kSets = 1024;
  static constexpr size_t kWays = 4;

  // Records `mac` for the IP of `peer` (port ignored). Owner thread; per packet.
  void learn(const SocketAddress& peer, const MacAddress& mac) noexcept {
    Key key = keyOf(peer);
    Set& set = sets_[hash(key) % kSets];
    for (Entry& e : set.ways) {
      if (e.used && e.key == key) {
        e.mac = mac;
        return;
      }
    }
    Entry& victim = set.ways[set.next];
    set.next = static_cast<uint8_t>((set.next + 1) % kWays);
    victim = Entry{.key = key, .mac = mac, .used = true};
  }

  // The MAC last learnt for the IP of `peer`, if any. Owner thread.
  std::optional<MacAddress> find(const SocketAddress& peer) const noexcept {
    Key key = keyOf(peer);
    const Set& set = sets_[hash(key) % kSets];
    for (const Entry& e : set.ways) {
      if (e.used && e.key == key) return e.mac;
    }
    return std::nullopt;
  }

 private:
  using Key = std::array<uint8_t, 16>;
  struct Entry {
    Key key{};
    MacAddress mac{};
    bool used = false;
  };
  struct Set {
    std::array<Entry, kWays> ways{};
    uint8_t next = 0;
  };

  static Key keyOf(const SocketAddress& peer) noexcept {
    Key key;
    peer.toV6Bytes(key.data());
    return key;
  }
  // MurmurHash3's finaliser: IPv4-mapped keys vary only in their last 4 bytes, and every
  // bit of those must reach the low bits that pick the set.
  static uint64_t mix(uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
  }
  static uint64_t hash(const Key& key) noexcept {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, key.data(), 8);
    std::memcpy(&b, key.data() + 8, 8);
    return mix(a ^ mix(b));
  }

  std::array<Set, kSets> sets_{};
};

}  // namespace braid::dp
