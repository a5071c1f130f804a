#include "dataplane/proto/wire/control_messages.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "hex.h"

namespace braid::proto {
namespace {

using test::fromHex;
using test::toHex;

template <typename M>
std::vector<uint8_t> encode(const M& m) {
  std::vector<uint8_t> out(4096);
  size_t n = m.encode(std::span<uint8_t>(out));
  EXPECT_NE(n, 0u);
  out.resize(n);
  return out;
}

template <typename M>
void expectRoundTrip(const M& m) {
  std::vector<uint8_t> bytes = encode(m);
  auto parsed = M::parse(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(*parsed == m);
  // Zero padding is allowed after every message.
  bytes.resize(bytes.size() + 20, 0);
  parsed = M::parse(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(*parsed == m);
  // Truncation is not.
  for (size_t n = 0; n < bytes.size() - 20; ++n) {
    auto truncated = M::parse(std::span(bytes).first(n));
    // A prefix can be a complete message only if the rest was zero padding anyway.
    if (truncated) {
      EXPECT_TRUE(ByteReader(std::span(bytes).subspan(n)).restIsZero()) << n;
    } else {
      EXPECT_EQ(truncated.error(), DropReason::kMalformedBody);
    }
  }
}

template <typename M>
void expectMalformed(std::string_view hex) {
  std::vector<uint8_t> bytes = fromHex(hex);
  auto parsed = M::parse(bytes);
  ASSERT_FALSE(parsed) << hex;
  EXPECT_EQ(parsed.error(), DropReason::kMalformedBody) << hex;
}

LinkReport report(uint8_t link) {
  return LinkReport{.linkId = link,
                    .highestLinkSeq = uint64_t{100000} + link,
                    .packetsReceived = 5000,
                    .packetsLost = 7,
                    .bytesReceived = uint64_t{1} << 33,
                    .echoedSendTsUs = 0xfedcba98,
                    .holdTimeUs = 250,
                    .jitterUs = 1200,
                    .queueDelayUs = 4000,
                    .queueDelayMaxUs = uint64_t{1} << 40,
                    .probeTrainId = 3,
                    .probeRateKbps = 250000};
}

TEST(Ack, RoundTrips) {
  Ack empty;
  expectRoundTrip(empty);

  Ack full;
  full.cumulativeSeq = 1000;
  uint64_t next = 1001;
  for (size_t i = 0; i < kMaxSackRanges; ++i) {
    ASSERT_TRUE(full.addSack({.first = next, .count = i + 1}));
    next += i + 1 + 1 + i * 1000;
  }
  EXPECT_FALSE(full.addSack({.first = next, .count = 1}));
  for (uint8_t link = 0; link < kMaxLinkReports; ++link) ASSERT_TRUE(full.addReport(report(link)));
  EXPECT_FALSE(full.addReport(report(0)));
  expectRoundTrip(full);
}

TEST(Ack, SackRangesTouchTheSequenceLimit) {
  Ack ack;
  ack.cumulativeSeq = kMaxVarint - 10;
  ASSERT_TRUE(ack.addSack({.first = kMaxVarint - 5, .count = 6}));  // ends at 2^62
  expectRoundTrip(ack);
  ack.sacks[0].count = 7;
  std::array<uint8_t, 64> out{};
  EXPECT_EQ(ack.encode(std::span<uint8_t>(out)), 0u);
}

TEST(Ack, EncodeRejectsBadRanges) {
  std::array<uint8_t, 256> out{};
  Ack ack;
  ack.cumulativeSeq = 10;
  ack.addSack({.first = 10, .count = 1});  // gap 0: would have been cumulative
  EXPECT_EQ(ack.encode(std::span<uint8_t>(out)), 0u);
  ack.sacks[0] = {.first = 12, .count = 0};
  EXPECT_EQ(ack.encode(std::span<uint8_t>(out)), 0u);
  ack.sacks[0] = {.first = 12, .count = 2};
  ack.addSack({.first = 14, .count = 1});  // adjacent to the previous range
  EXPECT_EQ(ack.encode(std::span<uint8_t>(out)), 0u);
  ack.sacks[1].first = 15;
  EXPECT_NE(ack.encode(std::span<uint8_t>(out)), 0u);
  ack.addReport(report(16));
  EXPECT_EQ(ack.encode(std::span<uint8_t>(out)), 0u);
}

TEST(Ack, ParseRejections) {
  expectMalformed<Ack>("");
  expectMalformed<Ack>("00");                                      // no report count
  expectMalformed<Ack>("00 21 00");                                // 33 SACK ranges
  expectMalformed<Ack>("05 01 00 01 00");                          // gap 0
  expectMalformed<Ack>("05 01 01 00 00");                          // length 0
  expectMalformed<Ack>("05 01 01 01");                             // no report count
  expectMalformed<Ack>("00 00 11");                                // 17 reports
  expectMalformed<Ack>("00 00 01 10 00 00 00 00 00000000 00 00");  // link 16
  expectMalformed<Ack>("00 00 01 01 00 00 00 00 00000000 00");     // truncated report
  expectMalformed<Ack>("00 00 00 01");                             // trailing garbage
  // Ranges beyond 2^62.
  expectMalformed<Ack>("ffffffffffffffff 01 01 01 00");
  EXPECT_TRUE(Ack::parse(fromHex("00 00 00 00 00")));
}

TEST(Nack, RoundTripsAndRejections) {
  Nack nack;
  for (size_t i = 0; i < kMaxNackRanges; ++i) {
    ASSERT_TRUE(nack.addRange({.first = 1000 * (kMaxNackRanges - i), .count = i + 1}));
  }
  EXPECT_FALSE(nack.addRange({.first = 1, .count = 1}));
  expectRoundTrip(nack);

  Nack one;
  one.addRange({.first = kMaxVarint, .count = 1});
  expectRoundTrip(one);

  std::array<uint8_t, 64> out{};
  EXPECT_EQ(Nack{}.encode(std::span<uint8_t>(out)), 0u);  // no ranges
  one.ranges[0].count = 2;
  EXPECT_EQ(one.encode(std::span<uint8_t>(out)), 0u);

  expectMalformed<Nack>("");
  expectMalformed<Nack>("00");        // zero ranges
  expectMalformed<Nack>("4041");      // 65 ranges
  expectMalformed<Nack>("01 05 00");  // length 0
  expectMalformed<Nack>("02 05 01");  // truncated
  expectMalformed<Nack>("01 05 01 07");
}

TEST(Keepalive, RoundTripsAndRejections) {
  expectRoundTrip(Keepalive{});
  expectRoundTrip(Keepalive{.echoedSendTsUs = 0xffffffff, .holdTimeUs = kMaxVarint});
  expectMalformed<Keepalive>("000000");
  expectMalformed<Keepalive>("00000000");
  expectMalformed<Keepalive>("00000000 00 01");
}

TEST(Probe, RoundTripsAndRejections) {
  expectRoundTrip(Probe{.trainId = 77, .index = 9, .count = 10});
  expectRoundTrip(Probe{.trainId = kMaxVarint, .index = 0, .count = 1});
  std::array<uint8_t, 32> out{};
  EXPECT_EQ((Probe{.trainId = 1, .index = 1, .count = 1}.encode(std::span<uint8_t>(out))), 0u);
  EXPECT_EQ((Probe{.trainId = 1, .index = 0, .count = 0}.encode(std::span<uint8_t>(out))), 0u);
  expectMalformed<Probe>("01 01 01");  // index ≥ count
  expectMalformed<Probe>("01 00 00");
  expectMalformed<Probe>("01 00");
  expectMalformed<Probe>("01 00 02 00 00 ff");
}

TEST(Join, RoundTripsAndRejections) {
  Join join;
  EXPECT_TRUE(join.setName("lte-0 Vodafone"));
  EXPECT_EQ(join.nameView(), "lte-0 Vodafone");
  expectRoundTrip(join);
  EXPECT_TRUE(join.setName("modem ünö 5G 📶"));
  expectRoundTrip(join);
  EXPECT_TRUE(join.setName(std::string(32, 'x')));
  expectRoundTrip(join);
  EXPECT_TRUE(join.setName(""));
  expectRoundTrip(join);

  EXPECT_FALSE(join.setName(std::string(33, 'x')));
  EXPECT_FALSE(join.setName("tab\there"));
  EXPECT_FALSE(join.setName("\xc3"));  // truncated sequence
  EXPECT_EQ(join.nameView(), "");      // unchanged by failed sets

  expectMalformed<Join>("");
  expectMalformed<Join>("21" + std::string(66, '6'));  // 33 bytes
  expectMalformed<Join>("03 6162");                    // truncated
  expectMalformed<Join>("02 6100");                    // NUL
  expectMalformed<Join>("02 c0 80");                   // overlong NUL
  expectMalformed<Join>("03 eda080");                  // surrogate
  expectMalformed<Join>("04 f4908080");                // above U+10FFFF
  expectMalformed<Join>("02 c285");                    // C1 control
  expectMalformed<Join>("01 ff");
  expectMalformed<Join>("01 61 62");  // trailing garbage
  auto parsed = Join::parse(fromHex("02 c3bc 00 00"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->nameView(), "ü");
}

TEST(Close, RoundTripsAndRejections) {
  for (CloseReason r :
       {CloseReason::kNormal, CloseReason::kShutdown, CloseReason::kIdle, CloseReason::kError}) {
    expectRoundTrip(Close{.reason = r});
  }
  std::array<uint8_t, 8> out{};
  EXPECT_EQ(Close{.reason = static_cast<CloseReason>(4)}.encode(std::span<uint8_t>(out)), 0u);
  expectMalformed<Close>("");
  expectMalformed<Close>("04");
  expectMalformed<Close>(
      "c000000000000000 00"
      "01");
  EXPECT_EQ(Close::parse(fromHex("4002"))->reason, CloseReason::kIdle);
}

TEST(RepairHeader, RoundTripWithSymbol) {
  RepairHeader h{.blockId = 300, .k = 10, .m = 4, .index = 3, .firstSeq = 70000};
  std::vector<uint8_t> bytes = encode(h);
  EXPECT_EQ(toHex(bytes), "412c0a040380011170");
  bytes.push_back(0xab);
  bytes.push_back(0x00);
  std::span<const uint8_t> symbol;
  auto parsed = RepairHeader::parse(bytes, &symbol);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, h);
  EXPECT_EQ(toHex(symbol), "ab00");
  EXPECT_TRUE(RepairHeader::parse(bytes));  // symbol out-parameter is optional
}

TEST(RepairHeader, Rejections) {
  std::array<uint8_t, 32> out{};
  EXPECT_EQ((RepairHeader{.blockId = 1, .k = 0, .m = 1, .index = 0, .firstSeq = 0}.encode(
                std::span<uint8_t>(out))),
            0u);
  EXPECT_EQ((RepairHeader{.blockId = 1, .k = 1, .m = 2, .index = 2, .firstSeq = 0}.encode(
                std::span<uint8_t>(out))),
            0u);
  EXPECT_EQ((RepairHeader{.blockId = 1, .k = 2, .m = 1, .index = 0, .firstSeq = kMaxVarint}.encode(
                std::span<uint8_t>(out))),
            0u);
  expectMalformed<RepairHeader>("01 0a 04 03 05");     // no symbol
  expectMalformed<RepairHeader>("01 00 04 03 05 ff");  // k = 0
  expectMalformed<RepairHeader>("01 0a 00 00 05 ff");  // m = 0
  expectMalformed<RepairHeader>("01 0a 04 04 05 ff");  // index ≥ m
  expectMalformed<RepairHeader>("01 0a 04");
  expectMalformed<RepairHeader>("01 0a 04 03 ffffffffffffffff ff");  // block past 2^62
}

TEST(PadControl, PadsWithZeros) {
  std::array<uint8_t, 40> buf;
  buf.fill(0xee);
  EXPECT_EQ(padControl(buf, 5, 32), 32u);
  EXPECT_EQ(buf[4], 0xee);
  EXPECT_EQ(buf[5], 0);
  EXPECT_EQ(buf[31], 0);
  EXPECT_EQ(buf[32], 0xee);
  EXPECT_EQ(padControl(buf, 35, 32), 35u);
  EXPECT_EQ(padControl(buf, 5, 41), 0u);
  EXPECT_EQ(padControl(buf, 41, 0), 0u);
}

}  // namespace
}  // namespace braid::proto
