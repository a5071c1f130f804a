// Receiver NACK scheduling over a real jitter buffer, and the sender's retransmit buffer.

#include <gtest/gtest.h>

#include <array>
#include <utility>
#include <vector>

#include "dataplane/reliability/jitter_buffer.h"
#include "dataplane/reliability/nack_scheduler.h"
#include "dataplane/reliability/retransmit_buffer.h"

namespace braid::dp {
namespace {

constexpr uint64_t kMs = 1'000'000;
using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

std::unique_ptr<JitterBuffer> bufferWith(std::initializer_list<uint64_t> seqs) {
  auto jb = JitterBuffer::create({.capacity = 1024, .targetLatencyNs = 500 * kMs});
  EXPECT_TRUE(jb);
  std::array<uint8_t, 8> payload{};
  for (uint64_t s : seqs) (*jb)->insert(s, s * 1000, payload, kMs);
  return std::move(*jb);
}

Ranges collect(NackScheduler& nacks, const JitterBuffer& jb, uint64_t nowNs, uint64_t tol) {
  Ranges out;
  nacks.collect(jb, nowNs, tol, [&](uint64_t first, uint64_t n) { out.emplace_back(first, n); });
  return out;
}

TEST(NackScheduler, WaitsForTheReorderToleranceThenAsksAndRetries) {
  auto jb = bufferWith({10, 11, 13, 14, 17, 18});
  auto nacks = NackScheduler::create({.retryNs = 100 * kMs, .maxTries = 2});
  ASSERT_TRUE(nacks);
  // First look: the holes may be reordering, nothing is asked.
  EXPECT_EQ(collect(**nacks, *jb, 100 * kMs, 30 * kMs), Ranges{});
  EXPECT_EQ(collect(**nacks, *jb, 120 * kMs, 30 * kMs), Ranges{});
  // Tolerance over: 12 and 15..16 are asked, as ranges.
  EXPECT_EQ(collect(**nacks, *jb, 130 * kMs, 30 * kMs), (Ranges{{12, 1}, {15, 2}}));
  // Not again before retryNs...
  EXPECT_EQ(collect(**nacks, *jb, 200 * kMs, 30 * kMs), Ranges{});
  // ...then once more, and never a third time (maxTries 2).
  std::array<uint8_t, 8> payload{};
  jb->insert(15, 15'000, payload, 210 * kMs, true);  // a retransmission filled 15
  EXPECT_EQ(collect(**nacks, *jb, 230 * kMs, 30 * kMs), (Ranges{{12, 1}, {16, 1}}));
  EXPECT_EQ(collect(**nacks, *jb, 400 * kMs, 30 * kMs), Ranges{});
  EXPECT_EQ((*nacks)->counters().requested.read(), 5u);
  EXPECT_EQ((*nacks)->counters().rounds.read(), 2u);
}

TEST(NackScheduler, NoHolesNoRequests) {
  auto jb = bufferWith({1, 2, 3, 4});
  auto nacks = NackScheduler::create({});
  ASSERT_TRUE(nacks);
  EXPECT_EQ(collect(**nacks, *jb, kMs, 0), Ranges{});
  EXPECT_EQ(collect(**nacks, *jb, 500 * kMs, 0), Ranges{});
}

TEST(NackScheduler, BoundsTheWorkOfOneRound) {
  auto jb = bufferWith({0, 900});
  auto nacks = NackScheduler::create({.maxSequencesPerRound = 100});
  ASSERT_TRUE(nacks);
  EXPECT_EQ(collect(**nacks, *jb, kMs, 0), (Ranges{{1, 100}}));
  EXPECT_FALSE(NackScheduler::create({.trackCapacity = 1000}));
}

TEST(NackScheduler, CreatedInStorageALeftoverTableAsksAsAFreshOne) {
  // A gateway session's table lives in an arena an ended session used before: entries it left
  // (the same sequences, already asked to the limit) must not silence the new session.
  const NackConfig config{.trackCapacity = 1024, .retryNs = 100 * kMs, .maxTries = 1};
  std::vector<uint64_t> storage(NackScheduler::storageBytes(config) / sizeof(uint64_t) + 1);
  auto* bytes = reinterpret_cast<uint8_t*>(storage.data());
  const std::span<uint8_t> table(bytes, NackScheduler::storageBytes(config));
  auto jb = bufferWith({10, 11, 13});
  {
    auto old = NackScheduler::createIn(config, table);
    ASSERT_TRUE(old) << old.error().describe();
    EXPECT_EQ(collect(**old, *jb, 100 * kMs, 0), (Ranges{{12, 1}}));
    EXPECT_EQ(collect(**old, *jb, 300 * kMs, 0), Ranges{});  // maxTries reached
  }
  auto fresh = NackScheduler::createIn(config, table);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(collect(**fresh, *jb, 400 * kMs, 0), (Ranges{{12, 1}}));
  EXPECT_EQ(NackScheduler::createIn(config, table.first(table.size() - 1)).error().code,
            ErrorCode::kExhausted);
  EXPECT_EQ(NackScheduler::createIn({.trackCapacity = 1000}, table).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(RetransmitBuffer, ResendsOnlyWhatCanStillArriveWithinBudget) {
  auto rb = RetransmitBuffer::create({.capacity = 64,
                                      .maxPayload = 1500,
                                      .budgetShare = 0.5,
                                      .budgetBurstBytes = 3000,
                                      .minResendGapNs = 50 * kMs});
  ASSERT_TRUE(rb);
  RetransmitBuffer& b = **rb;
  std::vector<uint8_t> payload(1000, 7);
  for (uint64_t s = 0; s < 10; ++s) b.store(s, s * 100, 0x1, payload, 600 * kMs, 100 * kMs);
  // Sent at 100 ms: a resend at 120 ms is throttled (the original may still arrive).
  EXPECT_EQ(b.takeForResend(3, 120 * kMs, 40 * kMs, 0), nullptr);
  EXPECT_EQ(b.counters().throttled.read(), 1u);
  const auto* p = b.takeForResend(3, 200 * kMs, 40 * kMs, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->seq, 3u);
  EXPECT_EQ(p->mediaTsUs, 300u);
  EXPECT_EQ(p->flags, 0x1);
  EXPECT_EQ(std::vector<uint8_t>(p->payload, p->payload + p->size), payload);
  // Too late: 580 ms + 40 ms one way is past the 600 ms deadline.
  EXPECT_EQ(b.takeForResend(4, 580 * kMs, 40 * kMs, 0), nullptr);
  EXPECT_EQ(b.counters().tooLate.read(), 1u);
  // Acknowledged sequences are gone.
  b.release(6);
  EXPECT_EQ(b.takeForResend(5, 200 * kMs, 40 * kMs, 0), nullptr);
  EXPECT_EQ(b.counters().notHeld.read(), 1u);
  // The budget (burst 3000 B, 1000 B spent) allows two more 1000-byte copies, not three.
  EXPECT_NE(b.takeForResend(6, 200 * kMs, 40 * kMs, 0), nullptr);
  EXPECT_NE(b.takeForResend(7, 200 * kMs, 40 * kMs, 0), nullptr);
  EXPECT_EQ(b.takeForResend(8, 200 * kMs, 40 * kMs, 0), nullptr);
  EXPECT_EQ(b.counters().overBudget.read(), 1u);
  EXPECT_EQ(b.counters().resent.read(), 3u);
  // New media refills it at budgetShare of its bytes.
  b.store(10, 1000, 0, payload, 900 * kMs, 200 * kMs);
  b.store(11, 1100, 0, payload, 900 * kMs, 200 * kMs);
  EXPECT_NE(b.takeForResend(8, 300 * kMs, 40 * kMs, 0), nullptr);
  // An overwritten slot (capacity 64) is not mistaken for its successor.
  b.store(9 + 64, 0, 0, payload, 900 * kMs, 200 * kMs);
  EXPECT_EQ(b.takeForResend(9, 300 * kMs, 40 * kMs, 0), nullptr);
}

TEST(RetransmitBuffer, FindsAHeldPacketWithItsSendTimeLinkSequenceAndDeadline) {
  auto rb = RetransmitBuffer::create({.capacity = 64, .maxPayload = 1500});
  ASSERT_TRUE(rb);
  RetransmitBuffer& b = **rb;
  std::vector<uint8_t> payload(100, 1);
  b.store(5, 500, 0, payload, 700 * kMs, 200 * kMs, 2, 41);
  const auto* held = b.find(5);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->lastSentNs, 200 * kMs);
  EXPECT_EQ(held->deadlineNs, 700 * kMs);
  EXPECT_EQ(held->linkId, 2);
  EXPECT_EQ(held->linkSeq, 41u);
  EXPECT_EQ(b.linkOf(5), 2);
  // A resend moves it to its new copy's link and per-link sequence.
  ASSERT_NE(b.takeForResend(5, 300 * kMs, 40 * kMs, 0, 1, 7), nullptr);
  EXPECT_EQ(b.find(5)->linkId, 1);
  EXPECT_EQ(b.find(5)->linkSeq, 7u);
  EXPECT_EQ(b.find(5)->lastSentNs, 300 * kMs);
  EXPECT_EQ(b.find(6), nullptr);       // never stored
  EXPECT_EQ(b.find(5 + 64), nullptr);  // the slot holds 5, not its successor
  b.release(6);
  EXPECT_EQ(b.find(5), nullptr);  // acknowledged
  EXPECT_EQ(b.linkOf(5), -1);
}

}  // namespace
}  // namespace braid::dp
