#pragma once

// A streaming media classifier for MPEG-TS: follows PAT -> PMT -> H.264/H.265 elementary
// streams, scans their PES payload for Annex-B start codes and NAL headers, and tags each
// 188-byte TS packet with what it carries. Its flags let the sender protect the packets a
// decoder cannot do without (PSI, parameter sets, keyframes) and shed the ones it can
// (null packets, filler data, non-reference pictures).
//
// Fixed-size state: at most kMaxTrackedPids PIDs (PMTs plus video elementary streams) are
// followed; nothing is allocated after construction.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "edge/media/ts_packet.h"

namespace braid::edge {

using MediaFlags = uint8_t;

namespace media {

// The packet is a null packet (PID 0x1FFF): stuffing that carries nothing.
inline constexpr MediaFlags kNull = 1u << 0;
// The packet is on PID 0 (PAT) or on a PMT PID announced by the PAT.
inline constexpr MediaFlags kPsi = 1u << 1;
// The packet carries at least one byte (header or body) of a parameter set NAL unit:
// H.264 SPS (7) or PPS (8); H.265 VPS (32), SPS (33) or PPS (34).
inline constexpr MediaFlags kParameterSet = 1u << 2;
// The packet carries at least one byte of a keyframe slice NAL unit: H.264 IDR (5);
// H.265 IRAP (types 16-23: BLA, IDR, CRA and the reserved IRAP types).
inline constexpr MediaFlags kKeyframe = 1u << 3;
// Every NAL byte the packet carries belongs to a non-reference slice: H.264 slice NAL
// units (types 1-4) with nal_ref_idc == 0; H.265 sub-layer non-reference VCL NAL units
// (types 0, 2, 4, 6, 8, 10, 12, 14). Any other NAL byte in the packet (an AUD, an SEI,
// a reference slice, a continuation of an unknown NAL) clears it, so dropping a packet
// with this flag loses nothing but non-reference picture data.
inline constexpr MediaFlags kNonReference = 1u << 4;
// Every NAL byte the packet carries belongs to filler data (H.264 type 12, H.265 type
// 38): like a null packet it carries nothing a decoder needs.
inline constexpr MediaFlags kFiller = 1u << 5;
// A new access unit begins in this packet: a PES packet starts on a video PID
// (payload_unit_start_indicator) or an access unit delimiter (H.264 9, H.265 35) begins.
inline constexpr MediaFlags kAccessUnitStart = 1u << 6;

inline constexpr MediaFlags kAllFlags =
    kNull | kPsi | kParameterSet | kKeyframe | kNonReference | kFiller | kAccessUnitStart;

// Slice kinds of the last classified packet (MediaClassifier::lastSlices()): what an
// access-unit tagger needs to tell a reference picture from a droppable one when the packet
// flags above do not say (a packet holding an AUD and the start of a slice has neither
// kNonReference nor kKeyframe).
namespace slice {
// At least one byte of a reference slice NAL unit that is not a keyframe slice.
inline constexpr uint8_t kReference = 1u << 0;
// At least one byte of a non-reference slice NAL unit.
inline constexpr uint8_t kNonReference = 1u << 1;
// At least one byte of a NAL unit the scan could not identify (after a continuity gap).
inline constexpr uint8_t kUnknown = 1u << 2;
}  // namespace slice

}  // namespace media

// One instance per TS stream. Not thread-safe: feed it from one thread.
//
// What counts as a NAL byte: the NAL header and every non-zero byte after it, except the
// 0x01 that ends a start code. Zero bytes are left out because they may be the prefix of
// the next start code or trailing zeros, so a packet ending in "00 00" of a start code
// whose 01 and NAL header fall in the next packet is judged by its other bytes only.
// A NAL header is attributed to the packet holding its first byte, also when the start
// code before it was split across packets.
//
// Limits (by design, to stay allocation-free): PAT and PMT sections must fit in the packet
// that starts them (the pointer field is honoured); longer sections are ignored. Scrambled
// payloads, packets with transport_error_indicator, and the bytes after a continuity
// counter gap are not scanned (the NAL in progress becomes unknown). Audio and other
// non-video elementary streams are not followed and get no flags.
class MediaClassifier {
 public:
  static constexpr size_t kMaxTrackedPids = 16;

  MediaClassifier() noexcept { reset(); }

  // Classifies one TS packet and advances the per-PID state. Returns a union of the
  // media:: flags (0 for anything unrecognised, including a packet without sync byte).
  // Allocation-free, noexcept.
  MediaFlags classify(TsPacketSpan packet) noexcept;

  // The media::slice bits of the packet classify() saw last (0 for a packet that is not on
  // a followed video PID). noexcept.
  uint8_t lastSlices() const noexcept { return lastSlices_; }
  // Whether the packet classify() saw last was on a followed H.264/H.265 PID. noexcept.
  bool lastWasVideo() const noexcept { return lastWasVideo_; }

  // Forgets every PID and all scan state (e.g. after the source restarts).
  void reset() noexcept;

  // How many PIDs (PMTs and video streams) are followed right now; for tests and metrics.
  size_t trackedPids() const noexcept;

 private:
  enum class Kind : uint8_t { kFree, kPmt, kH264, kH265 };
  // What the NAL in progress is; a bit in PidState::seen per value.
  enum class NalClass : uint8_t {
    kUnknown,
    kParameterSet,
    kKeyframe,
    kReferenceSlice,
    kNonReferenceSlice,
    kFiller,
    kOther,
  };

  struct PidState {
    uint16_t pid = 0;
    uint16_t ownerPmt = 0;  // for streams: the PMT PID that announced them
    Kind kind = Kind::kFree;
    uint8_t lastCc = 0xff;  // 0xff: no packet seen yet
    MediaFlags lastFlags = 0;
    // PES header parsing: bytes seen so far and its total size (0 while unknown).
    uint16_t pesPos = 0;
    uint16_t pesHeaderSize = 0;
    bool inPesHeader = false;
    // Start code scanning: zero bytes in a row (saturating at 3) and whether the next
    // byte is a NAL header.
    uint8_t zeros = 0;
    bool expectHeader = false;
    NalClass current = NalClass::kUnknown;
  };

  PidState* find(uint16_t pid) noexcept;
  PidState* add(uint16_t pid, Kind kind, uint16_t ownerPmt) noexcept;
  void parsePat(std::span<const uint8_t> payload, bool unitStart) noexcept;
  void parsePmt(PidState& pmt, std::span<const uint8_t> payload, bool unitStart) noexcept;
  MediaFlags scanVideo(PidState& s, std::span<const uint8_t> payload, bool unitStart) noexcept;

  std::array<PidState, kMaxTrackedPids> pids_{};
  uint8_t lastSlices_ = 0;
  bool lastWasVideo_ = false;
};

}  // namespace braid::edge
