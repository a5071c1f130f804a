#pragma once

// Accessors for 188-byte MPEG-TS packets (ISO/IEC 13818-1, 2.4.3). Each checks its bounds:
// a short span or a malformed adaptation field gives the "absent" answer, never a read
// past the packet. All are noexcept, allocation-free and safe on any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace braid::edge {

inline constexpr size_t kTsPacketSize = 188;
inline constexpr uint8_t kTsSyncByte = 0x47;
inline constexpr uint16_t kTsNullPid = 0x1fff;
inline constexpr uint64_t kPcrHz = 27'000'000;
// PCR = 33-bit base x 300 + 9-bit extension: it wraps at 2^33 x 300 ticks (~26.5 h).
inline constexpr uint64_t kPcrWrap = (uint64_t{1} << 33) * 300;

using TsPacketSpan = std::span<const uint8_t, kTsPacketSize>;

// True when `p` holds at least one packet and starts with the sync byte.
bool tsHasSync(std::span<const uint8_t> p) noexcept;
// The 13-bit PID; kTsNullPid for a span too short to be a packet.
uint16_t tsPid(std::span<const uint8_t> p) noexcept;
// payload_unit_start_indicator: a PES packet or PSI section starts here.
bool tsPayloadUnitStart(std::span<const uint8_t> p) noexcept;
// transport_error_indicator: the demodulator marked this packet as corrupt.
bool tsTransportError(std::span<const uint8_t> p) noexcept;
// The 4-bit continuity counter.
uint8_t tsContinuityCounter(std::span<const uint8_t> p) noexcept;
// The adaptation field after its length byte (flags first); empty when there is none or
// its length does not fit the packet.
std::span<const uint8_t> tsAdaptationField(std::span<const uint8_t> p) noexcept;
// discontinuity_indicator of the adaptation field.
bool tsDiscontinuity(std::span<const uint8_t> p) noexcept;
// random_access_indicator of the adaptation field.
bool tsRandomAccess(std::span<const uint8_t> p) noexcept;
// The PCR in 27 MHz ticks (base x 300 + extension), if the packet carries one.
std::optional<uint64_t> tsPcr(std::span<const uint8_t> p) noexcept;
// The payload after header and adaptation field; empty when there is none.
std::span<const uint8_t> tsPayload(std::span<const uint8_t> p) noexcept;

}  // namespace braid::edge
