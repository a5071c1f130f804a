#include "dataplane/reliability/nack_scheduler.h"

namespace braid::dp {

Result<std::unique_ptr<NackScheduler>> NackScheduler::create(const NackConfig& config) {
  if (config.trackCapacity == 0 || (config.trackCapacity & (config.trackCapacity - 1)) != 0) {
    return fail(ErrorCode::kInvalidArgument, "NACK track capacity must be a power of two");
  }
  if (config.maxTries == 0 || config.maxRanges == 0) {
    return fail(ErrorCode::kInvalidArgument, "NACK maxTries and maxRanges must be above 0");
  }
  return std::unique_ptr<NackScheduler>(new NackScheduler(config));
}

NackScheduler::NackScheduler(const NackConfig& config)
    : config_(config),
      mask_(config.trackCapacity - 1),
      entries_(new Entry[config.trackCapacity]{}) {}

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
