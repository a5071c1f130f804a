#include "dataplane/fec/fec_decoder.h"

#include <new>

namespace braid::dp {

Result<std::unique_ptr<FecBlockDecoder>> FecBlockDecoder::create(const FecDecoderConfig& config) {
  if (config.blocks == 0 || config.blocks > kMaxBlocks) {
    return fail(ErrorCode::kInvalidArgument, "fec decoder: blocks in flight must be 1..64");
  }
  return std::unique_ptr<FecBlockDecoder>(new FecBlockDecoder(config));
}

bool FecBlockDecoder::allocate() noexcept {
  blocks_.reset(new (std::nothrow) Block[config_.blocks]);
  repairs_.reset(new (std::nothrow)
                     uint8_t[size_t{config_.blocks} * ReedSolomonCodec::kMaxRepair * kStride]);
  scratch_.reset(
      new (std::nothrow)
          uint8_t[size_t{ReedSolomonCodec::kMaxSource + ReedSolomonCodec::kMaxRepair} * kStride]);
  if (!blocks_ || !repairs_ || !scratch_) {
    blocks_.reset();
    repairs_.reset();
    scratch_.reset();
    return false;
  }
  return true;
}

ReedSolomonCodec* FecBlockDecoder::codecFor(uint32_t k) noexcept {
  if (!codecs_[k]) {
    auto codec = ReedSolomonCodec::create({.k = k,
                                           .m = ReedSolomonCodec::kMaxRepair,
                                           .decodeCacheEntries = config_.decodeCacheEntries});
    if (!codec) return nullptr;
    codecs_[k] = std::move(*codec);
  }
  return codecs_[k].get();
}

}  // namespace braid::dp
