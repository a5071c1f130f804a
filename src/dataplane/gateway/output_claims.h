#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace braid::dp {

// Which edge key each open output URL carries, across all workers: an output without
// {key} may carry one key's stream at a time, and two workers must not both open it. Taken
// only at admission and reload (slow path), never per packet. Any thread.
class OutputClaims {
 public:
  // Claims `url` for `keyId`; true if it was free or already this key's. `holder` is set
  // to the key that holds it.
  bool claim(const std::string& url, uint32_t keyId, uint32_t& holder) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = claims_.try_emplace(url, keyId);
    holder = it->second;
    return inserted || it->second == keyId;
  }
  // Gives `url` up if `keyId` holds it (its output was closed).
  void release(const std::string& url, uint32_t keyId) {
    std::lock_guard lock(mutex_);
    auto it = claims_.find(url);
    if (it != claims_.end() && it->second == keyId) claims_.erase(it);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> claims_;
};

}  // namespace braid::dp
