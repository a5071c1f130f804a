#pragma once

// The edge's live per-link table for a terminal: state, pacing and delivery rate, RTT,
// forward one-way delay, queueing jitter (p95), loss, bytes in flight and the scheduler's score,
// redrawn 20 times a second in a fixed region at the top of the terminal while log lines
// scroll below it.

#include <cstdint>
#include <cstdio>
#include <string>

#include "dataplane/proto/result.h"
#include "edge/edge_session.h"
#include "edge/link_set.h"

namespace braid::edge {

class StatsTable {
 public:
  // Opens `path` (a terminal, e.g. /dev/tty) for a table of up to `links` rows. Control thread.
  static Result<StatsTable> open(const std::string& path, size_t links);
  StatsTable(StatsTable&& other) noexcept;
  StatsTable& operator=(StatsTable&&) = delete;
  StatsTable(const StatsTable&) = delete;
  ~StatsTable();

  // Draws the table from the counters the sender thread publishes, one row per link of
  // `links` (the control thread's current set; rows come and go with reloads). Control thread.
  void draw(const EdgeCounters& counters, const LinkSet& links, double seconds);

  // One table row as text (also what tests check).
  static std::string row(const EdgeLinkCounters& link, const std::string& name);
  static std::string header();

 private:
  StatsTable(std::FILE* out, size_t links) : out_(out), links_(links) {}
  std::FILE* out_ = nullptr;
  size_t links_ = 0;
};

}  // namespace braid::edge
