#include "linkem/record_writer.h"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace braid::linkem {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;
constexpr uint32_t kBuffers = 6;      // ~6 s of rows at 50 kpps before anything is dropped
constexpr size_t kMaxRowBytes = 256;  // 16 + 5 * 20 digits + reason, with room
constexpr auto kWriterPoll = std::chrono::milliseconds(2);

}  // namespace

uint64_t payloadDigest(const uint8_t* data, size_t size) noexcept {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size && i < 32; ++i) hash = (hash ^ data[i]) * 0x100000001b3ull;
  return hash;
}

RecordWriter::RecordWriter() = default;

RecordWriter::~RecordWriter() {
  finish();
}

Result<std::unique_ptr<RecordWriter>> RecordWriter::open(const std::string& path,
                                                         uint64_t epochNs) {
  std::unique_ptr<RecordWriter> writer(new RecordWriter());
  writer->file_ = std::fopen(path.c_str(), "w");
  if (!writer->file_) return fail(ErrorCode::kIo, "record " + path + ": " + std::strerror(errno));
  std::string header = fmt::format(
      "# braid-linkem record v1 epoch_ns={}\n"
      "link,dir,digest,size,arrival_ns,departure_ns,delivery_ns,sent_ns,result\n",
      epochNs);
  if (std::fwrite(header.data(), 1, header.size(), writer->file_) != header.size()) {
    return fail(ErrorCode::kIo, "record " + path + ": " + std::strerror(errno));
  }
  writer->buffers_.resize(kBuffers, std::vector<char>(kBufferBytes));
  for (uint32_t i = 1; i < kBuffers; ++i) writer->empty_.tryPush(i);
  writer->current_ = 0;
  writer->haveCurrent_ = true;
  writer->writer_ = std::thread([w = writer.get()] { w->writerLoop(); });
  return writer;
}

void RecordWriter::handOver() noexcept {
  if (haveCurrent_ && used_ > 0) {
    if (filled_.tryPush(Filled{current_, static_cast<uint32_t>(used_)})) {
      haveCurrent_ = false;
    } else {
      return;  // cannot happen: at most kBuffers are in flight and the ring holds 8
    }
  }
  used_ = 0;
  if (!haveCurrent_) {
    uint32_t next = 0;
    haveCurrent_ = empty_.tryPop(next);
    current_ = next;
  }
}

void RecordWriter::write(const RecordRow& row) noexcept {
  if (!file_ || finished_) return;
  if (!haveCurrent_ || used_ + kMaxRowBytes + row.link.size() > kBufferBytes) handOver();
  if (!haveCurrent_) {
    ++rowsDropped_;
    return;
  }
  char* out = buffers_[current_].data() + used_;
  size_t room = kBufferBytes - used_;
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

void RecordWriter::writerLoop() noexcept {
  while (true) {
    Filled filled;
    if (filled_.tryPop(filled)) {
      if (!failed_.load(std::memory_order_relaxed) &&
          std::fwrite(buffers_[filled.buffer].data(), 1, filled.used, file_) != filled.used) {
        failed_.store(true, std::memory_order_relaxed);
      }
      empty_.tryPush(filled.buffer);
      continue;
    }
    if (stop_.load(std::memory_order_acquire)) {
      if (filled_.size() == 0) break;
      continue;
    }
    std::this_thread::sleep_for(kWriterPoll);
  }
  if (std::fflush(file_) != 0) failed_.store(true, std::memory_order_relaxed);
}

bool RecordWriter::finish() noexcept {
  if (!file_ || finished_) return !failed_.load();
  if (haveCurrent_ && used_ > 0) {
    while (!filled_.tryPush(Filled{current_, static_cast<uint32_t>(used_)})) {
      std::this_thread::sleep_for(kWriterPoll);
    }
    haveCurrent_ = false;
  }
  finished_ = true;
  stop_.store(true, std::memory_order_release);
  writer_.join();
  if (std::fclose(file_) != 0) failed_.store(true);
  file_ = nullptr;
  return !failed_.load();
}

}  // namespace braid::linkem
