#pragma once

// Frames in and out of a DPDK port in the DPDK unit tests (net_ring loopbacks: what a queue
// transmits, its rx queue returns).

#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace braid::dp::test {

// Transmits `frame` on queue 0 of `port`, as if the wire had delivered it to the loopback.
inline void putFrame(rte_mempool* pool, uint16_t port, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  ASSERT_NE(m, nullptr);
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
              frame.size());
  ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
}

// Everything waiting on rx queue 0 of `port`, as byte vectors.
inline std::vector<std::vector<uint8_t>> takeFrames(uint16_t port) {
  std::vector<std::vector<uint8_t>> out;
  rte_mbuf* m[32];
  uint16_t n = rte_eth_rx_burst(port, 0, m, 32);
  for (uint16_t i = 0; i < n; ++i) {
    auto* p = rte_pktmbuf_mtod(m[i], uint8_t*);
    out.emplace_back(p, p + rte_pktmbuf_data_len(m[i]));
    rte_pktmbuf_free(m[i]);
  }
  return out;
}

}  // namespace braid::dp::test
