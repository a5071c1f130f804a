#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataplane/output/unique_fd.h"
#include "edge/media/clock.h"
#include "edge/media/ts_source.h"

namespace braid::edge {

struct TsFileOptions {
  bool loop = false;  // restart at the end; media time keeps increasing
  bool pace = true;   // false: deliver as fast as read() is called (tests, benchmarks)
  uint64_t fallbackBitrate = 8'000'000;   // bit/s, for a file without PCR
  std::shared_ptr<MonotonicClock> clock;  // null: steadyClock()
};

// Reads a TS file and delivers whole packets in real time, paced by the PCR of the first
// PID that carries one. Packets between two PCRs are timed by linear interpolation over
// their position (looking ahead in the read buffer for the next PCR; past it, the rate of
// the previous interval). A PCR that jumps by more than 1 s or goes backwards (a splice, a
// wrap of a corrupt stream, the restart of a loop) re-anchors PCR to media time at the
// position the previous rate predicts, so media time stays continuous and monotonic.
// Media time is mapped to the clock at the first packet; a reader more than 1 s late
// re-anchors rather than bursting.
class TsFileSource final : public TsSource {
 public:
  // Opens `path` and checks that it starts with TS packets (0x47 at a 188-byte stride).
  // Any thread. Errors: kNotFound / kIo (cannot open or read), kParse (not TS).
  [[nodiscard]] static Result<std::unique_ptr<TsFileSource>> open(
      const std::string& path, const TsFileOptions& options = {});

  [[nodiscard]] Result<size_t> read(TsBatch& batch) override;
  void wait(uint64_t timeoutUs) override;
  bool finished() const override { return finished_; }
  uint64_t mediaNowUs() const override;

  // Clock time (MonotonicClock µs) at which the next packet is due: sleep until then.
  // Equal to the last read's clock time when packets are due now. Owner thread.
  uint64_t nextDueUs() const { return nextDueUs_; }
  // The PID whose PCR paces the file; -1 until one was seen. Owner thread.
  int pcrPid() const { return pcrPid_; }

 private:
  TsFileSource(dp::UniqueFd fd, std::string path, const TsFileOptions& options);
  // Makes buf_[pos_] the start of a whole, synchronised packet, refilling, resyncing and
  // looping as needed. Returns false at the end of a non-looping file.
  Result<bool> nextPacket();
  Result<void> refill();
  Result<void> resync();
  // True if a 0x47 that repeats 188 bytes later starts in buf_[from, to).
  bool syncStartsWithin(size_t from, size_t to) const;
  // Media time (27 MHz) of the packet at buf_[pos_]; for a PCR packet also whether its
  // PCR continues the previous one.
  uint64_t mediaTicks(const uint8_t* packet, bool& pcrContinuous) const;
  uint64_t predictedTicks(uint64_t index) const;
  // Records the PCR packet just delivered as the new interpolation anchor.
  void takePcr(uint64_t pcr, uint64_t ticks, bool continuous);
  // Finds the next continuous PCR in the buffered data, for interpolation.
  void lookAhead();

  dp::UniqueFd fd_;
  std::string path_;
  TsFileOptions options_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool finished_ = false;
  uint64_t packetsThisPass_ = 0;

  // Pacing state, in 27 MHz ticks and packet indices (counted over loops).
  uint64_t index_ = 0;  // index of the packet at buf_[pos_]
  int pcrPid_ = -1;
  bool havePcr_ = false;
  uint64_t lastPcr_ = 0;    // raw PCR of the anchor packet
  uint64_t lastTicks_ = 0;  // its media time
  uint64_t lastIndex_ = 0;  // its packet index
  double ticksPerPacket_ = 0;
  bool haveNext_ = false;  // next continuous PCR found ahead in buf_
  uint64_t nextTicks_ = 0;
  uint64_t nextIndex_ = 0;
  size_t scanFrom_ = 0;    // buf_ offset where lookAhead continues
  uint64_t maxTicks_ = 0;  // media time never goes backwards

  bool anchored_ = false;
  uint64_t anchorClockUs_ = 0;
  uint64_t anchorMediaUs_ = 0;
  uint64_t nextDueUs_ = 0;
};

}  // namespace braid::edge
