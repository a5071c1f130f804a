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

}  // namespace

tl::expected<DataBody, DropReason> DataBody::parse(std::span<const uint8_t> body) noexcept {
  ByteReader r(body);
  DataBody out;
  const uint64_t runs = r.getVarint();
  if (!r.ok() || runs > kMaxNullRuns) return tl::unexpected(DropReason::kMalformedBody);
  for (uint64_t i = 0; i < runs; ++i) {
    const uint64_t position = r.getVarint();
    const uint64_t countAndKind = r.getVarint();
    const uint64_t count = countAndKind >> 1;
    NullRun& run = out.runs[i];
    run.filler = (countAndKind & 1) != 0;
    if (run.filler) {
      run.header[0] = r.getU8();
      run.header[1] = r.getU8();
      run.header[2] = r.getU8();
    }
    if (!r.ok() || count == 0 || count > kMaxNullsPerData ||
        (i > 0 && position < out.runs[i - 1].position) || position > kMaxNullsPerData) {
      return tl::unexpected(DropReason::kMalformedBody);
    }
    out.nullCount += count;
    if (out.nullCount > kMaxNullsPerData) return tl::unexpected(DropReason::kMalformedBody);
    run.position = static_cast<uint32_t>(position);
    run.count = static_cast<uint32_t>(count);
  }
  out.runCount = static_cast<size_t>(runs);
  out.ts = r.rest();
  if (out.ts.size() % kTsPacketSize != 0) return tl::unexpected(DropReason::kMalformedBody);
  if (out.runCount == 0 && out.ts.empty()) return tl::unexpected(DropReason::kMalformedBody);
  if (out.runCount > 0 && out.runs[out.runCount - 1].position > out.tsPackets()) {
    return tl::unexpected(DropReason::kMalformedBody);
  }
  return out;
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
