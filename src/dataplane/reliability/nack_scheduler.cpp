#include "dataplane/reliability/nack_scheduler.h"

#include <memory>
#include <new>
#include <string>

namespace braid::dp {

Result<void> NackScheduler::check(const NackConfig& config) {
  if (config.trackCapacity == 0 || (config.trackCapacity & (config.trackCapacity - 1)) != 0) {
    return fail(ErrorCode::kInvalidArgument, "NACK track capacity must be a power of two");
  }
  if (config.maxTries == 0 || config.maxRanges == 0) {
    return fail(ErrorCode::kInvalidArgument, "NACK maxTries and maxRanges must be above 0");
  }
  return ok();
}

Result<std::unique_ptr<NackScheduler>> NackScheduler::create(const NackConfig& config) {
  if (auto checked = check(config); !checked) return tl::unexpected(checked.error());
  std::unique_ptr<Entry[]> owned(new Entry[config.trackCapacity]{});
  Entry* entries = owned.get();
  return std::unique_ptr<NackScheduler>(new NackScheduler(config, entries, std::move(owned)));
}

size_t NackScheduler::storageBytes(const NackConfig& config) noexcept {
  return size_t{config.trackCapacity} * sizeof(Entry);
}

Result<std::unique_ptr<NackScheduler>> NackScheduler::createIn(const NackConfig& config,
                                                               std::span<uint8_t> storage) {
  if (auto checked = check(config); !checked) return tl::unexpected(checked.error());
  if (storage.size() < storageBytes(config) ||
      reinterpret_cast<uintptr_t>(storage.data()) % alignof(Entry) != 0) {
    return fail(ErrorCode::kExhausted, "NACK table: storage of " + std::to_string(storage.size()) +
                                           " bytes, want " + std::to_string(storageBytes(config)));
  }
  auto* entries = reinterpret_cast<Entry*>(storage.data());
  std::uninitialized_value_construct_n(entries, config.trackCapacity);
  return std::unique_ptr<NackScheduler>(
      new NackScheduler(config, std::launder(entries), std::unique_ptr<Entry[]>{}));
}

NackScheduler::NackScheduler(const NackConfig& config, Entry* entries,
                             std::unique_ptr<Entry[]> owned)
    : config_(config),
      mask_(config.trackCapacity - 1),
      ownedEntries_(std::move(owned)),
      entries_(entries) {}

bool NackScheduler::due(uint64_t seq, uint64_t nowNs, uint64_t toleranceNs) noexcept {
  Entry& e = entries_[seq & mask_];
  if (e.seqPlusOne != seq + 1) {
    // First look at this hole (or its slot held an older sequence, long done).
    e = Entry{.seqPlusOne = seq + 1, .firstSeenNs = nowNs, .lastAskedNs = 0, .tries = 0};
  }
  if (nowNs - e.firstSeenNs < toleranceNs || e.tries >= config_.maxTries) return false;
  if (e.tries > 0 && nowNs - e.lastAskedNs < config_.retryNs) return false;
  e.lastAskedNs = nowNs;
  ++e.tries;
  return true;
}

}  // namespace braid::dp
