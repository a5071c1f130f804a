// Replaces the global allocation functions of the test binary it is linked into with counting
// ones (see counting_allocator.h), and checks in that binary that they count.
#include "counting_allocator.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

// free() of what the replacement operator new took from malloc() is the pair this file
// defines; GCC at -O1 inlines the replacement delete into GoogleTest's test factory, sees
// `new TestClass` freed and calls it a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

std::atomic<bool> gCounting{false};
std::atomic<bool> gMarkedOnly{false};
std::atomic<uint64_t> gAllocations{0};
thread_local bool tMarked = false;

void* countedAlloc(std::size_t size, std::size_t align) {
  if (gCounting.load(std::memory_order_relaxed) &&
      (!gMarkedOnly.load(std::memory_order_relaxed) || tMarked))
    gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = align <= alignof(std::max_align_t)
                ? std::malloc(size)
                : std::aligned_alloc(align, (size + align - 1) / align * align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) {
  return countedAlloc(size, alignof(std::max_align_t));
}
void* operator new[](std::size_t size) {
  return countedAlloc(size, alignof(std::max_align_t));
}
void* operator new(std::size_t size, std::align_val_t align) {
  return countedAlloc(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return countedAlloc(size, static_cast<std::size_t>(align));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return countedAlloc(size, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return countedAlloc(size, alignof(std::max_align_t));
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace braid::test {

void startCountingAllocations() noexcept {
  gAllocations.store(0);
  gMarkedOnly.store(false);
  gCounting.store(true);
}

void markThisThreadCounted() noexcept {
  tMarked = true;
}

void startCountingMarkedThreads() noexcept {
  gAllocations.store(0);
  gMarkedOnly.store(true);
  gCounting.store(true);
}

uint64_t stopCountingAllocations() noexcept {
  gCounting.store(false);
  gMarkedOnly.store(false);
  return gAllocations.load();
}

}  // namespace braid::test

namespace braid::test {
namespace {

// Linked into every no-allocation test binary: the counter is live there (a zero in its tests
// would otherwise prove nothing).
TEST(CountingAllocator, SeesAnAllocation) {
  static int* volatile sink = nullptr;  // (a new/delete pair the compiler may not elide)
  startCountingAllocations();
  sink = new int(7);
  uint64_t allocations = stopCountingAllocations();
  delete sink;
  EXPECT_GE(allocations, 1u);
}

}  // namespace
}  // namespace braid::test
