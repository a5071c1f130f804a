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
  // Sets up what the sink's first write would otherwise (e.g. backs a write buffer's pages),
  // once, before media comes: the output thread calls it when it takes the output on, while
  // the session is still starting. Owner thread only.
  virtual void prepare() {}
};

}  // namespace braid::dp
