#include "dataplane/output/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace braid::dp {

Result<std::unique_ptr<FileSink>> FileSink::create(const std::string& path, size_t bufferBytes,
                                                   FileOpen mode) {
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, "output file: empty path");
  const int modeFlag = mode == FileOpen::kAppend ? O_APPEND : O_TRUNC;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | modeFlag | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail(ErrorCode::kIo, "output file '" + path + "': " + std::strerror(errno));
  }
  if (bufferBytes == 0) bufferBytes = 1;
  return std::unique_ptr<FileSink>(new FileSink(UniqueFd(fd), path, bufferBytes));
}

FileSink::FileSink(UniqueFd fd, std::string path, size_t bufferBytes)
    : fd_(std::move(fd)), path_(std::move(path)), capacity_(bufferBytes) {}

FileSink::~FileSink() {
  (void)flush();
}

Result<void> FileSink::write(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return ok();
  if (!buffer_ && bytes.size() < capacity_) prepare();
  // A large write, or no memory for the buffer: straight to the file (slower, nothing lost).
  if (!buffer_) return writeAll(bytes.data(), bytes.size());
  if (used_ + bytes.size() <= capacity_) {
    std::memcpy(buffer_.get() + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
    return ok();
  }
  if (auto flushed = flush(); !flushed) return flushed;
  // Large writes go straight to the file rather than through the buffer.
  if (bytes.size() >= capacity_) return writeAll(bytes.data(), bytes.size());
  std::memcpy(buffer_.get(), bytes.data(), bytes.size());
  used_ = bytes.size();
  return ok();
}

void FileSink::prepare() {
  if (buffer_) return;
  buffer_.reset(new (std::nothrow) uint8_t[capacity_]);
  if (!buffer_) return;  // the first write tries again, or writes straight to the file
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  auto* bytes = static_cast<volatile uint8_t*>(buffer_.get());
  for (size_t offset = 0; offset < capacity_; offset += page) bytes[offset] = 0;
}

Result<void> FileSink::flush() {
  if (used_ == 0) return ok();
  // The buffer is emptied even on error: retrying the same bytes after ENOSPC or EIO
  // would only repeat the failure, and the caller counts the loss.
  auto result = writeAll(buffer_.get(), used_);
  used_ = 0;
  return result;
}

Result<void> FileSink::writeAll(const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd_.get(), data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, "write '" + path_ + "': " + std::strerror(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return ok();
}

}  // namespace braid::dp
