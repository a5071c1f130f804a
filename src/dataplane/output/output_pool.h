#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/counter.h"
#include "dataplane/output/media_chunk.h"
#include "dataplane/output/output_sink.h"
#include "dataplane/ring/spsc_ring.h"

namespace braid::dp {

class OutputPool;

struct OutputPoolOptions {
  size_t threads = 1;                       // 1..64; outputs are spread over them
  uint64_t idleSleepUs = 1000;              // a thread's pause once every ring it serves is empty
  uint64_t flushAfterIdleUs = 5000;         // flush a sink once nothing arrived for this long
  std::string threadName = "braid-output";  // + the thread's index, truncated to 15 characters
  // Rings of readyRingChunks kept mapped and populated by the first thread, so that open()
  // with that ring size maps nothing on its caller (a gateway worker: a map there waited on
  // the process's memory-map lock while other threads faulted). 0: none kept (the gateway
  // keeps 4; a test's or a fuzzer's short-lived pool keeps none).
  size_t readyRings = 0;
  size_t readyRingChunks = 2048;
};

// Counters of one output. chunks/bytes/writeErrors are written by whichever thread drains
// the output (one at a time), drops by the producer; any thread may read them.
struct OutputCounters {
  OwnedCounter chunks;        // chunks written to the sink
  OwnedCounter bytes;         // bytes written to the sink
  OwnedCounter drops;         // submit() calls refused (ring full, or closed)
  OwnedCounter droppedBytes;  // bytes of those calls
  OwnedCounter writeErrors;   // failed sink write/flush calls (their data is lost)
};

// One output (a sink and the SPSC ring of media chunks in front of it), drained by one of
// its pool's threads. The producer (a gateway worker) never blocks: when the ring is full
// the data is dropped and counted.
class Output {
 public:
  // Calls close().
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Copies `bytes` into free ring slots (split into chunks of up to 1504 B, all or
  // nothing). Returns false and counts a drop when they do not fit or after close().
  // Producer thread only (exactly one); never blocks, never allocates.
  bool submit(std::span<const uint8_t> bytes) noexcept;

  // Takes the output off its pool thread, then writes out everything already submitted
  // and flushes the sink, on the calling thread (it waits for at most the pool thread's
  // drain of this one output). Call once the producer has stopped submitting (later
  // submits are dropped). Idempotent; any single thread other than a pool thread in its
  // drain (OutputPool::retire() has the pool's first thread call it between drains).
  void close();

  // Counters; any thread.
  const OutputCounters& counters() const { return counters_; }
  // Text of the most recent sink error, empty if none. Any thread (takes a mutex).
  std::string lastError() const;
  // Chunks waiting in the ring (a snapshot). Any thread.
  size_t queuedChunks() const { return ring_.size(); }

 private:
  friend class OutputPool;
  Output(OutputPool& pool, size_t lane, std::unique_ptr<OutputSink> sink, size_t ringChunks,
         SpscRing<MediaChunk>::Slots readySlots);
  // Writes every chunk queued now; returns how many. The thread holding drainMutex_.
  size_t drain();
  // Flushes if data was written and none came for `flushAfterUs`. The thread holding drainMutex_.
  void flushIfIdle(uint64_t nowUs, uint64_t flushAfterUs);
  // Writes out everything queued and flushes the sink. The thread holding drainMutex_.
  void finish();
  void recordError(const Error& error);

  // Null once detached (by close(), or by the pool's destructor if the output outlived it).
  std::atomic<OutputPool*> pool_;
  const size_t lane_;  // the pool thread that drains this output
  std::unique_ptr<OutputSink> sink_;
  SpscRing<MediaChunk> ring_;
  OutputCounters counters_;
  std::atomic<bool> closing_{false};
  bool closed_ = false;  // touched only by the thread calling close()
  // Held by whoever consumes the ring: the pool thread during a drain, close() at the end.
  std::mutex drainMutex_;
  bool dirty_ = false;  // written since the last flush (under drainMutex_)
  // The ring's pages are backed (by the pool thread, which alone writes it; read under the
  // lane's mutex when it picks an output).
  std::atomic<bool> populated_{false};
  uint64_t lastDataUs_ = 0;  // when data was last written (under drainMutex_)
  mutable std::mutex errorMutex_;
  std::string lastError_;
};

// A fixed set of threads that drain every output of a gateway, so that the thread count
// does not grow with sessions (each "{key}" output is one more ring, not one more thread).
// A thread serves its outputs in turn and sleeps when all their rings are empty; a thread
// with no outputs sleeps until it gets one.
class OutputPool {
 public:
  // Starts the threads. Any thread. Fails on a thread count outside 1..64.
  [[nodiscard]] static Result<std::unique_ptr<OutputPool>> start(
      const OutputPoolOptions& options = {});
  // Stops the threads. Outputs still open are drained and flushed here and detached (their
  // close() then only drains again): stop their producers first, and do not close them
  // concurrently with this destructor.
  ~OutputPool();
  OutputPool(const OutputPool&) = delete;
  OutputPool& operator=(const OutputPool&) = delete;

  // Makes an output for `sink` with a ring of `ringChunks` (rounded up to a power of two;
  // ~1.5 KB each) on the thread with the fewest outputs. Any thread. Fails on a null sink
  // or an empty ring.
  [[nodiscard]] Result<std::shared_ptr<Output>> open(std::unique_ptr<OutputSink> sink,
                                                     size_t ringChunks = 1024);

  // Closes `output` (its last drain and flush, its sink, its ring) on the pool's first thread
  // instead of the caller's: a gateway worker retiring an output no session uses any more,
  // which must not wait on a sink or unmap a ring (docs/gateway.md §3). The caller holds no
  // other reference and submits nothing more. Any thread.
  void retire(std::shared_ptr<Output> output);
  // Outputs retired and not yet closed. Any thread (a snapshot).
  size_t retiring() const { return retiringCount_.load(std::memory_order_relaxed); }

  // Outputs open now, over all threads. Any thread (takes the threads' mutexes).
  size_t openOutputs() const;
  // Rings ready for open() now (a snapshot). Any thread.
  size_t readyRings() const { return readyCount_.load(std::memory_order_relaxed); }
  size_t threads() const { return lanes_.size(); }

 private:
  friend class Output;
  struct Lane {
    mutable std::mutex mutex;      // guards outputs
    std::vector<Output*> outputs;  // open outputs this thread drains
    // Signalled when an output is added or the pool stops: a thread without outputs waits on
    // it rather than waking every idleSleepUs (an idle gateway stays idle).
    std::condition_variable changed;
    std::thread thread;
  };
  explicit OutputPool(const OutputPoolOptions& options);
  void run(Lane& lane) noexcept;
  // Removes `output` from its thread's list; close() calls it first.
  void detach(Output& output);
  // The first thread's part: maps ready rings while fewer than options_.readyRings wait.
  void refillReadyRings() noexcept;
  // The first thread's part, and the destructor's: closes the retired outputs.
  void closeRetired();
  bool readyRingsLow() const noexcept {
    return readyCount_.load(std::memory_order_relaxed) < options_.readyRings;
  }

  OutputPoolOptions options_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<bool> stopRequested_{false};
  std::mutex readyMutex_;  // guards ready_
  std::vector<SpscRing<MediaChunk>::Slots> ready_;
  std::atomic<size_t> readyCount_{0};
  std::mutex retiringMutex_;  // guards retiring_
  std::vector<std::shared_ptr<Output>> retiring_;
  std::atomic<size_t> retiringCount_{0};
};

}  // namespace braid::dp
