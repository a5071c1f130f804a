#pragma once

// Bounds-checked big-endian writer and reader over caller-owned buffers. Neither
// allocates nor throws; both fail sticky (a flag), so a codec can write or read a whole
// message and check once at the end. Everything from the network goes through these.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace braid::proto {

// Largest value a QUIC variable-length integer can carry (RFC 9000 §16).
inline constexpr uint64_t kMaxVarint = (uint64_t{1} << 62) - 1;

// Bytes of the shortest varint encoding of `value`; 0 when it exceeds kMaxVarint.
constexpr size_t varintSize(uint64_t value) noexcept {
  if (value <= 63) return 1;
  if (value <= 16383) return 2;
  if (value <= 1073741823) return 4;
  if (value <= kMaxVarint) return 8;
  return 0;
}

// Writes big-endian integers and varints into a span. A write that does not fit (or an
// unencodable varint) sets a sticky failure flag and nothing more is written.
// Not thread-safe; one owner.
class ByteWriter {
 public:
  explicit ByteWriter(std::span<uint8_t> out) noexcept : out_(out) {}

  void putU8(uint8_t v) noexcept { putBe(v, 1); }
  void putU16(uint16_t v) noexcept { putBe(v, 2); }
  void putU32(uint32_t v) noexcept { putBe(v, 4); }
  // Writes the low 48 bits; fails if `v` does not fit in 48 bits.
  void putU48(uint64_t v) noexcept {
    if (v >> 48) {
      ok_ = false;
      return;
    }
    putBe(v, 6);
  }
  void putU64(uint64_t v) noexcept { putBe(v, 8); }

  // Shortest QUIC varint; fails if `v` > kMaxVarint.
  void putVarint(uint64_t v) noexcept {
    switch (varintSize(v)) {
      case 1:
        putBe(v, 1);
        return;
      case 2:
        putBe(v | (uint64_t{1} << 14), 2);
        return;
      case 4:
        putBe(v | (uint64_t{2} << 30), 4);
        return;
      case 8:
        putBe(v | (uint64_t{3} << 62), 8);
        return;
      default:
        ok_ = false;
        return;
    }
  }

  void putBytes(std::span<const uint8_t> bytes) noexcept {
    uint8_t* dst = reserve(bytes.size());
    if (dst != nullptr && !bytes.empty()) std::memcpy(dst, bytes.data(), bytes.size());
  }

  void putZeros(size_t n) noexcept {
    uint8_t* dst = reserve(n);
    if (dst != nullptr && n != 0) std::memset(dst, 0, n);
  }

  // Marks the output as failed (a codec found its input unencodable).
  void fail() noexcept { ok_ = false; }

  // True while every write so far fitted.
  bool ok() const noexcept { return ok_; }
  // Bytes written so far (writes after a failure are not counted).
  size_t size() const noexcept { return pos_; }
  size_t remaining() const noexcept { return out_.size() - pos_; }
  // The bytes written so far.
  std::span<uint8_t> written() const noexcept { return out_.first(pos_); }

 private:
  // Returns where to write `n` bytes, or nullptr (and fails) when they do not fit.
  uint8_t* reserve(size_t n) noexcept {
    if (!ok_ || n > out_.size() - pos_) {
      ok_ = false;
      return nullptr;
    }
    uint8_t* dst = out_.data() + pos_;
    pos_ += n;
    return dst;
  }

  void putBe(uint64_t v, size_t n) noexcept {
    uint8_t* dst = reserve(n);
    if (dst == nullptr) return;
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
  }

  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Reads big-endian integers and varints from a span. A read past the end sets a sticky
// error flag; from then on every getter returns 0 (or an empty span) and the position
// stays put. Not thread-safe; one owner.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) noexcept : in_(in) {}

  uint8_t getU8() noexcept { return static_cast<uint8_t>(getBe(1)); }
  uint16_t getU16() noexcept { return static_cast<uint16_t>(getBe(2)); }
  uint32_t getU32() noexcept { return static_cast<uint32_t>(getBe(4)); }
  uint64_t getU48() noexcept { return getBe(6); }
  uint64_t getU64() noexcept { return getBe(8); }

  // A QUIC varint in any of its four lengths.
  uint64_t getVarint() noexcept {
    if (!ok_ || pos_ >= in_.size()) {
      ok_ = false;
      return 0;
    }
    size_t n = size_t{1} << (in_[pos_] >> 6);
    uint64_t v = getBe(n);
    return v & (~uint64_t{0} >> (64 - (8 * n - 2)));
  }

  // The next `n` bytes (a view into the input), or an empty span on error.
  std::span<const uint8_t> getBytes(size_t n) noexcept {
    if (!take(n)) return {};
    return in_.subspan(pos_ - n, n);
  }

  // Copies the next `out.size()` bytes into `out` (zero-filled on error).
  void copyTo(std::span<uint8_t> out) noexcept {
    std::span<const uint8_t> src = getBytes(out.size());
    if (src.empty()) {
      if (!out.empty()) std::memset(out.data(), 0, out.size());
      return;
    }
    std::memcpy(out.data(), src.data(), src.size());
  }

  void skip(size_t n) noexcept { take(n); }
  // Marks the input as malformed (a codec found a bad value).
  void fail() noexcept { ok_ = false; }

  // True while every read so far was in bounds (and nobody called fail()).
  bool ok() const noexcept { return ok_; }
  size_t remaining() const noexcept { return in_.size() - pos_; }
  size_t position() const noexcept { return pos_; }
  // The unread bytes.
  std::span<const uint8_t> rest() const noexcept { return in_.subspan(pos_); }
  // True when every unread byte is zero (the padding rule of handshake and control
  // messages).
  bool restIsZero() const noexcept {
    for (size_t i = pos_; i < in_.size(); ++i) {
      if (in_[i] != 0) return false;
    }
    return true;
  }

 private:
  bool take(size_t n) noexcept {
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }

  uint64_t getBe(size_t n) noexcept {
    if (!take(n)) return 0;
    uint64_t v = 0;
    for (size_t i = pos_ - n; i < pos_; ++i) v = (v << 8) | in_[i];
    return v;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace braid::proto
