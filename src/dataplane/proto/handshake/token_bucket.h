#pragma once

#include <algorithm>
#include <cstdint>

namespace braid::proto {

// Token bucket rate limiter in caller-supplied monotonic time. One owner thread.
class TokenBucket {
 public:
  TokenBucket(double ratePerSecond, double burst)
      : ratePerNs_(ratePerSecond / 1e9), burst_(burst), tokens_(burst) {}

  // Takes one token if available; true if the event may proceed.
  bool take(uint64_t nowNs) noexcept {
    if (lastNs_ != 0 && nowNs > lastNs_) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(nowNs - lastNs_) * ratePerNs_);
    }
    lastNs_ = nowNs;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double ratePerNs_;
  double burst_;
  double tokens_;
  uint64_t lastNs_ = 0;
};

}  // namespace braid::proto
