#include "edge/input_pump.h"
#include "dataplane/clock.h"

#include <time.h>

#include <cstring>
#include <thread>

#include "spdlog/spdlog.h"

namespace braid::edge {
namespace {

constexpr uint64_t kMaxHoldNs = 5'000'000;

}  // namespace

void InputPump::emit(const Payload& payload) noexcept {
  if (ring_.writable() == 0) {
    counters_.ringFull.add();
    return;
  }
  MediaChunk& chunk = ring_.writeSlot(0);
  chunk.entryNs = dp::monotonicNs();
  chunk.size = static_cast<uint16_t>(payload.bytes.size());
  chunk.flags = 0;
  std::memcpy(chunk.bytes.data(), payload.bytes.data(), payload.bytes.size());
  ring_.publish(1);
  counters_.chunks.add();
  counters_.bytes.add(payload.bytes.size());
}

bool InputPump::run(const std::atomic<bool>& stop, const std::atomic<bool>& startGate) {
  while (!startGate.load(std::memory_order_acquire)) {
    if (stop.load(std::memory_order_relaxed)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto batch = std::make_unique<TsBatch>();
  auto emitFn = [this](const Payload& payload) { emit(payload); };
  uint64_t pendingSinceNs = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    batch->count = 0;
    auto read = source_.read(*batch);
    if (!read) {
      spdlog::error("input: {}", read.error().describe());
      packetizer_.flush(emitFn);
      return false;
    }
    bool wasEmpty = packetizer_.pendingBytes() == 0;
    packetizer_.push(*batch, emitFn);
    uint64_t nowNs = dp::monotonicNs();
    if (wasEmpty && packetizer_.pendingBytes() > 0) pendingSinceNs = nowNs;
    if (source_.finished()) {
      packetizer_.flush(emitFn);
      return true;
    }
    // A partial payload must not wait (in real time) for packets that are not coming.
    if (packetizer_.pendingBytes() > 0 && nowNs - pendingSinceNs > kMaxHoldNs) {
      packetizer_.flush(emitFn);
    }
    if (*read == 0) source_.wait(1000);
  }
  packetizer_.flush(emitFn);
  return true;
}

}  // namespace braid::edge
