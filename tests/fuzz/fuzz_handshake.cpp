// Fuzzes every handshake parser (HS_INIT, HS_COOKIE, HS_ACCEPT, RESET, the accept
// secrets) and the range helpers. The layouts are fixed, so whatever parses must
// re-encode to exactly the input bytes.

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/proto/wire/handshake_messages.h"
#include "fuzz_check.h"

using namespace braid::proto;

namespace {

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void checkInit(std::span<const uint8_t> in) {
  auto m = HandshakeInit::parse(in);
  if (!m) return;
  FUZZ_CHECK(in.size() == HandshakeInit::kSize);
  std::array<uint8_t, HandshakeInit::kSize> out{};
  FUZZ_CHECK(m->encode(out) == HandshakeInit::kSize);
  FUZZ_CHECK(same(out, in));
  FUZZ_CHECK(HandshakeInit::macCovered(in).size() == HandshakeInit::kMacOffset);
}

void checkCookie(std::span<const uint8_t> in) {
  auto m = HandshakeCookie::parse(in);
  if (!m) return;
  std::array<uint8_t, HandshakeCookie::kSize> out{};
  FUZZ_CHECK(m->encode(out) == HandshakeCookie::kSize);
  FUZZ_CHECK(same(out, in));
}

void checkAccept(std::span<const uint8_t> in) {
  auto m = HandshakeAccept::parse(in);
  if (!m) return;
  std::array<uint8_t, HandshakeAccept::kSize> out{};
  FUZZ_CHECK(m->encode(out) == HandshakeAccept::kSize);
  FUZZ_CHECK(same(out, in));
  FUZZ_CHECK(same(HandshakeAccept::sealedPart(out), m->sealed));
  FUZZ_CHECK(same(HandshakeAccept::sealedTagPart(out), m->sealedTag));
}

void checkReset(std::span<const uint8_t> in) {
  auto m = StatelessReset::parse(in);
  if (!m) return;
  FUZZ_CHECK(in.size() >= StatelessReset::kMinSize);
  if (in.size() > StatelessReset::kMaxSize) return;  // valid to receive, never sent
  std::array<uint8_t, StatelessReset::kMaxSize> out{};
  std::span<const uint8_t> padding = in.subspan(StatelessReset::kPaddingOffset);
  FUZZ_CHECK(m->encode(out, in.size(), padding) == in.size());
  FUZZ_CHECK(same(std::span(out).first(in.size()), in));
}

void checkSecrets(std::span<const uint8_t> in) {
  auto m = AcceptSecrets::parse(in);
  if (!m) return;
  std::array<uint8_t, AcceptSecrets::kEncodedSize> out{};
  FUZZ_CHECK(m->encode(out) == AcceptSecrets::kEncodedSize);
  FUZZ_CHECK(same(out, in));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> packet(data, data + size);  // exact size: ASan sees overreads
  std::span<const uint8_t> in(packet);
  checkInit(in);
  checkCookie(in);
  checkAccept(in);
  checkReset(in);
  checkSecrets(in);
  if (size >= 12) checkSecrets(in.subspan(12, size - 12 < 24 ? size - 12 : 24));

  // The range helpers must stay in bounds for any size.
  std::span<uint8_t> mut(packet);
  (void)HandshakeInit::macCovered(in);
  (void)HandshakeAccept::associatedData(in);
  (void)HandshakeAccept::macCovered(in);
  (void)HandshakeAccept::sealedPart(mut);
  std::array<uint8_t, 16> mac{};
  HandshakeInit::storeMac(mut, mac);
  HandshakeAccept::storeMac(mut, mac);
  return 0;
}
