// The worker's packet path over real loopback sockets: in steady state it allocates nothing
// on the worker threads and receives in batches — one worker: fewer than one recvmmsg per 16
// datagrams; two (links spread over both, handoffs between them): per 8.

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "counting_allocator.h"
#include "dataplane/clock.h"
#include "synthetic_session.h"
#include "test_gateway.h"

namespace braid::dp {
namespace {

constexpr uint64_t kSteadyPackets = 100'000;

// Sends DATA at about 100 kpps (bursts of 40 every 200 µs plus the sleep's overshoot, not in
// step with the worker's bursts of 32) until the gateway has received
// `packets` more datagrams; returns false on timeout.
bool sendUntilReceived(TestGateway& gateway, bench::SyntheticSession& session, uint64_t& seq,
                       uint64_t packets) {
  const uint64_t target = gateway.totals().rxPackets + packets;
  std::array<uint8_t, kDatagramCapacity> packet{};
  const uint64_t deadline = monotonicNs() + 60'000'000'000;
  while (gateway.totals().rxPackets < target) {
    if (monotonicNs() > deadline) return false;
    for (int i = 0; i < 40; ++i, ++seq) {
      uint8_t link = static_cast<uint8_t>(seq % session.links());
      size_t size = session.sealData(seq, link, monotonicNs() / 1000, 1128, packet);
      if (size == 0) return false;
      session.send(link, std::span<const uint8_t>(packet.data(), size));
    }
    sleepUs(200);
  }
  return true;
}

// `minPerCall`: datagrams each recvmmsg must return on average. With two workers a worker
// also wakes for its handoffs and then asks its own socket, which holds only its share.
void runSteadyState(size_t workers, size_t links, uint64_t minPerCall) {
  TestGateway gateway(workers, [] { braid::test::markThisThreadCounted(); });
  auto session = bench::SyntheticSession::open(
      bench::SyntheticSessionOptions{.gateway = gateway.address(),
                                     .bind = *parseSocketAddress("127.0.0.1:0"),
                                     .keyId = kKeyId,
                                     .psk = testPsk(),
                                     .links = links,
                                     .latencyMs = 50,
                                     .backend = gateway.backend()});
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE((*session)->handshake(5'000'000'000).has_value());
  uint64_t seq = 0;
  // Warm-up: the session's first packets size what grows once (link tables, output ring).
  ASSERT_TRUE(sendUntilReceived(gateway, **session, seq, 5'000));
  sleepUs(200'000);
  Totals before = gateway.totals();

  braid::test::startCountingMarkedThreads();
  bool received = sendUntilReceived(gateway, **session, seq, kSteadyPackets);
  sleepUs(200'000);  // the last packets are handled and played out
  uint64_t allocations = braid::test::stopCountingAllocations();
  Totals after = gateway.totals();
  ASSERT_TRUE(received) << "the gateway did not receive the packets in time";

  uint64_t rx = after.rxPackets - before.rxPackets;
  uint64_t calls = after.rxCalls - before.rxCalls;
  uint64_t sleeps =
      (after.idleWaits - before.idleWaits) + (after.coalesceSleeps - before.coalesceSleeps);
  std::printf(
      "workers=%zu links=%zu received=%llu recvmmsg=%llu (%.1f packets each) sleeps=%llu "
      "data=%llu played=%llu handoffs=%llu handoff_drops=%llu drops=%llu allocations=%llu\n",
      workers, links, (unsigned long long)rx, (unsigned long long)calls,
      calls > 0 ? static_cast<double>(rx) / static_cast<double>(calls) : 0.0,
      (unsigned long long)sleeps, (unsigned long long)(after.data - before.data),
      (unsigned long long)(after.played - before.played),
      (unsigned long long)(after.handoffs - before.handoffs),
      (unsigned long long)(after.handoffDrops - before.handoffDrops),
      (unsigned long long)(after.drops - before.drops), (unsigned long long)allocations);
  EXPECT_EQ(allocations, 0u) << "the worker threads allocated on the packet path";
  EXPECT_GE(rx, kSteadyPackets);
  EXPECT_LT(calls * minPerCall, rx)
      << "fewer than " << minPerCall << " datagrams per receive syscall";
  // Everything received was authenticated media and played (nothing dropped on the way).
  EXPECT_GE(after.data - before.data + (after.handoffDrops - before.handoffDrops), rx * 99 / 100);
  EXPECT_GT(after.played - before.played, rx * 9 / 10);
}

TEST(WorkerPath, OneWorkerSteadyStateAllocatesNothingAndBatchesReceives) {
  runSteadyState(1, 2, 16);
}

TEST(WorkerPath, TwoWorkersWithHandoffsAllocateNothingAndBatchReceives) {
  runSteadyState(2, 8, 8);
}

}  // namespace
}  // namespace braid::dp
