#pragma once

// Hex helpers for the crypto tests: vectors are typed in as the RFCs print them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace braid::proto::test {

// Lower-case hex, no separators.
inline std::string toHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// Parses hex, skipping whitespace; an odd trailing digit is dropped.
inline std::vector<uint8_t> fromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return out;
}

}  // namespace braid::proto::test
