#pragma once

#include <cstdint>
#include <span>

#include "dataplane/proto/result.h"

namespace braid::dp {

// Where a session's media goes (file, UDP, later SRT/RTMP). Slow path: an output thread
// owns its sink and may block in it, so a virtual interface costs nothing that matters.
class OutputSink {
 public:
  virtual ~OutputSink() = default;

  // Queues or writes `bytes`. Owner thread only. Returns an I/O error with context.
  [[nodiscard]] virtual Result<void> write(std::span<const uint8_t> bytes) = 0;
  // Pushes out everything buffered so far. Owner thread only.
  [[nodiscard]] virtual Result<void> flush() = 0;
};

}  // namespace braid::dp
