#include "edge/media/media_tagger.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "dataplane/proto/wire/packet.h"
#include "media_test_util.h"

namespace braid::edge {
namespace {

struct Out {
  std::vector<std::vector<uint8_t>> packets;  // kept packets, as handed on
  std::vector<TaggedPacket> tags;             // every packet (bytes pointer not kept)
  auto sink() {
    return [this](const TaggedPacket& t) {
      tags.push_back(t);
      tags.back().bytes = nullptr;
      if (!t.deleted) packets.emplace_back(t.bytes, t.bytes + kTsPacketSize);
    };
  }
};

std::vector<uint8_t> readMedia(const std::string& name) {
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  return test::readFile(std::string(root ? root : ".") + "/tests/data/media/" + name);
}

// On the real streams (50 pictures each), every non-reference picture is a droppable access
// unit, its packets tagged whole and in order, and nothing else is: in H.264 (x264 without
// B-pyramid) the 29 B pictures, in H.265 (x265, B-pyramid) the 15 TRAIL_N and RASL_N pictures
// (the classifier's test counts the same).
void checkRealStream(const std::string& name, uint64_t droppable) {
  const auto bytes = readMedia(name);
  ASSERT_FALSE(bytes.empty()) << name;
  MediaTaggerCounters counters;
  MediaTagger tagger(counters);
  Out out;
  for (size_t off = 0; off + kTsPacketSize <= bytes.size(); off += kTsPacketSize) {
    tagger.push(TsPacketSpan(bytes.data() + off, kTsPacketSize), off, out.sink());
  }
  tagger.flush(out.sink(), true);
  EXPECT_EQ(tagger.heldPackets(), 0u);
  ASSERT_EQ(out.tags.size(), bytes.size() / kTsPacketSize);
  // Nothing deleted here: the output is the input, in order, byte for byte.
  std::vector<uint8_t> joined;
  for (const auto& p : out.packets) joined.insert(joined.end(), p.begin(), p.end());
  EXPECT_EQ(joined, bytes);
  EXPECT_EQ(counters.accessUnits.read(), 50u);
  EXPECT_EQ(counters.droppableAccessUnits.read(), droppable);
  // Every droppable unit: its packets carry its ordinal, exactly the last one is marked last,
  // none carries a keyframe or codec-config flag, and ordinals only grow.
  std::map<uint32_t, int> lasts;
  uint32_t previous = 0;
  for (size_t i = 0; i < out.tags.size(); ++i) {
    const TaggedPacket& t = out.tags[i];
    if (t.accessUnit == 0) continue;
    EXPECT_GE(t.accessUnit, previous);
    previous = t.accessUnit;
    EXPECT_EQ(t.flags & (proto::flag::kKeyframe | proto::flag::kCodecConfig), 0);
    lasts[t.accessUnit] += t.lastOfAccessUnit ? 1 : 0;
    if (t.lastOfAccessUnit) {
      for (size_t j = i + 1; j < out.tags.size(); ++j)
        EXPECT_NE(out.tags[j].accessUnit, t.accessUnit);
    }
  }
  EXPECT_EQ(lasts.size(), droppable);
  for (const auto& [unit, n] : lasts) EXPECT_EQ(n, 1) << "access unit " << unit;
}

TEST(MediaTagger, RealH264StreamTagsEveryBPictureWhole) {
  checkRealStream("testsrc2_h264.ts", 29);
}
TEST(MediaTagger, RealH265StreamTagsEveryNonReferencePictureWhole) {
  checkRealStream("testsrc2_h265.ts", 15);
}

// A video packet on PID 0x100 with a 184-byte payload (no adaptation field).
std::vector<uint8_t> video(uint8_t cc, bool unitStart, std::vector<uint8_t> payload) {
  std::vector<uint8_t> p(kTsPacketSize, 0xff);
  p[0] = 0x47;
  p[1] = static_cast<uint8_t>((unitStart ? 0x40 : 0x00) | 0x01);
  p[2] = 0x00;
  p[3] = static_cast<uint8_t>(0x10 | cc);
  payload.resize(184, 0xff);
  std::copy(payload.begin(), payload.end(), p.begin() + 4);
  return p;
}

TEST(MediaTagger, DeletesNullAndFillerPackets) {
  // The SDT, PAT and PMT of the real stream announce H.264 on PID 0x100.
  const auto bytes = readMedia("testsrc2_h264.ts");
  ASSERT_GE(bytes.size(), 3 * kTsPacketSize);
  MediaTaggerCounters counters;
  MediaTagger tagger(counters);
  Out out;
  uint64_t t = 0;
  auto push = [&](const std::vector<uint8_t>& p) {
    tagger.push(TsPacketSpan(p.data(), kTsPacketSize), ++t, out.sink());
  };
  for (size_t off = 0; off < 3 * kTsPacketSize; off += kTsPacketSize) {
    tagger.push(TsPacketSpan(bytes.data() + off, kTsPacketSize), ++t, out.sink());
  }
  // PES header, AUD, SPS, then a filler NAL unit that runs over three more packets.
  push(video(0, true, {0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x00, 0x00,  // PES
                       0x00, 0x00, 0x00, 0x01, 0x09, 0xf0,                    // AUD
                       0x00, 0x00, 0x01, 0x67, 0x42, 0x00, 0x1e,              // SPS
                       0x00, 0x00, 0x01, 0x0c}));                             // filler
  push(video(1, false, {}));                                                  // all 0xFF: deleted
  std::vector<uint8_t> null(kTsPacketSize, 0xff);
  null[0] = 0x47;
  null[1] = 0x1f;
  null[2] = 0xff;
  null[3] = 0x10;
  push(null);
  push(video(2, false, {}));  // deleted
  std::vector<uint8_t> end(180, 0xff);
  end.push_back(0x80);  // the filler's trailing bits: this packet stays
  end.push_back(0x00);
  end.push_back(0x00);
  end.push_back(0x01);
  push(video(3, false, end));
  push(video(4, false, {0x65, 0x88, 0x84}));  // an IDR slice
  tagger.flush(out.sink(), true);
  EXPECT_EQ(counters.nullsDeleted.read(), 1u);
  EXPECT_EQ(counters.fillerDeleted.read(), 2u);
  ASSERT_EQ(out.tags.size(), 9u);
  EXPECT_TRUE(out.tags[4].deleted);
  EXPECT_TRUE(out.tags[5].deleted);
  EXPECT_TRUE(out.tags[6].deleted);
  ASSERT_EQ(out.packets.size(), 6u);  // SDT, PAT, PMT and three video packets
  // The filler packets go with their header (the gateway rebuilds them); the rest unchanged.
  EXPECT_TRUE(out.tags[4].filler);
  EXPECT_FALSE(out.tags[5].filler);
  EXPECT_TRUE(out.tags[6].filler);
  EXPECT_EQ(out.packets[3][3] & 0x0f, 0);
  EXPECT_EQ(out.packets[4][3] & 0x0f, 3);
  EXPECT_EQ(out.packets[5][3] & 0x0f, 4);
  EXPECT_EQ(out.tags[1].flags, proto::flag::kPsi);
  EXPECT_EQ(out.tags[3].flags, proto::flag::kCodecConfig);
  EXPECT_EQ(out.tags[8].flags, proto::flag::kKeyframe);
  for (const auto& tag : out.tags) EXPECT_EQ(tag.accessUnit, 0u);
}

TEST(MediaTagger, AWindowThatFillsReleasesItsOldestUnitAsReference) {
  const auto bytes = readMedia("testsrc2_h264.ts");
  MediaTaggerCounters counters;
  MediaTagger tagger(counters);
  Out out;
  for (size_t off = 0; off < 3 * kTsPacketSize; off += kTsPacketSize) {
    tagger.push(TsPacketSpan(bytes.data() + off, kTsPacketSize), 0, out.sink());
  }
  // A non-reference picture longer than the window.
  uint8_t cc = 0;
  auto first =
      video(cc++, true,
            {0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x9e});
  tagger.push(TsPacketSpan(first.data(), kTsPacketSize), 0, out.sink());
  for (size_t i = 0; i < MediaTagger::kWindowPackets + 10; ++i) {
    auto p = video(static_cast<uint8_t>(cc++ & 0x0f), false, std::vector<uint8_t>(184, 0x21));
    tagger.push(TsPacketSpan(p.data(), kTsPacketSize), 0, out.sink());
    EXPECT_LE(tagger.heldPackets(), MediaTagger::kWindowPackets);
  }
  EXPECT_EQ(counters.forcedReleases.read(), 1u);
  EXPECT_EQ(counters.droppableAccessUnits.read(), 0u);
  for (const auto& tag : out.tags) EXPECT_EQ(tag.accessUnit, 0u);
}

}  // namespace
}  // namespace braid::edge
