// Block assembly and recovery: FecBlockEncoder's repairs rebuild any erasure pattern the
// decoder can see (partial blocks, variable payload sizes, timestamps), in any arrival order;
// and the decoder refuses what does not belong together.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "dataplane/fec/fec_decoder.h"
#include "dataplane/fec/fec_encoder.h"

namespace braid::dp {
namespace {

struct Packet {
  uint64_t seq;
  uint64_t tsUs;
  std::vector<uint8_t> payload;
};

std::vector<Packet> makePackets(uint64_t firstSeq, uint32_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Packet> packets;
  for (uint32_t i = 0; i < count; ++i) {
    // Whole TS packets, 1..6 of them, as the packetizer makes; timestamps rise with jitter.
    std::vector<uint8_t> payload(188 * (1 + rng() % 6));
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    packets.push_back({firstSeq + i, 1'000'000 + i * 2'000 + rng() % 500, std::move(payload)});
  }
  return packets;
}

struct Repair {
  FecRepairInfo info;
  std::vector<uint8_t> symbol;
};

std::vector<Repair> encodeBlock(FecBlockEncoder& encoder, const std::vector<Packet>& packets,
                                uint32_t repairs) {
  for (const Packet& p : packets) EXPECT_TRUE(encoder.add(p.seq, p.tsUs, p.payload, 0));
  auto block = encoder.close(repairs);
  EXPECT_TRUE(block.has_value());
  std::vector<Repair> out;
  for (uint32_t j = 0; j < block->m; ++j) {
    auto symbol = block->repair(j);
    out.push_back({FecRepairInfo{.blockId = block->blockId,
                                 .k = block->k,
                                 .m = block->m,
                                 .index = j,
                                 .firstSeq = block->firstSeq,
                                 .blockTsUs = block->blockTsUs},
                   std::vector<uint8_t>(symbol.begin(), symbol.end())});
  }
  return out;
}

// The receiver's store: what arrived, plus what the decoder gave back.
struct Store {
  std::map<uint64_t, Packet> held;
  std::map<uint64_t, Packet> rebuilt;

  auto find() {
    return [this](uint64_t seq, SourceSymbol& out) {
      auto it = held.find(seq);
      if (it == held.end()) return false;
      out = SourceSymbol{.payload = it->second.payload, .mediaTsUs = it->second.tsUs};
      return true;
    };
  }
  auto give() {
    return [this](uint64_t seq, const SourceSymbol& s) {
      Packet p{seq, s.mediaTsUs, std::vector<uint8_t>(s.payload.begin(), s.payload.end())};
      rebuilt[seq] = p;
      held[seq] = std::move(p);
    };
  }
};

TEST(FecBlock, EveryPatternUpToMRecoversExactly) {
  auto encoder = FecBlockEncoder::create({.maxSources = 8, .maxRepairs = 3, .maxPayload = 1128});
  ASSERT_TRUE(encoder.has_value());
  auto packets = makePackets(500, 8, 1);
  auto repairs = encodeBlock(**encoder, packets, 3);
  // Every subset of the 11 symbols with at most 3 missing, sources missing at least once.
  for (uint32_t mask = 0; mask < (1u << 11); ++mask) {
    if (__builtin_popcount(mask) > 3 || (mask & 0xFF) == 0) continue;
    auto decoder = FecBlockDecoder::create();
    ASSERT_TRUE(decoder.has_value());
    Store store;
    for (uint32_t i = 0; i < 8; ++i) {
      if (!((mask >> i) & 1u)) store.held[packets[i].seq] = packets[i];
    }
    uint32_t rebuilt = 0;
    for (uint32_t j = 0; j < 3; ++j) {
      if ((mask >> (8 + j)) & 1u) continue;
      rebuilt +=
          (*decoder)->onRepair(repairs[j].info, repairs[j].symbol, store.find(), store.give());
    }
    ASSERT_EQ(rebuilt, static_cast<uint32_t>(__builtin_popcount(mask & 0xFF))) << mask;
    for (const Packet& p : packets) {
      ASSERT_EQ(store.held.at(p.seq).payload, p.payload) << "mask " << mask << " seq " << p.seq;
      ASSERT_EQ(store.held.at(p.seq).tsUs, p.tsUs);
    }
  }
}

TEST(FecBlock, PartialBlocksAndSourcesArrivingAfterTheRepairs) {
  auto encoder = FecBlockEncoder::create({.maxSources = 32, .maxRepairs = 16, .maxPayload = 1128});
  ASSERT_TRUE(encoder.has_value());
  auto decoder = FecBlockDecoder::create({.blocks = 4});
  ASSERT_TRUE(decoder.has_value());
  std::mt19937 rng(7);
  uint64_t seq = 1ull << 40;  // large sequences: 8-byte varints on the wire
  Store store;
  for (int round = 0; round < 200; ++round) {
    uint32_t k = 1 + rng() % 32;
    uint32_t m = 1 + rng() % 6;
    auto packets = makePackets(seq, k, static_cast<uint32_t>(round));
    seq += k;
    auto repairs = encodeBlock(**encoder, packets, m);
    ASSERT_EQ(repairs.size(), m);
    ASSERT_EQ(repairs[0].info.k, k);
    // Lose up to m sources at random; deliver repairs first, then the rest of the sources.
    std::vector<uint32_t> order(k);
    for (uint32_t i = 0; i < k; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    uint32_t lost = std::min<uint32_t>(k, rng() % (m + 1));
    uint32_t rebuilt = 0;
    for (const Repair& r : repairs) {
      rebuilt += (*decoder)->onRepair(r.info, r.symbol, store.find(), store.give());
    }
    for (uint32_t n = lost; n < k; ++n) {
      const Packet& p = packets[order[n]];
      if (store.held.contains(p.seq)) continue;  // already rebuilt
      store.held[p.seq] = p;
      rebuilt += (*decoder)->onSource(p.seq, store.find(), store.give());
    }
    // The block decodes as soon as k symbols are in: sources still on their way are rebuilt too.
    EXPECT_GE(rebuilt, lost) << "round " << round;
    for (const Packet& p : packets) {
      ASSERT_TRUE(store.held.contains(p.seq)) << "round " << round;
      EXPECT_EQ(store.held.at(p.seq).payload, p.payload);
      EXPECT_EQ(store.held.at(p.seq).tsUs, p.tsUs);
    }
  }
  EXPECT_GT((*decoder)->counters().blocksDecoded.read(), 100u);
  EXPECT_EQ((*decoder)->counters().corrupt.read(), 0u);
}

TEST(FecBlock, TooManyLostIsNotDecodedUntilEnoughArrive) {
  auto encoder = FecBlockEncoder::create({.maxSources = 10, .maxRepairs = 2, .maxPayload = 1128});
  auto decoder = FecBlockDecoder::create();
  ASSERT_TRUE(encoder.has_value() && decoder.has_value());
  auto packets = makePackets(0, 10, 3);
  auto repairs = encodeBlock(**encoder, packets, 2);
  Store store;
  for (uint32_t i = 3; i < 10; ++i) store.held[i] = packets[i];  // 3 lost, 2 repairs
  for (const Repair& r : repairs) {
    EXPECT_EQ((*decoder)->onRepair(r.info, r.symbol, store.find(), store.give()), 0u);
  }
  EXPECT_TRUE(store.rebuilt.empty());
  store.held[0] = packets[0];  // a late source (or an ARQ copy) makes it decodable
  EXPECT_EQ((*decoder)->onSource(0, store.find(), store.give()), 2u);
  EXPECT_EQ(store.rebuilt.at(1).payload, packets[1].payload);
  EXPECT_EQ(store.rebuilt.at(2).payload, packets[2].payload);
  // Nothing more to do for the block.
  EXPECT_EQ((*decoder)->onSource(1, store.find(), store.give()), 0u);
}

TEST(FecBlock, RefusesMismatchedAndStaleRepairs) {
  auto encoder = FecBlockEncoder::create({.maxSources = 4, .maxRepairs = 2, .maxPayload = 1128});
  auto decoder = FecBlockDecoder::create({.blocks = 2});
  ASSERT_TRUE(encoder.has_value() && decoder.has_value());
  Store store;
  auto a = encodeBlock(**encoder, makePackets(0, 4, 1), 2);  // block 0
  auto b = encodeBlock(**encoder, makePackets(4, 4, 2), 2);  // block 1
  auto c = encodeBlock(**encoder, makePackets(8, 4, 3), 2);  // block 2: slot of block 0
  (*decoder)->onRepair(a[0].info, a[0].symbol, store.find(), store.give());
  (*decoder)->onRepair(c[0].info, c[0].symbol, store.find(), store.give());
  (*decoder)->onRepair(a[1].info, a[1].symbol, store.find(), store.give());
  EXPECT_EQ((*decoder)->counters().staleRepairs.read(), 1u);
  // Same block ID, another k: inconsistent.
  Repair wrong = b[0];
  wrong.info.k = 3;
  (*decoder)->onRepair(b[1].info, b[1].symbol, store.find(), store.give());
  (*decoder)->onRepair(wrong.info, wrong.symbol, store.find(), store.give());
  EXPECT_EQ((*decoder)->counters().badRepairs.read(), 1u);
  // Out-of-range headers.
  Repair bad = b[0];
  bad.info.index = 5;
  EXPECT_EQ((*decoder)->onRepair(bad.info, bad.symbol, store.find(), store.give()), 0u);
  bad = b[0];
  bad.info.k = 0;
  EXPECT_EQ((*decoder)->onRepair(bad.info, bad.symbol, store.find(), store.give()), 0u);
  EXPECT_EQ((*decoder)->counters().badRepairs.read(), 3u);
  EXPECT_TRUE(store.rebuilt.empty());
}

TEST(FecBlock, EncoderRejectsGapsAndBadSizes) {
  auto encoder = FecBlockEncoder::create({.maxSources = 4, .maxRepairs = 2, .maxPayload = 376});
  ASSERT_TRUE(encoder.has_value());
  std::vector<uint8_t> payload(188, 1);
  EXPECT_FALSE((*encoder)->close(1).has_value());  // nothing open
  EXPECT_TRUE((*encoder)->add(10, 0, payload, 5));
  EXPECT_EQ((*encoder)->openedNs(), 5u);
  EXPECT_FALSE((*encoder)->add(12, 0, payload, 6));                       // not the next sequence
  EXPECT_FALSE((*encoder)->add(11, 0, std::vector<uint8_t>(564, 1), 6));  // above maxPayload
  EXPECT_FALSE((*encoder)->add(11, 0, {}, 6));
  EXPECT_FALSE((*encoder)->close(3).has_value());  // more than maxRepairs
  EXPECT_FALSE((*encoder)->close(0).has_value());
  auto block = (*encoder)->close(2);
  ASSERT_TRUE(block.has_value());
  EXPECT_EQ(block->k, 1u);
  EXPECT_EQ(block->symbolSize, 188u + kSourceSymbolHeader);
  EXPECT_TRUE((*encoder)->empty());
  EXPECT_FALSE(FecBlockEncoder::create({.maxSources = 0}).has_value());
  EXPECT_FALSE(FecBlockEncoder::create({.maxSources = 65}).has_value());
  EXPECT_FALSE(FecBlockEncoder::create({.maxRepairs = 17}).has_value());
  EXPECT_FALSE(FecBlockEncoder::create({.maxPayload = 1495}).has_value());
  EXPECT_FALSE(FecBlockDecoder::create({.blocks = 0}).has_value());
}

}  // namespace
}  // namespace braid::dp
