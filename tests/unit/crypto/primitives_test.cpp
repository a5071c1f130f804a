#include "dataplane/proto/crypto/primitives.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "hex.h"

namespace braid::proto {
namespace {

using test::fromHex;
using test::toHex;

std::span<const uint8_t> bytesOf(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::array<uint8_t, 32> key32(std::string_view hex) {
  std::vector<uint8_t> bytes = fromHex(hex);
  std::array<uint8_t, 32> out{};
  EXPECT_EQ(bytes.size(), out.size());
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

// RFC 7748 §6.1.
constexpr std::string_view kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobPrivate =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr std::string_view kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr std::string_view kShared =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

TEST(X25519, Rfc7748SharedSecret) {
  const auto bobPublic = key32(kBobPublic);
  auto shared = x25519Shared(key32(kAlicePrivate), bobPublic);
  ASSERT_TRUE(shared) << shared.error().describe();
  EXPECT_EQ(toHex(*shared), kShared);

  const auto alicePublic = key32(kAlicePublic);
  auto other = x25519Shared(key32(kBobPrivate), alicePublic);
  ASSERT_TRUE(other) << other.error().describe();
  EXPECT_EQ(toHex(*other), kShared);
}

TEST(X25519, Rfc7748PublicKeysFromBasePoint) {
  // X25519(k, 9) is k's public key.
  std::array<uint8_t, 32> basePoint{};
  basePoint[0] = 9;
  auto alice = x25519Shared(key32(kAlicePrivate), basePoint);
  ASSERT_TRUE(alice);
  EXPECT_EQ(toHex(*alice), kAlicePublic);
  auto bob = x25519Shared(key32(kBobPrivate), basePoint);
  ASSERT_TRUE(bob);
  EXPECT_EQ(toHex(*bob), kBobPublic);
}

TEST(X25519, GeneratedPairsAgree) {
  auto a = x25519Generate();
  auto b = x25519Generate();
  ASSERT_TRUE(a) << a.error().describe();
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_NE(a->privateKey, b->privateKey);
  EXPECT_NE(a->publicKey, b->publicKey);

  // The generated public key is the private key times the base point.
  std::array<uint8_t, 32> basePoint{};
  basePoint[0] = 9;
  auto derivedPublic = x25519Shared(a->privateKey, basePoint);
  ASSERT_TRUE(derivedPublic);
  EXPECT_EQ(*derivedPublic, a->publicKey);

  auto ab = x25519Shared(a->privateKey, b->publicKey);
  auto ba = x25519Shared(b->privateKey, a->publicKey);
  ASSERT_TRUE(ab);
  ASSERT_TRUE(ba);
  EXPECT_EQ(*ab, *ba);
}

TEST(X25519, LowOrderPeerRejected) {
  const std::array<uint8_t, 32> zero{};
  auto shared = x25519Shared(key32(kAlicePrivate), zero);
  EXPECT_FALSE(shared);
  // u = 1 is another small-order point whose product is all zeros.
  std::array<uint8_t, 32> one{};
  one[0] = 1;
  EXPECT_FALSE(x25519Shared(key32(kAlicePrivate), one));
}

// RFC 4231 §4.2, §4.3, §4.7.
TEST(HmacSha256, Rfc4231Case1) {
  std::vector<uint8_t> key(20, 0x0b);
  EXPECT_EQ(toHex(hmacSha256(key, {bytesOf("Hi There")})),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(toHex(hmacSha256(bytesOf("Jefe"), {bytesOf("what do ya want for nothing?")})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, Rfc4231Case6LongKey) {
  std::vector<uint8_t> key(131, 0xaa);
  EXPECT_EQ(
      toHex(hmacSha256(key, {bytesOf("Test Using Larger Than Block-Size Key - Hash Key First")})),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, MultiPartEqualsOnePart) {
  std::vector<uint8_t> key(131, 0xaa);
  constexpr std::string_view kMessage = "Test Using Larger Than Block-Size Key - Hash Key First";
  const auto whole = hmacSha256(key, {bytesOf(kMessage)});
  EXPECT_EQ(hmacSha256(key, {bytesOf(kMessage.substr(0, 4)), bytesOf(kMessage.substr(4))}), whole);
  EXPECT_EQ(hmacSha256(key, {bytesOf(""), bytesOf(kMessage.substr(0, 30)), bytesOf(""),
                             bytesOf(kMessage.substr(30, 1)), bytesOf(kMessage.substr(31))}),
            whole);
  // The per-thread context is reset between calls: a second key gives a different MAC.
  EXPECT_NE(hmacSha256(bytesOf("other"), {bytesOf(kMessage)}), whole);
  EXPECT_EQ(hmacSha256(key, {bytesOf(kMessage)}), whole);
}

// RFC 5869 A.1 and A.3.
TEST(Hkdf, Rfc5869Case1) {
  std::vector<uint8_t> ikm(22, 0x0b);
  std::vector<uint8_t> salt = fromHex("000102030405060708090a0b0c");
  std::vector<uint8_t> info = fromHex("f0f1f2f3f4f5f6f7f8f9");
  std::vector<uint8_t> okm(42);
  auto result = hkdfExtractExpand(salt, ikm, info, okm);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(toHex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869Case3EmptySaltAndInfo) {
  std::vector<uint8_t> ikm(22, 0x0b);
  std::vector<uint8_t> okm(42);
  auto result = hkdfExtractExpand({}, ikm, {}, okm);
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(toHex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, OutputTooLongFails) {
  std::vector<uint8_t> ikm(32, 1);
  std::vector<uint8_t> okm(255 * 32 + 1);  // RFC 5869 caps L at 255 * HashLen
  EXPECT_FALSE(hkdfExtractExpand({}, ikm, {}, okm));
}

TEST(RandomBytes, FillsAndDiffers) {
  std::array<uint8_t, 32> a{};
  std::array<uint8_t, 32> b{};
  ASSERT_TRUE(randomBytes(a));
  ASSERT_TRUE(randomBytes(b));
  EXPECT_NE(a, b);
  EXPECT_TRUE(randomBytes({}));
}

TEST(ConstantTimeEqual, ComparesContentsAndSize) {
  std::vector<uint8_t> a = {1, 2, 3};
  std::vector<uint8_t> b = {1, 2, 3};
  std::vector<uint8_t> c = {1, 2, 4};
  std::vector<uint8_t> shorter = {1, 2};
  EXPECT_TRUE(constantTimeEqual(a, b));
  EXPECT_FALSE(constantTimeEqual(a, c));
  EXPECT_FALSE(constantTimeEqual(a, shorter));
  EXPECT_TRUE(constantTimeEqual({}, {}));
}

}  // namespace
}  // namespace braid::proto
