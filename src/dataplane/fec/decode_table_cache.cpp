#include "dataplane/fec/decode_table_cache.h"

#include <algorithm>

namespace braid::dp {

DecodeTableCache::DecodeTableCache(uint32_t entries, size_t tableBytes)
    : entries_(entries),
      tableBytes_(tableBytes),
      slots_(new Slot[std::max<uint32_t>(entries, 1)]{}),
      tables_(new uint8_t[std::max<uint32_t>(entries, 1) * tableBytes]) {}

uint8_t* DecodeTableCache::find(const ErasureKey& key) noexcept {
  // A linear scan: at most a few dozen 16-byte compares, cheaper than hashing at this size.
  for (uint32_t i = 0; i < entries_; ++i) {
    Slot& slot = slots_[i];
    if (slot.valid && slot.key == key) {
      slot.referenced = true;
      return tables_.get() + i * tableBytes_;
    }
  }
  return nullptr;
}

uint8_t* DecodeTableCache::insert(const ErasureKey& key) noexcept {
  if (entries_ == 0) return tables_.get();
  // Clock: skip (and clear) referenced slots; an empty or unreferenced one is the victim.
  for (;;) {
    Slot& slot = slots_[hand_];
    const uint32_t index = hand_;
    hand_ = hand_ + 1 == entries_ ? 0 : hand_ + 1;
    if (!slot.valid || !slot.referenced) {
      slot = Slot{.key = key, .valid = true, .referenced = true};
      return tables_.get() + index * tableBytes_;
    }
    slot.referenced = false;
  }
}

void DecodeTableCache::clear() noexcept {
  for (uint32_t i = 0; i < std::max<uint32_t>(entries_, 1); ++i) slots_[i] = Slot{};
  hand_ = 0;
}

}  // namespace braid::dp
