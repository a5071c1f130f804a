#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "dataplane/counter.h"
#include "dataplane/output/media_chunk.h"
#include "dataplane/output/output_sink.h"
#include "dataplane/ring/spsc_ring.h"

namespace braid::dp {

struct OutputThreadOptions {
  size_t ringChunks = 1024;                 // rounded up to a power of two; ~1.5 KB each
  uint64_t idleSleepUs = 1000;              // consumer backoff when the ring is empty
  uint64_t flushAfterIdleUs = 5000;         // flush the sink once nothing arrived for this long
  std::string threadName = "braid-output";  // truncated to 15 characters
};

// Counters of one output. chunks/bytes/writeErrors are written by the output thread,
// drops by the producer; any thread may read them.
struct OutputCounters {
  OwnedCounter chunks;        // chunks written to the sink
  OwnedCounter bytes;         // bytes written to the sink
  OwnedCounter drops;         // submit() calls refused (ring full, or stopped)
  OwnedCounter droppedBytes;  // bytes of those calls
  OwnedCounter writeErrors;   // failed sink write/flush calls (their data is lost)
};

// One output of a session: an SPSC ring of media chunks drained by its own thread into
// one sink. The producer (a gateway worker) never blocks: when the ring is full the data
// is dropped and counted. The thread sleeps ~1 ms when the ring is empty rather than spin.
class OutputThread {
 public:
  // Starts the thread; the sink is owned from here on. Any thread. Fails on a null sink.
  [[nodiscard]] static Result<std::unique_ptr<OutputThread>> start(
      std::unique_ptr<OutputSink> sink, const OutputThreadOptions& options = {});
  // Calls stop().
  ~OutputThread();
  OutputThread(const OutputThread&) = delete;
  OutputThread& operator=(const OutputThread&) = delete;

  // Copies `bytes` into free ring slots (split into chunks of up to 1504 B, all or
  // nothing). Returns false and counts a drop when they do not fit or after stop().
  // Producer thread only (exactly one); never blocks, never allocates.
  bool submit(std::span<const uint8_t> bytes) noexcept;

  // Writes out everything already submitted, flushes the sink and joins the thread.
  // Call once the producer has stopped submitting (later submits are dropped). Idempotent;
  // any single thread other than the output thread.
  void stop();

  // Counters; any thread.
  const OutputCounters& counters() const { return counters_; }
  // Text of the most recent sink error, empty if none. Any thread (takes a mutex).
  std::string lastError() const;
  // Chunks waiting in the ring (a snapshot). Any thread.
  size_t queuedChunks() const { return ring_.size(); }

 private:
  OutputThread(std::unique_ptr<OutputSink> sink, const OutputThreadOptions& options);
  void run();
  // Writes every chunk currently queued; returns how many were written.
  size_t drain();
  void recordError(const Error& error);

  OutputThreadOptions options_;
  std::unique_ptr<OutputSink> sink_;
  SpscRing<MediaChunk> ring_;
  OutputCounters counters_;
  std::atomic<bool> stopRequested_{false};
  bool stopped_ = false;  // touched only by the thread calling stop()
  mutable std::mutex errorMutex_;
  std::string lastError_;
  std::thread thread_;
};

}  // namespace braid::dp
