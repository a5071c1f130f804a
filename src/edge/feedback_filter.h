#pragma once

#include <cstdint>

namespace braid::edge {

// Which ACKs carry news. The gateway sends every ACK on two links (docs/transport.md, Per-link
// measurement), and its per-link receive reports count what arrived since the previous ACK: a
// controller fed both copies counted each interval's bytes twice, over the gap between the copies'
// arrivals, and took a link's delivery rate for twice what it was. Both copies are sealed at one
// instant, so they carry the same gateway send timestamp; an ACK is news only if it was sent after
// the newest one taken. (A copy overtaken by a later ACK is dropped too: its interval is already
// past, and its round trip would be the slower return path's.) Sender thread; no allocation.
class FeedbackFilter {
 public:
  // Whether the ACK the gateway sent at `gatewaySendTsUs` (its 32-bit µs send timestamp) is
  // newer than every ACK taken so far; if so it is taken.
  bool take(uint32_t gatewaySendTsUs) noexcept {
    // Wrap-aware: the timestamp wraps every 71.6 minutes. One far older than the newest (more
    // than kRestartGapUs) is a restarted gateway clock, not a straggler, and starts over.
    const auto sinceNewest = static_cast<int32_t>(gatewaySendTsUs - newestUs_);
    if (haveNewest_ && sinceNewest <= 0 && sinceNewest > -kRestartGapUs) return false;
    haveNewest_ = true;
    newestUs_ = gatewaySendTsUs;
    return true;
  }
  // A new session (a new gateway clock): every ACK is news again.
  void reset() noexcept { haveNewest_ = false; }

 private:
  static constexpr int32_t kRestartGapUs = 10'000'000;
  bool haveNewest_ = false;
  uint32_t newestUs_ = 0;
};

}  // namespace braid::edge
