// The media classifier on arbitrary bytes, cut into 188-byte packets: PAT/PMT parsing,
// the bounded PID table, PES header and start code scanning across packet boundaries.

#include <cstddef>
#include <cstdint>

#include "edge/media/classifier.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::edge;
  MediaClassifier classifier;
  for (size_t off = 0; off + kTsPacketSize <= size; off += kTsPacketSize) {
    const TsPacketSpan packet(data + off, kTsPacketSize);
    const MediaFlags flags = classifier.classify(packet);
    FUZZ_CHECK((flags & ~media::kAllFlags) == 0);
    FUZZ_CHECK(classifier.trackedPids() <= MediaClassifier::kMaxTrackedPids);
    // A null packet is only that; a packet without sync byte is nothing.
    if (tsPid(packet) == kTsNullPid || packet[0] != kTsSyncByte) {
      FUZZ_CHECK(flags == (packet[0] == kTsSyncByte ? media::kNull : 0));
    }
    // "Every NAL byte is non-reference slice data" and "every NAL byte is filler" exclude
    // each other and exclude parameter sets and keyframes.
    if (flags & (media::kNonReference | media::kFiller)) {
      FUZZ_CHECK(!(flags & (media::kParameterSet | media::kKeyframe)));
      FUZZ_CHECK((flags & media::kNonReference) == 0 || (flags & media::kFiller) == 0);
    }
    // PSI and video flags never mix.
    if (flags & media::kPsi) FUZZ_CHECK(flags == media::kPsi);
  }
  // The same bytes again after reset() give the same answers (no state survives reset).
  if (size >= kTsPacketSize) {
    MediaClassifier fresh;
    classifier.reset();
    FUZZ_CHECK(classifier.trackedPids() == 0);
    for (size_t off = 0; off + kTsPacketSize <= size; off += kTsPacketSize) {
      const TsPacketSpan packet(data + off, kTsPacketSize);
      FUZZ_CHECK(classifier.classify(packet) == fresh.classify(packet));
    }
  }
  return 0;
}
