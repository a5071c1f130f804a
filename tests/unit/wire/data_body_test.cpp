#include "dataplane/proto/wire/data_body.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "dataplane/proto/wire/bytes.h"

namespace braid::proto {
namespace {

std::vector<uint8_t> body(std::span<const NullRun> runs, size_t tsPackets) {
  std::vector<uint8_t> out(nullRunsSize(runs) + tsPackets * kTsPacketSize, 0x47);
  EXPECT_EQ(writeNullRuns(runs, out), nullRunsSize(runs));
  return out;
}

// Raw run list (no validation on the writing side), for the parser's rejections.
std::vector<uint8_t> raw(std::initializer_list<uint64_t> varints, size_t tsPackets) {
  std::vector<uint8_t> out(64 + tsPackets * kTsPacketSize, 0x47);
  ByteWriter w(out);
  for (uint64_t v : varints) w.putVarint(v);
  EXPECT_TRUE(w.ok());
  std::vector<uint8_t> trimmed(out.begin(), out.begin() + static_cast<long>(w.size()));
  trimmed.resize(w.size() + tsPackets * kTsPacketSize, 0x47);
  return trimmed;
}

TEST(DataBody, NoNullsIsOneZeroByte) {
  auto b = body({}, 6);
  ASSERT_EQ(b.size(), 1 + 6 * kTsPacketSize);
  EXPECT_EQ(b[0], 0x00);
  auto parsed = DataBody::parse(b);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->runCount, 0u);
  EXPECT_EQ(parsed->nullCount, 0u);
  EXPECT_EQ(parsed->tsPackets(), 6u);
  EXPECT_EQ(parsed->ts.data(), b.data() + 1);
}

TEST(DataBody, RoundTripsRunsAtEveryPosition) {
  NullRun filler{.position = 1, .count = 5, .filler = true, .header = {0x41, 0x00, 0x1e}};
  const std::array<NullRun, 5> runs{NullRun{0, 1}, NullRun{1, 70}, filler, NullRun{4, 3},
                                    NullRun{5, 3995}};
  auto b = body(runs, 5);
  auto parsed = DataBody::parse(b);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(DataBody::valid(b));
  EXPECT_EQ(parsed->nullCount, 4074u);
  EXPECT_EQ(nullRunSize(filler), 1u + 1u + 3u);
  ASSERT_EQ(parsed->runCount, runs.size());
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(parsed->runs[i], runs[i]);
}

TEST(DataBody, OnlyNulls) {
  const std::array<NullRun, 1> runs{NullRun{0, 12}};
  auto parsed = DataBody::parse(body(runs, 0));
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(DataBody::valid(body(runs, 0)));
  EXPECT_EQ(parsed->tsPackets(), 0u);
  EXPECT_EQ(parsed->nullCount, 12u);
}

TEST(DataBody, RejectsWhatBreaksTheRules) {
  // valid(), the packet path's check, agrees with parse() on every case.
  auto malformed = [](const std::vector<uint8_t>& b) {
    auto parsed = DataBody::parse(b);
    EXPECT_EQ(DataBody::valid(b), parsed.has_value());
    return !parsed && parsed.error() == DropReason::kMalformedBody;
  };
  EXPECT_TRUE(malformed({}));                           // no run count
  EXPECT_TRUE(malformed(raw({0}, 0)));                  // carries nothing
  EXPECT_TRUE(malformed(raw({65}, 1)));                 // too many runs
  EXPECT_TRUE(malformed(raw({1, 0, 0}, 1)));            // a run of zero
  EXPECT_TRUE(malformed(raw({1, 2, 1}, 1)));            // position past the last packet
  EXPECT_TRUE(malformed(raw({2, 1, 1, 1, 1}, 2)));      // positions not ascending
  EXPECT_TRUE(malformed(raw({2, 0, 4000, 1, 97}, 1)));  // 4097 nulls
  EXPECT_TRUE(malformed(raw({1, 0}, 0)));               // truncated run
  auto b = body({}, 2);
  b.pop_back();  // not whole TS packets
  EXPECT_TRUE(malformed(b));
}

TEST(DataBody, WriterRefusesWhatTheParserWould) {
  std::array<uint8_t, 64> out{};
  const std::array<NullRun, 1> zero{NullRun{0, 0}};
  EXPECT_EQ(writeNullRuns(zero, out), 0u);
  const std::array<NullRun, 2> descending{NullRun{2, 1}, NullRun{1, 1}};
  const std::array<NullRun, 2> equal{NullRun{1, 1}, NullRun{1, 1, true, {0x41, 0x00, 0x10}}};
  EXPECT_EQ(writeNullRuns(equal, out), 1u + 2u + 5u);
  EXPECT_EQ(writeNullRuns(descending, out), 0u);
  const std::array<NullRun, 2> tooMany{NullRun{0, 4000}, NullRun{1, 97}};
  EXPECT_EQ(writeNullRuns(tooMany, out), 0u);
  const std::array<NullRun, 1> fits{NullRun{0, 300}};
  EXPECT_EQ(writeNullRuns(fits, std::span(out).first(3)), 0u);  // needs 4 bytes
  EXPECT_EQ(writeNullRuns(fits, out), 4u);

  // Filler headers are found in place for renumbering.
  const std::array<NullRun, 2> mixed{NullRun{0, 2}, NullRun{0, 3, true, {0x41, 0x00, 0x17}}};
  size_t n = writeNullRuns(mixed, out);
  ASSERT_GT(n, 0u);
  int headers = 0;
  forEachFillerHeader(std::span(out).first(n), [&](uint8_t* h) {
    ++headers;
    EXPECT_EQ(h[2], 0x17);
    h[2] = 0x12;
  });
  EXPECT_EQ(headers, 1);
  std::vector<uint8_t> body(out.begin(), out.begin() + static_cast<long>(n));
  auto parsed = DataBody::parse(body);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->runs[1].header[2], 0x12);
}

}  // namespace
}  // namespace braid::proto
