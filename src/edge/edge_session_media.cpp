// The media-aware parts of the edge's sender: shedding whole non-reference access units
// under overload, the continuity-counter renumbering that keeps the output a valid TS after
// a shed, and the second copy of critical packets. docs/transport.md, "Media awareness".

#include <algorithm>

#include "dataplane/proto/wire/data_body.h"
#include "edge/edge_session.h"
#include "edge/media/ts_packet.h"

namespace braid::edge {

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
// The overload check scans the queue: at most this often.
constexpr uint64_t kShedCheckIntervalNs = 2 * kNsPerMs;
// Access units shed per check at most (the next check continues).
constexpr int kMaxShedsPerCheck = 16;
// The share of the links' rate the queued media can count on.
constexpr double kMediaShare = 0.9;

}  // namespace

void EdgeSession::shedForDeadline(uint64_t nowNs) {
  if (nowNs < nextShedCheckNs_) return;
  nextShedCheckNs_ = nowNs + kShedCheckIntervalNs;
  const size_t queued = input_.readable(SIZE_MAX);
  // Only while the links are not keeping up (the head has waited): a rate estimate that is
  // still low (a link ramping up, delivering only what it was given) must not shed.
  if (queued == 0 || nowNs - input_.readSlot(0).entryNs <= kBackloggedAfterNs) return;
  // The links' current rate and the earliest a packet sent now arrives: the scheduler's own
  // estimates (delivery rate, or the pacing rate before a link has one).
  double rateBps = 0;
  uint64_t leadNs = UINT64_MAX;
  bool warming = false;
  for (Link& link : links_) {
    LinkController& c = link.controller;
    if (!carriesMedia(c.phase())) continue;
    // A warm link is still finding its rate: what it delivered is only what it was given, so
    // its pacing rate (ramping up ahead of delivery) stands for it. A live one is judged by
    // what it delivers.
    warming |= c.phase() == LinkPhase::kWarm;
    rateBps += c.phase() == LinkPhase::kWarm || c.deliveryBps() <= 0
                   ? std::max(c.deliveryBps(), c.paceBps())
                   : c.deliveryBps();
    leadNs = std::min(
        leadNs, c.expectedDeliveryNs(nowNs, kDataOverheadBytes + options_.wirePacketSize) - nowNs);
  }
  if (rateBps <= 0 || leadNs == UINT64_MAX) return;
  // Keepalives, ACK-driven retransmissions and the rate's own swings share the links, and so
  // do the FEC repairs (at the last block's ratio).
  rateBps *= kMediaShare;
  if (fec_) rateBps /= 1.0 + static_cast<double>(counters_.repairPermille.read()) / 1000;
  const bool duplicating = duplicatesCritical(nowNs);
  const uint64_t latencyNs = uint64_t{latencyMs_} * kNsPerMs;
  // What leaves must still land with room for one retransmission (as readyLinkBefore). While
  // a link warms, its pacing rate is only a lower bound of what it will carry: then the margin
  // is halved (with the full one, a session's first second sheds on a stream the links carry).
  const uint64_t fullMarginNs = std::max<uint64_t>(100 * kNsPerMs, latencyNs / 4);
  const uint64_t marginNs = warming ? fullMarginNs / 2 : fullMarginNs;
  for (int round = 0; round < kMaxShedsPerCheck; ++round) {
    // The first chunk that would leave too late at this rate, and the oldest access unit
    // before it that may be shed whole (none of it sent, not shed yet).
    double bytesAhead = 0;
    size_t candidate = SIZE_MAX;
    bool atRisk = false;
    for (size_t i = 0; i < queued; ++i) {
      const MediaChunk& chunk = input_.readSlot(i);
      if (chunk.shed || isShedUnit(chunk.accessUnit)) continue;
      if (candidate == SIZE_MAX && chunk.accessUnit > lastSentAccessUnit_) candidate = i;
      // A critical chunk leaves twice while its copy goes on the second link.
      const bool critical =
          duplicating &&
          (chunk.flags & (proto::flag::kKeyframe | proto::flag::kCodecConfig | proto::flag::kPsi));
      bytesAhead += static_cast<double>(chunk.size + kDataOverheadBytes) * (critical ? 2 : 1);
      auto leavesNs = static_cast<uint64_t>(bytesAhead * 8 * 1e9 / rateBps);
      if (nowNs + leadNs + leavesNs + marginNs > chunk.entryNs + latencyNs) {
        atRisk = true;
        break;
      }
    }
    // Nothing at risk, or nothing droppable ahead of it: whatever cannot leave in time is
    // the stale drop's (sendMedia), which takes it only once its deadline has passed.
    if (!atRisk || candidate == SIZE_MAX) return;
    const uint32_t ordinal = input_.readSlot(candidate).accessUnit;
    if (!shedAccessUnit(ordinal, candidate)) {
      // Its last chunk is still to come from the input: it is shed when it arrives.
      shedUnits_[shedUnitsNext_++ % shedUnits_.size()] = ordinal;
    }
    counters_.shedAccessUnits.add();
    lastShedNs_ = nowNs;
  }
}

bool EdgeSession::isShedUnit(uint32_t ordinal) const {
  return ordinal != 0 &&
         std::find(shedUnits_.begin(), shedUnits_.end(), ordinal) != shedUnits_.end();
}

bool EdgeSession::shedAccessUnit(uint32_t ordinal, size_t from) {
  const size_t queued = input_.readable(SIZE_MAX);
  bool last = false;
  for (size_t i = from; i < queued; ++i) {
    MediaChunk& chunk = input_.readSlot(i);
    if (chunk.accessUnit != ordinal || chunk.shed) continue;
    chunk.shed = true;
    counters_.shedBytes.add(chunk.size - chunk.tsOffset);
    if (!(chunk.flags & proto::flag::kFragment)) {
      last = true;
      break;
    }
  }
  return last;
}

bool EdgeSession::takeShed(const MediaChunk& chunk) {
  if (chunk.accessUnit == 0) return false;
  if (!chunk.shed) {
    // A chunk of a shed access unit that was not yet queued when it was shed.
    if (!isShedUnit(chunk.accessUnit)) return false;
    counters_.shedBytes.add(chunk.size - chunk.tsOffset);
  }
  // Its place in the stream is here: later packets of its PIDs count one fewer per packet
  // that carried a payload (packets without one do not advance the counter), the deleted
  // filler packets of its run list included.
  auto shift = [this](uint16_t pid, uint32_t n) {
    ccShift_[pid] = static_cast<uint8_t>((ccShift_[pid] + n) & 0x0f);
    anyCcShift_ = true;
  };
  if (chunk.tsOffset > 1) {
    if (auto body =
            proto::DataBody::parse(std::span<const uint8_t>(chunk.bytes.data(), chunk.size))) {
      for (const proto::NullRun& run : body->runList()) {
        if (run.filler)
          shift(static_cast<uint16_t>((run.header[0] & 0x1f) << 8 | run.header[1]), run.count);
      }
    }
  }
  for (size_t off = chunk.tsOffset; off + kTsPacketSize <= chunk.size; off += kTsPacketSize) {
    const uint8_t* p = chunk.bytes.data() + off;
    if (!(p[3] & 0x10)) continue;
    shift(static_cast<uint16_t>((p[1] & 0x1f) << 8 | p[2]), 1);
  }
  return true;
}

void EdgeSession::rewriteContinuity(MediaChunk& chunk) {
  auto renumber = [this](uint8_t& b1, uint8_t b2, uint8_t& flagsAndCc) {
    const uint16_t pid = static_cast<uint16_t>((b1 & 0x1f) << 8 | b2);
    if (ccShift_[pid] == 0 || pid == kTsNullPid) return;
    flagsAndCc = static_cast<uint8_t>((flagsAndCc & 0xf0) | ((flagsAndCc - ccShift_[pid]) & 0x0f));
  };
  // Deleted filler packets come back from their header in the run list: renumbered too.
  if (chunk.tsOffset > 1) {
    proto::forEachFillerHeader(std::span<uint8_t>(chunk.bytes.data(), chunk.tsOffset),
                               [&](uint8_t* h) { renumber(h[0], h[1], h[2]); });
  }
  for (size_t off = chunk.tsOffset; off + kTsPacketSize <= chunk.size; off += kTsPacketSize) {
    uint8_t* p = chunk.bytes.data() + off;
    renumber(p[1], p[2], p[3]);
  }
}

bool EdgeSession::duplicatesCritical(uint64_t nowNs) const {
  // On clean links FEC at its floor already covers a stray loss, and a second copy of every
  // keyframe packet would cost a tenth of the stream (a clean bond's overhead must stay under
  // 1.15): copies go out only while the bond loses packets.
  return fecPolicy_.lossRate(nowNs) >= kDuplicateAboveLoss;
}

bool EdgeSession::sendCriticalCopy(const Link& first, const proto::PacketPrefix& prefix,
                                   const proto::MediaFields& media, std::span<const uint8_t> body,
                                   uint64_t nowNs) {
  // The second best link by expected delivery; it borrows from its pacer like a
  // retransmission (the copy must not wait behind the media it protects).
  Link* second = bestLink(nowNs, kDataOverheadBytes + body.size(), first.id);
  if (second == nullptr || second == &first) return false;
  std::array<uint8_t, dp::kDatagramCapacity> packet{};
  proto::PacketPrefix copy = prefix;
  copy.linkId = second->id;
  size_t size = channel_->seal(copy, sendTimestampUs(nowNs), &media, body, packet);
  if (size == 0 || !sendDatagram(*second, std::span<const uint8_t>(packet.data(), size), nowNs)) {
    return false;
  }
  counters_.duplicates.add();
  counters_.duplicateBytes.add(size);
  return true;
}

}  // namespace braid::edge
