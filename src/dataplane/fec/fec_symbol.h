#pragma once

// The FEC source symbol of one DATA packet (docs/protocol.md §5.1): the payload's length, its
// media timestamp relative to the block's (the REPAIR packet's media timestamp), the payload,
// then zeros up to the block's symbol size. A rebuilt symbol thus gives back the whole packet,
// timestamp included, so a recovered packet plays out at its own time.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace braid::dp {

inline constexpr size_t kSourceSymbolHeader = 6;  // u16 length, u32 timestamp delta

// Writes the header and padding of a symbol whose `length` payload bytes are already in place
// at out + kSourceSymbolHeader; symbolSize ≥ length + header.
inline void writeSourceSymbolFrame(uint8_t* out, size_t symbolSize, size_t length,
                                   uint64_t mediaTsUs, uint64_t blockTsUs) noexcept {
  // Wrapping: only the low 32 bits travel, and a source may be older than the block's first.
  const auto delta = static_cast<uint32_t>(mediaTsUs - blockTsUs);
  out[0] = static_cast<uint8_t>(length >> 8);
  out[1] = static_cast<uint8_t>(length);
  out[2] = static_cast<uint8_t>(delta >> 24);
  out[3] = static_cast<uint8_t>(delta >> 16);
  out[4] = static_cast<uint8_t>(delta >> 8);
  out[5] = static_cast<uint8_t>(delta);
  const size_t used = kSourceSymbolHeader + length;
  std::memset(out + used, 0, symbolSize - used);
}

// Writes the symbol of `payload` into out[0, symbolSize); symbolSize ≥ payload + header.
inline void writeSourceSymbol(uint8_t* out, size_t symbolSize, std::span<const uint8_t> payload,
                              uint64_t mediaTsUs, uint64_t blockTsUs) noexcept {
  if (!payload.empty()) std::memcpy(out + kSourceSymbolHeader, payload.data(), payload.size());
  writeSourceSymbolFrame(out, symbolSize, payload.size(), mediaTsUs, blockTsUs);
}

struct SourceSymbol {
  std::span<const uint8_t> payload;
  uint64_t mediaTsUs = 0;
};

// Reads a (rebuilt) source symbol; false if its length does not fit the symbol (a corrupt
// block: the repair did not belong to these sources).
inline bool readSourceSymbol(const uint8_t* in, size_t symbolSize, uint64_t blockTsUs,
                             SourceSymbol& out) noexcept {
  if (symbolSize < kSourceSymbolHeader) return false;
  const size_t length = (size_t{in[0]} << 8) | in[1];
  const uint32_t delta =
      (uint32_t{in[2]} << 24) | (uint32_t{in[3]} << 16) | (uint32_t{in[4]} << 8) | uint32_t{in[5]};
  if (length == 0 || length > symbolSize - kSourceSymbolHeader) return false;
  out.payload = std::span<const uint8_t>(in + kSourceSymbolHeader, length);
  out.mediaTsUs =
      blockTsUs + static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(delta)));
  return true;
}

}  // namespace braid::dp
