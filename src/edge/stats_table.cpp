#include "edge/stats_table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace braid::edge {

namespace {

double ms(uint64_t us) {
  return static_cast<double>(us) / 1000;
}

}  // namespace

Result<StatsTable> StatsTable::open(const std::string& path, size_t links) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) {
    return fail(ErrorCode::kIo, "stats table: cannot open " + path + ": " + std::strerror(errno));
  }
  StatsTable table(out, links);
  // The table owns the top rows (title, header, one per link, a rule); the terminal's scroll
  // region below them keeps log lines from overwriting it.
  int rows = 0;
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0) rows = size.ws_row;
  auto tableRows = static_cast<int>(links) + 3;
  std::fprintf(out, "\033[2J\033[H");
  if (rows > tableRows + 2) std::fprintf(out, "\033[%d;%dr", tableRows + 1, rows);
  std::fprintf(out, "\033[%d;1H", tableRows + 1);
  std::fflush(out);
  return table;
}

StatsTable::StatsTable(StatsTable&& other) noexcept : out_(other.out_), links_(other.links_) {
  other.out_ = nullptr;
}

StatsTable::~StatsTable() {
  if (out_ == nullptr) return;
  std::fprintf(out_, "\033[r\n");  // the whole terminal scrolls again
  std::fclose(out_);
}

std::string StatsTable::header() {
  return fmt::format("{:<10} {:<8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7} {:>7} {:>5}",
                     "link", "state", "pace", "deliv", "rtt", "owd", "queue", "jit95", "loss",
                     "infl", "score", "demo");
}

std::string StatsTable::row(const EdgeLinkCounters& l, const std::string& name) {
  return fmt::format(
      "{:<10.10} {:<8} {:>7.2f} {:>7.2f} {:>7.1f} {:>7.1f} {:>7.1f} {:>7.1f} {:>5.1f}% {:>6.0f}K "
      "{:>7.1f} {:>5}",
      name, linkPhaseName(static_cast<LinkPhase>(l.phase.read())),
      static_cast<double>(l.paceBps.read()) / 1e6, static_cast<double>(l.deliveryBps.read()) / 1e6,
      ms(l.srttUs.read()), ms(l.forwardDelayUs.read()), ms(l.queueDelayUs.read()),
      ms(l.jitterP95Us.read()), static_cast<double>(l.lossPerMille.read()) / 10,
      static_cast<double>(l.inflightBytes.read()) / 1000, ms(l.scoreUs.read()), l.downs.read());
}

void StatsTable::draw(const EdgeCounters& c, const LinkSet& links, double seconds) {
  if (out_ == nullptr) return;
  std::string text = "\0337\033[H";  // save the cursor, go to the top
  text += fmt::format(
      "\033[2Kbraid-edge t={:.1f}s  session {:016x}  {}  live links {}  (Mbit/s, ms; score = "
      "expected delivery of a full packet)\n",
      seconds, c.sessionId.load(), edgeStateName(static_cast<EdgeState>(c.state.load())),
      c.liveLinks.read());
  text += "\033[2K" + header() + "\n";
  size_t rows = 0;
  for (uint8_t id = 0; id < proto::kMaxLinks && rows < links_; ++id) {
    if (const EdgeLinkOptions* link = links.find(id)) {
      text += "\033[2K" + row(c.links[id], link->name) + "\n";
      ++rows;
    }
  }
  text += "\033[2K" + std::string(header().size(), '-') + "\n";
  for (; rows < links_; ++rows) text += "\033[2K\n";  // rows of removed links
  text += "\0338";                                    // back to where the log lines go
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
}

}  // namespace braid::edge
