// A gateway that shuts down tells its edges so on every link they used, more than once: nothing
// acknowledges a CLOSE, and an edge that misses it waits for its feedback to stop before it
// handshakes again.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "dataplane/clock.h"
#include "synthetic_session.h"
#include "test_gateway.h"

namespace braid::dp {
namespace {

TEST(WorkerShutdown, SendsEveryCopyOfCloseOnEveryLinkTheSessionUsed) {
  constexpr uint8_t kLinks = 3;
  auto gateway = std::make_unique<TestGateway>(1);
  auto session = bench::SyntheticSession::open(
      bench::SyntheticSessionOptions{.gateway = gateway->address(),
                                     .bind = *parseSocketAddress("127.0.0.1:0"),
                                     .keyId = kKeyId,
                                     .psk = testPsk(),
                                     .links = kLinks,
                                     .latencyMs = 100,
                                     .backend = gateway->backend()});
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE((*session)->handshake(10'000'000'000).has_value());

  // Every link carries media, so the gateway knows them all.
  std::array<uint8_t, kDatagramCapacity> packet{};
  constexpr uint64_t kPackets = 30;
  for (uint64_t seq = 0; seq < kPackets; ++seq) {
    auto link = static_cast<uint8_t>(seq % kLinks);
    size_t size = (*session)->sealData(seq, link, monotonicNs() / 1000, 940, packet);
    ASSERT_GT(size, 0u);
    (*session)->send(link, std::span<const uint8_t>(packet.data(), size));
    sleepUs(1'000);
  }
  const uint64_t deadline = monotonicNs() + 10'000'000'000;
  while (gateway->totals().played < kPackets && monotonicNs() < deadline) sleepUs(10'000);
  ASSERT_EQ(gateway->totals().played, kPackets);
  for (uint8_t link = 0; link < kLinks; ++link) (*session)->receive(link);  // feedback so far

  gateway.reset();  // stops the worker, then shutdown()

  for (uint8_t link = 0; link < kLinks; ++link) {
    size_t unopened = 0;
    auto types = (*session)->receive(link, &unopened);
    auto closes = std::count(types.begin(), types.end(), proto::PacketType::kClose);
    EXPECT_EQ(closes, proto::kCloseCopies) << "link " << int{link};
    EXPECT_EQ(unopened, 0u) << "link " << int{link};
  }
}

// An ended session's arena goes back to the pool, which unmaps it off the worker when its
// share is full (and reuses it when it is short).
TEST(WorkerShutdown, AClosedSessionGivesItsArenaBackToThePool) {
  TestGateway gateway(1);
  auto session = bench::SyntheticSession::open(
      bench::SyntheticSessionOptions{.gateway = gateway.address(),
                                     .bind = *parseSocketAddress("127.0.0.1:0"),
                                     .keyId = kKeyId,
                                     .psk = testPsk(),
                                     .links = 1,
                                     .latencyMs = 100,
                                     .backend = gateway.backend()});
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE((*session)->handshake(10'000'000'000).has_value());
  std::array<uint8_t, kDatagramCapacity> packet{};
  size_t size = (*session)->sealClose(0, monotonicNs() / 1000, packet);
  ASSERT_GT(size, 0u);
  (*session)->send(0, std::span<const uint8_t>(packet.data(), size));
  // The pool mapped one arena for the worker, then one more after the session took it; the
  // session's comes back to a full share and is unmapped.
  const uint64_t deadline = monotonicNs() + 10'000'000'000;
  while (gateway.arenas().unmapped() < 1 && monotonicNs() < deadline) sleepUs(10'000);
  EXPECT_EQ(gateway.arenas().mapped(), 2u);
  EXPECT_EQ(gateway.arenas().unmapped(), 1u);
  EXPECT_EQ(gateway.arenas().ready(0), 1u);
}

}  // namespace
}  // namespace braid::dp
