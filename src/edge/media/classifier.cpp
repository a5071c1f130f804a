#include "edge/media/classifier.h"

#include <algorithm>

namespace braid::edge {

namespace {

constexpr uint16_t kPatPid = 0x0000;
constexpr uint8_t kTableIdPat = 0x00;
constexpr uint8_t kTableIdPmt = 0x02;
constexpr uint8_t kStreamTypeH264 = 0x1b;
constexpr uint8_t kStreamTypeH265 = 0x24;
constexpr size_t kCrcSize = 4;
// Fixed PES header: start code prefix (3), stream_id, PES_packet_length (2).
constexpr uint16_t kPesFixedHeader = 6;
// With the optional header: two flag bytes and PES_header_data_length.
constexpr uint16_t kPesOptionalHeader = 9;

// H.264 nal_unit_type values (ITU-T H.264 table 7-1).
constexpr uint8_t kH264SliceNonIdr = 1;
constexpr uint8_t kH264SlicePartitionC = 4;
constexpr uint8_t kH264Idr = 5;
constexpr uint8_t kH264Sps = 7;
constexpr uint8_t kH264Pps = 8;
constexpr uint8_t kH264Aud = 9;
constexpr uint8_t kH264Filler = 12;
// H.265 nal_unit_type values (ITU-T H.265 table 7-1).
constexpr uint8_t kH265RsvVclN14 = 14;
constexpr uint8_t kH265IrapFirst = 16;
constexpr uint8_t kH265IrapLast = 23;
constexpr uint8_t kH265VclLast = 31;
constexpr uint8_t kH265Vps = 32;
constexpr uint8_t kH265Pps = 34;
constexpr uint8_t kH265Aud = 35;
constexpr uint8_t kH265Filler = 38;

// stream_id values whose PES packets have no optional header (ISO/IEC 13818-1 2.4.3.7):
// program_stream_map, padding, private_stream_2, ECM, EMM, directory, DSMCC, H.222.1 E.
bool pesWithoutOptionalHeader(uint8_t streamId) {
  switch (streamId) {
    case 0xbc:
    case 0xbe:
    case 0xbf:
    case 0xf0:
    case 0xf1:
    case 0xf2:
    case 0xf8:
    case 0xff:
      return true;
    default:
      return false;
  }
}

// The PSI section that starts in a payload_unit_start packet, if it fits the packet
// whole, with the CRC cut off; empty otherwise. `tableId` must match and the section
// must be current (current_next_indicator = 1).
std::span<const uint8_t> wholeSection(std::span<const uint8_t> payload, bool unitStart,
                                      uint8_t tableId) {
  if (!unitStart || payload.empty()) return {};
  const size_t start = 1 + size_t{payload[0]};  // pointer_field
  if (start + 3 > payload.size()) return {};
  auto s = payload.subspan(start);
  if (s[0] != tableId || !(s[1] & 0x80)) return {};
  const size_t total = 3 + ((size_t{s[1]} & 0x0f) << 8 | s[2]);
  // Long-form header (8 bytes after table_id .. last_section_number) plus the CRC.
  if (total > s.size() || total < 8 + kCrcSize) return {};
  if (!(s[5] & 0x01)) return {};  // not yet applicable
  return s.first(total - kCrcSize);
}

uint16_t pid13(uint8_t hi, uint8_t lo) {
  return static_cast<uint16_t>((hi & 0x1f) << 8 | lo);
}

}  // namespace

void MediaClassifier::reset() noexcept {
  pids_.fill(PidState{});
  lastSlices_ = 0;
  lastWasVideo_ = false;
}

size_t MediaClassifier::trackedPids() const noexcept {
  return static_cast<size_t>(std::count_if(
      pids_.begin(), pids_.end(), [](const PidState& s) { return s.kind != Kind::kFree; }));
}

MediaClassifier::PidState* MediaClassifier::find(uint16_t pid) noexcept {
  for (auto& s : pids_) {
    if (s.kind != Kind::kFree && s.pid == pid) return &s;
  }
  return nullptr;
}

MediaClassifier::PidState* MediaClassifier::add(uint16_t pid, Kind kind,
                                                uint16_t ownerPmt) noexcept {
  for (auto& s : pids_) {
    if (s.kind == Kind::kFree) {
      s = PidState{.pid = pid, .ownerPmt = ownerPmt, .kind = kind};
      return &s;
    }
  }
  return nullptr;  // table full: the PID is not followed
}

void MediaClassifier::parsePat(std::span<const uint8_t> payload, bool unitStart) noexcept {
  auto section = wholeSection(payload, unitStart, kTableIdPat);
  if (section.empty()) return;
  std::array<uint16_t, kMaxTrackedPids> pmts{};
  size_t count = 0;
  for (size_t i = 8; i + 4 <= section.size() && count < pmts.size(); i += 4) {
    const uint16_t program = static_cast<uint16_t>(section[i] << 8 | section[i + 1]);
    const uint16_t pid = pid13(section[i + 2], section[i + 3]);
    if (program == 0 || pid == kPatPid || pid == kTsNullPid) continue;  // network PID
    pmts[count++] = pid;
  }
  auto listed = [&](uint16_t pid) {
    return std::find(pmts.begin(), pmts.begin() + count, pid) != pmts.begin() + count;
  };
  // Drop PMTs the PAT no longer lists, with the streams they announced.
  for (auto& s : pids_) {
    if (s.kind == Kind::kPmt && !listed(s.pid)) {
      for (auto& es : pids_) {
        if (es.kind != Kind::kFree && es.kind != Kind::kPmt && es.ownerPmt == s.pid) {
          es = PidState{};
        }
      }
      s = PidState{};
    }
  }
  for (size_t i = 0; i < count; ++i) {
    PidState* existing = find(pmts[i]);
    if (existing == nullptr) {
      add(pmts[i], Kind::kPmt, 0);
    } else if (existing->kind != Kind::kPmt) {
      // The PID was a stream and is now a PMT: start it over.
      *existing = PidState{.pid = pmts[i], .kind = Kind::kPmt};
    }
  }
}

void MediaClassifier::parsePmt(PidState& pmt, std::span<const uint8_t> payload,
                               bool unitStart) noexcept {
  auto section = wholeSection(payload, unitStart, kTableIdPmt);
  if (section.size() < 12) return;
  const size_t programInfo = (size_t{section[10]} & 0x0f) << 8 | section[11];
  struct Stream {
    uint16_t pid;
    Kind kind;
  };
  std::array<Stream, kMaxTrackedPids> streams{};
  size_t count = 0;
  for (size_t i = 12 + programInfo; i + 5 <= section.size();) {
    const uint8_t type = section[i];
    const uint16_t pid = pid13(section[i + 1], section[i + 2]);
    const size_t infoLength = (size_t{section[i + 3]} & 0x0f) << 8 | section[i + 4];
    i += 5 + infoLength;
    if (pid == kPatPid || pid == kTsNullPid || pid == pmt.pid) continue;
    if (count < streams.size() && (type == kStreamTypeH264 || type == kStreamTypeH265)) {
      streams[count++] = {pid, type == kStreamTypeH264 ? Kind::kH264 : Kind::kH265};
    }
  }
  auto listedAs = [&](uint16_t pid, Kind kind) {
    for (size_t i = 0; i < count; ++i) {
      if (streams[i].pid == pid && streams[i].kind == kind) return true;
    }
    return false;
  };
  for (auto& s : pids_) {
    if ((s.kind == Kind::kH264 || s.kind == Kind::kH265) && s.ownerPmt == pmt.pid &&
        !listedAs(s.pid, s.kind)) {
      s = PidState{};
    }
  }
  for (size_t i = 0; i < count; ++i) {
    // A PID already followed (as this stream, or as a PMT or another program's stream)
    // keeps its state and owner.
    if (find(streams[i].pid) == nullptr) add(streams[i].pid, streams[i].kind, pmt.pid);
  }
}

MediaFlags MediaClassifier::scanVideo(PidState& s, std::span<const uint8_t> payload,
                                      bool unitStart) noexcept {
  MediaFlags flags = 0;
  uint8_t seen = 0;  // bit per NalClass of the NAL bytes in this packet
  auto bit = [](NalClass c) { return static_cast<uint8_t>(1u << static_cast<unsigned>(c)); };
  if (unitStart) {
    flags |= media::kAccessUnitStart;
    s.inPesHeader = true;
    s.pesPos = 0;
    s.pesHeaderSize = 0;
  }
  const bool h264 = s.kind == Kind::kH264;
  for (const uint8_t b : payload) {
    if (s.inPesHeader) {
      const uint16_t pos = s.pesPos++;
      if (pos < 3 && b != (pos == 2 ? 1 : 0)) {
        // Not a PES header after all: scan what follows as elementary stream bytes.
        s.inPesHeader = false;
        s.current = NalClass::kUnknown;
      } else {
        if (pos == 3 && pesWithoutOptionalHeader(b)) s.pesHeaderSize = kPesFixedHeader;
        if (pos == kPesOptionalHeader - 1 && s.pesHeaderSize == 0) {
          s.pesHeaderSize = static_cast<uint16_t>(kPesOptionalHeader + b);
        }
        if (s.pesHeaderSize != 0 && s.pesPos >= s.pesHeaderSize) s.inPesHeader = false;
        continue;
      }
    }
    if (s.expectHeader) {
      s.expectHeader = false;
      NalClass c = NalClass::kOther;
      if (b & 0x80) {
        // forbidden_zero_bit set: not a NAL unit we understand.
      } else if (h264) {
        const uint8_t type = b & 0x1f;
        const bool reference = (b >> 5) != 0;
        if (type == kH264Sps || type == kH264Pps) {
          c = NalClass::kParameterSet;
        } else if (type == kH264Idr) {
          c = NalClass::kKeyframe;
        } else if (type >= kH264SliceNonIdr && type <= kH264SlicePartitionC) {
          c = reference ? NalClass::kReferenceSlice : NalClass::kNonReferenceSlice;
        } else if (type == kH264Filler) {
          c = NalClass::kFiller;
        } else if (type == kH264Aud) {
          flags |= media::kAccessUnitStart;
        }
      } else {
        const uint8_t type = (b >> 1) & 0x3f;
        if (type >= kH265Vps && type <= kH265Pps) {
          c = NalClass::kParameterSet;
        } else if (type >= kH265IrapFirst && type <= kH265IrapLast) {
          c = NalClass::kKeyframe;
        } else if (type <= kH265RsvVclN14 && type % 2 == 0) {
          c = NalClass::kNonReferenceSlice;
        } else if (type <= kH265VclLast) {
          c = NalClass::kReferenceSlice;
        } else if (type == kH265Filler) {
          c = NalClass::kFiller;
        } else if (type == kH265Aud) {
          flags |= media::kAccessUnitStart;
        }
      }
      s.current = c;
      seen |= bit(c);
      s.zeros = b == 0 ? 1 : 0;
      continue;
    }
    if (b == 0) {
      if (s.zeros < 3) ++s.zeros;
    } else if (b == 1 && s.zeros >= 2) {
      s.expectHeader = true;
      s.zeros = 0;
    } else {
      s.zeros = 0;
      seen |= bit(s.current);
    }
  }
  if (seen & bit(NalClass::kParameterSet)) flags |= media::kParameterSet;
  if (seen & bit(NalClass::kKeyframe)) flags |= media::kKeyframe;
  if (seen == bit(NalClass::kNonReferenceSlice)) flags |= media::kNonReference;
  if (seen == bit(NalClass::kFiller)) flags |= media::kFiller;
  if (seen & bit(NalClass::kReferenceSlice)) lastSlices_ |= media::slice::kReference;
  if (seen & bit(NalClass::kNonReferenceSlice)) lastSlices_ |= media::slice::kNonReference;
  if (seen & bit(NalClass::kUnknown)) lastSlices_ |= media::slice::kUnknown;
  return flags;
}

MediaFlags MediaClassifier::classify(TsPacketSpan packet) noexcept {
  lastSlices_ = 0;
  lastWasVideo_ = false;
  if (packet[0] != kTsSyncByte) return 0;
  const uint16_t pid = tsPid(packet);
  if (pid == kTsNullPid) return media::kNull;
  PidState* s = pid == kPatPid ? nullptr : find(pid);
  if (pid != kPatPid && s == nullptr) return 0;
  const bool psi = s == nullptr || s->kind == Kind::kPmt;
  lastWasVideo_ = !psi;

  auto loseSync = [](PidState& st) {
    st.zeros = 0;
    st.expectHeader = false;
    st.inPesHeader = false;
    st.current = NalClass::kUnknown;
  };
  if (tsTransportError(packet)) {
    if (s != nullptr) loseSync(*s);
    return psi ? media::kPsi : 0;
  }
  const bool hasPayload = packet[3] & 0x10;
  const bool scrambled = packet[3] & 0xc0;
  const bool unitStart = tsPayloadUnitStart(packet);
  auto payload = tsPayload(packet);
  if (s != nullptr && hasPayload) {
    const uint8_t cc = tsContinuityCounter(packet);
    // A repeated packet (same counter) is allowed once and carries the same bytes.
    if (cc == s->lastCc) return s->lastFlags;
    if (s->lastCc != 0xff && cc != ((s->lastCc + 1) & 0x0f)) loseSync(*s);
    s->lastCc = cc;
  }
  MediaFlags flags = 0;
  if (psi) {
    flags = media::kPsi;
    if (!scrambled) {
      if (s == nullptr) {
        parsePat(payload, unitStart);
      } else {
        parsePmt(*s, payload, unitStart);
        s = find(pid);  // a PMT may announce itself away; its slot may be gone
      }
    }
  } else if (scrambled) {
    loseSync(*s);
    if (unitStart) flags = media::kAccessUnitStart;
  } else {
    flags = scanVideo(*s, payload, unitStart);
  }
  if (s != nullptr) s->lastFlags = flags;
  return flags;
}

}  // namespace braid::edge
