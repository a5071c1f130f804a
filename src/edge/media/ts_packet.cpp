#include "edge/media/ts_packet.h"

namespace braid::edge {

namespace {

constexpr uint8_t kAfPresent = 0x2;
constexpr uint8_t kPayloadPresent = 0x1;
constexpr uint8_t kFlagDiscontinuity = 0x80;
constexpr uint8_t kFlagRandomAccess = 0x40;
constexpr uint8_t kFlagPcr = 0x10;

bool whole(std::span<const uint8_t> p) {
  return p.size() >= kTsPacketSize;
}
uint8_t adaptationFieldControl(std::span<const uint8_t> p) {
  return (p[3] >> 4) & 0x3;
}

}  // namespace

bool tsHasSync(std::span<const uint8_t> p) noexcept {
  return whole(p) && p[0] == kTsSyncByte;
}

uint16_t tsPid(std::span<const uint8_t> p) noexcept {
  if (!whole(p)) return kTsNullPid;
  return static_cast<uint16_t>(((p[1] & 0x1f) << 8) | p[2]);
}

bool tsPayloadUnitStart(std::span<const uint8_t> p) noexcept {
  return whole(p) && (p[1] & 0x40);
}

bool tsTransportError(std::span<const uint8_t> p) noexcept {
  return whole(p) && (p[1] & 0x80);
}

uint8_t tsContinuityCounter(std::span<const uint8_t> p) noexcept {
  return whole(p) ? (p[3] & 0x0f) : 0;
}

std::span<const uint8_t> tsAdaptationField(std::span<const uint8_t> p) noexcept {
  if (!whole(p) || !(adaptationFieldControl(p) & kAfPresent)) return {};
  const size_t length = p[4];
  // With a payload the field may take at most 182 bytes, without one exactly 183.
  const size_t max = (adaptationFieldControl(p) & kPayloadPresent) ? 182 : 183;
  if (length == 0 || length > max) return {};
  return p.subspan(5, length);
}

bool tsDiscontinuity(std::span<const uint8_t> p) noexcept {
  auto af = tsAdaptationField(p);
  return !af.empty() && (af[0] & kFlagDiscontinuity);
}

bool tsRandomAccess(std::span<const uint8_t> p) noexcept {
  auto af = tsAdaptationField(p);
  return !af.empty() && (af[0] & kFlagRandomAccess);
}

std::optional<uint64_t> tsPcr(std::span<const uint8_t> p) noexcept {
  auto af = tsAdaptationField(p);
  if (af.size() < 7 || !(af[0] & kFlagPcr)) return std::nullopt;
  const uint64_t base = (uint64_t{af[1]} << 25) | (uint64_t{af[2]} << 17) | (uint64_t{af[3]} << 9) |
                        (uint64_t{af[4]} << 1) | (af[5] >> 7);
  const uint64_t extension = (uint64_t{af[5] & 0x01u} << 8) | af[6];
  // A 9-bit extension above 299 is out of range; keep the result below the wrap point.
  return base * 300 + (extension < 300 ? extension : 299);
}

std::span<const uint8_t> tsPayload(std::span<const uint8_t> p) noexcept {
  if (!whole(p) || !(adaptationFieldControl(p) & kPayloadPresent)) return {};
  size_t start = 4;
  if (adaptationFieldControl(p) & kAfPresent) {
    start = 5 + size_t{p[4]};
    if (start >= kTsPacketSize) return {};
  }
  return p.subspan(start, kTsPacketSize - start);
}

}  // namespace braid::edge
