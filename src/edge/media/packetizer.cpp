#include "edge/media/packetizer.h"

#include <string>

namespace braid::edge {

Result<Packetizer> Packetizer::create(const PacketizerOptions& options) {
  const size_t limit =
      options.maxPayload < proto::kMaxPacketSize ? options.maxPayload : proto::kMaxPacketSize;
  // One byte of every body is the run count (zero when nothing was deleted).
  const size_t packets = limit > 0 ? (limit - 1) / kTsPacketSize : 0;
  if (packets == 0) {
    return fail(ErrorCode::kInvalidArgument, "packetizer: max payload " +
                                                 std::to_string(options.maxPayload) +
                                                 " B holds no 188-byte TS packet");
  }
  return Packetizer(limit, packets, options.maxHoldUs);
}

}  // namespace braid::edge
