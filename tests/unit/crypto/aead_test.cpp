#include "dataplane/proto/crypto/aead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "hex.h"

namespace braid::proto {
namespace {

using test::fromHex;
using test::toHex;

std::vector<AeadBackend> availableBackends() {
  std::vector<AeadBackend> out;
  for (AeadBackend b : {AeadBackend::kOpenSsl, AeadBackend::kIpsecMb}) {
    if (aeadBackendAvailable(b)) out.push_back(b);
  }
  return out;
}

std::string backendParamName(const testing::TestParamInfo<AeadBackend>& info) {
  return info.param == AeadBackend::kIpsecMb ? "IpsecMb" : "OpenSsl";
}

template <typename Array>
Array toArray(const std::vector<uint8_t>& bytes) {
  Array out{};
  EXPECT_EQ(bytes.size(), out.size());
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13-16 (AES-256).
struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

constexpr const char* kKey1516 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";

const GcmVector kGcmVectors[] = {
    {"case13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"case15", kKey1516, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"case16", kKey1516, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

class AeadBackendTest : public testing::TestWithParam<AeadBackend> {};

TEST_P(AeadBackendTest, GcmSpecVectors) {
  for (const GcmVector& v : kGcmVectors) {
    SCOPED_TRACE(v.name);
    auto aead = Aead::create(GetParam(), toArray<AeadKey>(fromHex(v.key)));
    ASSERT_TRUE(aead) << aead.error().describe();
    EXPECT_EQ(aead->backend(), GetParam());
    const AeadNonce nonce = toArray<AeadNonce>(fromHex(v.iv));
    const std::vector<uint8_t> aad = fromHex(v.aad);
    const std::vector<uint8_t> plaintext = fromHex(v.plaintext);

    std::vector<uint8_t> buffer = plaintext;
    std::array<uint8_t, kAeadTagSize> tag{};
    ASSERT_TRUE(aead->seal(nonce, aad, buffer, tag));
    EXPECT_EQ(toHex(buffer), v.ciphertext);
    EXPECT_EQ(toHex(tag), v.tag);

    ASSERT_TRUE(aead->open(nonce, aad, buffer, tag));
    EXPECT_EQ(buffer, plaintext);
  }
}

TEST_P(AeadBackendTest, AnyFlippedBitFailsOpen) {
  const GcmVector& v = kGcmVectors[3];  // has AAD and a plaintext
  auto aead = Aead::create(GetParam(), toArray<AeadKey>(fromHex(v.key)));
  ASSERT_TRUE(aead) << aead.error().describe();
  const AeadNonce nonce = toArray<AeadNonce>(fromHex(v.iv));
  const std::vector<uint8_t> plaintext = fromHex(v.plaintext);
  const std::vector<uint8_t> aad = fromHex(v.aad);
  const std::vector<uint8_t> ciphertext = fromHex(v.ciphertext);
  const auto tag = toArray<std::array<uint8_t, kAeadTagSize>>(fromHex(v.tag));

  // Which of the three inputs gets the flipped bit.
  enum class Part { kTag, kAad, kCiphertext };
  int failures = 0;
  auto tryFlip = [&](Part part, size_t bit) {
    std::vector<uint8_t> buffer = ciphertext;
    std::vector<uint8_t> badAad = aad;
    auto badTag = tag;
    uint8_t mask = static_cast<uint8_t>(1u << (bit % 8));
    switch (part) {
      case Part::kTag:
        badTag[bit / 8] ^= mask;
        break;
      case Part::kAad:
        badAad[bit / 8] ^= mask;
        break;
      case Part::kCiphertext:
        buffer[bit / 8] ^= mask;
        break;
    }
    bool opened = aead->open(nonce, badAad, buffer, badTag);
    EXPECT_FALSE(opened) << "part " << static_cast<int>(part) << " bit " << bit;
    EXPECT_NE(buffer, plaintext) << "part " << static_cast<int>(part) << " bit " << bit;
    if (!opened) ++failures;
  };
  for (size_t bit = 0; bit < tag.size() * 8; ++bit) tryFlip(Part::kTag, bit);
  for (size_t bit = 0; bit < aad.size() * 8; ++bit) tryFlip(Part::kAad, bit);
  for (size_t bit = 0; bit < ciphertext.size() * 8; ++bit) tryFlip(Part::kCiphertext, bit);
  EXPECT_EQ(failures, static_cast<int>((tag.size() + aad.size() + ciphertext.size()) * 8));

  // The untouched inputs still open, so the failures above were the flips.
  std::vector<uint8_t> buffer = ciphertext;
  ASSERT_TRUE(aead->open(nonce, aad, buffer, tag));
  EXPECT_EQ(buffer, plaintext);
}

TEST_P(AeadBackendTest, OpensIntoAnotherBuffer) {
  const GcmVector& v = kGcmVectors[3];
  auto aead = Aead::create(GetParam(), toArray<AeadKey>(fromHex(v.key)));
  ASSERT_TRUE(aead) << aead.error().describe();
  const AeadNonce nonce = toArray<AeadNonce>(fromHex(v.iv));
  const std::vector<uint8_t> aad = fromHex(v.aad);
  const std::vector<uint8_t> ciphertext = fromHex(v.ciphertext);
  auto tag = toArray<std::array<uint8_t, kAeadTagSize>>(fromHex(v.tag));

  std::vector<uint8_t> out(ciphertext.size(), 0);
  ASSERT_TRUE(aead->open(nonce, aad, ciphertext, out, tag));
  EXPECT_EQ(toHex(out), v.plaintext);
  EXPECT_EQ(toHex(ciphertext), v.ciphertext);

  // A failed open leaves no plaintext in the other buffer, and the sizes must agree.
  tag[0] ^= 1;
  std::fill(out.begin(), out.end(), 0);
  EXPECT_FALSE(aead->open(nonce, aad, ciphertext, out, tag));
  EXPECT_NE(toHex(out), v.plaintext);
  tag[0] ^= 1;
  std::vector<uint8_t> shorter(ciphertext.size() - 1);
  EXPECT_FALSE(aead->open(nonce, aad, ciphertext, shorter, tag));
}

TEST_P(AeadBackendTest, WrongNonceOrKeyFailsOpen) {
  AeadKey key{};
  key.fill(0x42);
  auto aead = Aead::create(GetParam(), key);
  ASSERT_TRUE(aead);
  std::vector<uint8_t> plaintext(100, 0x5a);
  std::vector<uint8_t> buffer = plaintext;
  std::array<uint8_t, kAeadTagSize> tag{};
  const AeadNonce nonce = makeNonce(Direction::kEdgeToGateway, 1, 7);
  ASSERT_TRUE(aead->seal(nonce, {}, buffer, tag));

  std::vector<uint8_t> copy = buffer;
  EXPECT_FALSE(aead->open(makeNonce(Direction::kGatewayToEdge, 1, 7), {}, copy, tag));
  copy = buffer;
  EXPECT_FALSE(aead->open(makeNonce(Direction::kEdgeToGateway, 1, 8), {}, copy, tag));

  key[31] ^= 1;
  auto other = Aead::create(GetParam(), key);
  ASSERT_TRUE(other);
  copy = buffer;
  EXPECT_FALSE(other->open(nonce, {}, copy, tag));
  EXPECT_NE(copy, plaintext);
}

TEST_P(AeadBackendTest, MoveKeepsItWorking) {
  AeadKey keyA{};
  keyA.fill(0x11);
  AeadKey keyB{};
  keyB.fill(0x22);
  auto a = Aead::create(GetParam(), keyA);
  auto b = Aead::create(GetParam(), keyB);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  const AeadNonce nonce = makeNonce(Direction::kEdgeToGateway, 0, 1);
  const std::vector<uint8_t> plaintext(64, 0x77);

  std::vector<uint8_t> sealedByA = plaintext;
  std::array<uint8_t, kAeadTagSize> tagA{};
  ASSERT_TRUE(a->seal(nonce, {}, sealedByA, tagA));

  Aead moved(std::move(*a));
  EXPECT_EQ(moved.backend(), GetParam());
  std::vector<uint8_t> buffer = sealedByA;
  ASSERT_TRUE(moved.open(nonce, {}, buffer, tagA));
  EXPECT_EQ(buffer, plaintext);
  // The moved-from object holds no key: it refuses rather than crashing.
  buffer = plaintext;
  std::array<uint8_t, kAeadTagSize> tag{};
  EXPECT_FALSE(a->seal(nonce, {}, buffer, tag));  // NOLINT(bugprone-use-after-move)

  // Assigning over an object with its own key releases that key and takes the new one.
  *b = std::move(moved);
  buffer = sealedByA;
  ASSERT_TRUE(b->open(nonce, {}, buffer, tagA));
  EXPECT_EQ(buffer, plaintext);
  buffer = plaintext;
  std::array<uint8_t, kAeadTagSize> tagAgain{};
  ASSERT_TRUE(b->seal(nonce, {}, buffer, tagAgain));
  EXPECT_EQ(buffer, sealedByA);
  EXPECT_EQ(tagAgain, tagA);
}

INSTANTIATE_TEST_SUITE_P(Backends, AeadBackendTest, testing::ValuesIn(availableBackends()),
                         backendParamName);

TEST(AeadInterop, OpenSslAndIpsecMbAgree) {
  if (!aeadBackendAvailable(AeadBackend::kIpsecMb)) {
    GTEST_SKIP() << "intel-ipsec-mb not built in or CPU lacks AES-NI/PCLMULQDQ";
  }
  std::mt19937_64 rng(20261124);
  auto randomFill = [&rng](std::span<uint8_t> out) {
    for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  };
  std::vector<size_t> sizes = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 1200, 1500};
  while (sizes.size() < 200) sizes.push_back(rng() % 1501);

  for (size_t i = 0; i < sizes.size(); ++i) {
    const size_t size = sizes[i];
    SCOPED_TRACE("case " + std::to_string(i) + " size " + std::to_string(size));
    AeadKey key{};
    randomFill(key);
    AeadNonce nonce{};
    randomFill(nonce);
    std::vector<uint8_t> aad(rng() % 64);
    randomFill(aad);
    std::vector<uint8_t> plaintext(size);
    randomFill(plaintext);

    auto ossl = Aead::create(AeadBackend::kOpenSsl, key);
    auto imb = Aead::create(AeadBackend::kIpsecMb, key);
    ASSERT_TRUE(ossl);
    ASSERT_TRUE(imb);
    // Alternate who seals so both directions are covered.
    Aead& sealer = i % 2 == 0 ? *ossl : *imb;
    Aead& opener = i % 2 == 0 ? *imb : *ossl;

    std::vector<uint8_t> viaSealer = plaintext;
    std::array<uint8_t, kAeadTagSize> tag{};
    ASSERT_TRUE(sealer.seal(nonce, aad, viaSealer, tag));
    std::vector<uint8_t> viaOpener = plaintext;
    std::array<uint8_t, kAeadTagSize> tagOpener{};
    ASSERT_TRUE(opener.seal(nonce, aad, viaOpener, tagOpener));
    ASSERT_EQ(viaSealer, viaOpener);
    ASSERT_EQ(tag, tagOpener);

    ASSERT_TRUE(opener.open(nonce, aad, viaSealer, tag));
    ASSERT_EQ(viaSealer, plaintext);
  }
}

TEST(AeadBackendParse, Names) {
  auto openssl = parseAeadBackend("openssl");
  ASSERT_TRUE(openssl);
  EXPECT_EQ(*openssl, AeadBackend::kOpenSsl);
  auto ipsecMb = parseAeadBackend("ipsec-mb");
  ASSERT_TRUE(ipsecMb);
  EXPECT_EQ(*ipsecMb, AeadBackend::kIpsecMb);
  auto automatic = parseAeadBackend("auto");
  ASSERT_TRUE(automatic);
  EXPECT_EQ(*automatic, defaultAeadBackend());
  EXPECT_TRUE(aeadBackendAvailable(*automatic));
  auto bogus = parseAeadBackend("bogus");
  ASSERT_FALSE(bogus);
  EXPECT_EQ(bogus.error().code, ErrorCode::kInvalidArgument);

  EXPECT_STREQ(aeadBackendName(AeadBackend::kOpenSsl), "openssl");
  EXPECT_STREQ(aeadBackendName(AeadBackend::kIpsecMb), "ipsec-mb");
  EXPECT_TRUE(aeadBackendAvailable(AeadBackend::kOpenSsl));
}

// Creation succeeds exactly when the backend is reported available; otherwise it is a
// clear kUnsupported error (a build without ipsec-mb, or a CPU without AES-NI).
TEST(AeadBackendParse, CreateAgreesWithAvailability) {
  auto aead = Aead::create(AeadBackend::kIpsecMb, AeadKey{});
  if (aeadBackendAvailable(AeadBackend::kIpsecMb)) {
    EXPECT_TRUE(aead.has_value());
    EXPECT_EQ(defaultAeadBackend(), AeadBackend::kIpsecMb);
  } else {
    ASSERT_FALSE(aead);
    EXPECT_EQ(aead.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(defaultAeadBackend(), AeadBackend::kOpenSsl);
  }
  EXPECT_TRUE(Aead::create(AeadBackend::kOpenSsl, AeadKey{}).has_value());
}

TEST(MakeNonce, LayoutByteByByte) {
  // docs/protocol.md §3.3: direction | link ID | 0x0000 | sequence (8 B, big-endian).
  EXPECT_EQ(toHex(makeNonce(Direction::kGatewayToEdge, 0x2a, 0x0102030405060708)),
            "012a00000102030405060708");
  EXPECT_EQ(toHex(makeNonce(Direction::kEdgeToGateway, 0xff, 0)), "00ff00000000000000000000");
  EXPECT_EQ(toHex(makeNonce(Direction::kEdgeToGateway, 0, (uint64_t{1} << 48) - 1)),
            "000000000000ffffffffffff");
  EXPECT_EQ(toHex(makeNonce(Direction::kGatewayToEdge, 3, UINT64_MAX)), "01030000ffffffffffffffff");
}

}  // namespace
}  // namespace braid::proto
