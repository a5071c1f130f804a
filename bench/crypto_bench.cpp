// Microbenchmarks of the per-packet AEAD and the handshake primitives (bench/RESULTS.md).

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/crypto/primitives.h"

namespace braid::proto {
namespace {

constexpr size_t kPacketSize = 1200;
constexpr size_t kAadSize = 28;          // DATA sealed header, the associated data (protocol §7.1)
constexpr size_t kHandshakeInit = 1184;  // HS_INIT bytes covered by the cookie MAC

AeadKey benchKey() {
  AeadKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  return key;
}

void sealPacket(benchmark::State& state, AeadBackend backend) {
  if (!aeadBackendAvailable(backend)) {
    state.SkipWithError("backend not available");
    return;
  }
  auto aead = Aead::create(backend, benchKey());
  if (!aead) {
    state.SkipWithError(aead.error().describe().c_str());
    return;
  }
  std::vector<uint8_t> packet(kPacketSize, 0xa5);
  std::array<uint8_t, kAadSize> aad{};
  std::array<uint8_t, kAeadTagSize> tag{};
  uint64_t seq = 0;
  for (auto _ : state) {
    // A fresh nonce per packet, as on the wire.
    bool sealed = aead->seal(makeNonce(Direction::kEdgeToGateway, 0, seq++), aad, packet, tag);
    benchmark::DoNotOptimize(sealed);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPacketSize));
}

void openPacket(benchmark::State& state, AeadBackend backend) {
  if (!aeadBackendAvailable(backend)) {
    state.SkipWithError("backend not available");
    return;
  }
  auto aead = Aead::create(backend, benchKey());
  if (!aead) {
    state.SkipWithError(aead.error().describe().c_str());
    return;
  }
  const AeadNonce nonce = makeNonce(Direction::kEdgeToGateway, 0, 1);
  std::array<uint8_t, kAadSize> aad{};
  std::vector<uint8_t> sealed(kPacketSize, 0xa5);
  std::array<uint8_t, kAeadTagSize> tag{};
  if (!aead->seal(nonce, aad, sealed, tag)) {
    state.SkipWithError("seal failed");
    return;
  }
  // Open decrypts in place, so each iteration opens a fresh copy of the ciphertext; the copy
  // (a 1200-byte memcpy, a few ns) is part of the measured time.
  std::vector<uint8_t> buffer(kPacketSize);
  for (auto _ : state) {
    std::copy(sealed.begin(), sealed.end(), buffer.begin());
    bool opened = aead->open(nonce, aad, buffer, tag);
    if (!opened) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPacketSize));
}

void BM_AeadSeal1200_OpenSsl(benchmark::State& state) {
  sealPacket(state, AeadBackend::kOpenSsl);
}
void BM_AeadSeal1200_IpsecMb(benchmark::State& state) {
  sealPacket(state, AeadBackend::kIpsecMb);
}
void BM_AeadOpen1200_OpenSsl(benchmark::State& state) {
  openPacket(state, AeadBackend::kOpenSsl);
}
void BM_AeadOpen1200_IpsecMb(benchmark::State& state) {
  openPacket(state, AeadBackend::kIpsecMb);
}
BENCHMARK(BM_AeadSeal1200_OpenSsl);
BENCHMARK(BM_AeadSeal1200_IpsecMb);
BENCHMARK(BM_AeadOpen1200_OpenSsl);
BENCHMARK(BM_AeadOpen1200_IpsecMb);

void BM_X25519Shared(benchmark::State& state) {
  auto own = x25519Generate();
  auto peer = x25519Generate();
  if (!own || !peer) {
    state.SkipWithError("X25519 key generation failed");
    return;
  }
  for (auto _ : state) {
    auto shared = x25519Shared(own->privateKey, peer->publicKey);
    benchmark::DoNotOptimize(shared);
  }
}
BENCHMARK(BM_X25519Shared);

void BM_X25519Generate(benchmark::State& state) {
  for (auto _ : state) {
    auto pair = x25519Generate();
    benchmark::DoNotOptimize(pair);
  }
}
BENCHMARK(BM_X25519Generate);

void BM_HmacSha256HandshakeInit(benchmark::State& state) {
  std::array<uint8_t, 32> key{};
  key.fill(0x3c);
  std::vector<uint8_t> message(kHandshakeInit, 0x5e);
  for (auto _ : state) {
    auto mac = hmacSha256(key, {message});
    benchmark::DoNotOptimize(mac);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kHandshakeInit));
}
BENCHMARK(BM_HmacSha256HandshakeInit);

void BM_HkdfSessionKeys(benchmark::State& state) {
  // Session-key derivation: a 32-byte shared secret, a transcript-hash salt, two 32-byte keys.
  std::array<uint8_t, 32> ikm{};
  ikm.fill(0x11);
  std::array<uint8_t, 32> salt{};
  salt.fill(0x22);
  static constexpr uint8_t kInfo[] = {'b', 'r', 'a', 'i', 'd', ' ', 'k', 'e', 'y', 's'};
  std::array<uint8_t, 64> out{};
  for (auto _ : state) {
    auto result = hkdfExtractExpand(salt, ikm, kInfo, out);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_HkdfSessionKeys);

}  // namespace
}  // namespace braid::proto

BENCHMARK_MAIN();
