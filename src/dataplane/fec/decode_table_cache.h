#pragma once

// A fixed-capacity cache of Reed–Solomon decode tables, keyed by the erasure pattern: which
// source symbols were received and which repair symbols stood in for the missing ones. Building
// the tables for a pattern costs a k×k inversion over GF(2^8) plus ec_init_tables; a lossy link
// tends to repeat a few patterns, so a small cache with clock (second-chance) replacement saves
// most of that. Every entry's table space is allocated once, at construction.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace braid::dp {

// The erasure pattern: bit i of `sources` is set when source i was received; bit j of `repairs`
// when repair j was used in its place.
struct ErasureKey {
  uint64_t sources = 0;
  uint32_t repairs = 0;

  bool operator==(const ErasureKey&) const = default;
};

class DecodeTableCache {
 public:
  // `entries` slots (0: no caching, one scratch slot only), each `tableBytes` long.
  DecodeTableCache(uint32_t entries, size_t tableBytes);

  // The tables cached for `key`, marked recently used, or nullptr. Decoder thread.
  uint8_t* find(const ErasureKey& key) noexcept;
  // A slot to fill with the tables for `key`, taking the place of an entry not used recently;
  // the slot is remembered under `key` at once (the caller fills it before the next call). With
  // no caching, the scratch slot. Decoder thread; no allocation.
  uint8_t* insert(const ErasureKey& key) noexcept;
  // Forgets every entry. Decoder thread.
  void clear() noexcept;

  uint32_t entries() const noexcept { return entries_; }

 private:
  struct Slot {
    ErasureKey key;
    bool valid = false;
    bool referenced = false;
  };

  uint32_t entries_;
  size_t tableBytes_;
  uint32_t hand_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<uint8_t[]> tables_;
};

}  // namespace braid::dp
