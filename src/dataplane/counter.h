#pragma once

#include <atomic>
#include <cstdint>

namespace braid::dp {

// A counter with exactly one writer thread, read by any thread (the metrics scraper).
// The writer does a relaxed load + store, never a locked read-modify-write: on x86 this
// is a plain add, and readers see a value that is at most a moment old.
class OwnedCounter {
 public:
  void add(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  uint64_t read() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace braid::dp
