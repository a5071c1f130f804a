#include "edge/media/ts_file_source.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "edge/media/open_ts_source.h"
#include "edge/media/packetizer.h"
#include "media_test_util.h"

namespace braid::edge {
namespace {

using test::FakeClock;
using test::TempDir;

// What a source delivered, and when (on the fake clock).
struct Delivery {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> mediaUs;
  std::vector<uint64_t> clockUs;  // clock time each packet was handed out
};

// Reads until the file ends (or `maxPackets`), sleeping on the fake clock like a sender.
Delivery runSource(TsSource& source, FakeClock& clock, size_t maxPackets = SIZE_MAX) {
  Delivery d;
  auto batch = std::make_unique<TsBatch>();
  while (!source.finished() && d.mediaUs.size() < maxPackets) {
    auto n = source.read(*batch);
    EXPECT_TRUE(n) << n.error().describe();
    if (!n) break;
    if (*n == 0) {
      source.wait(10'000'000);
      continue;
    }
    auto data = batch->data();
    d.bytes.insert(d.bytes.end(), data.begin(), data.end());
    for (size_t i = 0; i < batch->count; ++i) {
      d.mediaUs.push_back(batch->mediaTimeUs[i]);
      d.clockUs.push_back(clock.nowUs());
    }
  }
  return d;
}

// First and last PCR (27 MHz) of `pid` in a file, read directly.
std::pair<uint64_t, uint64_t> pcrSpan(const std::vector<uint8_t>& file, int pid) {
  uint64_t first = 0, last = 0;
  bool seen = false;
  for (size_t off = 0; off + kTsPacketSize <= file.size(); off += kTsPacketSize) {
    std::span<const uint8_t> p(file.data() + off, kTsPacketSize);
    if (tsPid(p) != pid) continue;
    if (auto pcr = tsPcr(p)) {
      if (!seen) first = *pcr;
      last = *pcr;
      seen = true;
    }
  }
  return {first, last};
}

class FfmpegTs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    available_ = test::makeTestTs(dir_->path() / "pattern.ts", 3);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!available_)
      GTEST_SKIP() << "ffmpeg (with libx264) not found or failed: cannot make a test TS";
    file_ = (dir_->path() / "pattern.ts").string();
    bytes_ = test::readFile(file_);
    ASSERT_GT(bytes_.size(), 100u * kTsPacketSize);
    ASSERT_EQ(bytes_.size() % kTsPacketSize, 0u);
  }

  static inline TempDir* dir_ = nullptr;
  static inline bool available_ = false;
  std::string file_;
  std::vector<uint8_t> bytes_;
};

TEST_F(FfmpegTs, PacedByPcrInRealTime) {
  auto clock = std::make_shared<FakeClock>();
  auto source = TsFileSource::open(
      file_, {.loop = false, .pace = true, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source) << source.error().describe();
  const uint64_t start = clock->nowUs();
  Delivery d = runSource(**source, *clock);

  EXPECT_EQ(d.bytes, bytes_);
  ASSERT_GE((*source)->pcrPid(), 0) << "no PCR found";
  auto [first, last] = pcrSpan(bytes_, (*source)->pcrPid());
  const double pcrSeconds = static_cast<double>(last - first) / kPcrHz;
  const double elapsed = static_cast<double>(clock->nowUs() - start) / 1e6;
  EXPECT_NEAR(elapsed, 3.0, 0.3);
  EXPECT_NEAR(elapsed, pcrSeconds, 0.1);
  EXPECT_GT(clock->sleeps(), 20u);  // paced, not dumped
  EXPECT_EQ((*source)->counters().packets.read(), bytes_.size() / kTsPacketSize);
  EXPECT_EQ((*source)->counters().skippedBytes.read(), 0u);
  EXPECT_EQ((*source)->counters().pcrDiscontinuities.read(), 0u);

  // Media time never goes backwards; each packet leaves at (never before) its due time,
  // and not much after it.
  for (size_t i = 1; i < d.mediaUs.size(); ++i) ASSERT_GE(d.mediaUs[i], d.mediaUs[i - 1]) << i;
  for (size_t i = 0; i < d.mediaUs.size(); ++i) {
    const uint64_t due = start + (d.mediaUs[i] - d.mediaUs[0]);
    ASSERT_GE(d.clockUs[i], due) << i;
    ASSERT_LE(d.clockUs[i] - due, 100'000u) << i;
  }
}

TEST_F(FfmpegTs, PacketizerOutputIsTheFile) {
  auto source = TsFileSource::open(file_, {.loop = false,
                                           .pace = false,
                                           .fallbackBitrate = 1'000'000,
                                           .clock = std::make_shared<FakeClock>()});
  ASSERT_TRUE(source) << source.error().describe();
  auto packetizer = Packetizer::create();
  ASSERT_TRUE(packetizer);
  std::vector<uint8_t> joined;
  std::vector<uint64_t> times;
  size_t payloads = 0;
  auto emit = [&](const Payload& p) {
    ++payloads;
    EXPECT_LE(p.bytes.size(), kDefaultMaxPayload);
    EXPECT_EQ(p.tsOffset, 1u);  // an empty null-run list
    EXPECT_EQ((p.bytes.size() - p.tsOffset) % kTsPacketSize, 0u);
    EXPECT_EQ(p.bytes[p.tsOffset], kTsSyncByte);
    joined.insert(joined.end(), p.bytes.begin() + static_cast<long>(p.tsOffset), p.bytes.end());
    times.push_back(p.mediaTimeUs);
  };
  auto batch = std::make_unique<TsBatch>();
  while (!(*source)->finished()) {
    auto n = (*source)->read(*batch);
    ASSERT_TRUE(n) << n.error().describe();
    packetizer->push(*batch, emit);
  }
  packetizer->flush(emit);
  EXPECT_EQ(joined, bytes_);
  EXPECT_GE(payloads, bytes_.size() / kDefaultMaxPayload);
  for (size_t i = 1; i < times.size(); ++i) ASSERT_GE(times[i], times[i - 1]);
  EXPECT_NEAR(static_cast<double>(times.back() - times.front()) / 1e6, 3.0, 0.3);
}

TEST_F(FfmpegTs, LoopKeepsMediaTimeIncreasing) {
  auto clock = std::make_shared<FakeClock>();
  auto source = openTsSource("file:" + file_ + "?loop=1",
                             {.pace = true, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source) << source.error().describe();
  const size_t perPass = bytes_.size() / kTsPacketSize;
  Delivery d = runSource(**source, *clock, perPass * 3 + 10);
  ASSERT_GE(d.mediaUs.size(), perPass * 3);
  EXPECT_FALSE((*source)->finished());
  EXPECT_EQ((*source)->counters().loops.read(), 3u);
  for (size_t i = 1; i < d.mediaUs.size(); ++i) ASSERT_GE(d.mediaUs[i], d.mediaUs[i - 1]) << i;
  // The same bytes every pass.
  for (size_t pass = 0; pass < 3; ++pass) {
    ASSERT_TRUE(std::equal(bytes_.begin(), bytes_.end(),
                           d.bytes.begin() + static_cast<std::ptrdiff_t>(pass * bytes_.size())))
        << "pass " << pass;
  }
  // Each pass is offset by about the file's duration; no gap or jump at the seam.
  const double passSeconds = static_cast<double>(d.mediaUs[perPass] - d.mediaUs[0]) / 1e6;
  const double threePasses = static_cast<double>(d.mediaUs[3 * perPass] - d.mediaUs[0]) / 1e6;
  EXPECT_NEAR(passSeconds, 3.0, 0.3);
  EXPECT_NEAR(threePasses, 3 * passSeconds, 0.2);
  uint64_t maxStep = 0;
  for (size_t i = 1; i < d.mediaUs.size(); ++i)
    maxStep = std::max(maxStep, d.mediaUs[i] - d.mediaUs[i - 1]);
  EXPECT_LT(maxStep, 200'000u);
  const uint64_t elapsed = clock->nowUs() - d.clockUs[0];
  EXPECT_NEAR(static_cast<double>(elapsed) / 1e6, threePasses, 0.2);
}

// `bytes` with `garbage` inserted before packet `a` and packet `b` cut after 50 bytes;
// `expected` is what a resynchronising reader must deliver.
struct Corrupted {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> expected;
};

Corrupted corrupt(const std::vector<uint8_t>& ts, const std::vector<uint8_t>& garbage, size_t a,
                  size_t b) {
  auto at = [&](size_t packet) {
    return ts.begin() + static_cast<std::ptrdiff_t>(packet * kTsPacketSize);
  };
  Corrupted c;
  c.bytes.assign(ts.begin(), at(a));
  c.bytes.insert(c.bytes.end(), garbage.begin(), garbage.end());
  c.bytes.insert(c.bytes.end(), at(a), at(b) + 50);
  c.bytes.insert(c.bytes.end(), at(b + 1), ts.end());
  c.expected.assign(ts.begin(), at(b));
  c.expected.insert(c.expected.end(), at(b + 1), ts.end());
  return c;
}

std::vector<uint8_t> randomGarbage(size_t size) {
  std::mt19937 rng(7);
  std::vector<uint8_t> garbage(size);
  for (auto& b : garbage) {
    b = static_cast<uint8_t>(rng());
    if (b == kTsSyncByte) b = 0x48;
  }
  for (size_t i = 10; i < size; i += 1000) garbage[i] = kTsSyncByte;  // lone, never repeating
  return garbage;
}

TEST_F(FfmpegTs, ResyncsAfterInjectedGarbage) {
  // Garbage between two packets and a packet cut short: the reader skips to the next
  // 0x47 that repeats 188 bytes later and loses only what is broken.
  const size_t packets = bytes_.size() / kTsPacketSize;
  const auto garbage = randomGarbage(1000);
  Corrupted c = corrupt(bytes_, garbage, packets / 4, packets * 3 / 4);
  TempDir dir;
  test::writeFile(dir.path() / "corrupt.ts", c.bytes);
  auto clock = std::make_shared<FakeClock>();
  auto source = TsFileSource::open(
      (dir.path() / "corrupt.ts").string(),
      {.loop = false, .pace = true, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source) << source.error().describe();
  const uint64_t start = clock->nowUs();
  Delivery d = runSource(**source, *clock);
  EXPECT_EQ(d.bytes, c.expected);
  EXPECT_EQ((*source)->counters().skippedBytes.read(), garbage.size() + 50);
  EXPECT_NEAR(static_cast<double>(clock->nowUs() - start) / 1e6, 3.0, 0.3);
}

TEST(TsFileSource, RejectsGarbageClearly) {
  TempDir dir;
  std::vector<uint8_t> garbage(5000);
  std::mt19937 rng(3);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng() | 1);
  garbage[0] = kTsSyncByte;  // right first byte, wrong stride
  test::writeFile(dir.path() / "garbage.ts", garbage);
  auto source = TsFileSource::open((dir.path() / "garbage.ts").string());
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, ErrorCode::kParse);
  EXPECT_NE(source.error().context.find("not MPEG-TS"), std::string::npos)
      << source.error().describe();
  EXPECT_NE(source.error().context.find("offset 188"), std::string::npos)
      << source.error().describe();

  test::writeFile(dir.path() / "empty.ts", {});
  auto empty = TsFileSource::open((dir.path() / "empty.ts").string());
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kParse);
  EXPECT_NE(empty.error().context.find("empty"), std::string::npos);

  auto missing = TsFileSource::open((dir.path() / "missing.ts").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().context.find("missing.ts"), std::string::npos);
}

// Writes `count` packets on PID 256 with a PCR every `pcrEvery` packets, advancing
// `ticksPerPacket` per packet from `firstPcr` (mod the PCR wrap); PID 257 otherwise.
std::vector<uint8_t> syntheticTs(size_t count, size_t pcrEvery, uint64_t firstPcr,
                                 uint64_t ticksPerPacket) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < count; ++i) {
    std::optional<uint64_t> pcr;
    if (pcrEvery && i % pcrEvery == 0) pcr = (firstPcr + i * ticksPerPacket) % kPcrWrap;
    auto p = test::makeTsPacket(pcr ? 256 : 257, static_cast<uint8_t>(i), pcr);
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

TEST(TsFileSource, PcrWrapIsContinuous) {
  // 2000 packets at 1 ms each, starting 0.5 s before the 33-bit wrap.
  const uint64_t tick = kPcrHz / 1000;
  auto ts = syntheticTs(2000, 10, kPcrWrap - 500 * tick, tick);
  TempDir dir;
  test::writeFile(dir.path() / "wrap.ts", ts);
  auto clock = std::make_shared<FakeClock>();
  auto source = TsFileSource::open(
      (dir.path() / "wrap.ts").string(),
      {.loop = false, .pace = true, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source);
  const uint64_t start = clock->nowUs();
  Delivery d = runSource(**source, *clock);
  ASSERT_EQ(d.mediaUs.size(), 2000u);
  EXPECT_EQ((*source)->counters().pcrDiscontinuities.read(), 0u);
  for (size_t i = 1; i < d.mediaUs.size(); ++i) {
    ASSERT_EQ(d.mediaUs[i] - d.mediaUs[i - 1], 1000u) << i;  // interpolated between PCRs
  }
  EXPECT_EQ(clock->nowUs() - start, 1'999'000u);
}

TEST(TsFileSource, PcrJumpReanchorsWithoutAGap) {
  // 1000 packets at 1 ms, then the PCR jumps 10 s ahead, then 1000 more at 1 ms.
  const uint64_t tick = kPcrHz / 1000;
  auto ts = syntheticTs(1000, 10, 0, tick);
  auto after = syntheticTs(1000, 10, 1000 * tick + 10 * kPcrHz, tick);
  ts.insert(ts.end(), after.begin(), after.end());
  TempDir dir;
  test::writeFile(dir.path() / "jump.ts", ts);
  auto clock = std::make_shared<FakeClock>();
  auto source = TsFileSource::open(
      (dir.path() / "jump.ts").string(),
      {.loop = false, .pace = true, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source);
  const uint64_t start = clock->nowUs();
  Delivery d = runSource(**source, *clock);
  ASSERT_EQ(d.mediaUs.size(), 2000u);
  EXPECT_EQ((*source)->counters().pcrDiscontinuities.read(), 1u);
  for (size_t i = 1; i < d.mediaUs.size(); ++i) {
    ASSERT_GE(d.mediaUs[i], d.mediaUs[i - 1]);
    ASSERT_LE(d.mediaUs[i] - d.mediaUs[i - 1], 1000u) << i;
  }
  EXPECT_NEAR(static_cast<double>(clock->nowUs() - start), 1'999'000.0, 2000.0);
}

TEST(TsFileSource, ResyncsAcrossReadBuffers) {
  // 300 KB of garbage (longer than the read buffer) after 100 KB of packets, and a cut
  // packet right at the end of the file.
  const uint64_t tick = kPcrHz / 1000;
  auto ts = syntheticTs(3000, 10, 0, tick);
  const auto garbage = randomGarbage(300'000);
  Corrupted c = corrupt(ts, garbage, 550, 2999);
  TempDir dir;
  test::writeFile(dir.path() / "big.ts", c.bytes);
  auto clock = std::make_shared<FakeClock>();
  auto source = TsFileSource::open(
      (dir.path() / "big.ts").string(),
      {.loop = false, .pace = false, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source);
  Delivery d = runSource(**source, *clock);
  EXPECT_EQ(d.bytes, c.expected);
  EXPECT_EQ((*source)->counters().skippedBytes.read(), garbage.size() + 50);
  for (size_t i = 1; i < d.mediaUs.size(); ++i)
    ASSERT_EQ(d.mediaUs[i] - d.mediaUs[i - 1], 1000u) << i;
}

TEST(TsFileSource, WithoutPcrPacesAtFallbackBitrate) {
  auto ts = syntheticTs(1000, 0, 0, 0);  // no PCR at all
  TempDir dir;
  test::writeFile(dir.path() / "nopcr.ts", ts);
  auto clock = std::make_shared<FakeClock>();
  // 188 * 8 bits per packet at 1.504 Mbit/s: one packet per millisecond.
  auto source = TsFileSource::open(
      (dir.path() / "nopcr.ts").string(),
      {.loop = false, .pace = true, .fallbackBitrate = 1'504'000, .clock = clock});
  ASSERT_TRUE(source);
  const uint64_t start = clock->nowUs();
  Delivery d = runSource(**source, *clock);
  EXPECT_EQ(d.bytes, ts);
  EXPECT_EQ((*source)->pcrPid(), -1);
  EXPECT_EQ(d.mediaUs.back() - d.mediaUs.front(), 999'000u);
  EXPECT_EQ(clock->nowUs() - start, 999'000u);
}

TEST(TsFileSource, FallsBehindReanchorsInsteadOfBursting) {
  const uint64_t tick = kPcrHz / 1000;
  auto ts = syntheticTs(3000, 10, 0, tick);
  TempDir dir;
  test::writeFile(dir.path() / "late.ts", ts);
  auto clock = std::make_shared<FakeClock>();
  auto source = TsFileSource::open(
      (dir.path() / "late.ts").string(),
      {.loop = false, .pace = true, .fallbackBitrate = 1'000'000, .clock = clock});
  ASSERT_TRUE(source);
  auto batch = std::make_unique<TsBatch>();
  ASSERT_TRUE((*source)->read(*batch));
  EXPECT_EQ(batch->count, 1u);
  clock->set(clock->nowUs() + 5'000'000);  // the sender stalled for 5 s
  auto n = (*source)->read(*batch);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);  // one packet now, the rest at their pace from here
  EXPECT_EQ((*source)->counters().reanchors.read(), 1u);
  EXPECT_EQ((*source)->mediaNowUs(), batch->mediaTimeUs[0]);
  EXPECT_EQ((*source)->nextDueUs(), clock->nowUs() + 1000);
}

TEST(OpenTsSource, ParsesUrls) {
  TempDir dir;
  auto ts = syntheticTs(10, 5, 0, 1000);
  test::writeFile(dir.path() / "a.ts", ts);
  const std::string path = (dir.path() / "a.ts").string();
  TsInputOptions options{
      .pace = false, .fallbackBitrate = 1'000'000, .clock = std::make_shared<FakeClock>()};

  for (const std::string& url :
       {path, "file:" + path, "file://" + path, "file:" + path + "?loop=0"}) {
    auto source = openTsSource(url, options);
    ASSERT_TRUE(source) << url << ": " << source.error().describe();
    Delivery d = runSource(**source, *std::static_pointer_cast<FakeClock>(options.clock));
    EXPECT_EQ(d.bytes, ts) << url;
  }
  auto looping = openTsSource("file:" + path + "?loop=1", options);
  ASSERT_TRUE(looping);
  Delivery d = runSource(**looping, *std::static_pointer_cast<FakeClock>(options.clock), 35);
  EXPECT_GE(d.mediaUs.size(), 35u);
  EXPECT_FALSE((*looping)->finished());

  auto udp = openTsSource("udp://127.0.0.1:0", options);
  ASSERT_TRUE(udp) << udp.error().describe();

  struct Case {
    std::string url;
    ErrorCode code;
    const char* mention;
  };
  const Case cases[] = {
      {"", ErrorCode::kInvalidArgument, "empty input URL"},
      {"srt://x:1", ErrorCode::kUnsupported, "scheme 'srt'"},
      {"file:" + path + "?speed=2", ErrorCode::kInvalidArgument, "unknown option 'speed=2'"},
      {"file:", ErrorCode::kInvalidArgument, "empty path"},
      {"udp://127.0.0.1", ErrorCode::kInvalidArgument, "HOST:PORT"},
      {"udp://1.2.3.4:5?x=1", ErrorCode::kInvalidArgument, "only HOST:PORT"},
      {path + ".missing", ErrorCode::kNotFound, ".missing"},
  };
  for (const auto& c : cases) {
    auto source = openTsSource(c.url, options);
    ASSERT_FALSE(source) << c.url;
    EXPECT_EQ(source.error().code, c.code) << c.url << ": " << source.error().describe();
    EXPECT_NE(source.error().context.find(c.mention), std::string::npos)
        << c.url << ": " << source.error().describe();
  }
}

}  // namespace
}  // namespace braid::edge
