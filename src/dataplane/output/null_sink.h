#pragma once

#include "dataplane/output/output_sink.h"

namespace braid::dp {

// "null:": takes media and keeps none of it, as /dev/null would but without a write per
// chunk. For load tests and benchmarks that measure the gateway rather than a disk; the
// output thread still counts every chunk and byte. Unlike a file, one null output may carry
// any number of edge keys at once (there is no stream to mix up).
class NullSink final : public OutputSink {
 public:
  Result<void> write(std::span<const uint8_t> /*bytes*/) override { return {}; }
  Result<void> flush() override { return {}; }
};

inline constexpr std::string_view kNullOutputUrl = "null:";

}  // namespace braid::dp
