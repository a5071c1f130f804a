#pragma once

// Inner messages: the plaintext of sealed packets (docs/protocol.md §5). The packet type
// in the cleartext header says which one a plaintext is. Fixed-capacity storage, no
// allocation; parse() rejects anything off with malformed_body: truncation, counts over
// capacity, values out of range, trailing bytes other than zero padding.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

#include "dataplane/proto/wire/bytes.h"
#include "dataplane/proto/wire/drop_reason.h"

namespace braid::proto {

inline constexpr size_t kMaxSackRanges = 32;
inline constexpr size_t kMaxLinkReports = 16;
inline constexpr size_t kMaxNackRanges = 64;
inline constexpr size_t kMaxJoinNameSize = 32;

// `count` consecutive media sequences starting at `first` (count ≥ 1 on the wire).
struct SeqRange {
  uint64_t first = 0;
  uint64_t count = 0;
  friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

// Per-link receive report inside an ACK.
struct LinkReport {
  uint8_t linkId = 0;
  uint64_t highestLinkSeq = 0;
  uint64_t packetsReceived = 0;
  uint64_t packetsLost = 0;
  uint64_t bytesReceived = 0;
  uint32_t echoedSendTsUs = 0;  // send timestamp of the packet with highestLinkSeq
  uint64_t holdTimeUs = 0;      // time since that packet arrived
  uint64_t jitterUs = 0;
  // One-way delay of the packet with highestLinkSeq above the link's minimum of the last
  // ~10 s (the queue it met), and the largest such delay in the report's interval.
  uint64_t queueDelayUs = 0;
  uint64_t queueDelayMaxUs = 0;
  // The latest packet train (PROBE) the gateway measured on this link: its ID (0: none yet)
  // and its dispersion rate, (count − 1) × size ÷ (last arrival − first arrival).
  uint64_t probeTrainId = 0;
  uint64_t probeRateKbps = 0;
  friend bool operator==(const LinkReport&, const LinkReport&) = default;
};

// ACK: cumulative sequence, SACK ranges and per-link receive reports.
// SACK ranges are stored absolute; on the wire each is (gap, length) where gap counts the
// missing sequences since the end of the previous range (the first: since cumulativeSeq),
// so ranges must ascend with at least one missing sequence before each.
struct Ack {
  uint64_t cumulativeSeq = 0;  // every sequence below it was received or skipped
  uint8_t sackCount = 0;
  std::array<SeqRange, kMaxSackRanges> sacks{};
  uint8_t reportCount = 0;
  std::array<LinkReport, kMaxLinkReports> reports{};

  std::span<const SeqRange> sackRanges() const noexcept { return {sacks.data(), sackCount}; }
  std::span<const LinkReport> linkReports() const noexcept { return {reports.data(), reportCount}; }
  // Appends a range / report; false when full.
  bool addSack(SeqRange range) noexcept;
  bool addReport(const LinkReport& report) noexcept;

  // Appends the encoding to `w`; false (and `w` failed) if it does not fit or the
  // contents break the rules above. Any thread.
  bool encode(ByteWriter& w) const noexcept;
  // Encodes into `out`; returns the size, 0 on failure.
  size_t encode(std::span<uint8_t> out) const noexcept;
  static tl::expected<Ack, DropReason> parse(std::span<const uint8_t> in) noexcept;
  // Compares the used entries only.
  friend bool operator==(const Ack& a, const Ack& b) noexcept;
};

// NACK: ranges of missing media sequences (1..64 ranges, any order).
struct Nack {
  uint8_t rangeCount = 0;
  std::array<SeqRange, kMaxNackRanges> ranges{};

  std::span<const SeqRange> rangeList() const noexcept { return {ranges.data(), rangeCount}; }
  bool addRange(SeqRange range) noexcept;

  bool encode(ByteWriter& w) const noexcept;
  size_t encode(std::span<uint8_t> out) const noexcept;
  static tl::expected<Nack, DropReason> parse(std::span<const uint8_t> in) noexcept;
  friend bool operator==(const Nack& a, const Nack& b) noexcept;
};

// KEEPALIVE: lets the peer measure RTT on an idle link.
struct Keepalive {
  uint32_t echoedSendTsUs = 0;  // 0 if none
  uint64_t holdTimeUs = 0;

  bool encode(ByteWriter& w) const noexcept;
  size_t encode(std::span<uint8_t> out) const noexcept;
  static tl::expected<Keepalive, DropReason> parse(std::span<const uint8_t> in) noexcept;
  friend bool operator==(const Keepalive&, const Keepalive&) = default;
};

// PROBE: one packet of a probe train (index < count); the sender pads it to size.
struct Probe {
  uint64_t trainId = 0;
  uint64_t index = 0;
  uint64_t count = 1;

  bool encode(ByteWriter& w) const noexcept;
  size_t encode(std::span<uint8_t> out) const noexcept;
  static tl::expected<Probe, DropReason> parse(std::span<const uint8_t> in) noexcept;
  friend bool operator==(const Probe&, const Probe&) = default;
};

// JOIN: a new link announces its name (≤ 32 bytes of UTF-8, no control characters).
struct Join {
  uint8_t nameLength = 0;
  std::array<char, kMaxJoinNameSize> name{};

  std::string_view nameView() const noexcept { return {name.data(), nameLength}; }
  // Stores `value`; false (nothing changed) if it is too long or not a valid name.
  bool setName(std::string_view value) noexcept;

  bool encode(ByteWriter& w) const noexcept;
  size_t encode(std::span<uint8_t> out) const noexcept;
  static tl::expected<Join, DropReason> parse(std::span<const uint8_t> in) noexcept;
  friend bool operator==(const Join& a, const Join& b) noexcept;
};

enum class CloseReason : uint8_t { kNormal = 0, kShutdown = 1, kIdle = 2, kError = 3 };

// Nothing acknowledges a CLOSE: a side that ends a session while its peer is still there sends
// it this many times on every link, this far apart (docs/protocol.md §5). With 3 % random loss
// and loss bursts of a few packets one copy was lost often enough to fail a test; three, 5 ms
// apart, rarely all are.
inline constexpr int kCloseCopies = 3;
inline constexpr uint64_t kCloseSpacingNs = 5'000'000;

// CLOSE: the sender ends the session.
struct Close {
  CloseReason reason = CloseReason::kNormal;

  bool encode(ByteWriter& w) const noexcept;
  size_t encode(std::span<uint8_t> out) const noexcept;
  static tl::expected<Close, DropReason> parse(std::span<const uint8_t> in) noexcept;
  friend bool operator==(const Close&, const Close&) = default;
};

// Head of a REPAIR plaintext; the repair symbol (the rest) follows. `index` numbers the
// block's repair symbols 0..m−1; the block protects media sequences firstSeq..firstSeq+k−1.
struct RepairHeader {
  uint64_t blockId = 0;
  uint8_t k = 1;
  uint8_t m = 1;
  uint8_t index = 0;
  uint64_t firstSeq = 0;

  // Writes the header only; the caller appends the symbol.
  bool encode(ByteWriter& w) const noexcept;
  size_t encode(std::span<uint8_t> out) const noexcept;
  // Writes the whole plaintext, header and `symbol`; 0 if it does not fit in `out`.
  size_t encodeWithSymbol(std::span<const uint8_t> symbol, std::span<uint8_t> out) const noexcept;
  // Parses the header; `symbol`, if given, receives the (non-empty) rest. Any thread.
  static tl::expected<RepairHeader, DropReason> parse(
      std::span<const uint8_t> in, std::span<const uint8_t>* symbol = nullptr) noexcept;
  friend bool operator==(const RepairHeader&, const RepairHeader&) = default;
};

// Zero-fills buf[used, minSize) so a control plaintext reaches `minSize` bytes. Returns
// the padded size (max(used, minSize)), 0 if it does not fit in `buf`. Any thread.
size_t padControl(std::span<uint8_t> buf, size_t used, size_t minSize) noexcept;

}  // namespace braid::proto
