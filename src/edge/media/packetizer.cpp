#include "edge/media/packetizer.h"

#include <string>

namespace braid::edge {

Result<Packetizer> Packetizer::create(const PacketizerOptions& options) {
  const size_t limit =
      options.maxPayload < proto::kMaxPacketSize ? options.maxPayload : proto::kMaxPacketSize;
  const size_t whole = limit - limit % kTsPacketSize;
  if (whole == 0) {
    return fail(ErrorCode::kInvalidArgument, "packetizer: max payload " +
                                                 std::to_string(options.maxPayload) +
                                                 " B holds no 188-byte TS packet");
  }
  return Packetizer(whole, options.maxHoldUs);
}

}  // namespace braid::edge
