#include "dataplane/output/output_pool.h"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>

#include "dataplane/clock.h"

namespace braid::dp {

namespace {

constexpr size_t kDrainBurst = 32;
constexpr size_t kMaxPoolThreads = 64;

uint64_t monotonicUs() noexcept {
  return monotonicNs() / 1000;
}

}  // namespace

Output::Output(OutputPool& pool, size_t lane, std::unique_ptr<OutputSink> sink, size_t ringChunks,
               SpscRing<MediaChunk>::Slots readySlots)
    : pool_(&pool),
      lane_(lane),
      sink_(std::move(sink)),
      // Without ready slots the ring maps lazily here; its pool thread populates it either way
      // (for ready slots that only walks pages already backed).
      ring_(ringChunks, std::move(readySlots)) {}

Output::~Output() {
  close();
}

bool Output::submit(std::span<const uint8_t> bytes) noexcept {
  if (bytes.empty()) return true;
  const size_t needed = (bytes.size() + kMediaChunkCapacity - 1) / kMediaChunkCapacity;
  if (closing_.load(std::memory_order_relaxed) || ring_.writable(needed) < needed) {
    counters_.drops.add();
    counters_.droppedBytes.add(bytes.size());
    return false;
  }
  for (size_t i = 0; i < needed; ++i) {
    MediaChunk& chunk = ring_.writeSlot(i);
    const size_t n = bytes.size() < kMediaChunkCapacity ? bytes.size() : kMediaChunkCapacity;
    std::memcpy(chunk.bytes.data(), bytes.data(), n);
    chunk.size = static_cast<uint32_t>(n);
    bytes = bytes.subspan(n);
  }
  ring_.publish(needed);
  return true;
}

void Output::close() {
  if (closed_) return;
  closed_ = true;
  closing_.store(true, std::memory_order_release);
  if (OutputPool* pool = pool_.exchange(nullptr, std::memory_order_acq_rel)) pool->detach(*this);
  // Detached: no pool thread starts another drain of this output; this lock waits out the
  // one that may be running.
  std::lock_guard lock(drainMutex_);
  finish();
}

void Output::finish() {
  drain();
  if (auto flushed = sink_->flush(); !flushed) recordError(flushed.error());
  dirty_ = false;
}

std::string Output::lastError() const {
  std::lock_guard lock(errorMutex_);
  return lastError_;
}

void Output::recordError(const Error& error) {
  counters_.writeErrors.add();
  std::lock_guard lock(errorMutex_);
  lastError_ = error.describe();
}

size_t Output::drain() {
  size_t total = 0;
  for (;;) {
    size_t n = ring_.readable(kDrainBurst);
    if (n == 0) break;
    if (n > kDrainBurst) n = kDrainBurst;
    for (size_t i = 0; i < n; ++i) {
      const MediaChunk& chunk = ring_.readSlot(i);
      auto written = sink_->write(std::span<const uint8_t>(chunk.bytes.data(), chunk.size));
      if (!written) {
        recordError(written.error());
        continue;
      }
      counters_.chunks.add();
      counters_.bytes.add(chunk.size);
    }
    ring_.consume(n);
    total += n;
  }
  if (total > 0) {
    dirty_ = true;
    lastDataUs_ = monotonicUs();
  }
  return total;
}

void Output::flushIfIdle(uint64_t nowUs, uint64_t flushAfterUs) {
  if (!dirty_ || nowUs - lastDataUs_ < flushAfterUs) return;
  if (auto flushed = sink_->flush(); !flushed) recordError(flushed.error());
  dirty_ = false;
}

Result<std::unique_ptr<OutputPool>> OutputPool::start(const OutputPoolOptions& options) {
  if (options.threads == 0 || options.threads > kMaxPoolThreads) {
    return fail(ErrorCode::kInvalidArgument, "output pool: " + std::to_string(options.threads) +
                                                 " threads, want 1.." +
                                                 std::to_string(kMaxPoolThreads));
  }
  std::unique_ptr<OutputPool> pool(new OutputPool(options));
  for (size_t i = 0; i < options.threads; ++i) {
    Lane& lane = *pool->lanes_[i];
    lane.thread = std::thread([raw = pool.get(), &lane] { raw->run(lane); });
    std::string name = (options.threadName + std::to_string(i)).substr(0, 15);
    ::pthread_setname_np(lane.thread.native_handle(), name.c_str());
  }
  return pool;
}

OutputPool::OutputPool(const OutputPoolOptions& options) : options_(options) {
  for (size_t i = 0; i < options.threads; ++i) lanes_.push_back(std::make_unique<Lane>());
}

OutputPool::~OutputPool() {
  for (auto& lane : lanes_) {
    // Under the lane's mutex: a thread between its check of the flag and its wait would
    // otherwise miss the notification.
    std::lock_guard lock(lane->mutex);
    stopRequested_.store(true, std::memory_order_release);
    lane->changed.notify_all();
  }
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
  closeRetired();
  for (auto& lane : lanes_) {
    std::lock_guard lock(lane->mutex);
    for (Output* output : lane->outputs) {
      output->pool_.store(nullptr, std::memory_order_release);
      std::lock_guard drainLock(output->drainMutex_);
      output->finish();
    }
    lane->outputs.clear();
  }
}

Result<std::shared_ptr<Output>> OutputPool::open(std::unique_ptr<OutputSink> sink,
                                                 size_t ringChunks) {
  if (!sink) return fail(ErrorCode::kInvalidArgument, "output: no sink");
  if (ringChunks == 0) {
    return fail(ErrorCode::kInvalidArgument, "output: ring needs at least one chunk");
  }
  // Fewest outputs, not least traffic: sessions of one gateway tend to have similar rates,
  // and a count needs no measurement.
  size_t chosen = 0;
  size_t fewest = SIZE_MAX;
  for (size_t i = 0; i < lanes_.size(); ++i) {
    std::lock_guard lock(lanes_[i]->mutex);
    if (lanes_[i]->outputs.size() < fewest) {
      fewest = lanes_[i]->outputs.size();
      chosen = i;
    }
  }
  SpscRing<MediaChunk>::Slots slots;
  if (std::bit_ceil(ringChunks) == std::bit_ceil(options_.readyRingChunks)) {
    std::lock_guard lock(readyMutex_);
    if (!ready_.empty()) {
      slots = std::move(ready_.back());
      ready_.pop_back();
      readyCount_.store(ready_.size(), std::memory_order_relaxed);
    }
  }
  std::shared_ptr<Output> output(
      new Output(*this, chosen, std::move(sink), ringChunks, std::move(slots)));
  {
    std::lock_guard lock(lanes_[chosen]->mutex);
    lanes_[chosen]->outputs.push_back(output.get());
    lanes_[chosen]->changed.notify_one();
  }
  if (chosen != 0 && readyRingsLow()) {
    std::lock_guard lock(lanes_[0]->mutex);
    lanes_[0]->changed.notify_one();
  }
  return output;
}

void OutputPool::retire(std::shared_ptr<Output> output) {
  if (!output) return;
  {
    std::lock_guard lock(retiringMutex_);
    retiring_.push_back(std::move(output));
    retiringCount_.store(retiring_.size(), std::memory_order_relaxed);
  }
  std::lock_guard lock(lanes_.front()->mutex);
  lanes_.front()->changed.notify_one();
}

void OutputPool::closeRetired() {
  std::vector<std::shared_ptr<Output>> closing;
  {
    std::lock_guard lock(retiringMutex_);
    closing.swap(retiring_);
    retiringCount_.store(0, std::memory_order_relaxed);
  }
  // Closed, then destroyed here: the sink's file and the ring's mapping go with them.
  for (auto& output : closing) output->close();
}

size_t OutputPool::openOutputs() const {
  size_t total = 0;
  for (const auto& lane : lanes_) {
    std::lock_guard lock(lane->mutex);
    total += lane->outputs.size();
  }
  return total;
}

void OutputPool::detach(Output& output) {
  Lane& lane = *lanes_[output.lane_];
  std::lock_guard lock(lane.mutex);
  std::erase(lane.outputs, &output);
}

void OutputPool::refillReadyRings() noexcept {
  while (readyRingsLow() && !stopRequested_.load(std::memory_order_acquire)) {
    auto slots = SpscRing<MediaChunk>::mapPopulatedSlots(options_.readyRingChunks);
    // Not mapped (memory is short): open() maps its own, as without ready rings.
    if (slots.get_deleter().mappedBytes == 0) return;
    std::lock_guard lock(readyMutex_);
    ready_.push_back(std::move(slots));
    readyCount_.store(ready_.size(), std::memory_order_relaxed);
  }
}

void OutputPool::run(Lane& lane) noexcept {
  // The first thread also keeps the ready rings and closes the retired outputs.
  const bool first = &lane == lanes_.front().get();
  while (!stopRequested_.load(std::memory_order_acquire)) {
    if (first) {
      refillReadyRings();
      if (retiring() > 0) closeRetired();
    }
    {
      std::unique_lock lock(lane.mutex);
      lane.changed.wait(lock, [&] {
        return !lane.outputs.empty() || stopRequested_.load(std::memory_order_acquire) ||
               (first && (readyRingsLow() || retiring() > 0));
      });
    }
    const uint64_t nowUs = monotonicUs();
    // One output at a time: found and its drain mutex taken under the lane's mutex (so an
    // output being closed is either skipped or waited for by close()), drained after the
    // lane's mutex is released (so open() and close() need not wait for the sinks). An
    // output that a close() moves within the list may be skipped this pass; it is not lost.
    size_t next = 0;
    for (;;) {
      Output* output = nullptr;
      {
        std::lock_guard lock(lane.mutex);
        for (; next < lane.outputs.size(); ++next) {
          Output* candidate = lane.outputs[next];
          if (!candidate->ring_.empty() || candidate->dirty_ ||
              !candidate->populated_.load(std::memory_order_relaxed)) {
            output = candidate;
            output->drainMutex_.lock();
            ++next;
            break;
          }
        }
      }
      if (output == nullptr) break;
      if (!output->populated_.load(std::memory_order_relaxed)) {
        // A new output's ring is backed here, off the worker that opened it (it took the
        // page faults of its ~3 MB there); the worker may already be writing into it. The
        // sink sets up its buffer now too, while the session is still starting, rather than
        // at its first write, when every session of a fleet may be starting its media.
        output->ring_.populate();
        output->sink_->prepare();
        output->populated_.store(true, std::memory_order_relaxed);
      }
      if (output->drain() == 0) output->flushIfIdle(nowUs, options_.flushAfterIdleUs);
      output->drainMutex_.unlock();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(options_.idleSleepUs));
  }
}

}  // namespace braid::dp
