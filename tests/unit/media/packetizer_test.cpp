#include "edge/media/packetizer.h"

#include <gtest/gtest.h>

#include <vector>

#include "media_test_util.h"

namespace braid::edge {
namespace {

struct Collected {
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<uint64_t> times;
  auto sink() {
    return [this](const Payload& p) {
      payloads.emplace_back(p.bytes.begin(), p.bytes.end());
      times.push_back(p.mediaTimeUs);
    };
  }
};

TEST(Packetizer, DefaultBudgetIsSixPackets) {
  EXPECT_EQ(kDefaultMaxPayload, 1154u);
  auto packetizer = Packetizer::create();
  ASSERT_TRUE(packetizer);
  EXPECT_EQ(packetizer->maxPayload(), 6u * kTsPacketSize);
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
  EXPECT_EQ(packetizer->maxPayload(), 7u * kTsPacketSize);  // 1316 <= 1500
}

}  // namespace
}  // namespace braid::edge
