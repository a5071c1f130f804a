#include "dataplane/output/output_thread.h"

#include <pthread.h>

#include <chrono>
#include <cstring>

namespace braid::dp {

namespace {

constexpr size_t kDrainBurst = 32;

uint64_t monotonicUs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

Result<std::unique_ptr<OutputThread>> OutputThread::start(std::unique_ptr<OutputSink> sink,
                                                          const OutputThreadOptions& options) {
  if (!sink) return fail(ErrorCode::kInvalidArgument, "output thread: no sink");
  if (options.ringChunks == 0) {
    return fail(ErrorCode::kInvalidArgument, "output thread: ring needs at least one chunk");
  }
  std::unique_ptr<OutputThread> output(new OutputThread(std::move(sink), options));
  output->thread_ = std::thread([raw = output.get()] { raw->run(); });
  std::string name = options.threadName.substr(0, 15);
  ::pthread_setname_np(output->thread_.native_handle(), name.c_str());
  return output;
}

OutputThread::OutputThread(std::unique_ptr<OutputSink> sink, const OutputThreadOptions& options)
    : options_(options), sink_(std::move(sink)), ring_(options.ringChunks) {}

OutputThread::~OutputThread() {
  stop();
}

bool OutputThread::submit(std::span<const uint8_t> bytes) noexcept {
  if (bytes.empty()) return true;
  const size_t needed = (bytes.size() + kMediaChunkCapacity - 1) / kMediaChunkCapacity;
  if (stopRequested_.load(std::memory_order_relaxed) || ring_.writable(needed) < needed) {
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

void OutputThread::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopRequested_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

std::string OutputThread::lastError() const {
  std::lock_guard lock(errorMutex_);
  return lastError_;
}

void OutputThread::recordError(const Error& error) {
  counters_.writeErrors.add();
  std::lock_guard lock(errorMutex_);
  lastError_ = error.describe();
}

size_t OutputThread::drain() {
  size_t total = 0;
  for (;;) {
    size_t n = ring_.readable(kDrainBurst);
    if (n == 0) return total;
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
}

void OutputThread::run() {
  bool dirty = false;  // written since the last flush
  uint64_t lastDataUs = monotonicUs();
  for (;;) {
    // Read the flag before draining: everything submitted before stop() is then visible
    // to this final drain.
    const bool stopping = stopRequested_.load(std::memory_order_acquire);
    if (drain() > 0) {
      dirty = true;
      lastDataUs = monotonicUs();
    }
    if (stopping) break;
    if (dirty && monotonicUs() - lastDataUs >= options_.flushAfterIdleUs) {
      if (auto flushed = sink_->flush(); !flushed) recordError(flushed.error());
      dirty = false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(options_.idleSleepUs));
  }
  if (auto flushed = sink_->flush(); !flushed) recordError(flushed.error());
}

}  // namespace braid::dp
