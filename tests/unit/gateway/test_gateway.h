#pragma once

// An in-process gateway of N workers on loopback (kernel UDP ports, null output) for the
// worker tests, and the totals of their counters.

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <functional>
#include <thread>

#include "dataplane/gateway/worker.h"
#include "dataplane/io/kernel_udp_port.h"

namespace braid::dp {

inline constexpr uint32_t kKeyId = 1;

inline proto::PskBytes testPsk() {
  proto::PskBytes psk;
  psk.fill(0x11);
  return psk;
}

struct Totals {
  uint64_t rxPackets = 0, rxCalls = 0, data = 0, played = 0, handoffs = 0, handoffDrops = 0;
  uint64_t idleWaits = 0, coalesceSleeps = 0, drops = 0, arenaWaits = 0, sessionsOpened = 0;
};

class TestGateway {
 public:
  // `onWorkerThread` runs first on each worker thread (e.g. to mark it for allocation
  // counting).
  explicit TestGateway(size_t count, std::function<void()> onWorkerThread = {}) {
    // Sessions take their arenas from a pool, as in braid-gateway (one ready per worker: 32 MiB
    // each at this capacity).
    auto arenas = ArenaPool::start(GatewaySession::arenaBytes(kJitterCapacity), count, 1);
    EXPECT_TRUE(arenas.has_value());
    if (arenas) arenas_ = std::move(*arenas);
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
                                       .jitterCapacity = kJitterCapacity,
                                       .arenas = arenas_.get(),
                                       .channel = {.backend = backend_},
                                       .claims = &claims_},
                         std::move(*responder), std::move(*port));
      EXPECT_TRUE(worker.has_value());
      workers_.push_back(std::move(*worker));
    }
    EXPECT_TRUE(Worker::connect(workers_).has_value());
    for (auto& worker : workers_) {
      threads_.emplace_back([this, w = worker.get(), onWorkerThread] {
        if (onWorkerThread) onWorkerThread();
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
  const ArenaPool& arenas() const { return *arenas_; }
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
      t.arenaWaits += w->counters().arenaWaits.read();
      t.sessionsOpened += w->counters().sessionsOpened.read();
    }
    return t;
  }

 private:
  static constexpr size_t kJitterCapacity = 16384;
  std::unique_ptr<ArenaPool> arenas_;  // outlives the workers
  proto::AeadBackend backend_;
  OutputClaims claims_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

inline void sleepUs(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

}  // namespace braid::dp
