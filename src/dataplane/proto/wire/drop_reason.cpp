#include "dataplane/proto/wire/drop_reason.h"

namespace braid::proto {

const char* dropReasonName(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::kTooShort:
      return "too_short";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kUnknownType:
      return "unknown_type";
    case DropReason::kBadHeader:
      return "bad_header";
    case DropReason::kUnknownSession:
      return "unknown_session";
    case DropReason::kAuthFailed:
      return "auth_failed";
    case DropReason::kReplay:
      return "replay";
    case DropReason::kBadCookie:
      return "bad_cookie";
    case DropReason::kBadMac:
      return "bad_mac";
    case DropReason::kStaleHandshake:
      return "stale_handshake";
    case DropReason::kRateLimited:
      return "rate_limited";
    case DropReason::kMalformedBody:
      return "malformed_body";
    case DropReason::kUnknownKey:
      return "unknown_key";
    case DropReason::kWrongDirection:
      return "wrong_direction";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

}  // namespace braid::proto
