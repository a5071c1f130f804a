// Drives two connected gateway workers with arbitrary datagrams through a fake port: the
// routing by owner byte and key ID, the handoff rings, the handshake lane and the unknown-
// session path see every shape of input, on both workers. Counters must stay consistent.
//
// Input: records  u8 worker | u8 source | u16 length | bytes[length]

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/gateway/worker.h"
#include "fuzz_check.h"

namespace {

using namespace braid;

// Hands out the datagrams queued for it, one burst per receive(); takes and drops what the
// worker transmits.
class FuzzPort final : public dp::PacketPort {
 public:
  FuzzPort() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~FuzzPort() override { ::close(fd_); }

  void queue(std::span<const uint8_t> bytes, const dp::SocketAddress& from) {
    queued_.emplace_back(bytes.begin(), bytes.end());
    sources_.push_back(from);
  }
  size_t receive(dp::RxBurst& burst) noexcept override {
    burst.count = 0;
    while (next_ < queued_.size() && burst.count < dp::kBurstSize) {
      burst.packets[burst.count] = std::span<uint8_t>(queued_[next_]);
      burst.sources[burst.count] = sources_[next_];
      ++burst.count;
      ++next_;
    }
    counters_.rxCalls.add();
    counters_.rxPackets.add(burst.count);
    return burst.count;
  }
  void release(dp::RxBurst& burst) noexcept override { burst.count = 0; }
  size_t transmit(dp::TxBatch& batch) noexcept override {
    for (size_t i = 0; i < batch.count; ++i) FUZZ_CHECK(batch.sizes[i] <= dp::kDatagramCapacity);
    size_t n = batch.count;
    counters_.txPackets.add(n);
    batch.count = 0;
    return n;
  }
  int wakeFd() const noexcept override { return fd_; }
  dp::SocketAddress localAddress() const noexcept override {
    return *dp::parseSocketAddress("127.0.0.1:7400");
  }
  bool drained() const { return next_ == queued_.size(); }

 private:
  int fd_;
  std::vector<std::vector<uint8_t>> queued_;
  std::vector<dp::SocketAddress> sources_;
  size_t next_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::array<uint8_t, 32> secret{};
  secret.fill(7);
  proto::PskBytes psk{};
  psk.fill(9);
  std::vector<std::unique_ptr<dp::Worker>> workers;
  std::array<FuzzPort*, 2> ports{};
  for (uint8_t i = 0; i < 2; ++i) {
    auto responder = proto::HandshakeResponder::create(
        secret, {proto::ResponderKey{.id = 1, .key = psk}}, proto::ResponderConfig{});
    if (!responder) return 0;
    auto port = std::make_unique<FuzzPort>();
    ports[i] = port.get();
    auto worker = dp::Worker::create(
        dp::WorkerOptions{.workerIndex = i,
                          .workerCount = 2,
                          .outputs = {dp::OutputTarget{.url = "null:", .keyId = {}}},
                          .jitterCapacity = 64,
                          .handoffRingSlots = 8},
        std::move(*responder), std::move(port));
    if (!worker) return 0;
    workers.push_back(std::move(*worker));
  }
  if (!dp::Worker::connect(workers)) return 0;

  auto a = dp::parseSocketAddress("127.0.0.1:4000");
  auto b = dp::parseSocketAddress("[::1]:4001");
  uint64_t records = 0;
  while (size >= 4) {
    size_t length = ((size_t{data[2]} << 8) | data[3]) % 1600;
    const uint8_t* body = data + 4;
    size_t available = size - 4;
    if (length > available) length = available;
    ports[data[0] & 1]->queue(std::span<const uint8_t>(body, length), (data[1] & 1) ? *a : *b);
    ++records;
    data = body + length;
    size = available - length;
  }
  // Passes until both ports are drained and nothing is left in the rings or lanes.
  for (int round = 0; round < 64; ++round) {
    auto p0 = workers[0]->pass(true);
    auto p1 = workers[1]->pass(true);
    bool busy = p0.received + p0.handedIn + p1.received + p1.handedIn > 0 || p0.handshakesWaiting ||
                p1.handshakesWaiting;
    if (!busy && ports[0]->drained() && ports[1]->drained()) break;
  }
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t handedIn = 0;
  uint64_t ringDrops = 0;
  for (const auto& w : workers) {
    received += w->counters().rxPackets.read();
    sent += w->counters().handoffsSent.read();
    handedIn += w->counters().handoffsReceived.read();
    ringDrops += w->counters().handoffDrops.read();
    FUZZ_CHECK(w->counters().sessionsActive.read() == 0);  // nothing can authenticate
  }
  FUZZ_CHECK(received == records);
  FUZZ_CHECK(handedIn == sent);  // every handoff published was taken by its owner
  FUZZ_CHECK(sent + ringDrops <= received);
  return 0;
}
