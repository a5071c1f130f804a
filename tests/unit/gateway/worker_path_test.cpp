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
#include "dataplane/gateway/worker.h"
#include "dataplane/io/kernel_udp_port.h"
#include "synthetic_session.h"

namespace braid::dp {
namespace {

constexpr uint32_t kKeyId = 1;
constexpr uint64_t kSteadyPackets = 100'000;

proto::PskBytes testPsk() {
  proto::PskBytes psk;
  psk.fill(0x11);
  return psk;
}

struct Totals {
  uint64_t rxPackets = 0, rxCalls = 0, data = 0, played = 0, handoffs = 0, handoffDrops = 0;
  uint64_t idleWaits = 0, coalesceSleeps = 0, drops = 0;
};

class TestGateway {
 public:
  explicit TestGateway(size_t count) {
    std::array<uint8_t, 32> secret;
    secret.fill(0x42);
    auto backend = proto::parseAeadBackend("auto");
    backend_ = backend ? *backend : proto::AeadBackend::kOpenSsl;
    for (size_t i = 0; i < count; ++i) {
      auto responder = proto::HandshakeResponder::create(
          secret, {proto::ResponderKey{.id = kKeyId, .key = testPsk()}},
          proto::ResponderConfig{.minLatencyMs = 50, .backend = backend_});
      EXPECT_TRUE(responder.has_value());
      auto bindTo =
          workers_.empty() ? *parseSocketAddress("127.0.0.1:0") : workers_.front()->localAddress();
      auto port = KernelUdpPort::create(KernelUdpPortOptions{.listen = bindTo});
      EXPECT_TRUE(port.has_value());
      auto worker =
          Worker::create(WorkerOptions{.workerIndex = static_cast<uint8_t>(i),
                                       .workerCount = static_cast<uint8_t>(count),
                                       .outputs = {OutputTarget{.url = "null:", .keyId = {}}},
                                       .jitterCapacity = 16384,
                                       .channel = {.backend = backend_},
                                       .claims = &claims_},
                         std::move(*responder), std::move(*port));
      EXPECT_TRUE(worker.has_value());
      workers_.push_back(std::move(*worker));
    }
    EXPECT_TRUE(Worker::connect(workers_).has_value());
    for (auto& worker : workers_) {
      threads_.emplace_back([this, w = worker.get()] {
        braid::test::markThisThreadCounted();
        w->run(stop_);
      });
    }
  }
  ~TestGateway() {
    stop_.store(true);
    for (auto& thread : threads_) thread.join();
    for (auto& worker : workers_) worker->shutdown();
  }
  SocketAddress address() const { return workers_.front()->localAddress(); }
  proto::AeadBackend backend() const { return backend_; }
  Totals totals() const {
    Totals t;
    for (const auto& w : workers_) {
      t.rxPackets += w->portCounters().rxPackets.read();
      t.rxCalls += w->portCounters().rxCalls.read();
      t.data += w->counters().dataPackets.read();
      t.played += w->counters().played.read();
      t.handoffs += w->counters().handoffsSent.read();
      t.handoffDrops += w->counters().handoffDrops.read();
      t.idleWaits += w->counters().idleWaits.read();
      t.coalesceSleeps += w->counters().coalesceSleeps.read();
      t.drops += w->counters().totalDrops();
    }
    return t;
  }

 private:
  proto::AeadBackend backend_;
  OutputClaims claims_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

void sleepUs(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

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
      size_t size = session.sealData(seq, link, monotonicNs() / 1000, 1154, packet);
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
  TestGateway gateway(workers);
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
