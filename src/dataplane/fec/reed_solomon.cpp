#include "dataplane/fec/reed_solomon.h"

#include <isa-l/erasure_code.h>

#include <array>
#include <cstring>

namespace braid::dp {

namespace {

// ec_init_tables expands every GF(2^8) coefficient into 32 bytes of lookup tables.
constexpr size_t kTableBytesPerCoefficient = 32;

}  // namespace

Result<std::unique_ptr<ReedSolomonCodec>> ReedSolomonCodec::create(
    const ReedSolomonConfig& config) {
  if (config.k == 0 || config.k > kMaxSource) {
    return fail(ErrorCode::kInvalidArgument, "reed-solomon k must be 1..64");
  }
  if (config.m == 0 || config.m > kMaxRepair) {
    return fail(ErrorCode::kInvalidArgument, "reed-solomon m must be 1..16");
  }
  if (config.k + config.m > 255) {  // unreachable with the limits above; the GF(2^8) bound
    return fail(ErrorCode::kInvalidArgument, "reed-solomon k + m must be at most 255");
  }
  if (config.decodeCacheEntries > 4096) {
    return fail(ErrorCode::kInvalidArgument, "reed-solomon decode cache too large");
  }
  return std::unique_ptr<ReedSolomonCodec>(new ReedSolomonCodec(config));
}

ReedSolomonCodec::ReedSolomonCodec(const ReedSolomonConfig& config)
    : config_(config),
      generator_(new uint8_t[size_t{config.k + config.m} * config.k]),
      encodeTables_(new uint8_t[kTableBytesPerCoefficient * config.k * config.m]),
      scratch_(new uint8_t[size_t{config.k} * config.k * 2 + size_t{config.m} * config.k]),
      cache_(config.decodeCacheEntries, kTableBytesPerCoefficient * config.k * config.m) {
  const int k = static_cast<int>(config.k);
  const int m = static_cast<int>(config.m);
  gf_gen_cauchy1_matrix(generator_.get(), k + m, k);
  // The repair rows are the ones below the identity.
  ec_init_tables(k, m, generator_.get() + size_t{config.k} * config.k, encodeTables_.get());
}

Result<void> ReedSolomonCodec::encode(std::span<const uint8_t* const> sources,
                                      std::span<uint8_t* const> repairs, size_t symbolSize) const {
  if (sources.size() != config_.k || repairs.empty() || repairs.size() > config_.m) {
    return fail(ErrorCode::kInvalidArgument, "reed-solomon encode: wrong symbol counts");
  }
  if (symbolSize == 0 || symbolSize > kMaxSymbolSize) {
    return fail(ErrorCode::kInvalidArgument, "reed-solomon encode: symbol size must be 1..1500");
  }
  // ISA-L takes non-const pointers but only reads the sources. The tables of the first r repair
  // rows are a prefix of the tables of all m (row-major, 32 × k bytes a row).
  ec_encode_data(static_cast<int>(symbolSize), static_cast<int>(config_.k),
                 static_cast<int>(repairs.size()), encodeTables_.get(),
                 const_cast<unsigned char**>(sources.data()),
                 const_cast<unsigned char**>(repairs.data()));
  return ok();
}

Result<uint32_t> ReedSolomonCodec::decode(std::span<const FecSymbol> received,
                                          std::span<uint8_t* const> recovered, size_t symbolSize) {
  const uint32_t k = config_.k;
  const uint32_t n = k + config_.m;
  if (recovered.size() != k || symbolSize == 0 || symbolSize > kMaxSymbolSize) {
    return fail(ErrorCode::kInvalidArgument, "reed-solomon decode: output count or symbol size");
  }
  std::array<const uint8_t*, kMaxSource + kMaxRepair> byIndex{};
  for (const FecSymbol& symbol : received) {
    if (symbol.index >= n || symbol.data == nullptr) {
      return fail(ErrorCode::kInvalidArgument, "reed-solomon decode: symbol index out of range");
    }
    if (byIndex[symbol.index] == nullptr) byIndex[symbol.index] = symbol.data;
  }

  // The k rows to invert: every received source, then the lowest-numbered received repairs.
  std::array<uint8_t, kMaxSource> rows;
  std::array<const uint8_t*, kMaxSource> inputs;
  std::array<uint8_t, kMaxSource> missing;
  uint32_t used = 0;
  uint32_t missingCount = 0;
  ErasureKey key;
  for (uint32_t i = 0; i < k; ++i) {
    if (byIndex[i] != nullptr) {
      key.sources |= uint64_t{1} << i;
      rows[used] = static_cast<uint8_t>(i);
      inputs[used++] = byIndex[i];
    } else {
      missing[missingCount++] = static_cast<uint8_t>(i);
    }
  }
  if (missingCount == 0) return 0u;
  for (uint32_t j = 0; j < config_.m && used < k; ++j) {
    if (byIndex[k + j] == nullptr) continue;
    key.repairs |= uint32_t{1} << j;
    rows[used] = static_cast<uint8_t>(k + j);
    inputs[used++] = byIndex[k + j];
  }
  if (used < k) {
    return fail(ErrorCode::kExhausted, "reed-solomon decode: fewer than k symbols received");
  }
  // used == k, so missingCount == number of repairs used ≤ m.
  std::array<uint8_t*, kMaxRepair> outputs;
  for (uint32_t i = 0; i < missingCount; ++i) {
    outputs[i] = recovered[missing[i]];
    if (outputs[i] == nullptr) {
      return fail(ErrorCode::kInvalidArgument, "reed-solomon decode: no buffer for a source");
    }
  }

  uint8_t* tables = cache_.find(key);
  if (tables != nullptr) {
    counters_.cacheHits.add();
  } else {
    counters_.cacheMisses.add();
    tables = cache_.insert(key);
    if (!buildDecodeTables(rows.data(), missing.data(), missingCount, tables)) {
      cache_.clear();  // the slot was claimed for a pattern it holds no tables for
      return fail(ErrorCode::kInternal, "reed-solomon decode: singular decode matrix");
    }
  }
  ec_encode_data(static_cast<int>(symbolSize), static_cast<int>(k), static_cast<int>(missingCount),
                 tables, const_cast<unsigned char**>(inputs.data()), outputs.data());
  counters_.blocksDecoded.add();
  counters_.symbolsRecovered.add(missingCount);
  return missingCount;
}

bool ReedSolomonCodec::buildDecodeTables(const uint8_t* rows, const uint8_t* missing,
                                         uint32_t missingCount, uint8_t* tables) noexcept {
  // rows[] holds the k - e received sources, then the e repairs standing in for the e missing
  // sources. The generator's top is the identity, so the k × k system splits: with C the repair
  // rows, P the received and M the missing sources, y = C[R][P]·x[P] + C[R][M]·x[M], hence
  // x[M] = D⁻¹·y + D⁻¹·C[R][P]·x[P] with D = C[R][M] (addition is XOR in GF(2^8)). Only the
  // e × e matrix D is inverted: O(e³ + e²k) instead of O(k³) for the whole submatrix, which at
  // k = 40 is the difference between a few microseconds and over a hundred.
  const size_t k = config_.k;
  const size_t e = missingCount;
  const size_t present = k - e;
  const uint8_t* repairRows = rows + present;
  uint8_t* d = scratch_.get();
  uint8_t* dInverse = d + k * k;
  uint8_t* decodeRows = dInverse + k * k;
  auto coefficient = [&](size_t row, size_t column) { return generator_[row * k + column]; };
  for (size_t a = 0; a < e; ++a) {
    for (size_t b = 0; b < e; ++b) d[a * e + b] = coefficient(repairRows[a], missing[b]);
  }
  if (gf_invert_matrix(d, dInverse, static_cast<int>(e)) != 0) return false;
  // Decode row i, its columns in the order of rows[]: the received sources, then the repairs.
  for (size_t i = 0; i < e; ++i) {
    uint8_t* out = decodeRows + i * k;
    const uint8_t* inverseRow = dInverse + i * e;
    for (size_t c = 0; c < present; ++c) {
      uint8_t sum = 0;
      for (size_t a = 0; a < e; ++a)
        sum ^= gf_mul(inverseRow[a], coefficient(repairRows[a], rows[c]));
      out[c] = sum;
    }
    for (size_t a = 0; a < e; ++a) out[present + a] = inverseRow[a];
  }
  ec_init_tables(static_cast<int>(k), static_cast<int>(e), decodeRows, tables);
  return true;
}

}  // namespace braid::dp
