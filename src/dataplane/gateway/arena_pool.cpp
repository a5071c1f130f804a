#include "dataplane/gateway/arena_pool.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "spdlog/spdlog.h"

namespace braid::dp {

namespace {
// With nothing to do the pool's thread waits for a worker's wake, or this long: it also
// retries maps that failed for want of memory.
constexpr int kIdleWaitMs = 100;
// How much lower the pool's thread runs than the process (nice steps).
constexpr int kNiceAboveWorkers = 10;
}  // namespace

Result<std::unique_ptr<ArenaPool>> ArenaPool::start(size_t arenaBytes, size_t workers,
                                                    size_t readyPerWorker) {
  if (arenaBytes == 0 || workers == 0 || readyPerWorker == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "arena pool: arena size, workers and ready count "
                "must be positive");
  }
  int wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd < 0) return fail(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(errno));
  std::unique_ptr<ArenaPool> pool(new ArenaPool(arenaBytes, workers, readyPerWorker, wakeFd));
  pool->thread_ = std::thread([p = pool.get()] {
    pthread_setname_np(pthread_self(), "braid-arenas");
    // Background work: the workers (and the media) keep their CPU while it populates.
    const auto self = static_cast<id_t>(::gettid());
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, self);
    if (errno == 0) ::setpriority(PRIO_PROCESS, self, std::min(nice + kNiceAboveWorkers, 19));
    p->run();
  });
  return pool;
}

ArenaPool::ArenaPool(size_t arenaBytes, size_t workers, size_t readyPerWorker, int wakeFd)
    : arenaBytes_(arenaBytes), readyPerWorker_(readyPerWorker), wakeFd_(wakeFd) {
  for (size_t w = 0; w < workers; ++w) shares_.push_back(std::make_unique<Share>(readyPerWorker));
}

ArenaPool::~ArenaPool() {
  stop_.store(true, std::memory_order_relaxed);
  wake();
  if (thread_.joinable()) thread_.join();
  ::close(wakeFd_);
  // The rings' slots unmap what they still hold as they are destroyed.
}

PayloadArena ArenaPool::take(size_t worker) noexcept {
  PayloadArena arena;
  if (!shares_[worker]->ready.tryPop(arena)) return {};
  wake();
  return arena;
}

void ArenaPool::give(size_t worker, PayloadArena arena) noexcept {
  if (!arena) return;
  // A full ring (the pool's thread far behind) leaves the unmapping to this thread.
  if (arena.get_deleter().bytes != arenaBytes_ ||
      !shares_[worker]->spent.tryPush(std::move(arena))) {
    return;
  }
  wake();
}

void ArenaPool::wake() noexcept {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakeFd_, &one, sizeof(one));
}

bool ArenaPool::refill() noexcept {
  bool worked = false;
  for (auto& share : shares_) {
    PayloadArena arena;
    while (share->spent.tryPop(arena)) {
      worked = true;
      // Reused while a worker could use it (its pages are still backed), unmapped otherwise.
      if (share->ready.size() < readyPerWorker_ && share->ready.tryPush(std::move(arena))) continue;
      arena.reset();
      unmapped_.fetch_add(1, std::memory_order_relaxed);
    }
    while (share->ready.size() < readyPerWorker_ && !stop_.load(std::memory_order_relaxed)) {
      PayloadArena fresh = mapPayloadArena(arenaBytes_);
      if (!fresh) {
        // Memory is short: new sessions wait (their edges retry); retried every 100 ms.
        if (!mapFailing_) {
          spdlog::error(
              "arena pool: cannot map a {} MiB jitter-buffer arena ({}); new sessions "
              "wait until memory is free",
              arenaBytes_ >> 20, std::strerror(errno));
        }
        mapFailing_ = true;
        return worked;
      }
      if (mapFailing_) spdlog::info("arena pool: mapping again");
      mapFailing_ = false;
      mapped_.fetch_add(1, std::memory_order_relaxed);
      share->ready.tryPush(std::move(fresh));
      worked = true;
    }
  }
  return worked;
}

void ArenaPool::run() noexcept {
  while (!stop_.load(std::memory_order_relaxed)) {
    if (refill()) continue;
    pollfd fd{wakeFd_, POLLIN, 0};
    if (::poll(&fd, 1, kIdleWaitMs) > 0) {
      uint64_t value = 0;
      [[maybe_unused]] ssize_t n = ::read(wakeFd_, &value, sizeof(value));
    }
  }
}

}  // namespace braid::dp
