// Counts heap allocations (tests/unit/common/counting_allocator.h) to prove that
// the jitter buffer's per-packet path never allocates.
#include <cstdint>

#include <gtest/gtest.h>

#include "counting_allocator.h"

#include "dataplane/reliability/jitter_buffer.h"
#include "dataplane/reliability/nack_scheduler.h"
#include "dataplane/reliability/retransmit_buffer.h"

namespace braid::dp {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(JitterBufferHotPath, InsertAndPollDoNotAllocate) {
  auto created =
      JitterBuffer::create({.capacity = 1024, .maxPayload = 1472, .targetLatencyNs = 50 * kMs});
  ASSERT_TRUE(created.has_value());
  JitterBuffer& jb = **created;
  uint8_t payload[1316] = {};
  uint64_t emitted = 0;
  uint64_t bytes = 0;
  auto emit = [&](std::span<const uint8_t> p, uint64_t) {
    ++emitted;
    bytes += p.size();
  };
  // 1 packet per ms of media; every 7th arrives 2 ms late (reordered), every 101st is lost, every
  // 13th is duplicated. The worker polls every 2 ms.
  auto send = [&](uint64_t seq, uint64_t now) {
    if (seq % 101 == 50) return;
    (void)jb.insert(seq, seq * 1000, payload, now);
    if (seq % 13 == 0) (void)jb.insert(seq, seq * 1000, payload, now);
  };
  auto step = [&](uint64_t i) {
    const uint64_t now = 1'000 * kMs + i * kMs;
    if (i % 7 != 3) send(i, now);
    if (i % 7 == 5) send(i - 2, now);
    if (i % 2 == 0) jb.poll(now, emit);
    (void)jb.nextDeadlineNs();
    (void)jb.cumulativeSeq();
    uint64_t gaps = 0;
    jb.forEachGap(32, [&](uint64_t, uint64_t n) { gaps += n; });
    return gaps;
  };
  uint64_t i = 0;
  for (; i < 10'000; ++i) (void)step(i);  // warm-up
  const uint64_t emittedBefore = emitted;

  braid::test::startCountingAllocations();
  uint64_t gaps = 0;
  for (uint64_t n = 0; n < 100'000; ++n, ++i) gaps += step(i);
  uint64_t allocations = braid::test::stopCountingAllocations();

  EXPECT_EQ(allocations, 0u);
  EXPECT_GT(emitted - emittedBefore, 98'000u);  // the loop did real work
  EXPECT_GT(jb.counters().skipped.read(), 900u);
  EXPECT_GT(jb.counters().duplicates.read(), 0u);
  EXPECT_GT(gaps, 0u);
  EXPECT_EQ(bytes, emitted * sizeof(payload));
}

TEST(ArqHotPath, NackCollectionAndResendsDoNotAllocate) {
  auto jbCreated =
      JitterBuffer::create({.capacity = 1024, .maxPayload = 1472, .targetLatencyNs = 200 * kMs});
  auto nacksCreated = NackScheduler::create({.trackCapacity = 1024});
  auto resendCreated = RetransmitBuffer::create({.capacity = 1024, .maxPayload = 1316});
  ASSERT_TRUE(jbCreated && nacksCreated && resendCreated);
  JitterBuffer& jb = **jbCreated;
  NackScheduler& nacks = **nacksCreated;
  RetransmitBuffer& resend = **resendCreated;
  uint8_t payload[1316] = {};
  uint64_t asked = 0, resent = 0;
  auto step = [&](uint64_t i) {
    const uint64_t now = 1'000 * kMs + i * kMs;
    resend.store(i, i * 1000, 0, payload, now + 200 * kMs, now);
    if (i % 50 != 7) (void)jb.insert(i, i * 1000, payload, now);  // 2 % lost
    if (i % 10 == 0) {
      nacks.collect(jb, now, 20 * kMs, [&](uint64_t first, uint64_t n) {
        asked += n;
        for (uint64_t s = first; s < first + n; ++s) {
          if (resend.takeForResend(s, now, 10 * kMs, 60 * kMs) != nullptr) ++resent;
        }
      });
      jb.poll(now, [](std::span<const uint8_t>, uint64_t) {});
      resend.release(jb.cumulativeSeq());
    }
  };
  uint64_t i = 0;
  for (; i < 10'000; ++i) step(i);  // warm-up
  braid::test::startCountingAllocations();
  for (uint64_t n = 0; n < 100'000; ++n, ++i) step(i);
  uint64_t allocations = braid::test::stopCountingAllocations();
  EXPECT_EQ(allocations, 0u);
  EXPECT_GT(asked, 1'000u);  // the loop did real work
  EXPECT_GT(resent, 1'000u);
}

}  // namespace
}  // namespace braid::dp
