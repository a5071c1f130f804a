#include "edge/media/packetizer.h"

#include <gtest/gtest.h>

#include <vector>

#include "media_test_util.h"

namespace braid::edge {
namespace {

// The TS packets of each payload (after its run list), its time and the rest of it.
struct Collected {
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<std::vector<proto::NullRun>> runs;
  std::vector<uint64_t> times;
  std::vector<uint8_t> flags;
  std::vector<uint32_t> units;
  auto sink() {
    return [this](const Payload& p) {
      auto body = proto::DataBody::parse(p.bytes);
      ASSERT_TRUE(body) << "a payload must parse as a DATA body";
      EXPECT_EQ(body->ts.data(), p.bytes.data() + p.tsOffset);
      payloads.emplace_back(body->ts.begin(), body->ts.end());
      runs.emplace_back(body->runList().begin(), body->runList().end());
      times.push_back(p.mediaTimeUs);
      flags.push_back(p.flags);
      units.push_back(p.accessUnit);
    };
  }
};

TEST(Packetizer, DefaultBudgetIsSixPackets) {
  EXPECT_EQ(kDefaultMaxPayload, 1154u);
  auto packetizer = Packetizer::create();
  ASSERT_TRUE(packetizer);
  EXPECT_EQ(packetizer->maxPayload(), 1154u);
  EXPECT_EQ(packetizer->maxPackets(), 6u);  // 1 + 6 x 188 = 1129 bytes
}

TEST(Packetizer, RejectsBudgetBelowOnePacket) {
  auto packetizer = Packetizer::create({.maxPayload = 187, .maxHoldUs = 5000});
  ASSERT_FALSE(packetizer);
  EXPECT_EQ(packetizer.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(packetizer.error().context.find("187"), std::string::npos);
}

TEST(Packetizer, FullPayloadsCarryFirstPacketTime) {
  auto packetizer = Packetizer::create();
  ASSERT_TRUE(packetizer);
  Collected out;
  std::vector<uint8_t> stream;
  for (int i = 0; i < 13; ++i) {
    auto p = test::makeTsPacket(256, static_cast<uint8_t>(i), std::nullopt);
    stream.insert(stream.end(), p.begin(), p.end());
    packetizer->push(TsPacketSpan(p.data(), kTsPacketSize), 100 + static_cast<uint64_t>(i),
                     out.sink());
  }
  ASSERT_EQ(out.payloads.size(), 2u);
  EXPECT_EQ(out.times[0], 100u);
  EXPECT_EQ(out.times[1], 106u);
  EXPECT_EQ(packetizer->pendingBytes(), kTsPacketSize);
  packetizer->flush(out.sink());
  ASSERT_EQ(out.payloads.size(), 3u);
  EXPECT_EQ(out.times[2], 112u);
  std::vector<uint8_t> joined;
  for (auto& p : out.payloads) joined.insert(joined.end(), p.begin(), p.end());
  EXPECT_EQ(joined, stream);
}

TEST(Packetizer, LowBitrateDoesNotWaitLongerThanMaxHold) {
  auto packetizer = Packetizer::create({.maxPayload = 1154, .maxHoldUs = 5000});
  ASSERT_TRUE(packetizer);
  Collected out;
  auto p = test::makeTsPacket(256, 0, std::nullopt);
  TsPacketSpan packet(p.data(), kTsPacketSize);
  packetizer->push(packet, 0, out.sink());
  packetizer->push(packet, 2000, out.sink());
  packetizer->push(packet, 5000, out.sink());  // exactly maxHold later: still held
  EXPECT_TRUE(out.payloads.empty());
  packetizer->push(packet, 5001, out.sink());  // too late for the held payload
  ASSERT_EQ(out.payloads.size(), 1u);
  EXPECT_EQ(out.payloads[0].size(), 3u * kTsPacketSize);
  EXPECT_EQ(out.times[0], 0u);
  // An input that goes quiet: the caller's idle check releases the last packet.
  packetizer->flushIfStale(9000, out.sink());
  EXPECT_EQ(out.payloads.size(), 1u);
  packetizer->flushIfStale(10'002, out.sink());
  ASSERT_EQ(out.payloads.size(), 2u);
  EXPECT_EQ(out.times[1], 5001u);
  EXPECT_EQ(packetizer->pendingBytes(), 0u);
}

TEST(Packetizer, LargeBudgetIsCappedAtMaxPacketSize) {
  auto packetizer = Packetizer::create({.maxPayload = 9000, .maxHoldUs = 5000});
  ASSERT_TRUE(packetizer);
  EXPECT_EQ(packetizer->maxPayload(), 1500u);
  EXPECT_EQ(packetizer->maxPackets(), 7u);  // 1 + 1316 <= 1500
}

std::vector<uint8_t> packet(uint16_t pid, uint8_t cc) {
  return test::makeTsPacket(pid, cc, std::nullopt);
}

TaggedPacket tagged(const std::vector<uint8_t>& p, uint64_t t, uint32_t au = 0, bool last = false,
                    uint8_t flags = 0) {
  return TaggedPacket{.bytes = p.data(),
                      .mediaTimeUs = t,
                      .flags = flags,
                      .accessUnit = au,
                      .lastOfAccessUnit = last};
}

TaggedPacket deleted(uint64_t t) {
  return TaggedPacket{.mediaTimeUs = t, .deleted = true};
}

TEST(Packetizer, DeletedPacketsBecomeNullRunsInPlace) {
  auto packetizer = Packetizer::create();
  ASSERT_TRUE(packetizer);
  Collected out;
  auto a = packet(256, 0), b = packet(256, 1), c = packet(256, 2);
  packetizer->push(deleted(0), out.sink());
  packetizer->push(deleted(1), out.sink());
  packetizer->push(tagged(a, 2), out.sink());
  packetizer->push(tagged(b, 3), out.sink());
  packetizer->push(deleted(4), out.sink());
  packetizer->push(tagged(c, 5), out.sink());
  packetizer->push(deleted(6), out.sink());
  packetizer->flush(out.sink());
  ASSERT_EQ(out.payloads.size(), 1u);
  EXPECT_EQ(out.times[0], 0u);  // the first deleted packet's time
  EXPECT_EQ(out.payloads[0].size(), 3 * kTsPacketSize);
  EXPECT_EQ(out.runs[0], (std::vector<proto::NullRun>{{0, 2}, {2, 1}, {3, 1}}));
}

TEST(Packetizer, NullRunsTakeRoomFromThePackets) {
  // A 1131-byte budget holds six packets with one run (3 + 1128 bytes), five with two.
  // (At the default 1154 bytes six packets always fit: at most seven runs of ≤ 3 bytes.)
  auto packetizer = Packetizer::create({.maxPayload = 1131, .maxHoldUs = 5000});
  ASSERT_TRUE(packetizer);
  Collected out;
  auto p = packet(256, 0);
  packetizer->push(deleted(0), out.sink());
  for (int i = 0; i < 3; ++i) packetizer->push(tagged(p, 0), out.sink());
  packetizer->push(deleted(0), out.sink());
  for (int i = 0; i < 3; ++i) packetizer->push(tagged(p, 0), out.sink());
  packetizer->flush(out.sink());
  ASSERT_EQ(out.payloads.size(), 2u);
  EXPECT_EQ(out.payloads[0].size(), 5 * kTsPacketSize);
  EXPECT_EQ(out.runs[0], (std::vector<proto::NullRun>{{0, 1}, {3, 1}}));
  EXPECT_EQ(out.payloads[1].size(), 1 * kTsPacketSize);
}

TEST(Packetizer, LongNullStretchIsCappedPerPayload) {
  auto packetizer = Packetizer::create({.maxPayload = 1154, .maxHoldUs = 1'000'000});
  ASSERT_TRUE(packetizer);
  Collected out;
  for (uint64_t i = 0; i < proto::kMaxNullsPerData + 10; ++i) {
    packetizer->push(deleted(0), out.sink());
  }
  packetizer->flush(out.sink());
  ASSERT_EQ(out.payloads.size(), 2u);
  EXPECT_EQ(out.runs[0], (std::vector<proto::NullRun>{{0, 4096}}));
  EXPECT_EQ(out.runs[1], (std::vector<proto::NullRun>{{0, 10}}));
  EXPECT_TRUE(out.payloads[0].empty());
}

TEST(Packetizer, NonReferenceAccessUnitsGetPayloadsOfTheirOwn) {
  auto packetizer = Packetizer::create();
  ASSERT_TRUE(packetizer);
  Collected out;
  auto ref = packet(256, 0), audio = packet(257, 0), nonref = packet(256, 1);
  // Reference picture and audio share a payload; then non-reference AU 7 (8 packets: two
  // payloads, the first a fragment); then AU 8 (one packet); then the reference stream again.
  packetizer->push(tagged(ref, 0, 0, false, proto::flag::kKeyframe), out.sink());
  packetizer->push(tagged(audio, 0), out.sink());
  for (int i = 0; i < 8; ++i) packetizer->push(tagged(nonref, 1, 7, i == 7), out.sink());
  packetizer->push(tagged(nonref, 2, 8, true), out.sink());
  packetizer->push(tagged(ref, 3), out.sink());
  packetizer->flush(out.sink());
  ASSERT_EQ(out.payloads.size(), 5u);
  EXPECT_EQ(out.payloads[0].size(), 2 * kTsPacketSize);
  EXPECT_EQ(out.units[0], 0u);
  EXPECT_EQ(out.flags[0], proto::flag::kKeyframe);
  EXPECT_EQ(out.payloads[1].size(), 6 * kTsPacketSize);
  EXPECT_EQ(out.units[1], 7u);
  EXPECT_EQ(out.flags[1], proto::flag::kNonReference | proto::flag::kFragment);
  EXPECT_EQ(out.payloads[2].size(), 2 * kTsPacketSize);
  EXPECT_EQ(out.units[2], 7u);
  EXPECT_EQ(out.flags[2], proto::flag::kNonReference);
  EXPECT_EQ(out.units[3], 8u);
  EXPECT_EQ(out.flags[3], proto::flag::kNonReference);
  EXPECT_EQ(out.units[4], 0u);
}

}  // namespace
}  // namespace braid::edge
