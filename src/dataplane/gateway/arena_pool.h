#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "dataplane/proto/result.h"
#include "dataplane/reliability/jitter_buffer.h"
#include "dataplane/ring/spsc_ring.h"

namespace braid::dp {

// Jitter-buffer payload arenas for the workers' new sessions, mapped and populated by a thread
// of their own (docs/gateway.md §3). Populating 8 MB costs a worker 4-22 ms of its CPU, and
// opening one session per pass during a reconnect storm then held live 50 ms sessions' media
// that long each time; with the pool a worker takes a ready arena from a ring, and gives the
// arena of an ended session back through another (reused, or unmapped by the pool's thread).
// Each worker has its own pair of SPSC rings: take() and give() never lock, never map, never
// allocate.
class ArenaPool {
 public:
  // Arenas kept ready per worker: a reconnecting fleet is served from these while the
  // pool's thread maps more (one per few ms; a worker opens at most one session per pass).
  static constexpr size_t kReadyPerWorker = 4;
  // Ended sessions' arenas a worker can hand back before the pool's thread takes them: a
  // fleet's sessions end together (a restarted edge fleet replaces them all), and an arena
  // that finds the ring full is unmapped on the worker (an 8 MiB munmap there, under the
  // process's memory-map lock). The ring holds pointers only.
  static constexpr size_t kSpentPerWorker = 512;

  // Starts the pool's thread (10 nice steps below the process), which maps `readyPerWorker` arenas
  // of `arenaBytes` for each of `workers` at once. Control thread.
  static Result<std::unique_ptr<ArenaPool>> start(size_t arenaBytes, size_t workers,
                                                  size_t readyPerWorker = kReadyPerWorker);
  // Stops the thread; unmaps every arena still held.
  ~ArenaPool();
  ArenaPool(const ArenaPool&) = delete;
  ArenaPool& operator=(const ArenaPool&) = delete;

  // A populated arena for a new session of `worker`, or null when none is ready yet. Worker
  // thread `worker` only.
  PayloadArena take(size_t worker) noexcept;
  // The arena of one of `worker`'s ended sessions (null is ignored). Worker thread only.
  void give(size_t worker, PayloadArena arena) noexcept;
  // Arenas ready for `worker` now. Any thread (a snapshot).
  size_t ready(size_t worker) const noexcept { return shares_[worker]->ready.size(); }
  // Arenas the pool's thread has mapped and unmapped so far. Any thread.
  uint64_t mapped() const noexcept { return mapped_.load(std::memory_order_relaxed); }
  uint64_t unmapped() const noexcept { return unmapped_.load(std::memory_order_relaxed); }

 private:
  struct Share {
    explicit Share(size_t readyPerWorker) : ready(readyPerWorker), spent(kSpentPerWorker) {}
    SpscRing<PayloadArena> ready;  // pool thread → worker
    SpscRing<PayloadArena> spent;  // worker → pool thread
  };
  ArenaPool(size_t arenaBytes, size_t workers, size_t readyPerWorker, int wakeFd);
  void run() noexcept;
  bool refill() noexcept;  // one round over the shares; true if it did anything
  void wake() noexcept;

  const size_t arenaBytes_;
  const size_t readyPerWorker_;
  std::vector<std::unique_ptr<Share>> shares_;
  int wakeFd_;  // an eventfd: a worker took or gave an arena
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> mapped_{0};
  std::atomic<uint64_t> unmapped_{0};
  bool mapFailing_ = false;  // the pool's thread only
  std::thread thread_;
};

}  // namespace braid::dp
