#pragma once

// Receiver-side ARQ requests of one session: which missing media sequences to NACK, and when.
// A hole is not loss until the reorder tolerance has passed since it was first seen (bonded
// links reorder by design: a hole on the first look is usually a packet still on a slower
// link); then it is requested, again after `retryNs` while it stays missing, at most `maxTries`
// times. The playout deadline ends it: the jitter buffer skips what never came.

#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/proto/result.h"
#include "dataplane/reliability/jitter_buffer.h"

namespace braid::dp {

struct NackConfig {
  uint32_t trackCapacity = 8192;  // sequences tracked at once; a power of two
  uint64_t retryNs = 100'000'000;
  uint8_t maxTries = 4;
  uint32_t maxSequencesPerRound = 512;  // bounds one round's work and the NACK's size
  uint32_t maxRanges = 64;              // ranges per NACK message (the wire's limit)
};

struct NackCounters {
  OwnedCounter requested;  // sequence requests sent (a sequence asked twice counts twice)
  OwnedCounter rounds;     // NACK messages produced
};

// Owner thread only (the session's worker); allocation-free after create().
class NackScheduler {
 public:
  // Returns the scheduler, or kInvalidArgument for a capacity that is not a power of two.
  static Result<std::unique_ptr<NackScheduler>> create(const NackConfig& config);
  // As create(), its table in `storage` that the caller owns and keeps until the scheduler is
  // destroyed: at least storageBytes(config), aligned for its 8-byte fields (e.g. a part of a
  // session's arena, mapped off the worker). The table is cleared here; nothing else is
  // allocated but the scheduler object.
  static Result<std::unique_ptr<NackScheduler>> createIn(const NackConfig& config,
                                                         std::span<uint8_t> storage);
  static size_t storageBytes(const NackConfig& config) noexcept;

  // Looks at the holes of `buffer` at `nowNs` and calls addRange(firstSeq, count) for the runs
  // of sequences due for a request (missing for at least `reorderToleranceNs`, not asked within
  // retryNs, asked fewer than maxTries times), lowest first, at most maxRanges runs. Returns the
  // number of sequences requested. Owner thread.
  template <typename AddRange>
  uint64_t collect(const JitterBuffer& buffer, uint64_t nowNs, uint64_t reorderToleranceNs,
                   AddRange&& addRange) noexcept;

  const NackCounters& counters() const noexcept { return counters_; }

 private:
  struct Entry {
    uint64_t seqPlusOne = 0;  // 0: empty
    uint64_t firstSeenNs = 0;
    uint64_t lastAskedNs = 0;
    uint8_t tries = 0;
  };
  NackScheduler(const NackConfig& config, Entry* entries, std::unique_ptr<Entry[]> owned);
  static Result<void> check(const NackConfig& config);
  // True if `seq`, missing at `nowNs`, should be asked for now (and records the request).
  bool due(uint64_t seq, uint64_t nowNs, uint64_t toleranceNs) noexcept;

  NackConfig config_;
  uint64_t mask_;
  std::unique_ptr<Entry[]> ownedEntries_;  // create()'s table; createIn()'s is the caller's
  Entry* entries_;
  NackCounters counters_;
};

template <typename AddRange>
uint64_t NackScheduler::collect(const JitterBuffer& buffer, uint64_t nowNs,
                                uint64_t reorderToleranceNs, AddRange&& addRange) noexcept {
  uint64_t requested = 0, looked = 0;
  uint32_t ranges = 0;
  uint64_t runFirst = 0, runLength = 0;
  auto flush = [&] {
    if (runLength > 0 && ranges < config_.maxRanges) {
      addRange(runFirst, runLength);
      ++ranges;
      requested += runLength;
    }
    runLength = 0;
  };
  buffer.forEachGap(config_.maxRanges * 4, [&](uint64_t first, uint64_t count) {
    for (uint64_t seq = first; seq < first + count; ++seq) {
      if (looked++ >= config_.maxSequencesPerRound || ranges >= config_.maxRanges) return;
      if (due(seq, nowNs, reorderToleranceNs)) {
        if (runLength > 0 && runFirst + runLength == seq) {
          ++runLength;
        } else {
          flush();
          runFirst = seq;
          runLength = 1;
        }
      } else {
        flush();
      }
    }
    flush();
  });
  flush();
  if (requested > 0) {
    counters_.requested.add(requested);
    counters_.rounds.add();
  }
  return requested;
}

}  // namespace braid::dp
