#include "dataplane/proto/wire/control_messages.h"

#include <algorithm>
#include <cstring>

namespace braid::proto {

namespace {

// One past the largest media sequence: a range may end there but not beyond.
constexpr uint64_t kSeqLimit = kMaxVarint + 1;

template <typename Message>
size_t encodeInto(const Message& message, std::span<uint8_t> out) noexcept {
  ByteWriter w(out);
  return message.encode(w) && w.ok() ? w.size() : 0;
}

// The common tail of every parser: in bounds, nothing but zero padding left.
template <typename Message>
tl::expected<Message, DropReason> finish(const ByteReader& r, const Message& message) noexcept {
  if (!r.ok() || !r.restIsZero()) return tl::unexpected(DropReason::kMalformedBody);
  return message;
}

tl::unexpected<DropReason> malformed() noexcept {
  return tl::unexpected(DropReason::kMalformedBody);
}

bool validRange(SeqRange range) noexcept {
  return range.count >= 1 && range.first < kSeqLimit && range.count <= kSeqLimit - range.first;
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) without
// control characters: a link name ends up in logs, metric labels and the dashboard.
bool validName(std::span<const uint8_t> s) noexcept {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = s[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n > s.size() - i - 1) return false;
    for (size_t j = 1; j <= n; ++j) {
      if ((s[i + j] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp < 0xa0) return false;  // C1 controls
    i += n + 1;
  }
  return true;
}

}  // namespace

bool Ack::addSack(SeqRange range) noexcept {
  if (sackCount >= kMaxSackRanges) return false;
  sacks[sackCount++] = range;
  return true;
}

bool Ack::addReport(const LinkReport& report) noexcept {
  if (reportCount >= kMaxLinkReports) return false;
  reports[reportCount++] = report;
  return true;
}

bool Ack::encode(ByteWriter& w) const noexcept {
  if (sackCount > kMaxSackRanges || reportCount > kMaxLinkReports || cumulativeSeq > kMaxVarint) {
    w.fail();
    return false;
  }
  w.putVarint(cumulativeSeq);
  w.putVarint(sackCount);
  uint64_t prevEnd = cumulativeSeq;
  for (const SeqRange& range : sackRanges()) {
    if (!validRange(range) || range.first <= prevEnd) {
      w.fail();
      return false;
    }
    w.putVarint(range.first - prevEnd);
    w.putVarint(range.count);
    prevEnd = range.first + range.count;
  }
  w.putVarint(reportCount);
  for (const LinkReport& report : linkReports()) {
    if (report.linkId > 15) {
      w.fail();
      return false;
    }
    w.putU8(report.linkId);
    w.putVarint(report.highestLinkSeq);
    w.putVarint(report.packetsReceived);
    w.putVarint(report.packetsLost);
    w.putVarint(report.bytesReceived);
    w.putU32(report.echoedSendTsUs);
    w.putVarint(report.holdTimeUs);
    w.putVarint(report.jitterUs);
    w.putVarint(report.queueDelayUs);
    w.putVarint(report.queueDelayMaxUs);
    w.putVarint(report.probeTrainId);
    w.putVarint(report.probeRateKbps);
  }
  return w.ok();
}

size_t Ack::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

tl::expected<Ack, DropReason> Ack::parse(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  Ack ack;
  ack.cumulativeSeq = r.getVarint();
  uint64_t sackCount = r.getVarint();
  if (!r.ok() || sackCount > kMaxSackRanges) return malformed();
  uint64_t prevEnd = ack.cumulativeSeq;
  for (uint64_t i = 0; i < sackCount; ++i) {
    uint64_t gap = r.getVarint();
    uint64_t length = r.getVarint();
    // Both are < 2^62 and prevEnd ≤ 2^62, so the sums cannot wrap.
    SeqRange range{.first = prevEnd + gap, .count = length};
    if (!r.ok() || gap == 0 || !validRange(range)) return malformed();
    ack.sacks[ack.sackCount++] = range;
    prevEnd = range.first + range.count;
  }
  uint64_t reportCount = r.getVarint();
  if (!r.ok() || reportCount > kMaxLinkReports) return malformed();
  for (uint64_t i = 0; i < reportCount; ++i) {
    LinkReport& report = ack.reports[ack.reportCount++];
    report.linkId = r.getU8();
    report.highestLinkSeq = r.getVarint();
    report.packetsReceived = r.getVarint();
    report.packetsLost = r.getVarint();
    report.bytesReceived = r.getVarint();
    report.echoedSendTsUs = r.getU32();
    report.holdTimeUs = r.getVarint();
    report.jitterUs = r.getVarint();
    report.queueDelayUs = r.getVarint();
    report.queueDelayMaxUs = r.getVarint();
    report.probeTrainId = r.getVarint();
    report.probeRateKbps = r.getVarint();
    if (!r.ok() || report.linkId > 15) return malformed();
  }
  return finish(r, ack);
}

bool operator==(const Ack& a, const Ack& b) noexcept {
  auto sa = a.sackRanges(), sb = b.sackRanges();
  auto ra = a.linkReports(), rb = b.linkReports();
  return a.cumulativeSeq == b.cumulativeSeq && sa.size() == sb.size() && ra.size() == rb.size() &&
         std::equal(sa.begin(), sa.end(), sb.begin()) &&
         std::equal(ra.begin(), ra.end(), rb.begin());
}

bool Nack::addRange(SeqRange range) noexcept {
  if (rangeCount >= kMaxNackRanges) return false;
  ranges[rangeCount++] = range;
  return true;
}

bool Nack::encode(ByteWriter& w) const noexcept {
  if (rangeCount == 0 || rangeCount > kMaxNackRanges) {
    w.fail();
    return false;
  }
  w.putVarint(rangeCount);
  for (const SeqRange& range : rangeList()) {
    if (!validRange(range)) {
      w.fail();
      return false;
    }
    w.putVarint(range.first);
    w.putVarint(range.count);
  }
  return w.ok();
}

size_t Nack::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

tl::expected<Nack, DropReason> Nack::parse(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  Nack nack;
  uint64_t count = r.getVarint();
  if (!r.ok() || count == 0 || count > kMaxNackRanges) return malformed();
  for (uint64_t i = 0; i < count; ++i) {
    SeqRange range;
    range.first = r.getVarint();
    range.count = r.getVarint();
    if (!r.ok() || !validRange(range)) return malformed();
    nack.ranges[nack.rangeCount++] = range;
  }
  return finish(r, nack);
}

bool operator==(const Nack& a, const Nack& b) noexcept {
  auto ra = a.rangeList(), rb = b.rangeList();
  return ra.size() == rb.size() && std::equal(ra.begin(), ra.end(), rb.begin());
}

bool Keepalive::encode(ByteWriter& w) const noexcept {
  w.putU32(echoedSendTsUs);
  w.putVarint(holdTimeUs);
  return w.ok();
}

size_t Keepalive::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

tl::expected<Keepalive, DropReason> Keepalive::parse(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  Keepalive k;
  k.echoedSendTsUs = r.getU32();
  k.holdTimeUs = r.getVarint();
  return finish(r, k);
}

bool Probe::encode(ByteWriter& w) const noexcept {
  if (count == 0 || index >= count) {
    w.fail();
    return false;
  }
  w.putVarint(trainId);
  w.putVarint(index);
  w.putVarint(count);
  return w.ok();
}

size_t Probe::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

tl::expected<Probe, DropReason> Probe::parse(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  Probe p;
  p.trainId = r.getVarint();
  p.index = r.getVarint();
  p.count = r.getVarint();
  if (r.ok() && (p.count == 0 || p.index >= p.count)) return malformed();
  return finish(r, p);
}

bool Join::setName(std::string_view value) noexcept {
  if (value.size() > kMaxJoinNameSize ||
      !validName({reinterpret_cast<const uint8_t*>(value.data()), value.size()})) {
    return false;
  }
  name.fill(0);
  if (!value.empty()) std::memcpy(name.data(), value.data(), value.size());
  nameLength = static_cast<uint8_t>(value.size());
  return true;
}

bool Join::encode(ByteWriter& w) const noexcept {
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(name.data()),
                                 std::min<size_t>(nameLength, kMaxJoinNameSize));
  if (nameLength > kMaxJoinNameSize || !validName(bytes)) {
    w.fail();
    return false;
  }
  w.putU8(nameLength);
  w.putBytes(bytes);
  return w.ok();
}

size_t Join::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

tl::expected<Join, DropReason> Join::parse(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  Join j;
  uint8_t length = r.getU8();
  if (!r.ok() || length > kMaxJoinNameSize) return malformed();
  std::span<const uint8_t> bytes = r.getBytes(length);
  if (!r.ok() || !validName(bytes)) return malformed();
  if (length != 0) std::memcpy(j.name.data(), bytes.data(), length);
  j.nameLength = length;
  return finish(r, j);
}

bool operator==(const Join& a, const Join& b) noexcept {
  return a.nameView() == b.nameView();
}

bool Close::encode(ByteWriter& w) const noexcept {
  if (reason > CloseReason::kError) {
    w.fail();
    return false;
  }
  w.putVarint(static_cast<uint8_t>(reason));
  return w.ok();
}

size_t Close::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

tl::expected<Close, DropReason> Close::parse(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  uint64_t reason = r.getVarint();
  if (!r.ok() || reason > static_cast<uint8_t>(CloseReason::kError)) return malformed();
  return finish(r, Close{.reason = static_cast<CloseReason>(reason)});
}

bool RepairHeader::encode(ByteWriter& w) const noexcept {
  if (k == 0 || m == 0 || index >= m || firstSeq > kSeqLimit - k) {
    w.fail();
    return false;
  }
  w.putVarint(blockId);
  w.putU8(k);
  w.putU8(m);
  w.putU8(index);
  w.putVarint(firstSeq);
  return w.ok();
}

size_t RepairHeader::encode(std::span<uint8_t> out) const noexcept {
  return encodeInto(*this, out);
}

size_t RepairHeader::encodeWithSymbol(std::span<const uint8_t> symbol,
                                      std::span<uint8_t> out) const noexcept {
  size_t used = encode(out);
  if (used == 0 || symbol.empty() || used + symbol.size() > out.size()) return 0;
  std::memcpy(out.data() + used, symbol.data(), symbol.size());
  return used + symbol.size();
}

tl::expected<RepairHeader, DropReason> RepairHeader::parse(
    std::span<const uint8_t> in, std::span<const uint8_t>* symbol) noexcept {
  ByteReader r(in);
  RepairHeader h;
  h.blockId = r.getVarint();
  h.k = r.getU8();
  h.m = r.getU8();
  h.index = r.getU8();
  h.firstSeq = r.getVarint();
  // The symbol is the rest and may hold anything, but it is never empty.
  if (!r.ok() || h.k == 0 || h.m == 0 || h.index >= h.m || h.firstSeq > kSeqLimit - h.k ||
      r.remaining() == 0) {
    return malformed();
  }
  if (symbol != nullptr) *symbol = r.rest();
  return h;
}

size_t padControl(std::span<uint8_t> buf, size_t used, size_t minSize) noexcept {
  if (used > buf.size()) return 0;
  if (used >= minSize) return used;
  if (minSize > buf.size()) return 0;
  std::memset(buf.data() + used, 0, minSize - used);
  return minSize;
}

}  // namespace braid::proto
