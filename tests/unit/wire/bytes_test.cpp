#include "dataplane/proto/wire/bytes.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "hex.h"

namespace braid::proto {
namespace {

using test::fromHex;
using test::toHex;

std::string varintHex(uint64_t v) {
  std::array<uint8_t, 8> buf{};
  ByteWriter w(buf);
  w.putVarint(v);
  EXPECT_TRUE(w.ok());
  return toHex(w.written());
}

uint64_t readVarint(std::string_view hex, bool* ok = nullptr, size_t* used = nullptr) {
  std::vector<uint8_t> bytes = fromHex(hex);
  ByteReader r(bytes);
  uint64_t v = r.getVarint();
  if (ok != nullptr) *ok = r.ok();
  if (used != nullptr) *used = r.position();
  return v;
}

TEST(Varint, SizesAtBoundaries) {
  EXPECT_EQ(varintSize(0), 1u);
  EXPECT_EQ(varintSize(63), 1u);
  EXPECT_EQ(varintSize(64), 2u);
  EXPECT_EQ(varintSize(16383), 2u);
  EXPECT_EQ(varintSize(16384), 4u);
  EXPECT_EQ(varintSize((1u << 30) - 1), 4u);
  EXPECT_EQ(varintSize(1u << 30), 8u);
  EXPECT_EQ(varintSize(kMaxVarint), 8u);
  EXPECT_EQ(varintSize(kMaxVarint + 1), 0u);
  EXPECT_EQ(varintSize(~uint64_t{0}), 0u);
}

TEST(Varint, ShortestEncodingAtBoundaries) {
  EXPECT_EQ(varintHex(0), "00");
  EXPECT_EQ(varintHex(63), "3f");
  EXPECT_EQ(varintHex(64), "4040");
  EXPECT_EQ(varintHex(16383), "7fff");
  EXPECT_EQ(varintHex(16384), "80004000");
  EXPECT_EQ(varintHex((1u << 30) - 1), "bfffffff");
  EXPECT_EQ(varintHex(1u << 30), "c000000040000000");
  EXPECT_EQ(varintHex(kMaxVarint), "ffffffffffffffff");
}

TEST(Varint, Rfc9000Examples) {
  // RFC 9000 appendix A.1.
  EXPECT_EQ(readVarint("c2197c5eff14e88c"), 151288809941952652u);
  EXPECT_EQ(readVarint("9d7f3e7d"), 494878333u);
  EXPECT_EQ(readVarint("7bbd"), 15293u);
  EXPECT_EQ(readVarint("25"), 37u);
  EXPECT_EQ(readVarint("4025"), 37u);  // non-shortest forms are accepted
  EXPECT_EQ(varintHex(151288809941952652u), "c2197c5eff14e88c");
  EXPECT_EQ(varintHex(494878333u), "9d7f3e7d");
  EXPECT_EQ(varintHex(15293u), "7bbd");
}

TEST(Varint, AcceptsEveryLongFormOfSmallValues) {
  size_t used = 0;
  EXPECT_EQ(readVarint("4001", nullptr, &used), 1u);
  EXPECT_EQ(used, 2u);
  EXPECT_EQ(readVarint("80000001", nullptr, &used), 1u);
  EXPECT_EQ(used, 4u);
  EXPECT_EQ(readVarint("c000000000000001", nullptr, &used), 1u);
  EXPECT_EQ(used, 8u);
}

TEST(Varint, RoundTripsAroundEveryBoundary) {
  for (uint64_t base : {uint64_t{63}, uint64_t{16383}, uint64_t{(1u << 30) - 1}, kMaxVarint - 1}) {
    for (uint64_t v = base - 1; v <= base + 1 && v <= kMaxVarint; ++v) {
      std::array<uint8_t, 8> buf{};
      ByteWriter w(buf);
      w.putVarint(v);
      ASSERT_TRUE(w.ok());
      ASSERT_EQ(w.size(), varintSize(v));
      ByteReader r(w.written());
      EXPECT_EQ(r.getVarint(), v);
      EXPECT_TRUE(r.ok());
      EXPECT_EQ(r.remaining(), 0u);
    }
  }
}

TEST(Varint, WriterRejectsValuesAboveTheMaximum) {
  std::array<uint8_t, 16> buf{};
  ByteWriter w(buf);
  w.putVarint(kMaxVarint + 1);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.size(), 0u);
  w.putU8(1);  // sticky
  EXPECT_EQ(w.size(), 0u);
}

TEST(Varint, TruncatedInputFails) {
  bool ok = true;
  EXPECT_EQ(readVarint("", &ok), 0u);
  EXPECT_FALSE(ok);
  EXPECT_EQ(readVarint("40", &ok), 0u);
  EXPECT_FALSE(ok);
  EXPECT_EQ(readVarint("800000", &ok), 0u);
  EXPECT_FALSE(ok);
  EXPECT_EQ(readVarint("c0000000000000", &ok), 0u);
  EXPECT_FALSE(ok);
}

TEST(ByteWriter, WritesBigEndian) {
  std::array<uint8_t, 32> buf{};
  ByteWriter w(buf);
  w.putU8(0x01);
  w.putU16(0x0203);
  w.putU32(0x04050607);
  w.putU48(0x08090a0b0c0d);
  w.putU64(0x0e0f101112131415);
  const uint8_t tail[] = {0xaa, 0xbb};
  w.putBytes(tail);
  w.putZeros(2);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(toHex(w.written()), "0102030405060708090a0b0c0d0e0f101112131415aabb0000");
  EXPECT_EQ(w.size(), 25u);
  EXPECT_EQ(w.remaining(), 7u);
}

TEST(ByteWriter, NeverWritesPastTheEnd) {
  std::array<uint8_t, 8> buf{};
  buf.fill(0xee);
  ByteWriter w(std::span<uint8_t>(buf).first(3));
  w.putU16(0x0102);
  EXPECT_TRUE(w.ok());
  w.putU16(0x0304);  // needs 2, 1 left
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.size(), 2u);
  w.putU8(0x05);  // would fit, but the writer has failed
  EXPECT_EQ(toHex(buf), "0102eeeeeeeeeeee");
}

TEST(ByteWriter, U48RejectsWideValues) {
  std::array<uint8_t, 8> buf{};
  ByteWriter w(buf);
  w.putU48(uint64_t{1} << 48);
  EXPECT_FALSE(w.ok());
}

TEST(ByteWriter, ZerosBeyondCapacityFail) {
  std::array<uint8_t, 4> buf{};
  ByteWriter w(buf);
  w.putZeros(5);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.size(), 0u);
}

TEST(ByteReader, ReadsBigEndian) {
  std::vector<uint8_t> in = fromHex("0102030405060708090a0b0c0d0e0f101112131415aabb");
  ByteReader r(in);
  EXPECT_EQ(r.getU8(), 0x01u);
  EXPECT_EQ(r.getU16(), 0x0203u);
  EXPECT_EQ(r.getU32(), 0x04050607u);
  EXPECT_EQ(r.getU48(), 0x08090a0b0c0du);
  EXPECT_EQ(r.getU64(), 0x0e0f101112131415u);
  EXPECT_EQ(r.position(), 21u);
  std::span<const uint8_t> rest = r.getBytes(2);
  EXPECT_EQ(toHex(rest), "aabb");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteReader, ErrorIsStickyAndReturnsZeros) {
  std::vector<uint8_t> in = fromHex("010203");
  ByteReader r(in);
  EXPECT_EQ(r.getU16(), 0x0102u);
  EXPECT_EQ(r.getU32(), 0u);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.position(), 2u);
  EXPECT_EQ(r.getU8(), 0u);  // one byte is there, but the reader has failed
  EXPECT_TRUE(r.getBytes(1).empty());
  std::array<uint8_t, 2> out{9, 9};
  r.copyTo(out);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 0);
}

TEST(ByteReader, GetBytesPastTheEndFails) {
  std::vector<uint8_t> in = fromHex("0102");
  ByteReader r(in);
  EXPECT_TRUE(r.getBytes(3).empty());
  EXPECT_FALSE(r.ok());
  ByteReader huge(in);
  EXPECT_TRUE(huge.getBytes(~size_t{0}).empty());
  EXPECT_FALSE(huge.ok());
}

TEST(ByteReader, RestIsZero) {
  std::vector<uint8_t> in = fromHex("07000000");
  ByteReader r(in);
  EXPECT_FALSE(r.restIsZero());
  r.skip(1);
  EXPECT_TRUE(r.restIsZero());
  r.skip(3);
  EXPECT_TRUE(r.restIsZero());
  EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace braid::proto
