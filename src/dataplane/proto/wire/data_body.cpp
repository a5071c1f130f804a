#include "dataplane/proto/wire/data_body.h"

#include "dataplane/proto/wire/bytes.h"

namespace braid::proto {

namespace {

// The rules writeNullRuns can check without the TS bytes.
bool runsValid(std::span<const NullRun> runs) noexcept {
  if (runs.size() > kMaxNullRuns) return false;
  uint64_t total = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].count == 0) return false;
    if (i > 0 && runs[i].position < runs[i - 1].position) return false;
    total += runs[i].count;
  }
  return total <= kMaxNullsPerData;
}

// Reads and checks a DATA plaintext (the rules of DataBody::parse), handing each run to
// onRun(index, run); the TS bytes go to `ts`. False: malformed.
template <typename OnRun>
bool walkBody(std::span<const uint8_t> body, std::span<const uint8_t>& ts, OnRun&& onRun) noexcept {
  ByteReader r(body);
  const uint64_t runs = r.getVarint();
  if (!r.ok() || runs > kMaxNullRuns) return false;
  uint64_t nullCount = 0;
  uint64_t lastPosition = 0;
  for (uint64_t i = 0; i < runs; ++i) {
    const uint64_t position = r.getVarint();
    const uint64_t countAndKind = r.getVarint();
    const uint64_t count = countAndKind >> 1;
    NullRun run;
    run.filler = (countAndKind & 1) != 0;
    if (run.filler) {
      run.header[0] = r.getU8();
      run.header[1] = r.getU8();
      run.header[2] = r.getU8();
    }
    if (!r.ok() || count == 0 || count > kMaxNullsPerData || position < lastPosition ||
        position > kMaxNullsPerData) {
      return false;
    }
    nullCount += count;
    if (nullCount > kMaxNullsPerData) return false;
    run.position = static_cast<uint32_t>(position);
    run.count = static_cast<uint32_t>(count);
    onRun(static_cast<size_t>(i), run);
    lastPosition = position;
  }
  ts = r.rest();
  if (ts.size() % kTsPacketSize != 0) return false;
  if (runs == 0 && ts.empty()) return false;
  return runs == 0 || lastPosition <= ts.size() / kTsPacketSize;
}

}  // namespace

tl::expected<DataBody, DropReason> DataBody::parse(std::span<const uint8_t> body) noexcept {
  DataBody out;
  bool ok = walkBody(body, out.ts, [&out](size_t i, const NullRun& run) {
    out.runs[i] = run;
    out.runCount = i + 1;
    out.nullCount += run.count;
  });
  if (!ok) return tl::unexpected(DropReason::kMalformedBody);
  return out;
}

bool DataBody::valid(std::span<const uint8_t> body) noexcept {
  std::span<const uint8_t> ts;
  return walkBody(body, ts, [](size_t, const NullRun&) {});
}

size_t nullRunSize(const NullRun& run) noexcept {
  return varintSize(run.position) + varintSize(uint64_t{run.count} << 1) + (run.filler ? 3 : 0);
}

size_t nullRunsSize(std::span<const NullRun> runs) noexcept {
  size_t size = varintSize(runs.size());
  for (const NullRun& run : runs) size += nullRunSize(run);
  return size;
}

size_t writeNullRuns(std::span<const NullRun> runs, std::span<uint8_t> out) noexcept {
  if (!runsValid(runs)) return 0;
  ByteWriter w(out);
  w.putVarint(runs.size());
  for (const NullRun& run : runs) {
    w.putVarint(run.position);
    w.putVarint(uint64_t{run.count} << 1 | (run.filler ? 1 : 0));
    if (run.filler) w.putBytes(run.header);
  }
  return w.ok() ? w.size() : 0;
}

}  // namespace braid::proto
