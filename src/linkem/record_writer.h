#pragma once

// The per-packet CSV record (format in docs/linkem.md), written through a 1 MiB buffer so the
// relay does one write per thousands of packets, never one per packet.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/proto/result.h"
#include "linkem/link_model.h"

namespace braid::linkem {

struct RecordRow {
  std::string_view link;
  bool up = true;
  uint64_t digest = 0;
  uint32_t size = 0;
  uint64_t arrivalNs = 0;
  uint64_t departureNs = 0;  // kNone only
  uint64_t deliveryNs = 0;   // kNone only
  uint64_t sentNs = 0;       // kNone only
  Drop result = Drop::kNone;
};

class RecordWriter {
 public:
  RecordWriter() = default;  // disabled: write() does nothing
  RecordWriter(RecordWriter&&) noexcept;
  RecordWriter& operator=(RecordWriter&&) noexcept;
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;
  ~RecordWriter();

  // Creates (truncates) `path` and writes the header with `epochNs`. Returns the writer or a
  // kIo Error.
  [[nodiscard]] static Result<RecordWriter> open(const std::string& path, uint64_t epochNs);

  bool enabled() const { return file_ != nullptr; }
  // Appends one row; times are relative to the epoch. Owner thread; no allocation.
  void write(const RecordRow& row) noexcept;
  // Writes out the buffer. Returns false (once logged by the caller) if the disk refused.
  bool flush() noexcept;

 private:
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;
  size_t used_ = 0;
  bool failed_ = false;
};

// FNV-1a over the first 32 bytes: joins the record with other captures of the same packets.
uint64_t payloadDigest(const uint8_t* data, size_t size) noexcept;

}  // namespace braid::linkem
