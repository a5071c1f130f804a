#include "edge/input_pump.h"
#include "dataplane/clock.h"

#include <time.h>

#include <cstring>
#include <thread>

#include "spdlog/spdlog.h"

namespace braid::edge {
namespace {

// An input that delivered nothing for this long has gone quiet: what is held goes out.
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
  chunk.tsOffset = static_cast<uint16_t>(payload.tsOffset);
  chunk.flags = payload.flags;
  chunk.accessUnit = payload.accessUnit;
  chunk.shed = false;
  std::memcpy(chunk.bytes.data(), payload.bytes.data(), payload.bytes.size());
  ring_.publish(1);
  counters_.chunks.add();
  counters_.bytes.add(payload.bytes.size());
  counters_.tsBytes.add(payload.bytes.size() - payload.tsOffset);
}

void InputPump::flushAll(bool inputEnded) noexcept {
  auto emitFn = [this](const Payload& payload) { emit(payload); };
  tagger_->flush([&](const TaggedPacket& t) { packetizer_.push(t, emitFn); }, inputEnded);
  packetizer_.flush(emitFn);
}

bool InputPump::run(const std::atomic<bool>& stop, const std::atomic<bool>& startGate) {
  while (!startGate.load(std::memory_order_acquire)) {
    if (stop.load(std::memory_order_relaxed)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto batch = std::make_unique<TsBatch>();
  auto emitFn = [this](const Payload& payload) { emit(payload); };
  auto packetize = [&](const TaggedPacket& t) { packetizer_.push(t, emitFn); };
  uint64_t lastInputNs = dp::monotonicNs();
  while (!stop.load(std::memory_order_relaxed)) {
    batch->count = 0;
    auto read = source_.read(*batch);
    if (!read) {
      spdlog::error("input: {}", read.error().describe());
      flushAll(false);
      return false;
    }
    for (size_t i = 0; i < batch->count; ++i) {
      tagger_->push(batch->packet(i), batch->mediaTimeUs[i], packetize);
    }
    uint64_t nowNs = dp::monotonicNs();
    if (batch->count > 0) lastInputNs = nowNs;
    if (source_.finished()) {
      flushAll(true);
      return true;
    }
    // What is held must not wait (in real time) for packets that are not coming.
    if ((packetizer_.pending() || tagger_->heldPackets() > 0) && nowNs - lastInputNs > kMaxHoldNs) {
      flushAll(false);
    }
    if (*read == 0) source_.wait(1000);
  }
  flushAll(false);
  return true;
}

}  // namespace braid::edge
