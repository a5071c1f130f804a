#include "edge/media/classifier.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include "media_test_util.h"

namespace braid::edge {
namespace {

using namespace media;

constexpr uint16_t kPmtPid = 0x1000;
constexpr uint16_t kVideoPid = 0x100;

using Bytes = std::vector<uint8_t>;

// A TS packet on `pid` carrying `payload` (at most 184 bytes); a shorter payload is
// preceded by adaptation field stuffing, as muxers do.
Bytes tsPacket(uint16_t pid, uint8_t cc, bool unitStart, const Bytes& payload) {
  Bytes p(kTsPacketSize, 0xff);
  p[0] = kTsSyncByte;
  p[1] = static_cast<uint8_t>((unitStart ? 0x40 : 0) | ((pid >> 8) & 0x1f));
  p[2] = static_cast<uint8_t>(pid);
  size_t start = 4;
  if (payload.size() < 184) {
    p[3] = static_cast<uint8_t>(0x30 | (cc & 0x0f));
    const size_t afLength = 183 - payload.size();
    p[4] = static_cast<uint8_t>(afLength);
    if (afLength > 0) p[5] = 0x00;  // no adaptation flags, the rest is stuffing
    start = 5 + afLength;
  } else {
    p[3] = static_cast<uint8_t>(0x10 | (cc & 0x0f));
  }
  std::copy(payload.begin(), payload.begin() + static_cast<long>(kTsPacketSize - start),
            p.begin() + static_cast<long>(start));
  return p;
}

// push_back rather than insert: g++ 12 at -O3 warns falsely (-Warray-bounds) on inserting
// into a vector built from an initializer list.
void append(Bytes& out, const Bytes& in) {
  out.reserve(out.size() + in.size());
  for (const uint8_t b : in) out.push_back(b);
}

// A section after a zero pointer field; the CRC is not checked, so four dummy bytes.
Bytes psi(uint8_t tableId, const Bytes& body) {
  const size_t length = 5 + body.size() + 4;
  Bytes s{0x00,
          tableId,
          static_cast<uint8_t>(0xb0 | (length >> 8)),
          static_cast<uint8_t>(length),
          0x00,
          0x01,
          0xc1,
          0x00,
          0x00};
  append(s, body);
  append(s, {0xde, 0xad, 0xbe, 0xef});
  return s;
}

Bytes pat(uint16_t pmtPid) {
  return tsPacket(0, 0, true,
                  psi(0x00, {0x00, 0x01, static_cast<uint8_t>(0xe0 | (pmtPid >> 8)),
                             static_cast<uint8_t>(pmtPid)}));
}

Bytes pmt(uint16_t pmtPid, uint16_t esPid, uint8_t streamType) {
  const auto hi = static_cast<uint8_t>(0xe0 | (esPid >> 8));
  const auto lo = static_cast<uint8_t>(esPid);
  // PCR_PID, program_info_length 0, one stream without descriptors.
  return tsPacket(pmtPid, 0, true, psi(0x02, {hi, lo, 0xf0, 0x00, streamType, hi, lo, 0xf0, 0x00}));
}

// A video PES header with a PTS, then `es`.
Bytes pes(const Bytes& es) {
  Bytes b{0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x80, 0x05, 0x21, 0x00, 0x01, 0x00, 0x01};
  append(b, es);
  return b;
}

Bytes nal(std::initializer_list<uint8_t> header, size_t bodyBytes, uint8_t fill = 0xaa) {
  Bytes b{0x00, 0x00, 0x00, 0x01};
  append(b, Bytes(header));
  append(b, Bytes(bodyBytes, fill));
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}

MediaFlags feed(MediaClassifier& c, const Bytes& p) {
  return c.classify(TsPacketSpan(p.data(), kTsPacketSize));
}

class H264Classifier : public ::testing::Test {
 protected:
  void SetUp() override {
    EXPECT_EQ(feed(c_, pat(kPmtPid)), kPsi);
    EXPECT_EQ(feed(c_, pmt(kPmtPid, kVideoPid, 0x1b)), kPsi);
    EXPECT_EQ(c_.trackedPids(), 2u);
  }
  MediaFlags video(bool unitStart, const Bytes& payload) {
    return feed(c_, tsPacket(kVideoPid, cc_++, unitStart, payload));
  }
  MediaClassifier c_;
  uint8_t cc_ = 0;
};

TEST(MediaClassifier, NullAndUnknownPids) {
  MediaClassifier c;
  EXPECT_EQ(feed(c, tsPacket(kTsNullPid, 0, false, Bytes(184, 0xff))), kNull);
  // Before the PAT names it, a video PID is not followed.
  EXPECT_EQ(feed(c, tsPacket(kVideoPid, 0, true, pes(nal({0x65}, 100)))), 0);
  auto bad = tsPacket(kVideoPid, 0, true, pes(nal({0x65}, 100)));
  bad[0] = 0x46;
  EXPECT_EQ(feed(c, bad), 0);
  EXPECT_EQ(c.trackedPids(), 0u);
}

TEST_F(H264Classifier, KeyframeWithParameterSets) {
  const auto es = cat({nal({0x09}, 1, 0xf0), nal({0x67}, 20), nal({0x68}, 4), nal({0x65}, 100)});
  EXPECT_EQ(video(true, pes(es)), kAccessUnitStart | kParameterSet | kKeyframe);
  // The IDR slice continues: still keyframe bytes.
  EXPECT_EQ(video(false, Bytes(184, 0x55)), kKeyframe);
}

TEST_F(H264Classifier, NonReferenceSlices) {
  // A PES that starts right with a non-reference slice (nal_ref_idc 0, type 1).
  EXPECT_EQ(video(true, pes(nal({0x01}, 170))), kAccessUnitStart | kNonReference);
  EXPECT_EQ(video(false, Bytes(184, 0x33)), kNonReference);
  // Two non-reference slices in one packet.
  EXPECT_EQ(video(false, cat({Bytes(50, 0x33), nal({0x01}, 60)})), kNonReference);
  // A reference slice (nal_ref_idc 2) among them clears it.
  EXPECT_EQ(video(false, cat({Bytes(50, 0x33), nal({0x41}, 60)})), 0);
  EXPECT_EQ(video(false, Bytes(184, 0x33)), 0);
  // An AUD plus a non-reference slice: the AUD is not slice data.
  EXPECT_EQ(video(false, cat({nal({0x09}, 1, 0xf0), nal({0x01}, 60)})), kAccessUnitStart);
}

TEST_F(H264Classifier, SliceKindsOfThePacket) {
  // An AUD, SEI and the start of a non-reference slice: the packet flags say nothing of the
  // picture, the slice bits do.
  EXPECT_EQ(video(true, pes(cat({nal({0x09}, 1, 0xf0), nal({0x06}, 20), nal({0x01}, 60)}))),
            kAccessUnitStart);
  EXPECT_EQ(c_.lastSlices(), slice::kNonReference);
  EXPECT_TRUE(c_.lastWasVideo());
  EXPECT_EQ(video(false, cat({Bytes(50, 0x33), nal({0x41}, 60)})), 0);
  EXPECT_EQ(c_.lastSlices(), slice::kNonReference | slice::kReference);
  // A keyframe slice is not a "reference slice": it has a flag of its own.
  EXPECT_EQ(video(true, pes(cat({nal({0x09}, 1, 0xf0), nal({0x65}, 60)}))),
            kAccessUnitStart | kKeyframe);
  EXPECT_EQ(c_.lastSlices(), 0);
  ++cc_;  // lost: the bytes that follow belong to a NAL unit nobody knows
  EXPECT_EQ(video(false, Bytes(184, 0x33)), 0);
  EXPECT_EQ(c_.lastSlices(), slice::kUnknown);
  // PSI is not video.
  feed(c_, pat(kPmtPid));
  EXPECT_FALSE(c_.lastWasVideo());
  EXPECT_EQ(c_.lastSlices(), 0);
}

TEST_F(H264Classifier, StartCodeSplitAcrossPackets) {
  EXPECT_EQ(video(true, pes(nal({0x01}, 10))), kAccessUnitStart | kNonReference);
  // This packet ends in "00 00", the next starts with "01 65": the IDR header is in the
  // second packet, and the first holds non-reference slice bytes only.
  Bytes first = Bytes(182, 0x44);
  append(first, {0x00, 0x00});
  EXPECT_EQ(video(false, first), kNonReference);
  EXPECT_EQ(video(false, cat({Bytes{0x01, 0x65}, Bytes(182, 0x77)})), kKeyframe);
  // Split after the first zero, and with the NAL header as the next packet's first byte.
  Bytes second = Bytes(183, 0x77);
  second.push_back(0x00);
  EXPECT_EQ(video(false, second), kKeyframe);
  EXPECT_EQ(video(false, cat({Bytes{0x00, 0x01, 0x67}, Bytes(181, 0x12)})),
            kParameterSet);  // "00 01" ends the start code: an SPS, no IDR byte here
  Bytes third = Bytes(181, 0x12);
  append(third, {0x00, 0x00, 0x01});
  EXPECT_EQ(video(false, third), kParameterSet);
  EXPECT_EQ(video(false, cat({Bytes{0x68}, Bytes(183, 0x12)})), kParameterSet);
}

TEST_F(H264Classifier, AdaptationFieldAndPesHeaderAreNotNalBytes) {
  // 40 bytes of payload after 143 bytes of adaptation field; the PES header bytes
  // (including the PTS) are skipped, not scanned.
  const auto payload = pes(nal({0x01}, 22));
  ASSERT_LT(payload.size(), 184u);
  EXPECT_EQ(video(true, payload), kAccessUnitStart | kNonReference);
  // A PES header split across packets: the first holds only its first five bytes.
  EXPECT_EQ(video(true, Bytes{0x00, 0x00, 0x01, 0xe0, 0x00}), kAccessUnitStart);
  EXPECT_EQ(video(false, cat({Bytes{0x00, 0x80, 0x80, 0x05, 0x21, 0x00, 0x01, 0x00, 0x01},
                              nal({0x65}, 30)})),
            kKeyframe);
}

TEST_F(H264Classifier, FillerCarriesNothing) {
  EXPECT_EQ(video(false, nal({0x0c}, 180, 0xff)), kFiller);
  EXPECT_EQ(video(false, Bytes(184, 0xff)), kFiller);
  EXPECT_EQ(video(false, cat({Bytes(20, 0xff), nal({0x01}, 50)})), 0);
}

TEST_F(H264Classifier, ContinuityGapForgetsTheNalInProgress) {
  EXPECT_EQ(video(true, pes(nal({0x01}, 170))), kAccessUnitStart | kNonReference);
  ++cc_;  // one packet lost
  EXPECT_EQ(video(false, Bytes(184, 0x33)), 0);
  const auto idr = tsPacket(kVideoPid, cc_++, false, cat({Bytes(10, 0x33), nal({0x65}, 100)}));
  EXPECT_EQ(feed(c_, idr), kKeyframe);
  // A duplicate (same counter) gets the same answer and does not advance the scan.
  EXPECT_EQ(feed(c_, idr), kKeyframe);
  EXPECT_EQ(video(false, Bytes(184, 0x55)), kKeyframe);
}

TEST(MediaClassifier, H265NalTypes) {
  MediaClassifier c;
  feed(c, pat(kPmtPid));
  feed(c, pmt(kPmtPid, kVideoPid, 0x24));
  uint8_t cc = 0;
  auto video = [&](bool unitStart, const Bytes& payload) {
    return feed(c, tsPacket(kVideoPid, cc++, unitStart, payload));
  };
  // AUD 35, VPS 32, SPS 33, PPS 34, IDR_W_RADL 19; headers are two bytes.
  const auto es =
      cat({nal({35 << 1, 0x01}, 1, 0x50), nal({32 << 1, 0x01}, 20), nal({33 << 1, 0x01}, 20),
           nal({34 << 1, 0x01}, 5), nal({19 << 1, 0x01}, 60)});
  EXPECT_EQ(video(true, pes(es)), kAccessUnitStart | kParameterSet | kKeyframe);
  // CRA (21) is IRAP too.
  EXPECT_EQ(video(false, nal({21 << 1, 0x01}, 100)), kKeyframe);
  // TRAIL_N (0), RASL_N (8): non-reference; TRAIL_R (1) is a reference picture.
  EXPECT_EQ(video(false, nal({0x00, 0x01}, 100)), kNonReference);
  EXPECT_EQ(video(false, cat({Bytes(10, 0x21), nal({8 << 1, 0x01}, 100)})), kNonReference);
  EXPECT_EQ(video(false, nal({1 << 1, 0x01}, 100)), 0);
  // Filler data (38).
  EXPECT_EQ(video(false, nal({38 << 1, 0x01}, 100, 0xff)), kFiller);
}

TEST(MediaClassifier, PmtChangeReplacesStreams) {
  MediaClassifier c;
  feed(c, pat(kPmtPid));
  feed(c, pmt(kPmtPid, kVideoPid, 0x1b));
  EXPECT_EQ(c.trackedPids(), 2u);
  auto p = pmt(kPmtPid, kVideoPid + 1, 0x24);
  p[3] = static_cast<uint8_t>((p[3] & 0xf0) | 1);
  feed(c, p);
  EXPECT_EQ(c.trackedPids(), 2u);
  EXPECT_EQ(feed(c, tsPacket(kVideoPid, 0, true, pes(nal({0x65}, 10)))), 0);
  EXPECT_EQ(feed(c, tsPacket(kVideoPid + 1, 0, true, pes(nal({19 << 1, 1}, 10)))),
            kAccessUnitStart | kKeyframe);
  // A PAT without the program drops the PMT and its stream.
  auto empty = tsPacket(0, 1, true, psi(0x00, {}));
  EXPECT_EQ(feed(c, empty), kPsi);
  EXPECT_EQ(c.trackedPids(), 0u);
}

// Per access unit (from one kAccessUnitStart on the video PID to the next), what the
// classifier saw in a real stream.
struct StreamCounts {
  int packets = 0;
  int psiPackets = 0;
  int accessUnits = 0;
  int keyframeUnits = 0;
  int keyframeUnitsWithParameterSets = 0;
  int nonReferenceUnits = 0;
  int conflicting = 0;  // packets both keyframe and non-reference: must stay 0
};

StreamCounts classifyFile(const std::string& name) {
  StreamCounts n;
  const char* root = std::getenv("BRAID_SOURCE_ROOT");
  const auto bytes = test::readFile(std::string(root ? root : ".") + "/tests/data/media/" + name);
  MediaClassifier c;
  MediaFlags unit = 0;
  auto closeUnit = [&] {
    if (unit & kKeyframe) ++n.keyframeUnits;
    if ((unit & kKeyframe) && (unit & kParameterSet)) ++n.keyframeUnitsWithParameterSets;
    if (unit & kNonReference) ++n.nonReferenceUnits;
  };
  for (size_t off = 0; off + kTsPacketSize <= bytes.size(); off += kTsPacketSize) {
    const MediaFlags f = c.classify(TsPacketSpan(bytes.data() + off, kTsPacketSize));
    ++n.packets;
    if (f & kPsi) ++n.psiPackets;
    if ((f & kKeyframe) && (f & kNonReference)) ++n.conflicting;
    if (f & kAccessUnitStart) {
      if (n.accessUnits > 0) closeUnit();
      ++n.accessUnits;
      unit = 0;
    }
    unit |= f;
  }
  if (n.accessUnits > 0) closeUnit();
  return n;
}

TEST(MediaClassifier, RealH264Stream) {
  const auto n = classifyFile("testsrc2_h264.ts");
  ASSERT_GT(n.packets, 100) << "tests/data/media/testsrc2_h264.ts missing?";
  EXPECT_GE(n.psiPackets, 2);
  EXPECT_EQ(n.accessUnits, 50);
  EXPECT_EQ(n.keyframeUnits, 2);
  EXPECT_EQ(n.keyframeUnitsWithParameterSets, 2);
  // x264 with b-pyramid none: all 29 B frames have nal_ref_idc 0.
  EXPECT_EQ(n.nonReferenceUnits, 29);
  EXPECT_EQ(n.conflicting, 0);
}

TEST(MediaClassifier, RealH265Stream) {
  const auto n = classifyFile("testsrc2_h265.ts");
  ASSERT_GT(n.packets, 100) << "tests/data/media/testsrc2_h265.ts missing?";
  EXPECT_GE(n.psiPackets, 2);
  EXPECT_EQ(n.accessUnits, 50);
  EXPECT_EQ(n.keyframeUnits, 2);
  EXPECT_EQ(n.keyframeUnitsWithParameterSets, 2);
  // x265 (b-pyramid on by default): 14 TRAIL_N and 1 RASL_N pictures, as counted by
  // ffmpeg -bsf:v trace_headers; the keyframes are one IDR_N_LP and one CRA.
  EXPECT_EQ(n.nonReferenceUnits, 15);
  EXPECT_EQ(n.conflicting, 0);
}

}  // namespace
}  // namespace braid::edge
