#include "edge/media/media_tagger.h"

#include <algorithm>
#include <cstring>

#include "dataplane/proto/wire/packet.h"

namespace braid::edge {

namespace {

// A filler-only packet can go without a trace only if all of it lies inside a filler NAL
// unit's body: no PES start, no adaptation field (a PCR, a discontinuity), every payload
// byte 0xFF (no start code, NAL header or trailing bits that the next packet's bytes
// would otherwise join).
bool fillerDeletable(TsPacketSpan p) noexcept {
  if (tsPayloadUnitStart(p) || (p[3] & 0x30) != 0x10) return false;
  return std::all_of(p.begin() + 4, p.end(), [](uint8_t b) { return b == 0xff; });
}

uint8_t wireFlags(MediaFlags f) noexcept {
  uint8_t out = 0;
  if (f & media::kKeyframe) out |= proto::flag::kKeyframe;
  if (f & media::kParameterSet) out |= proto::flag::kCodecConfig;
  if (f & media::kPsi) out |= proto::flag::kPsi;
  return out;
}

}  // namespace

MediaTagger::MediaTagger(MediaTaggerCounters& counters)
    : window_(std::make_unique<Entry[]>(kWindowPackets)), counters_(counters) {}

MediaTagger::AccessUnit* MediaTagger::unit(uint32_t ordinal) noexcept {
  if (ordinal == 0) return nullptr;
  AccessUnit& au = units_[ordinal % kAccessUnitSlots];
  return au.ordinal == ordinal ? &au : nullptr;
}

MediaTagger::VideoPid* MediaTagger::videoPid(uint16_t pid) noexcept {
  for (size_t i = 0; i < videoPidCount_; ++i) {
    if (videoPids_[i].pid == pid) return &videoPids_[i];
  }
  if (videoPidCount_ == kMaxVideoPids) return nullptr;  // more are not followed
  videoPids_[videoPidCount_] = VideoPid{.pid = pid, .current = 0};
  return &videoPids_[videoPidCount_++];
}

void MediaTagger::decide(AccessUnit& au, Verdict verdict) noexcept {
  au.verdict = verdict;
  if (verdict == Verdict::kDroppable) counters_.droppableAccessUnits.add();
}

void MediaTagger::close(uint32_t ordinal) noexcept {
  AccessUnit* au = unit(ordinal);
  if (au == nullptr) return;
  // Slices seen and every one non-reference: droppable. Nothing seen yet: nothing known.
  if (au->verdict == Verdict::kCandidate) {
    decide(*au, Verdict::kDroppable);
  } else if (au->verdict == Verdict::kUndecided) {
    decide(*au, Verdict::kReference);
  }
}

void MediaTagger::append(TsPacketSpan packet, uint64_t mediaTimeUs) noexcept {
  const MediaFlags flags = classifier_.classify(packet);
  Entry& e = window_[tail_ % kWindowPackets];
  e.mediaTimeUs = mediaTimeUs;
  e.accessUnit = 0;
  e.flags = 0;
  e.deleted = false;
  e.filler = false;
  const uint16_t pid = tsPid(packet);
  if (flags & media::kNull) {
    counters_.nullsDeleted.add();
    e.deleted = true;
    ++tail_;
    return;
  }
  std::memcpy(e.bytes.data(), packet.data(), kTsPacketSize);
  if ((flags & media::kFiller) && fillerDeletable(packet)) {
    // The gateway rebuilds it from its header (docs/protocol.md §5.1).
    counters_.fillerDeleted.add();
    e.deleted = true;
    e.filler = true;
    ++tail_;
    return;
  }
  e.flags = wireFlags(flags);
  VideoPid* v = classifier_.lastWasVideo() ? videoPid(pid) : nullptr;
  if (v != nullptr) {
    if (tsPayloadUnitStart(packet)) {
      close(v->current);
      counters_.accessUnits.add();
      if (++nextOrdinal_ == 0) ++nextOrdinal_;  // 0 means "none"
      v->current = nextOrdinal_;
      units_[v->current % kAccessUnitSlots] =
          AccessUnit{.ordinal = v->current, .verdict = Verdict::kUndecided, .lastIndex = tail_};
    }
    AccessUnit* au = unit(v->current);
    if (au != nullptr) {
      const uint8_t slices = classifier_.lastSlices();
      if (au->verdict == Verdict::kUndecided || au->verdict == Verdict::kCandidate) {
        if (((flags & media::kAccessUnitStart) && !tsPayloadUnitStart(packet)) ||
            (flags & (media::kKeyframe | media::kParameterSet)) ||
            (slices & (media::slice::kReference | media::slice::kUnknown))) {
          // A reference picture, or a second picture in this PES (an AUD inside it).
          decide(*au, Verdict::kReference);
        } else if (slices & media::slice::kNonReference) {
          au->verdict = Verdict::kCandidate;
        }
      }
      au->lastIndex = tail_;
      e.accessUnit = v->current;
    }
  }
  ++tail_;
}

void MediaTagger::forceOldest() noexcept {
  AccessUnit* au = unit(window_[head_ % kWindowPackets].accessUnit);
  if (au != nullptr && au->verdict != Verdict::kReference && au->verdict != Verdict::kDroppable) {
    counters_.forcedReleases.add();
    decide(*au, Verdict::kReference);
  }
}

void MediaTagger::forceAll() noexcept {
  for (uint64_t i = head_; i != tail_; ++i) {
    AccessUnit* au = unit(window_[i % kWindowPackets].accessUnit);
    if (au != nullptr && au->verdict != Verdict::kReference && au->verdict != Verdict::kDroppable) {
      counters_.forcedReleases.add();
      decide(*au, Verdict::kReference);
    }
  }
  // The access unit in progress continues as a reference one: its later packets go at once.
  for (size_t i = 0; i < videoPidCount_; ++i) {
    AccessUnit* au = unit(videoPids_[i].current);
    if (au != nullptr && au->verdict != Verdict::kDroppable) au->verdict = Verdict::kReference;
  }
}

bool MediaTagger::frontReady() noexcept {
  const AccessUnit* au = unit(window_[head_ % kWindowPackets].accessUnit);
  return au == nullptr || au->verdict == Verdict::kReference || au->verdict == Verdict::kDroppable;
}

TaggedPacket MediaTagger::front() noexcept {
  const Entry& e = window_[head_ % kWindowPackets];
  const AccessUnit* au = unit(e.accessUnit);
  const bool droppable = au != nullptr && au->verdict == Verdict::kDroppable;
  return TaggedPacket{.bytes = e.bytes.data(),
                      .mediaTimeUs = e.mediaTimeUs,
                      .flags = e.flags,
                      .accessUnit = droppable ? e.accessUnit : 0,
                      .lastOfAccessUnit = droppable && au->lastIndex == head_,
                      .deleted = e.deleted,
                      .filler = e.filler};
}

}  // namespace braid::edge
