// Fuzzes the cleartext outer header: parsePrefix, peekSessionId, parseSealed, and checks
// that whatever parses re-encodes to a header that parses the same.

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/proto/wire/sealed_header.h"
#include "fuzz_check.h"

using namespace braid::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exactly sized, writable copy: parseSealed wants a mutable span (it is decrypted in
  // place later) and ASan then sees any read past the end.
  std::vector<uint8_t> packet(data, data + size);
  std::span<uint8_t> in(packet);

  SessionId peeked = peekSessionId(in);
  auto prefix = parsePrefix(in);
  if (prefix) {
    FUZZ_CHECK(size >= kPrefixSize);
    FUZZ_CHECK(prefix->version == kVersion);
    FUZZ_CHECK(isKnownPacketType(static_cast<uint8_t>(prefix->type)));
    FUZZ_CHECK(prefix->sessionId == peeked);
  } else {
    FUZZ_CHECK(dropReasonName(prefix.error()) != nullptr);
  }

  auto sealed = parseSealed(in);
  if (!sealed) {
    FUZZ_CHECK(sealed.error() < DropReason::kCount);
    return 0;
  }
  FUZZ_CHECK(prefix.has_value());
  const SealedHeader& h = sealed->header;
  FUZZ_CHECK(isSealedPacketType(static_cast<uint8_t>(h.prefix.type)));
  FUZZ_CHECK(h.prefix.linkId <= kMaxLinkId);
  FUZZ_CHECK(h.prefix.sessionId == peeked);
  FUZZ_CHECK(h.linkSeq <= kMaxLinkSeq);
  FUZZ_CHECK(sealed->aadSize >= kSealedFixedSize);
  FUZZ_CHECK(sealed->aadSize + sealed->ciphertext.size() + kTagSize == size);
  FUZZ_CHECK(sealed->ciphertext.data() == packet.data() + sealed->aadSize);
  FUZZ_CHECK(sealed->tag.data() == packet.data() + size - kTagSize);

  // Re-encode: the shortest form is never longer, and parses back to the same fields.
  std::array<uint8_t, kSealedFixedSize + 16> header{};
  size_t n = writeSealedHeader(h, &sealed->media, header);
  FUZZ_CHECK(n != 0);
  FUZZ_CHECK(n <= sealed->aadSize);
  FUZZ_CHECK(n == sealedHeaderSize(h.prefix.type, &sealed->media));
  if (n == sealed->aadSize) FUZZ_CHECK(std::memcmp(header.data(), packet.data(), n) == 0);

  std::vector<uint8_t> again(header.begin(), header.begin() + n);
  again.insert(again.end(), sealed->ciphertext.begin(), sealed->ciphertext.end());
  again.insert(again.end(), sealed->tag.begin(), sealed->tag.end());
  auto reparsed = parseSealed(again);
  FUZZ_CHECK(reparsed.has_value());
  FUZZ_CHECK(reparsed->aadSize == n);
  FUZZ_CHECK(reparsed->header.prefix.type == h.prefix.type);
  FUZZ_CHECK(reparsed->header.prefix.sessionId == h.prefix.sessionId);
  FUZZ_CHECK(reparsed->header.prefix.linkId == h.prefix.linkId);
  FUZZ_CHECK(reparsed->header.prefix.flags == h.prefix.flags);
  FUZZ_CHECK(reparsed->header.linkSeq == h.linkSeq);
  FUZZ_CHECK(reparsed->header.sendTsUs == h.sendTsUs);
  FUZZ_CHECK(reparsed->media.mediaSeq == sealed->media.mediaSeq);
  FUZZ_CHECK(reparsed->media.mediaTsUs == sealed->media.mediaTsUs);
  FUZZ_CHECK(reparsed->ciphertext.size() == sealed->ciphertext.size());
  return 0;
}
