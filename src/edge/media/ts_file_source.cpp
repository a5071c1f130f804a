#include "edge/media/ts_file_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace braid::edge {

namespace {

constexpr size_t kBufferBytes = 1024 * kTsPacketSize;
constexpr size_t kProbePackets = 5;
constexpr uint64_t kMaxPcrStep = kPcrHz;    // a larger forward jump is a discontinuity
constexpr uint64_t kMaxLateUs = 1'000'000;  // behind by more: re-anchor, do not burst
constexpr uint64_t kTicksPerUs = kPcrHz / 1'000'000;

// Forward distance from `from` to `to` on the PCR circle.
uint64_t pcrDelta(uint64_t from, uint64_t to) {
  return (to + kPcrWrap - from) % kPcrWrap;
}

std::string hexByte(uint8_t b) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02x", b);
  return text;
}

}  // namespace

Result<std::unique_ptr<TsFileSource>> TsFileSource::open(const std::string& path,
                                                         const TsFileOptions& options) {
  if (options.fallbackBitrate == 0) {
    return fail(ErrorCode::kInvalidArgument, "input '" + path + "': fallback bitrate is 0");
  }
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    return fail(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                "input file '" + path + "': " + std::strerror(errno));
  }
  dp::UniqueFd fd(raw);

  // The first packets must line up: a file that does not start with TS is refused here
  // rather than resynchronised, since it is most likely not TS at all (MP4, MKV, ES).
  uint8_t probe[kProbePackets * kTsPacketSize];
  size_t got = 0;
  while (got < sizeof(probe)) {
    ssize_t n = ::pread(fd.get(), probe + got, sizeof(probe) - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorCode::kIo, "read '" + path + "': " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got < kTsPacketSize) {
    return fail(ErrorCode::kParse, "input '" + path + "' is not MPEG-TS: " +
                                       (got == 0 ? std::string("the file is empty")
                                                 : "only " + std::to_string(got) +
                                                       " bytes, less than one 188-byte packet"));
  }
  for (size_t offset = 0; offset + kTsPacketSize <= got; offset += kTsPacketSize) {
    if (probe[offset] != kTsSyncByte) {
      return fail(ErrorCode::kParse, "input '" + path + "' is not MPEG-TS: expected sync byte " +
                                         "0x47 every 188 bytes, found " + hexByte(probe[offset]) +
                                         " at offset " + std::to_string(offset));
    }
  }
  return std::unique_ptr<TsFileSource>(new TsFileSource(std::move(fd), path, options));
}

TsFileSource::TsFileSource(dp::UniqueFd fd, std::string path, const TsFileOptions& options)
    : fd_(std::move(fd)), path_(std::move(path)), options_(options), buf_(kBufferBytes) {
  if (!options_.clock) options_.clock = steadyClock();
  ticksPerPacket_ = static_cast<double>(kTsPacketSize * 8) * static_cast<double>(kPcrHz) /
                    static_cast<double>(options_.fallbackBitrate);
}

Result<void> TsFileSource::refill() {
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    scanFrom_ = scanFrom_ > pos_ ? scanFrom_ - pos_ : 0;
    pos_ = 0;
  }
  while (end_ < buf_.size() && !eof_) {
    ssize_t n = ::read(fd_.get(), buf_.data() + end_, buf_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorCode::kIo, "read '" + path_ + "': " + std::strerror(errno));
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
  }
  return ok();
}

bool TsFileSource::syncStartsWithin(size_t from, size_t to) const {
  for (size_t i = from; i < to && i + kTsPacketSize < end_; ++i) {
    if (buf_[i] == kTsSyncByte && buf_[i + kTsPacketSize] == kTsSyncByte) return true;
  }
  return false;
}

Result<void> TsFileSource::resync() {
  // buf_[pos_] did not start a packet followed by another: find the next 0x47 that
  // repeats 188 bytes later.
  size_t i = pos_ + 1;
  for (;;) {
    for (; i + kTsPacketSize < end_; ++i) {
      if (buf_[i] == kTsSyncByte && buf_[i + kTsPacketSize] == kTsSyncByte) {
        counters_.skippedBytes.add(i - pos_);
        pos_ = i;
        return ok();
      }
    }
    if (eof_) {
      // Nothing follows to confirm it, so accept a last packet that ends exactly at EOF.
      size_t last = end_ >= kTsPacketSize ? end_ - kTsPacketSize : end_;
      if (end_ >= kTsPacketSize && last >= i && buf_[last] == kTsSyncByte) {
        counters_.skippedBytes.add(last - pos_);
        pos_ = last;
      } else {
        counters_.skippedBytes.add(end_ - pos_);
        pos_ = end_;
      }
      return ok();
    }
    counters_.skippedBytes.add(i - pos_);
    pos_ = i;
    if (auto filled = refill(); !filled) return filled;
    i = pos_;
  }
}

Result<bool> TsFileSource::nextPacket() {
  for (;;) {
    // Keep at least half a buffer ahead so lookAhead() usually sees the next PCR.
    if (!eof_ && end_ - pos_ < buf_.size() / 2) {
      if (auto filled = refill(); !filled) return tl::unexpected(filled.error());
    }
    const size_t avail = end_ - pos_;
    if (avail >= kTsPacketSize && buf_[pos_] == kTsSyncByte) {
      if (avail < 2 * kTsPacketSize || buf_[pos_ + kTsPacketSize] == kTsSyncByte) return true;
      // The next packet does not follow. If a repeating sync starts inside this one, it was
      // cut short: drop it. Otherwise it is whole and garbage follows it.
      if (!syncStartsWithin(pos_ + 1, pos_ + kTsPacketSize)) return true;
    }
    if (avail < kTsPacketSize) {
      counters_.skippedBytes.add(avail);  // a packet cut off by the end of the file
      pos_ = end_;
      if (!options_.loop) {
        finished_ = true;
        return false;
      }
      if (packetsThisPass_ == 0) {
        return fail(ErrorCode::kParse, "input '" + path_ + "': no TS packets left to loop over");
      }
      if (::lseek(fd_.get(), 0, SEEK_SET) != 0) {
        return fail(ErrorCode::kIo, "seek '" + path_ + "': " + std::strerror(errno));
      }
      eof_ = false;
      pos_ = end_ = scanFrom_ = 0;
      haveNext_ = false;
      packetsThisPass_ = 0;
      counters_.loops.add();
      continue;
    }
    if (auto synced = resync(); !synced) return tl::unexpected(synced.error());
  }
}

uint64_t TsFileSource::predictedTicks(uint64_t index) const {
  const uint64_t base = havePcr_ ? lastTicks_ : 0;
  const uint64_t from = havePcr_ ? lastIndex_ : 0;
  return base + static_cast<uint64_t>(static_cast<double>(index - from) * ticksPerPacket_);
}

void TsFileSource::lookAhead() {
  size_t off = std::max(scanFrom_, pos_);
  for (; off + kTsPacketSize <= end_; off += kTsPacketSize) {
    if (buf_[off] != kTsSyncByte) break;  // resync decides what follows; do not guess
    std::span<const uint8_t> p(buf_.data() + off, kTsPacketSize);
    if (tsPid(p) != pcrPid_) continue;
    auto pcr = tsPcr(p);
    if (!pcr) continue;
    const uint64_t delta = pcrDelta(lastPcr_, *pcr);
    if (delta <= kMaxPcrStep) {
      haveNext_ = true;
      nextTicks_ = lastTicks_ + delta;
      nextIndex_ = index_ + (off - pos_) / kTsPacketSize;
      off += kTsPacketSize;
    }
    break;  // a discontinuous PCR is handled when it is delivered
  }
  scanFrom_ = off;
}

uint64_t TsFileSource::mediaTicks(const uint8_t* packet, bool& pcrContinuous) const {
  std::span<const uint8_t> p(packet, kTsPacketSize);
  uint64_t ticks = 0;
  pcrContinuous = false;
  std::optional<uint64_t> pcr;
  if (pcrPid_ < 0 || tsPid(p) == pcrPid_) pcr = tsPcr(p);
  if (pcr && havePcr_ && pcrDelta(lastPcr_, *pcr) <= kMaxPcrStep) {
    pcrContinuous = true;
    ticks = lastTicks_ + pcrDelta(lastPcr_, *pcr);
  } else if (!pcr && haveNext_ && nextIndex_ > lastIndex_) {
    const double fraction =
        static_cast<double>(index_ - lastIndex_) / static_cast<double>(nextIndex_ - lastIndex_);
    ticks =
        lastTicks_ + static_cast<uint64_t>(fraction * static_cast<double>(nextTicks_ - lastTicks_));
  } else {
    ticks = predictedTicks(index_);
  }
  return std::max(ticks, maxTicks_);
}

void TsFileSource::takePcr(uint64_t pcr, uint64_t ticks, bool continuous) {
  if (havePcr_ && continuous && index_ > lastIndex_ && ticks > lastTicks_) {
    ticksPerPacket_ =
        static_cast<double>(ticks - lastTicks_) / static_cast<double>(index_ - lastIndex_);
  }
  if (havePcr_ && !continuous) counters_.pcrDiscontinuities.add();
  havePcr_ = true;
  lastPcr_ = pcr;
  lastTicks_ = ticks;
  lastIndex_ = index_;
  haveNext_ = false;
}

Result<size_t> TsFileSource::read(TsBatch& batch) {
  batch.count = 0;
  const uint64_t now = options_.clock->nowUs();
  nextDueUs_ = now;
  while (!batch.full()) {
    auto more = nextPacket();
    if (!more) return tl::unexpected(more.error());
    if (!*more) break;
    const uint8_t* packet = buf_.data() + pos_;
    std::span<const uint8_t> p(packet, kTsPacketSize);
    std::optional<uint64_t> pcr;
    if (pcrPid_ < 0 || tsPid(p) == pcrPid_) pcr = tsPcr(p);
    if (!pcr && havePcr_ && !haveNext_) lookAhead();
    bool continuous = false;
    const uint64_t ticks = mediaTicks(packet, continuous);
    const uint64_t mediaUs = ticks / kTicksPerUs;

    if (options_.pace) {
      if (!anchored_) {
        anchored_ = true;
        anchorClockUs_ = now;
        anchorMediaUs_ = mediaUs;
      }
      const uint64_t due = anchorClockUs_ + (mediaUs - anchorMediaUs_);
      if (due > now) {
        nextDueUs_ = due;
        break;
      }
      if (now - due > kMaxLateUs) {
        anchorClockUs_ = now - (mediaUs - anchorMediaUs_);
        counters_.reanchors.add();
      }
    }

    if (pcr) {
      if (pcrPid_ < 0) pcrPid_ = tsPid(p);
      takePcr(*pcr, ticks, continuous);
    }
    maxTicks_ = ticks;
    batch.append(packet, mediaUs);
    pos_ += kTsPacketSize;
    ++index_;
    ++packetsThisPass_;
  }
  counters_.packets.add(batch.count);
  counters_.bytes.add(batch.count * kTsPacketSize);
  return batch.count;
}

uint64_t TsFileSource::mediaNowUs() const {
  if (!anchored_) return maxTicks_ / kTicksPerUs;
  return anchorMediaUs_ + (options_.clock->nowUs() - anchorClockUs_);
}

void TsFileSource::wait(uint64_t timeoutUs) {
  if (finished_) return;
  const uint64_t now = options_.clock->nowUs();
  const uint64_t until = std::min(nextDueUs_, now + timeoutUs);
  if (until > now) options_.clock->sleepUntilUs(until);
}

}  // namespace braid::edge
