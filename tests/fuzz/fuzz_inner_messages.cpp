// Fuzzes every inner-message parser: the first byte selects the message, the rest is the
// plaintext. Whatever parses must re-encode (shortest form, no padding: never longer)
// and parse again to the same value.

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/output/null_restorer.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/data_body.h"
#include "fuzz_check.h"

using namespace braid::proto;
using namespace braid::proto::fuzz;

namespace {

template <typename Message>
void roundTrip(std::span<const uint8_t> body) {
  auto m = Message::parse(body);
  if (!m) {
    FUZZ_CHECK(m.error() == DropReason::kMalformedBody);
    return;
  }
  std::array<uint8_t, 4096> out{};
  size_t n = m->encode(std::span<uint8_t>(out));
  FUZZ_CHECK(n != 0);
  FUZZ_CHECK(n <= body.size());
  auto again = Message::parse(std::span<const uint8_t>(out).first(n));
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *m);
}

void repairRoundTrip(std::span<const uint8_t> body) {
  std::span<const uint8_t> symbol;
  auto h = RepairHeader::parse(body, &symbol);
  if (!h) {
    FUZZ_CHECK(h.error() == DropReason::kMalformedBody);
    return;
  }
  FUZZ_CHECK(!symbol.empty());
  FUZZ_CHECK(symbol.data() + symbol.size() == body.data() + body.size());
  std::vector<uint8_t> out(body.size());
  ByteWriter w(out);
  FUZZ_CHECK(h->encode(w));
  w.putBytes(symbol);
  FUZZ_CHECK(w.ok());
  std::span<const uint8_t> again;
  auto h2 = RepairHeader::parse(w.written(), &again);
  FUZZ_CHECK(h2.has_value());
  FUZZ_CHECK(*h2 == *h);
  FUZZ_CHECK(again.size() == symbol.size());
  FUZZ_CHECK(std::memcmp(again.data(), symbol.data(), symbol.size()) == 0);
}

// A DATA body: what parses re-encodes to a run list no longer than the input's, and restoring
// its deleted packets yields its TS packets plus nullCount packets, in whole packets.
void dataBodyRoundTrip(std::span<const uint8_t> body) {
  auto b = DataBody::parse(body);
  FUZZ_CHECK(DataBody::valid(body) == b.has_value());
  if (!b) {
    FUZZ_CHECK(b.error() == DropReason::kMalformedBody);
    return;
  }
  FUZZ_CHECK(b->nullCount <= kMaxNullsPerData);
  std::array<uint8_t, 1024> runs{};
  size_t n = writeNullRuns(b->runList(), runs);
  FUZZ_CHECK(n != 0);
  FUZZ_CHECK(n == nullRunsSize(b->runList()));
  FUZZ_CHECK(n + b->ts.size() <= body.size());
  std::vector<uint8_t> again(runs.begin(), runs.begin() + static_cast<long>(n));
  again.insert(again.end(), b->ts.begin(), b->ts.end());
  auto b2 = DataBody::parse(again);
  FUZZ_CHECK(b2.has_value());
  FUZZ_CHECK(b2->runCount == b->runCount && b2->nullCount == b->nullCount);
  FUZZ_CHECK(b2->ts.size() == b->ts.size());
  std::array<uint8_t, braid::dp::kMediaChunkCapacity> scratch{};
  uint64_t nulls = 0, packets = 0, plainNulls = 0;
  for (const NullRun& run : b->runList()) plainNulls += run.filler ? 0 : run.count;
  uint64_t restored = braid::dp::restoreNulls(*b, scratch, [&](std::span<const uint8_t> piece) {
    FUZZ_CHECK(!piece.empty() && piece.size() % kTsPacketSize == 0);
    for (size_t off = 0; off < piece.size(); off += kTsPacketSize) {
      ++packets;
      if (std::memcmp(piece.data() + off, braid::dp::kNullTsPacket.data(), kTsPacketSize) == 0) {
        ++nulls;
      }
    }
  });
  FUZZ_CHECK(restored == b->nullCount);
  FUZZ_CHECK(packets == b->nullCount + b->tsPackets());
  // A TS packet of the body may itself look like a null packet: at least the null runs.
  FUZZ_CHECK(nulls >= plainNulls);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Exact-size copy of the body so ASan catches any read past its end.
  std::vector<uint8_t> body(data + 1, data + size);
  switch (data[0] % kInnerCount) {
    case kInnerAck:
      roundTrip<Ack>(body);
      break;
    case kInnerNack:
      roundTrip<Nack>(body);
      break;
    case kInnerKeepalive:
      roundTrip<Keepalive>(body);
      break;
    case kInnerProbe:
      roundTrip<Probe>(body);
      break;
    case kInnerJoin:
      roundTrip<Join>(body);
      break;
    case kInnerClose:
      roundTrip<Close>(body);
      break;
    case kInnerRepair:
      repairRoundTrip(body);
      break;
    case kInnerData:
      dataBodyRoundTrip(body);
      break;
    default:
      break;
  }
  // Padding arithmetic stays in bounds for any (used, minSize).
  if (size >= 3) {
    std::array<uint8_t, 64> buf{};
    size_t padded = padControl(buf, data[1], data[2]);
    FUZZ_CHECK(padded <= buf.size());
  }
  return 0;
}
