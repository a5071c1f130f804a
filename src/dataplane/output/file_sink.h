#pragma once

#include <memory>
#include <string>

#include "dataplane/output/output_sink.h"
#include "dataplane/output/unique_fd.h"

namespace braid::dp {

// How an existing file is opened: emptied (a new recording) or written on at its end (the same
// key's recording, reopened after its output was closed for idleness).
enum class FileOpen { kTruncate, kAppend };

// Writes media to a file, created, truncated or appended to on open, through a user-space buffer.
// No fsync: a recording is not a database, and fsync would stall the output thread.
class FileSink final : public OutputSink {
 public:
  static constexpr size_t kDefaultBufferBytes = 256 * 1024;

  // Opens `path` for writing (mode 0644). Any thread. Fails with kIo and the errno text.
  [[nodiscard]] static Result<std::unique_ptr<FileSink>> create(
      const std::string& path, size_t bufferBytes = kDefaultBufferBytes,
      FileOpen mode = FileOpen::kTruncate);
  // Flushes what is still buffered (errors are lost here: call flush() first).
  ~FileSink() override;

  [[nodiscard]] Result<void> write(std::span<const uint8_t> bytes) override;
  [[nodiscard]] Result<void> flush() override;
  // Allocates the write buffer and backs its pages.
  void prepare() override;

  const std::string& path() const { return path_; }

 private:
  FileSink(UniqueFd fd, std::string path, size_t bufferBytes);
  Result<void> writeAll(const uint8_t* data, size_t size);

  UniqueFd fd_;
  std::string path_;
  // Allocated by prepare() (or the first write), on the output thread: a sink opens on a
  // gateway worker, where zeroing 256 KB took a page fault per 4 KiB and even mapping it
  // (glibc maps an allocation this large) waited on the process's memory-map lock while
  // another thread faulted, each time holding the worker's other sessions. Backed at
  // prepare(), not at the first write: else a fleet of sessions starting their media together
  // would have the output thread map and fault in every buffer at once (500 sessions: 32 000
  // pages) beside the worker receiving that media.
  std::unique_ptr<uint8_t[]> buffer_;
  size_t capacity_;
  size_t used_ = 0;
};

}  // namespace braid::dp
