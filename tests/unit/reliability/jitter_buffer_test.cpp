#include "dataplane/reliability/jitter_buffer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace braid::dp {
namespace {

constexpr uint64_t kUs = 1'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kPollNs = 2 * kMs;

struct Packet {
  uint64_t seq = 0;
  uint64_t tsUs = 0;
  uint64_t arrivalNs = 0;
  bool retransmission = false;
};

struct Emitted {
  uint64_t seq = 0;
  uint64_t atNs = 0;
};

std::array<uint8_t, 16> payloadFor(uint64_t seq) {
  std::array<uint8_t, 16> p{};
  std::memcpy(p.data(), &seq, sizeof(seq));
  const uint64_t inverted = ~seq;
  std::memcpy(p.data() + 8, &inverted, sizeof(inverted));
  return p;
}

std::unique_ptr<JitterBuffer> makeBuffer(uint64_t latencyNs, uint32_t capacity = 8192) {
  auto jb = JitterBuffer::create(
      {.capacity = capacity, .maxPayload = 1472, .targetLatencyNs = latencyNs});
  EXPECT_TRUE(jb.has_value()) << jb.error().describe();
  return std::move(*jb);
}

// Drives a buffer in virtual time like a gateway worker: each packet is inserted at its arrival
// time, and the timer polls every kPollNs. Checks every emitted payload and the sequence order.
class Harness {
 public:
  explicit Harness(JitterBuffer& jb) : jb_(jb) {}

  void run(std::vector<Packet> packets, uint64_t untilNs) {
    std::stable_sort(packets.begin(), packets.end(),
                     [](const Packet& a, const Packet& b) { return a.arrivalNs < b.arrivalNs; });
    size_t i = 0;
    if (nextPollNs_ == 0 && !packets.empty())
      nextPollNs_ = packets.front().arrivalNs / kPollNs * kPollNs;
    while (nextPollNs_ <= untilNs) {
      for (; i < packets.size() && packets[i].arrivalNs <= nextPollNs_; ++i) {
        const Packet& p = packets[i];
        const auto payload = payloadFor(p.seq);
        results_[p.seq].push_back(
            jb_.insert(p.seq, p.tsUs, payload, p.arrivalNs, p.retransmission));
      }
      poll(nextPollNs_);
      nextPollNs_ += kPollNs;
    }
  }

  void poll(uint64_t nowNs) {
    size_t emittedNow = 0;
    jb_.poll(nowNs, [&](std::span<const uint8_t> payload, uint64_t seq) {
      const auto expected = payloadFor(seq);
      ASSERT_EQ(payload.size(), expected.size());
      EXPECT_EQ(0, std::memcmp(payload.data(), expected.data(), expected.size())) << seq;
      if (!emitted_.empty()) {
        EXPECT_GT(seq, emitted_.back().seq);
      }
      emitted_.push_back({seq, nowNs});
      ++emittedNow;
    });
    maxPerPoll_ = std::max(maxPerPoll_, emittedNow);
  }

  const std::vector<Emitted>& emitted() const { return emitted_; }
  const std::vector<InsertResult>& results(uint64_t seq) { return results_[seq]; }
  size_t maxPerPoll() const { return maxPerPoll_; }

 private:
  JitterBuffer& jb_;
  uint64_t nextPollNs_ = 0;
  std::vector<Emitted> emitted_;
  std::map<uint64_t, std::vector<InsertResult>> results_;
  size_t maxPerPoll_ = 0;
};

// A steady stream: one packet per intervalUs of media time, sent by an edge whose media time maps
// to gateway time as baseNs + ts·(1 + drift), each packet delayed by delay(seq).
template <typename Delay>
std::vector<Packet> stream(uint64_t firstSeq, uint64_t count, uint64_t firstTsUs,
                           uint64_t intervalUs, uint64_t baseNs, double drift, Delay&& delay) {
  std::vector<Packet> packets;
  packets.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t tsUs = firstTsUs + i * intervalUs;
    const auto mediaNs = static_cast<double>((tsUs - firstTsUs) * kUs);
    const uint64_t sendNs = baseNs + static_cast<uint64_t>(std::llround(mediaNs * (1.0 + drift)));
    packets.push_back({firstSeq + i, tsUs, sendNs + delay(firstSeq + i), false});
  }
  return packets;
}

TEST(JitterBuffer, CreateRejectsBadConfig) {
  EXPECT_FALSE(JitterBuffer::create({.capacity = 1000}).has_value());
  EXPECT_FALSE(JitterBuffer::create({.capacity = 32}).has_value());
  EXPECT_FALSE(JitterBuffer::create({.capacity = 1024, .maxPayload = 0}).has_value());
  EXPECT_FALSE(
      JitterBuffer::create({.capacity = 1024, .targetLatencyNs = 7200 * kSec}).has_value());
  auto ok = JitterBuffer::create({.capacity = 1024, .maxPayload = 1472, .targetLatencyNs = kSec});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*ok)->depth(), 0u);
  EXPECT_EQ((*ok)->nextDeadlineNs(), JitterBuffer::kNever);
  EXPECT_EQ((*ok)->cumulativeSeq(), 0u);
}

TEST(JitterBuffer, CreatedInStorageAReusedArenaPlaysAsAFreshOne) {
  // A gateway session's buffer lives in an arena that an ended session used before (its slots
  // and held bits still set): createIn() must start it empty.
  const JitterBufferConfig config{.capacity = 64, .maxPayload = 200, .targetLatencyNs = 100 * kMs};
  const size_t bytes = JitterBuffer::storageBytes(config);
  EXPECT_GE(bytes, size_t{64} * 200 + 64 * 8);  // payloads and the index
  PayloadArena arena = mapPayloadArena(bytes);
  ASSERT_TRUE(arena);
  std::memset(arena.get(), 0xA5, bytes);  // what a previous session left
  const std::span<uint8_t> storage(arena.get(), bytes);
  auto jb = JitterBuffer::createIn(config, storage);
  ASSERT_TRUE(jb) << jb.error().describe();
  EXPECT_FALSE((*jb)->releaseArena()) << "the storage is the caller's";
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> played;
  auto emit = [&](std::span<const uint8_t> p, uint64_t seq) {
    played.emplace_back(seq, std::vector<uint8_t>(p.begin(), p.end()));
  };
  for (uint64_t seq = 0; seq < 3; ++seq) {
    const std::vector<uint8_t> payload(10 + seq, static_cast<uint8_t>(seq));
    EXPECT_EQ((*jb)->insert(seq, seq * 1000, payload, kSec), InsertResult::kAccepted);
  }
  EXPECT_EQ((*jb)->depth(), 3u);
  (*jb)->poll(kSec + kSec, emit);
  ASSERT_EQ(played.size(), 3u);
  for (uint64_t seq = 0; seq < 3; ++seq) {
    EXPECT_EQ(played[seq].first, seq);
    EXPECT_EQ(played[seq].second, std::vector<uint8_t>(10 + seq, static_cast<uint8_t>(seq)));
  }
  // Storage that is short, or not 64-byte aligned, is refused; a bad config stays a bad config.
  EXPECT_EQ(JitterBuffer::createIn(config, storage.first(bytes - 1)).error().code,
            ErrorCode::kExhausted);
  EXPECT_EQ(JitterBuffer::createIn(config, storage.subspan(8)).error().code, ErrorCode::kExhausted);
  EXPECT_EQ(JitterBuffer::createIn({.capacity = 1000}, storage).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(JitterBuffer::create({.capacity = 1000}).error().code, ErrorCode::kInvalidArgument);
}

// Plays a constant-delay stream and checks every packet came out at its playout time, within one
// poll interval. The edge's media epoch and the gateway's clock may be hours apart either way.
void expectPlayoutOnTime(uint64_t firstTsUs, uint64_t baseNs) {
  const uint64_t latency = 120 * kMs;
  const uint64_t delay = 25 * kMs;
  auto jb = makeBuffer(latency);
  Harness h(*jb);
  auto packets = stream(0, 2000, firstTsUs, 1000, baseNs, 0.0, [&](uint64_t) { return delay; });
  h.run(packets, baseNs + 3 * kSec);
  ASSERT_EQ(h.emitted().size(), packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    const uint64_t due = baseNs + (packets[i].tsUs - firstTsUs) * kUs + delay + latency;
    EXPECT_EQ(h.emitted()[i].seq, i);
    EXPECT_GE(h.emitted()[i].atNs, due) << i;
    EXPECT_LT(h.emitted()[i].atNs, due + kPollNs) << i;
  }
  EXPECT_EQ(jb->counters().played.read(), packets.size());
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
  EXPECT_EQ(jb->counters().late.read(), 0u);
  EXPECT_EQ(jb->depth(), 0u);
  EXPECT_NEAR(static_cast<double>(jb->counters().lastPlayoutLatencyNs.read()),
              static_cast<double>(latency), static_cast<double>(kPollNs));
}

TEST(JitterBuffer, InOrderPlayoutAtPlayoutTime) {
  expectPlayoutOnTime(0, 10 * kSec);
}

TEST(JitterBuffer, EdgeClockOneHourBehind) {
  expectPlayoutOnTime(0, 3600 * kSec + 5 * kSec);
}

TEST(JitterBuffer, EdgeClockOneHourAhead) {
  expectPlayoutOnTime(3600ULL * 1'000'000, 2 * kSec);
}

TEST(JitterBuffer, ReorderingInsideTheBudgetIsRepaired) {
  const uint64_t latency = 100 * kMs;
  auto jb = makeBuffer(latency);
  Harness h(*jb);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> jitter(0, 60 * kMs);
  // Every 10th packet takes the fastest path, the others up to 60 ms longer; blocks also reversed.
  auto packets = stream(0, 5000, 0, 1000, kSec, 0.0, [&](uint64_t seq) {
    const uint64_t reverse = (9 - seq % 10) * 300 * kUs;
    return 10 * kMs + (seq % 10 == 0 ? 0 : jitter(rng)) + reverse;
  });
  h.run(packets, 8 * kSec);
  ASSERT_EQ(h.emitted().size(), packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(h.emitted()[i].seq, i);
    // The offset estimate is never below the true minimum, so nothing plays early.
    EXPECT_GE(h.emitted()[i].atNs, kSec + packets[i].tsUs * kUs + 10 * kMs + latency);
  }
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
  EXPECT_EQ(jb->counters().late.read(), 0u);
  EXPECT_EQ(jb->counters().accepted.read(), packets.size());
}

TEST(JitterBuffer, DuplicatesAreDropped) {
  auto jb = makeBuffer(100 * kMs);
  Harness h(*jb);
  auto packets = stream(0, 1000, 0, 1000, kSec, 0.0, [](uint64_t) { return 20 * kMs; });
  auto copies = packets;
  for (auto& p : copies) p.arrivalNs += 5 * kMs;  // the same packet over a second link
  packets.insert(packets.end(), copies.begin(), copies.end());
  h.run(packets, 3 * kSec);
  ASSERT_EQ(h.emitted().size(), 1000u);
  EXPECT_EQ(jb->counters().duplicates.read(), 1000u);
  EXPECT_EQ(jb->counters().accepted.read(), 1000u);
  EXPECT_EQ(h.results(7),
            (std::vector<InsertResult>{InsertResult::kAccepted, InsertResult::kDuplicate}));
  // A copy of a packet that has already played is a late copy: dropped, nothing lost.
  const auto payload = payloadFor(3);
  EXPECT_EQ(jb->insert(3, 3000, payload, 3 * kSec), InsertResult::kLateCopy);
  EXPECT_EQ(jb->counters().lateCopies.read(), 1u);
  EXPECT_EQ(jb->counters().late.read(), 0u);
}

TEST(JitterBuffer, ALateCopyIsOnlyOfASequenceThatPlayedInThisEpoch) {
  auto jb = makeBuffer(100 * kMs, 64);
  std::vector<uint64_t> played;
  auto record = [&](std::span<const uint8_t>, uint64_t seq) { played.push_back(seq); };
  for (uint64_t seq : {2u, 4u}) {
    const auto payload = payloadFor(seq);
    EXPECT_EQ(jb->insert(seq, seq * 1000, payload, kSec), InsertResult::kAccepted);
  }
  jb->poll(2 * kSec, record);
  EXPECT_EQ(played, (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(jb->counters().skipped.read(), 1u);  // 3
  // 3 was skipped: lost to the output. 2 and 4 played: copies.
  EXPECT_EQ(jb->insert(3, 3000, payloadFor(3), 2 * kSec), InsertResult::kLate);
  EXPECT_EQ(jb->insert(2, 2000, payloadFor(2), 2 * kSec), InsertResult::kLateCopy);
  EXPECT_EQ(jb->insert(4, 4000, payloadFor(4), 2 * kSec), InsertResult::kLateCopy);
  // A slot taken by the sequence a window later no longer names the one that played before.
  EXPECT_EQ(jb->insert(2 + 64, 950'000, payloadFor(66), 2 * kSec), InsertResult::kAccepted);
  jb->poll(3 * kSec, record);
  EXPECT_EQ(jb->insert(2, 2000, payloadFor(2), 3 * kSec), InsertResult::kLate);
  EXPECT_EQ(jb->counters().late.read(), 2u);
  EXPECT_EQ(jb->counters().lateCopies.read(), 2u);

  // A new media epoch repeats sequences: what played before the reset is no copy of them.
  jb->reset();
  played.clear();
  EXPECT_EQ(jb->insert(6, 0, payloadFor(6), 10 * kSec), InsertResult::kAccepted);
  jb->poll(11 * kSec, record);
  EXPECT_EQ(played, (std::vector<uint64_t>{6}));
  EXPECT_EQ(jb->insert(4, 0, payloadFor(4), 11 * kSec), InsertResult::kLate);
  EXPECT_EQ(jb->insert(6, 0, payloadFor(6), 11 * kSec), InsertResult::kLateCopy);
}

TEST(JitterBuffer, APayloadWrittenIntoItsFreeSlotIsInsertedWithoutACopy) {
  auto jb = makeBuffer(100 * kMs, 64);
  const auto payload = payloadFor(5);
  EXPECT_TRUE(jb->freeSlotFor(5, jb->config().maxPayload + 1).empty());  // does not fit
  std::span<uint8_t> slot = jb->freeSlotFor(5, payload.size());
  ASSERT_EQ(slot.size(), payload.size());
  std::memcpy(slot.data(), payload.data(), payload.size());
  EXPECT_EQ(jb->insert(5, 5000, slot, kSec), InsertResult::kAccepted);
  // Held now: neither its sequence nor the one a window later may be written.
  EXPECT_TRUE(jb->freeSlotFor(5, payload.size()).empty());
  EXPECT_TRUE(jb->freeSlotFor(5 + 64, payload.size()).empty());
  EXPECT_FALSE(jb->freeSlotFor(6, payload.size()).empty());
  std::span<const uint8_t> held;
  uint64_t tsUs = 0;
  ASSERT_TRUE(jb->find(5, held, tsUs));
  EXPECT_EQ(held.data(), slot.data());
  EXPECT_TRUE(std::equal(held.begin(), held.end(), payload.begin(), payload.end()));
  std::vector<uint64_t> played;
  jb->poll(2 * kSec, [&](std::span<const uint8_t> p, uint64_t seq) {
    EXPECT_TRUE(std::equal(p.begin(), p.end(), payload.begin(), payload.end()));
    played.push_back(seq);
  });
  EXPECT_EQ(played, std::vector<uint64_t>{5});
  EXPECT_FALSE(jb->freeSlotFor(5, payload.size()).empty());  // played: free again
}

TEST(JitterBuffer, HoleIsSkippedAtItsDeadlineAndCountedLateAfterwards) {
  const uint64_t latency = 100 * kMs;
  const uint64_t delay = 20 * kMs;
  auto jb = makeBuffer(latency);
  auto packets = stream(0, 100, 0, 1000, kSec, 0.0, [&](uint64_t) { return delay; });
  packets.erase(packets.begin() + 50);
  const uint64_t holeDue = kSec + 50 * kMs + delay + latency;

  Harness h(*jb);
  h.run(packets, holeDue - 2 * kMs);  // everything has arrived
  h.poll(holeDue - kMs);              // 49's playout time
  EXPECT_EQ(jb->counters().played.read(), 50u);
  EXPECT_EQ(jb->cumulativeSeq(), 50u);
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  jb->forEachGap(8, [&](uint64_t first, uint64_t n) { gaps.emplace_back(first, n); });
  EXPECT_EQ(gaps, (std::vector<std::pair<uint64_t, uint64_t>>{{50, 1}}));
  // Its deadline is interpolated between 49 and 51: 50 ms of media time.
  EXPECT_EQ(jb->nextDeadlineNs(), holeDue);
  EXPECT_EQ(jb->counters().skipped.read(), 0u);

  h.poll(holeDue);
  EXPECT_EQ(jb->counters().skipped.read(), 1u);
  EXPECT_EQ(jb->counters().played.read(), 50u);  // 51 plays 1 ms later
  EXPECT_EQ(jb->nextDeadlineNs(), holeDue + kMs);
  const auto payload = payloadFor(50);
  EXPECT_EQ(jb->insert(50, 50'000, payload, holeDue + 100 * kUs), InsertResult::kLate);
  EXPECT_EQ(jb->counters().late.read(), 1u);
  h.run({}, kSec + 400 * kMs);
  EXPECT_EQ(jb->counters().played.read(), 99u);
  EXPECT_EQ(h.emitted()[50].seq, 51u);
  EXPECT_GE(h.emitted()[50].atNs, holeDue + kMs);
}

TEST(JitterBuffer, NoSkipWhileNothingAfterTheHoleHasArrived) {
  const uint64_t latency = 100 * kMs;
  auto jb = makeBuffer(latency);
  Harness h(*jb);
  h.run(stream(0, 50, 0, 1000, kSec, 0.0, [](uint64_t) { return 20 * kMs; }), 3 * kSec);
  EXPECT_EQ(jb->counters().played.read(), 50u);
  EXPECT_EQ(jb->nextDeadlineNs(), JitterBuffer::kNever);
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
  EXPECT_EQ(jb->cumulativeSeq(), 50u);
  // The edge paused its media for a while, then 60.. arrives: 50..59 are skipped at their
  // interpolated deadlines, all before 60's playout time.
  auto later =
      stream(60, 10, 5'000'000, 1000, kSec + 5 * kSec, 0.0, [](uint64_t) { return 20 * kMs; });
  h.run(later, 7 * kSec);
  EXPECT_EQ(jb->counters().skipped.read(), 10u);
  EXPECT_EQ(jb->counters().played.read(), 60u);
  EXPECT_EQ(h.emitted()[50].seq, 60u);
  EXPECT_GE(h.emitted()[50].atNs, kSec + 5 * kSec + 20 * kMs + latency);
}

TEST(JitterBuffer, FirstPacketNeedNotBeSequenceZero) {
  const uint64_t latency = 100 * kMs;
  auto jb = makeBuffer(latency);
  Harness h(*jb);
  const uint64_t first = 1'000'000;  // the edge was sending before the gateway saw it
  auto packets = stream(first, 500, 777'000'000, 1000, 2 * kSec, 0.0, [&](uint64_t seq) {
    // The first three arrive after the fourth.
    return seq < first + 3 ? 30 * kMs : 20 * kMs;
  });
  h.run(packets, 4 * kSec);
  ASSERT_EQ(h.emitted().size(), 500u);
  EXPECT_EQ(h.emitted().front().seq, first);
  EXPECT_EQ(h.emitted().back().seq, first + 499);
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
  EXPECT_EQ(h.results(first + 1).front(), InsertResult::kAccepted);
}

TEST(JitterBuffer, TooFarAheadAndTooLarge) {
  auto jb = makeBuffer(100 * kMs, 1024);
  const auto payload = payloadFor(0);
  EXPECT_EQ(jb->insert(5000, 0, payload, kSec), InsertResult::kAccepted);
  EXPECT_EQ(jb->insert(5000 + 1024, 1000, payload, kSec), InsertResult::kTooFarAhead);
  EXPECT_EQ(jb->insert(1'000'000'000, 1000, payload, kSec), InsertResult::kTooFarAhead);
  EXPECT_EQ(jb->insert(5000 + 1023, 1000, payload, kSec), InsertResult::kAccepted);
  EXPECT_EQ(jb->counters().tooFarAhead.read(), 2u);
  std::vector<uint8_t> big(1473);
  EXPECT_EQ(jb->insert(5001, 1000, big, kSec), InsertResult::kTooLarge);
  EXPECT_EQ(jb->counters().tooLarge.read(), 1u);
  EXPECT_EQ(jb->depth(), 2u);
  // Far behind the window before anything played: late, not a move of the playout point.
  EXPECT_EQ(jb->insert(1000, 0, payload, kSec), InsertResult::kLate);
  // The buffer is unharmed: the held packets play, the gap before 6023 is skipped.
  std::vector<uint64_t> played;
  jb->poll(10 * kSec, [&](std::span<const uint8_t>, uint64_t seq) { played.push_back(seq); });
  EXPECT_EQ(played, (std::vector<uint64_t>{5000, 6023}));
  EXPECT_EQ(jb->counters().skipped.read(), 1022u);

  jb->reset();
  EXPECT_EQ(jb->depth(), 0u);
  EXPECT_EQ(jb->insert(3, 0, payload, 20 * kSec), InsertResult::kAccepted);
  EXPECT_EQ(jb->nextSeq(), 3u);
}

TEST(JitterBuffer, OutageLongerThanTheWindowHeals) {
  const uint64_t latency = 100 * kMs;
  auto jb = makeBuffer(latency, 1024);
  Harness h(*jb);
  // 1 packet/ms; nothing arrives from media 1 s to 4 s (3000 packets > 1024 slots).
  auto packets = stream(0, 6000, 0, 1000, kSec, 0.0, [](uint64_t) { return 20 * kMs; });
  packets.erase(packets.begin() + 1000, packets.begin() + 4000);
  h.run(packets, 8 * kSec);
  // The first packet after the outage is too far ahead; the second agrees and moves the window.
  EXPECT_EQ(h.results(4000).front(), InsertResult::kTooFarAhead);
  EXPECT_EQ(h.results(4001).front(), InsertResult::kAccepted);
  EXPECT_EQ(jb->counters().tooFarAhead.read(), 1u);
  EXPECT_EQ(jb->counters().played.read(), 2999u);
  EXPECT_EQ(jb->counters().skipped.read(), 3001u);
  EXPECT_EQ(jb->nextSeq(), 6000u);
  EXPECT_EQ(h.emitted()[1000].seq, 4001u);
  EXPECT_GE(h.emitted()[1000].atNs, kSec + 4001 * kMs + 20 * kMs + latency);
  EXPECT_EQ(h.maxPerPoll(), 2u);
}

TEST(JitterBuffer, AStraySequenceJumpDoesNotMoveTheWindow) {
  const uint64_t latency = 100 * kMs;
  auto jb = makeBuffer(latency, 1024);
  Harness h(*jb);
  // A sparse stream (1 packet per 200 ms) drains the buffer between packets.
  auto packets = stream(0, 20, 0, 200'000, kSec, 0.0, [](uint64_t) { return 20 * kMs; });
  packets.push_back({1'000'000, 1'000'000, kSec + 1'050 * kMs, false});  // one bogus jump
  h.run(packets, 6 * kSec);
  EXPECT_EQ(jb->counters().played.read(), 20u);
  EXPECT_EQ(jb->counters().tooFarAhead.read(), 1u);
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
}

TEST(JitterBuffer, TimestampFarAheadOfArrivalIsRejected) {
  auto jb = makeBuffer(100 * kMs);
  const auto payload = payloadFor(0);
  EXPECT_EQ(jb->insert(0, 0, payload, kSec), InsertResult::kAccepted);
  // Its playout time would be an hour away: it would hold back everything after it.
  EXPECT_EQ(jb->insert(1, 3'600'000'000, payload, kSec), InsertResult::kTooFarAhead);
  EXPECT_EQ(jb->insert(2, 2000, payload, kSec + 2 * kMs), InsertResult::kAccepted);
  std::vector<uint64_t> played;
  jb->poll(2 * kSec, [&](std::span<const uint8_t>, uint64_t seq) { played.push_back(seq); });
  EXPECT_EQ(played, (std::vector<uint64_t>{0, 2}));
}

TEST(JitterBuffer, CumulativeSeqAndGaps) {
  auto jb = makeBuffer(kSec, 64);
  const auto payload = payloadFor(0);
  auto gapsOf = [&](uint64_t max) {
    std::vector<std::pair<uint64_t, uint64_t>> gaps;
    jb->forEachGap(max, [&](uint64_t first, uint64_t n) { gaps.emplace_back(first, n); });
    return gaps;
  };
  EXPECT_TRUE(gapsOf(8).empty());
  for (uint64_t seq : {100, 101, 102, 105, 106, 109, 112, 160}) {
    EXPECT_EQ(jb->insert(seq, seq * 1000, payload, kSec), InsertResult::kAccepted) << seq;
  }
  EXPECT_EQ(jb->cumulativeSeq(), 103u);
  using Gaps = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(gapsOf(8), (Gaps{{103, 2}, {107, 2}, {110, 2}, {113, 47}}));
  EXPECT_EQ(gapsOf(2), (Gaps{{103, 2}, {107, 2}}));
  EXPECT_EQ(jb->insert(103, 103'000, payload, kSec), InsertResult::kAccepted);
  EXPECT_EQ(jb->insert(104, 104'000, payload, kSec), InsertResult::kAccepted);
  EXPECT_EQ(jb->cumulativeSeq(), 107u);
  EXPECT_EQ(gapsOf(8), (Gaps{{107, 2}, {110, 2}, {113, 47}}));
  // Play up to 107's deadline: 100..106 played, 107 skipped; 108 is due 1 ms later.
  std::vector<uint64_t> played;
  auto collect = [&](std::span<const uint8_t>, uint64_t seq) { played.push_back(seq); };
  jb->poll(jb->playoutTimeNs(107'000), collect);
  EXPECT_EQ(played, (std::vector<uint64_t>{100, 101, 102, 103, 104, 105, 106}));
  EXPECT_EQ(jb->cumulativeSeq(), 108u);
  EXPECT_EQ(gapsOf(8), (Gaps{{108, 1}, {110, 2}, {113, 47}}));
  jb->poll(jb->playoutTimeNs(200'000), collect);
  EXPECT_EQ(jb->cumulativeSeq(), 161u);
  EXPECT_TRUE(gapsOf(8).empty());
  EXPECT_EQ(jb->depth(), 0u);
}

TEST(JitterBuffer, ClockDriftKeepsPlayoutLatencyOnTarget) {
  for (const double drift : {100e-6, -100e-6}) {
    SCOPED_TRACE(drift);
    const uint64_t latency = 150 * kMs;
    const uint64_t minDelay = 20 * kMs;
    const uint64_t baseNs = 3 * kSec;
    auto jb = makeBuffer(latency);
    Harness h(*jb);
    std::mt19937_64 rng(3);
    std::uniform_int_distribution<uint64_t> jitter(0, 40 * kMs);
    // Ten minutes at 200 packets/s; one packet in 20 crosses without queueing.
    auto packets = stream(0, 120'000, 0, 5000, baseNs, drift, [&](uint64_t seq) {
      return minDelay + (seq % 20 == 0 ? 0 : jitter(rng));
    });
    h.run(packets, baseNs + 601 * kSec);
    ASSERT_EQ(h.emitted().size(), packets.size());
    EXPECT_EQ(jb->counters().skipped.read(), 0u);
    double worst = 0;
    for (size_t i = 0; i < packets.size(); ++i) {
      // The true latency: from the moment the packet could first have been at the gateway.
      const auto sendNs =
          static_cast<double>(baseNs) + static_cast<double>(packets[i].tsUs * kUs) * (1.0 + drift);
      const double actual = static_cast<double>(h.emitted()[i].atNs) - sendNs - minDelay;
      worst = std::max(worst, std::fabs(actual - static_cast<double>(latency)));
    }
    EXPECT_LT(worst, 20.0 * kMs);
  }
}

TEST(JitterBuffer, UndersizedBufferStaysConsistentOverAMillionPackets) {
  const uint64_t latency = 60 * kMs;
  auto jb = makeBuffer(latency, 128);
  Harness h(*jb);
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<uint64_t> jitter(0, 30 * kMs);
  // 5000 packets/s for 200 s: up to 300 packets would be held, but there are only 128 slots. Those
  // beyond are too far ahead; what plays is in order and intact (the harness checks payloads).
  auto packets = stream(0, 1'000'000, 0, 200, kSec, 0.0,
                        [&](uint64_t seq) { return 5 * kMs + (seq % 16 == 0 ? 0 : jitter(rng)); });
  h.run(packets, 202 * kSec);
  const auto& c = jb->counters();
  EXPECT_EQ(c.played.read() + c.skipped.read(), jb->nextSeq());
  EXPECT_EQ(c.played.read(), h.emitted().size());
  EXPECT_EQ(c.played.read(), c.accepted.read());
  EXPECT_EQ(c.accepted.read() + c.tooFarAhead.read() + c.late.read(), 1'000'000u);
  EXPECT_GT(c.tooFarAhead.read(), 0u);
  EXPECT_GT(c.played.read(), 100'000u);
  EXPECT_EQ(jb->depth(), 0u);
}

TEST(JitterBuffer, WrapAroundWithRoomPlaysEverything) {
  const uint64_t latency = 60 * kMs;
  auto jb = makeBuffer(latency, 512);
  Harness h(*jb);
  std::mt19937_64 rng(12);
  std::uniform_int_distribution<uint64_t> jitter(0, 30 * kMs);
  auto packets = stream(0, 1'000'000, 0, 200, kSec, 0.0,
                        [&](uint64_t seq) { return 5 * kMs + (seq % 16 == 0 ? 0 : jitter(rng)); });
  h.run(packets, 202 * kSec);
  ASSERT_EQ(h.emitted().size(), 1'000'000u);
  EXPECT_EQ(h.emitted().back().seq, 999'999u);
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
  EXPECT_EQ(jb->counters().late.read(), 0u);
}

TEST(JitterBuffer, StallThenBurstDoesNotBurstTheOutput) {
  const uint64_t latency = 100 * kMs;
  const uint64_t delay = 20 * kMs;
  const uint64_t baseNs = kSec;
  auto jb = makeBuffer(latency);
  Harness h(*jb);
  // Nothing arrives for the media between 1.0 s and 1.3 s; then all of it at once.
  const uint64_t burstAt = baseNs + 1300 * kMs + delay;
  auto packets = stream(0, 3000, 0, 1000, baseNs, 0.0, [&](uint64_t seq) {
    const uint64_t sendNs = baseNs + seq * kMs;
    return (seq >= 1000 && seq < 1300) ? burstAt - sendNs : delay;
  });
  h.run(packets, baseNs + 4 * kSec);
  for (const Emitted& e : h.emitted()) {
    EXPECT_GE(e.atNs, baseNs + e.seq * kMs + delay + latency) << e.seq;
  }
  // One poll never emits more than its interval's worth of media (2 ms at 1 packet/ms).
  EXPECT_LE(h.maxPerPoll(), 3u);
  // Media 1.0–1.2 s arrived after its playout time: late, and skipped in the output.
  EXPECT_EQ(jb->counters().late.read(), 200u);
  EXPECT_EQ(jb->counters().skipped.read(), 200u);
  EXPECT_EQ(jb->counters().played.read(), 2800u);
  EXPECT_EQ(h.results(1199).front(), InsertResult::kLate);
  EXPECT_EQ(h.results(1200).front(), InsertResult::kAccepted);
}

TEST(JitterBuffer, RetransmissionRepairsAHoleInTime) {
  const uint64_t latency = 100 * kMs;
  auto jb = makeBuffer(latency);
  Harness h(*jb);
  auto packets = stream(0, 300, 0, 1000, kSec, 0.0, [](uint64_t) { return 20 * kMs; });
  packets[100].arrivalNs += 70 * kMs;  // NACKed and resent over another link
  packets[100].retransmission = true;
  h.run(packets, 2 * kSec);
  ASSERT_EQ(h.emitted().size(), 300u);
  EXPECT_EQ(jb->counters().skipped.read(), 0u);
  EXPECT_NEAR(static_cast<double>(jb->clock().offsetNs()), static_cast<double>(kSec + 20 * kMs),
              1.0);
}

}  // namespace
}  // namespace braid::dp
