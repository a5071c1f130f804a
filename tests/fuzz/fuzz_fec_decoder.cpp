// FecBlockDecoder under arbitrary REPAIR headers and symbols, source arrivals and block reuse:
// no crash, no out-of-bounds access, and every rebuilt source fits its block's symbol.

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "dataplane/fec/fec_decoder.h"
#include "fuzz_check.h"

namespace {

struct Reader {
  std::span<const uint8_t> in;
  uint8_t u8() {
    if (in.empty()) return 0;
    uint8_t v = in[0];
    in = in.subspan(1);
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace braid::dp;
  auto decoder = FecBlockDecoder::create({.blocks = 4, .decodeCacheEntries = 2});
  if (!decoder) return 0;
  std::map<uint64_t, std::vector<uint8_t>> held;
  auto find = [&held](uint64_t seq, SourceSymbol& out) {
    auto it = held.find(seq);
    if (it == held.end()) return false;
    out = SourceSymbol{.payload = it->second, .mediaTsUs = seq * 1000};
    return true;
  };
  auto give = [&held](uint64_t seq, const SourceSymbol& s) {
    FUZZ_CHECK(!s.payload.empty() && s.payload.size() <= ReedSolomonCodec::kMaxSymbolSize);
    held[seq].assign(s.payload.begin(), s.payload.end());
  };
  Reader r{std::span<const uint8_t>(data, size)};
  while (!r.in.empty()) {
    uint8_t op = r.u8();
    if (op & 1) {
      FecRepairInfo info{.blockId = r.u8() % 8u,
                         .k = r.u8() % 70u,
                         .m = r.u8() % 20u,
                         .index = r.u8() % 20u,
                         .firstSeq = r.u8(),
                         .blockTsUs = r.u16()};
      size_t length = r.u16() % 1600;
      std::vector<uint8_t> symbol(length);
      for (auto& b : symbol) b = r.u8();
      (*decoder)->onRepair(info, symbol, find, give);
    } else {
      uint64_t seq = r.u8();
      size_t length = 1 + r.u16() % 1400;
      std::vector<uint8_t> payload(length);
      for (auto& b : payload) b = r.u8();
      held[seq] = std::move(payload);
      (*decoder)->onSource(seq, find, give);
    }
  }
  return 0;
}
