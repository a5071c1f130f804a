#include "dataplane/fec/fec_encoder.h"

#include <algorithm>
#include <cstring>

#include "dataplane/fec/fec_symbol.h"

namespace braid::dp {

Result<std::unique_ptr<FecBlockEncoder>> FecBlockEncoder::create(const FecEncoderConfig& config) {
  if (config.maxSources == 0 || config.maxSources > ReedSolomonCodec::kMaxSource) {
    return fail(ErrorCode::kInvalidArgument, "fec: block size must be 1..64 packets");
  }
  if (config.maxRepairs == 0 || config.maxRepairs > ReedSolomonCodec::kMaxRepair) {
    return fail(ErrorCode::kInvalidArgument, "fec: repairs per block must be 1..16");
  }
  if (config.maxPayload == 0 ||
      config.maxPayload + kSourceSymbolHeader > ReedSolomonCodec::kMaxSymbolSize) {
    return fail(ErrorCode::kInvalidArgument, "fec: payload too large for a symbol");
  }
  std::unique_ptr<FecBlockEncoder> encoder(new FecBlockEncoder(config));
  for (uint32_t k = 1; k <= config.maxSources; ++k) {
    // Encode only: no decode tables to cache. The repair rows of a Cauchy matrix do not depend
    // on m, so one codec per k serves every repair count.
    auto codec =
        ReedSolomonCodec::create({.k = k, .m = config.maxRepairs, .decodeCacheEntries = 0});
    if (!codec) return tl::unexpected(codec.error());
    encoder->codecs_[k] = std::move(*codec);
  }
  return encoder;
}

FecBlockEncoder::FecBlockEncoder(const FecEncoderConfig& config)
    : config_(config),
      stride_(config.maxPayload + kSourceSymbolHeader),
      sources_(new uint8_t[stride_ * config.maxSources]),
      repairs_(new uint8_t[stride_ * config.maxRepairs]) {}

bool FecBlockEncoder::add(uint64_t seq, uint64_t mediaTsUs, std::span<const uint8_t> payload,
                          uint64_t nowNs) noexcept {
  if (payload.empty() || payload.size() > config_.maxPayload || full()) return false;
  if (count_ == 0) {
    firstSeq_ = seq;
    openedNs_ = nowNs;
  } else if (seq != firstSeq_ + count_) {
    return false;
  }
  // The header and padding are written at close(), when the block's timestamp base and
  // symbol size are known; only the payload is copied now.
  std::memcpy(sources_.get() + count_ * stride_ + kSourceSymbolHeader, payload.data(),
              payload.size());
  lengths_[count_] = static_cast<uint16_t>(payload.size());
  timestamps_[count_] = mediaTsUs;
  ++count_;
  return true;
}

Result<FecRepairBlock> FecBlockEncoder::close(uint32_t repairs) noexcept {
  if (count_ == 0) return fail(ErrorCode::kInvalidArgument, "fec: no open block");
  if (repairs == 0 || repairs > config_.maxRepairs) {
    return fail(ErrorCode::kInvalidArgument, "fec: repairs per block must be 1..16");
  }
  const uint32_t k = count_;
  const size_t symbolSize =
      *std::max_element(lengths_.begin(), lengths_.begin() + k) + kSourceSymbolHeader;
  const uint64_t blockTsUs = timestamps_[0];
  std::array<const uint8_t*, ReedSolomonCodec::kMaxSource> sources{};
  for (uint32_t i = 0; i < k; ++i) {
    uint8_t* symbol = sources_.get() + i * stride_;
    // The payload is in place already; the header and padding go around it.
    writeSourceSymbolFrame(symbol, symbolSize, lengths_[i], timestamps_[i], blockTsUs);
    sources[i] = symbol;
  }
  std::array<uint8_t*, ReedSolomonCodec::kMaxRepair> out{};
  for (uint32_t j = 0; j < repairs; ++j) out[j] = repairs_.get() + j * stride_;
  auto encoded = codecs_[k]->encode(std::span<const uint8_t* const>(sources.data(), k),
                                    std::span<uint8_t* const>(out.data(), repairs), symbolSize);
  count_ = 0;
  if (!encoded) return tl::unexpected(encoded.error());
  return FecRepairBlock{.blockId = nextBlockId_++,
                        .k = k,
                        .m = repairs,
                        .firstSeq = firstSeq_,
                        .blockTsUs = blockTsUs,
                        .symbolSize = symbolSize,
                        .repairs = repairs_.get(),
                        .stride = stride_};
}

}  // namespace braid::dp
