#pragma once

#include <array>
#include <cstdint>

namespace braid::proto {

// Sliding replay window over one link's 48-bit sequences (docs/protocol.md §3.5): the
// highest sequence seen and a 2048-packet bitmap behind it. One owner thread.
class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 2048;

  // True if `seq` is neither older than the window nor already accepted.
  bool check(uint64_t seq) const noexcept {
    if (!any_ || seq > highest_) return true;
    uint64_t behind = highest_ - seq;
    if (behind >= kSize) return false;
    return !test(seq);
  }
  // Marks `seq` seen; call only after the packet authenticated. A sequence older than the
  // window is ignored.
  void accept(uint64_t seq) noexcept {
    if (!any_) {
      any_ = true;
      highest_ = seq;
      bits_.fill(0);
      set(seq);
      return;
    }
    if (seq > highest_) {
      uint64_t advance = seq - highest_;
      if (advance >= kSize) {
        bits_.fill(0);
      } else {
        // Clear the slots that now fall inside the window for the first time.
        for (uint64_t s = highest_ + 1; s <= seq; ++s) clear(s);
      }
      highest_ = seq;
    } else if (highest_ - seq >= kSize) {
      // Older than the window: its bit slot now belongs to a newer sequence, which marking
      // it would wrongly reject later.
      return;
    }
    set(seq);
  }
  uint64_t highest() const noexcept { return highest_; }

 private:
  bool test(uint64_t seq) const noexcept { return (bits_[(seq % kSize) / 64] >> (seq % 64)) & 1; }
  void set(uint64_t seq) noexcept { bits_[(seq % kSize) / 64] |= uint64_t{1} << (seq % 64); }
  void clear(uint64_t seq) noexcept { bits_[(seq % kSize) / 64] &= ~(uint64_t{1} << (seq % 64)); }

  std::array<uint64_t, kSize / 64> bits_{};
  uint64_t highest_ = 0;
  bool any_ = false;
};

}  // namespace braid::proto
