#pragma once

// The per-packet CSV record (format in docs/linkem.md). The relay formats rows into 1 MiB
// buffers and hands full ones to a writer thread over a ring, so neither a write() nor a slow
// disk ever delays a packet; if the disk falls behind by all buffers, rows are dropped and
// counted (rowsDropped), never the packets.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dataplane/proto/result.h"
#include "dataplane/ring/spsc_ring.h"
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
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;
  ~RecordWriter();

  // Creates (truncates) `path`, writes the header with `epochNs` and starts the writer
  // thread. Returns the writer or a kIo Error.
  [[nodiscard]] static Result<std::unique_ptr<RecordWriter>> open(const std::string& path,
                                                                  uint64_t epochNs);

  // Appends one row; times are relative to the epoch. Relay thread; no allocation, no syscall.
  void write(const RecordRow& row) noexcept;
  // Hands the partly filled buffer over, waits until everything is on disk and stops the
  // writer thread. Relay thread, once at the end. Returns false if a write failed.
  bool finish() noexcept;

  uint64_t rowsDropped() const { return rowsDropped_; }

 private:
  struct Filled {
    uint32_t buffer = 0;
    uint32_t used = 0;
  };
  RecordWriter();
  void handOver() noexcept;
  void writerLoop() noexcept;

  std::FILE* file_ = nullptr;
  std::vector<std::vector<char>> buffers_;
  dp::SpscRing<Filled> filled_{8};   // relay → writer
  dp::SpscRing<uint32_t> empty_{8};  // writer → relay
  uint32_t current_ = 0;
  bool haveCurrent_ = false;
  size_t used_ = 0;
  uint64_t rowsDropped_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::thread writer_;
  bool finished_ = false;
};

// FNV-1a over the first 32 bytes: joins the record with other captures of the same packets.
uint64_t payloadDigest(const uint8_t* data, size_t size) noexcept;

}  // namespace braid::linkem
