#include "linkem/record_writer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace braid::linkem {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr size_t kMaxRowBytes = 256;  // 32 + 16 + 5 * 20 digits + reasons, with room

}  // namespace

uint64_t payloadDigest(const uint8_t* data, size_t size) noexcept {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size && i < 32; ++i) hash = (hash ^ data[i]) * 0x100000001b3ull;
  return hash;
}

RecordWriter::RecordWriter(RecordWriter&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      buffer_(std::move(other.buffer_)),
      used_(std::exchange(other.used_, 0)),
      failed_(other.failed_) {}

RecordWriter& RecordWriter::operator=(RecordWriter&& other) noexcept {
  if (this != &other) {
    flush();
    if (file_) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    buffer_ = std::move(other.buffer_);
    used_ = std::exchange(other.used_, 0);
    failed_ = other.failed_;
  }
  return *this;
}

RecordWriter::~RecordWriter() {
  flush();
  if (file_) std::fclose(file_);
}

Result<RecordWriter> RecordWriter::open(const std::string& path, uint64_t epochNs) {
  RecordWriter writer;
  writer.file_ = std::fopen(path.c_str(), "w");
  if (!writer.file_) {
    return fail(ErrorCode::kIo, "record " + path + ": " + std::strerror(errno));
  }
  writer.buffer_.resize(kBufferBytes);
  std::string header = fmt::format(
      "# braid-linkem record v1 epoch_ns={}\n"
      "link,dir,digest,size,arrival_ns,departure_ns,delivery_ns,sent_ns,result\n",
      epochNs);
  if (std::fwrite(header.data(), 1, header.size(), writer.file_) != header.size()) {
    return fail(ErrorCode::kIo, "record " + path + ": " + std::strerror(errno));
  }
  return writer;
}

void RecordWriter::write(const RecordRow& row) noexcept {
  if (!file_) return;
  if (used_ + kMaxRowBytes + row.link.size() > buffer_.size()) flush();
  char* out = buffer_.data() + used_;
  size_t room = buffer_.size() - used_;
  fmt::format_to_n_result<char*> r;
  if (row.result == Drop::kNone) {
    r = fmt::format_to_n(out, room, "{},{},{:016x},{},{},{},{},{},ok\n", row.link,
                         row.up ? "up" : "down", row.digest, row.size, row.arrivalNs,
                         row.departureNs, row.deliveryNs, row.sentNs);
  } else {
    r = fmt::format_to_n(out, room, "{},{},{:016x},{},{},,,,{}\n", row.link, row.up ? "up" : "down",
                         row.digest, row.size, row.arrivalNs, dropName(row.result));
  }
  used_ += std::min(r.size, room);
}

bool RecordWriter::flush() noexcept {
  if (!file_) return true;
  if (used_ > 0 && !failed_) {
    failed_ = std::fwrite(buffer_.data(), 1, used_, file_) != used_;
  }
  used_ = 0;
  if (!failed_) failed_ = std::fflush(file_) != 0;
  return !failed_;
}

}  // namespace braid::linkem
