#pragma once

// Between the TS input and the packetizer: classifies every packet (MediaClassifier),
// deletes what carries nothing (null packets; filler-only video packets), and tells which
// packets make up a whole non-reference access unit, so that the sender can shed such an
// access unit whole under overload and nothing else. See docs/transport.md, "Media
// awareness".
//
// An access unit is what one PES packet of a video PID carries (every TS muxer we know
// writes one picture per PES; a PES with an access unit delimiter inside it is never
// called droppable). Whether a picture is a reference one is known only from its first
// slice header, which can come a few packets into it, after the AUD and SEI; and an access
// unit is droppable only if all of it is non-reference slice data and SEI. So the tagger
// holds packets, in order, while the access unit they belong to (or one before them) is
// undecided: a reference picture is released at its first slice, a non-reference one when
// its PES ends (the next PES starts), at most kWindowPackets packets later; a window that
// fills releases its oldest access unit as a reference one. A non-reference picture is thus
// held for its own duration in the mux, a few ms to one frame interval.
//
// Fixed-size state allocated at construction; push() and flush() allocate nothing.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/counter.h"
#include "edge/media/classifier.h"
#include "edge/media/ts_packet.h"

namespace braid::edge {

// One packet as the tagger hands it on. `bytes` is valid only during the callback.
struct TaggedPacket {
  const uint8_t* bytes = nullptr;  // 188 bytes (none for a deleted null packet)
  uint64_t mediaTimeUs = 0;
  uint8_t flags = 0;              // proto::flag bits: keyframe, codec config, PSI
  uint32_t accessUnit = 0;        // ordinal of the non-reference access unit it belongs to; 0: none
  bool lastOfAccessUnit = false;  // accessUnit != 0 and no later packet belongs to it
  bool deleted = false;           // a null or filler-only packet: sent as a run only
  bool filler = false;            // deleted: a filler-only video packet (`bytes` has it)
};

struct MediaTaggerCounters {
  dp::OwnedCounter nullsDeleted;          // TS null packets (PID 0x1FFF)
  dp::OwnedCounter fillerDeleted;         // video packets carrying only filler data
  dp::OwnedCounter accessUnits;           // video access units seen (PES starts)
  dp::OwnedCounter droppableAccessUnits;  // of those, tagged non-reference
  dp::OwnedCounter forcedReleases;        // access units released undecided (window full, flush)
};

// One per TS input, on the input thread.
class MediaTagger {
 public:
  static constexpr size_t kWindowPackets = 256;

  // `counters` must outlive the tagger (the owner's, read by stats and metrics).
  explicit MediaTagger(MediaTaggerCounters& counters);

  // Takes one packet of the input; calls out(const TaggedPacket&) for every packet that is
  // now decided, in input order. noexcept.
  template <typename Out>
  void push(TsPacketSpan packet, uint64_t mediaTimeUs, Out&& out) noexcept {
    if (heldPackets() == kWindowPackets) {
      forceOldest();
      release(out);
    }
    append(packet, mediaTimeUs);
    release(out);
  }

  // Releases everything held. `inputEnded`: the last PES is complete, so the access units
  // in progress are decided as if the next PES had started. Otherwise (the input went quiet)
  // one not yet known to be non-reference counts as a reference one. noexcept.
  template <typename Out>
  void flush(Out&& out, bool inputEnded) noexcept {
    if (inputEnded) {
      for (size_t i = 0; i < videoPidCount_; ++i) close(videoPids_[i].current);
    }
    forceAll();
    release(out);
  }

  size_t heldPackets() const noexcept { return static_cast<size_t>(tail_ - head_); }

 private:
  enum class Verdict : uint8_t { kUndecided, kCandidate, kReference, kDroppable };
  struct Entry {
    std::array<uint8_t, kTsPacketSize> bytes;
    uint64_t mediaTimeUs = 0;
    uint32_t accessUnit = 0;
    uint8_t flags = 0;
    bool deleted = false;
    bool filler = false;
  };
  struct AccessUnit {
    uint32_t ordinal = 0;
    Verdict verdict = Verdict::kReference;
    uint64_t lastIndex = 0;  // window index of its last packet so far
  };
  struct VideoPid {
    uint16_t pid = 0;
    uint32_t current = 0;  // ordinal of the access unit in progress, 0 before the first PES
  };
  static constexpr size_t kAccessUnitSlots = 2 * kWindowPackets;  // > AUs a window can hold
  static constexpr size_t kMaxVideoPids = 8;

  void append(TsPacketSpan packet, uint64_t mediaTimeUs) noexcept;
  AccessUnit* unit(uint32_t ordinal) noexcept;
  VideoPid* videoPid(uint16_t pid) noexcept;
  void close(uint32_t ordinal) noexcept;
  void decide(AccessUnit& au, Verdict verdict) noexcept;
  void forceOldest() noexcept;
  void forceAll() noexcept;
  bool frontReady() noexcept;
  TaggedPacket front() noexcept;
  void pop() noexcept { ++head_; }

  template <typename Out>
  void release(Out& out) noexcept {
    while (head_ != tail_ && frontReady()) {
      out(front());
      pop();
    }
  }

  MediaClassifier classifier_;
  std::unique_ptr<Entry[]> window_;
  uint64_t head_ = 0;  // window index of the oldest held packet
  uint64_t tail_ = 0;  // one past the newest
  std::array<AccessUnit, kAccessUnitSlots> units_{};
  uint32_t nextOrdinal_ = 0;
  std::array<VideoPid, kMaxVideoPids> videoPids_{};
  size_t videoPidCount_ = 0;
  MediaTaggerCounters& counters_;
};

}  // namespace braid::edge
