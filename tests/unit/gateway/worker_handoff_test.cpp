// Two workers exchanging datagrams over their SPSC rings and doorbells (in the TSan flavour
// too, which checks the rings, the doorbell's Dekker pair and the shared counters): a session
// whose links land on both workers' sockets is reassembled completely by its owner.

#include <gtest/gtest.h>

#include "dataplane/clock.h"
#include "synthetic_session.h"
#include "test_gateway.h"

namespace braid::dp {
namespace {

TEST(WorkerHandoff, SessionSpreadOverTwoWorkersPlaysEverySequence) {
  // 300 ms of latency: a worker descheduled for tens of milliseconds on a loaded machine must
  // not turn into skipped sequences. (At 50 ms the test once ran out its 20 s wait, not all
  // played, while two builds shared the machine; its log was not kept.)
  TestGateway gateway(2);
  auto session = bench::SyntheticSession::open(
      bench::SyntheticSessionOptions{.gateway = gateway.address(),
                                     .bind = *parseSocketAddress("127.0.0.1:0"),
                                     .keyId = kKeyId,
                                     .psk = testPsk(),
                                     .links = 16,
                                     .latencyMs = 300,
                                     .backend = gateway.backend()});
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE((*session)->handshake(10'000'000'000).has_value());
  // Key 1 belongs to worker 1 (key ID mod 2): its session ID says so.
  EXPECT_EQ((*session)->sessionId().worker(), 1);

  constexpr uint64_t kPackets = 5'000;
  std::array<uint8_t, kDatagramCapacity> packet{};
  for (uint64_t seq = 0; seq < kPackets; ++seq) {
    // Every 16 packets (once per link) a pause: ~8 kpps, and the idle path gets exercised.
    uint8_t link = static_cast<uint8_t>(seq % 16);
    size_t size = (*session)->sealData(seq, link, monotonicNs() / 1000, 940, packet);
    ASSERT_GT(size, 0u);
    (*session)->send(link, std::span<const uint8_t>(packet.data(), size));
    if (link == 15) sleepUs(2'000);
  }
  const uint64_t deadline = monotonicNs() + 20'000'000'000;
  while (gateway.totals().played < kPackets && monotonicNs() < deadline) sleepUs(10'000);
  Totals t = gateway.totals();
  EXPECT_EQ(t.played, kPackets);
  EXPECT_EQ(t.data, kPackets);
  EXPECT_GT(t.handoffs, 0u) << "16 source ports all hashed to the owner's socket";
  EXPECT_EQ(t.handoffDrops, 0u);
  EXPECT_GT(t.idleWaits, 0u);
  EXPECT_EQ(t.sessionsOpened, 1u);
}

}  // namespace
}  // namespace braid::dp
