#pragma once

#include <sys/mman.h>

#include <atomic>
#include <bit>
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

namespace braid::dp {

inline constexpr size_t kCacheLineSize = 64;

// Bounded single-producer/single-consumer ring. Exactly one thread may call the
// producer functions (tryPush, pushBurst, writable, writeSlot, publish) and exactly one
// other thread the consumer functions (tryPop, popBurst, readable, readSlot, consume);
// size() and capacity() are safe from any thread.
//
// Indices run freely (size_t never wraps in practice) and are masked on access. Each side
// keeps a cached copy of the other side's index on its own cache line, so it only touches
// the shared line when the cache says the ring looks full (producer) or empty (consumer).
// Slots are default-constructed once at construction and reused: the ring never allocates
// after that, and the slot API lets large T (media chunks) be filled and drained in place.
template <typename T>
class SpscRing {
 public:
  // Allocates max(2, capacity rounded up to a power of two) slots. Any thread, once.
  explicit SpscRing(size_t capacity)
      : capacity_(slotsFor(capacity)), mask_(capacity_ - 1), slots_(new T[capacity_]()) {}

  // The same, with the slots in an anonymous mapping whose pages are neither touched nor
  // backed until written or populate()d: a constructor that zeroes megabytes takes a page
  // fault per 4 KiB on the constructing thread (a gateway worker opening a session's output
  // held its other sessions ~20-70 ms so). For T whose all-zero bytes are a valid value.
  struct LazyPages {};
  SpscRing(size_t capacity, LazyPages)
      : capacity_(slotsFor(capacity)), mask_(capacity_ - 1), slots_(mapSlots(capacity_)) {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "lazily mapped slots are only for plain data");
  }

  // Slots as LazyPages maps them, for a ring of `capacity`: mapped and populated on one thread
  // (a gateway's output thread), a ring built from them on another (a worker) maps nothing.
  // For T whose all-zero bytes are a valid value.
  struct SlotsRelease {
    size_t mappedBytes = 0;  // 0: from new[]
    void operator()(T* slots) const noexcept {
      if (mappedBytes != 0) {
        ::munmap(slots, mappedBytes);
      } else {
        delete[] slots;
      }
    }
  };
  using Slots = std::unique_ptr<T[], SlotsRelease>;
  static Slots mapPopulatedSlots(size_t capacity) {
    Slots slots = mapSlots(slotsFor(capacity));
    if (slots.get_deleter().mappedBytes != 0) {
      ::madvise(slots.get(), slots.get_deleter().mappedBytes, kPopulateWrite);
    }
    return slots;
  }
  // With `slots` from mapPopulatedSlots(capacity); others (null, or of another capacity) are
  // released and the ring maps its own, as LazyPages.
  SpscRing(size_t capacity, Slots slots)
      : capacity_(slotsFor(capacity)),
        mask_(capacity_ - 1),
        slots_(slots && slots.get_deleter().mappedBytes == capacity_ * sizeof(T)
                   ? std::move(slots)
                   : mapSlots(capacity_)) {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                  "mapped slots are only for plain data");
  }

  // Backs the mapped slots' pages without writing them (MADV_POPULATE_WRITE), so that
  // neither side faults on them later. Any thread, at any time: it leaves the contents as
  // they are. A no-op for slots from the heap or on a kernel without it (before 5.14).
  void populate() noexcept {
    if (slots_.get_deleter().mappedBytes != 0) {
      ::madvise(slots_.get(), slots_.get_deleter().mappedBytes, kPopulateWrite);
    }
  }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Number of slots. Any thread.
  size_t capacity() const noexcept { return capacity_; }

  // Items currently queued; exact from either side's own thread, a snapshot elsewhere.
  size_t size() const noexcept {
    const size_t head = consumer_.head.load(std::memory_order_acquire);
    const size_t tail = producer_.tail.load(std::memory_order_acquire);
    return tail - head;
  }
  bool empty() const noexcept { return size() == 0; }

  // --- producer side -------------------------------------------------------------

  // Free slots the producer may fill now (re-reads the consumer's index only when the
  // cached one says fewer than `wanted` are free). Producer thread.
  size_t writable(size_t wanted = 1) noexcept {
    const size_t tail = producer_.tail.load(std::memory_order_relaxed);
    size_t free = capacity_ - (tail - producer_.cachedHead);
    if (free < wanted) {
      producer_.cachedHead = consumer_.head.load(std::memory_order_acquire);
      free = capacity_ - (tail - producer_.cachedHead);
    }
    return free;
  }
  // The i-th free slot (i < writable()); fill it, then publish(). Producer thread.
  T& writeSlot(size_t i) noexcept {
    return slots_[(producer_.tail.load(std::memory_order_relaxed) + i) & mask_];
  }
  // Hands the first n filled slots to the consumer. Producer thread.
  void publish(size_t n) noexcept {
    producer_.tail.store(producer_.tail.load(std::memory_order_relaxed) + n,
                         std::memory_order_release);
  }

  // Copies/moves one item in; false when the ring is full. Producer thread.
  bool tryPush(const T& item) noexcept(std::is_nothrow_copy_assignable_v<T>) {
    if (writable() == 0) return false;
    writeSlot(0) = item;
    publish(1);
    return true;
  }
  bool tryPush(T&& item) noexcept(std::is_nothrow_move_assignable_v<T>) {
    if (writable() == 0) return false;
    writeSlot(0) = std::move(item);
    publish(1);
    return true;
  }
  // Moves as many leading items of `items` as fit; returns how many. Producer thread.
  size_t pushBurst(std::span<T> items) noexcept(std::is_nothrow_move_assignable_v<T>) {
    size_t n = writable(items.size());
    if (n > items.size()) n = items.size();
    for (size_t i = 0; i < n; ++i) writeSlot(i) = std::move(items[i]);
    if (n != 0) publish(n);
    return n;
  }

  // --- consumer side -------------------------------------------------------------

  // Items the consumer may take now (re-reads the producer's index only when the cached
  // one says fewer than `wanted` are queued). Consumer thread.
  size_t readable(size_t wanted = 1) noexcept {
    const size_t head = consumer_.head.load(std::memory_order_relaxed);
    size_t avail = consumer_.cachedTail - head;
    if (avail < wanted) {
      consumer_.cachedTail = producer_.tail.load(std::memory_order_acquire);
      avail = consumer_.cachedTail - head;
    }
    return avail;
  }
  // The i-th queued item (i < readable()), in place. Consumer thread.
  T& readSlot(size_t i) noexcept {
    return slots_[(consumer_.head.load(std::memory_order_relaxed) + i) & mask_];
  }
  // Returns the first n read slots to the producer. Consumer thread.
  void consume(size_t n) noexcept {
    consumer_.head.store(consumer_.head.load(std::memory_order_relaxed) + n,
                         std::memory_order_release);
  }

  // Moves the oldest item into `out`; false when empty. Consumer thread.
  bool tryPop(T& out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    if (readable() == 0) return false;
    out = std::move(readSlot(0));
    consume(1);
    return true;
  }
  // Moves up to out.size() oldest items into `out`; returns how many. Consumer thread.
  size_t popBurst(std::span<T> out) noexcept(std::is_nothrow_move_assignable_v<T>) {
    size_t n = readable(out.size());
    if (n > out.size()) n = out.size();
    for (size_t i = 0; i < n; ++i) out[i] = std::move(readSlot(i));
    if (n != 0) consume(n);
    return n;
  }

 private:
  // The producer's line: its index (read by the consumer when its cache runs dry) and
  // its private copy of the consumer's index.
  struct alignas(kCacheLineSize) ProducerSide {
    std::atomic<size_t> tail{0};
    size_t cachedHead = 0;
  };
  struct alignas(kCacheLineSize) ConsumerSide {
    std::atomic<size_t> head{0};
    size_t cachedTail = 0;
  };

  // MADV_POPULATE_WRITE (Linux 5.14), which older C library headers do not name.
  static constexpr int kPopulateWrite = 23;

  // The slots of a ring asked for `capacity`: at least 2, a power of two.
  static size_t slotsFor(size_t capacity) noexcept {
    return std::bit_ceil(capacity < 2 ? size_t{2} : capacity);
  }

  static Slots mapSlots(size_t count) {
    const size_t bytes = count * sizeof(T);
    void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // No mapping: slots from the heap, zeroed here as before.
    if (base == MAP_FAILED) return Slots(new T[count]());
    // Zero-filled pages: plain-data objects begin their lives there (as in memory from malloc).
    return Slots(static_cast<T*>(base), SlotsRelease{.mappedBytes = bytes});
  }

  const size_t capacity_;
  const size_t mask_;
  const Slots slots_;
  ProducerSide producer_;
  ConsumerSide consumer_;
};

}  // namespace braid::dp
