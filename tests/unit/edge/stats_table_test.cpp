// The live per-link table: one aligned row per link from the published gauges, and the ANSI
// drawing on a pseudo-terminal.

#include "edge/stats_table.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <string>

namespace braid::edge {
namespace {

TEST(StatsTable, ARowShowsTheLinksGaugesInTheHeadersColumns) {
  EdgeLinkCounters link;
  link.phase.set(static_cast<uint64_t>(LinkPhase::kDegrade));
  link.paceBps.set(2'500'000);
  link.deliveryBps.set(1'250'000);
  link.srttUs.set(84'500);
  link.forwardDelayUs.set(42'000);
  link.queueDelayUs.set(3'000);
  link.jitterP95Us.set(17'500);
  link.lossPerMille.set(12);
  link.inflightBytes.set(36'000);
  link.scoreUs.set(61'200);
  link.downs.set(2);
  std::string row = StatsTable::row(link, "verizon");
  EXPECT_EQ(row,
            "verizon    degrade     2.50    1.25    84.5    42.0     3.0    17.5   1.2%     36K "
            "   61.2     2");
  EXPECT_EQ(row.size(), StatsTable::header().size());
}

TEST(StatsTable, TakesTheTopOfATerminalAndGivesItBack) {
  int master = -1, slave = -1;
  winsize size{.ws_row = 40, .ws_col = 120, .ws_xpixel = 0, .ws_ypixel = 0};
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, &size), 0);
  {
    auto table = StatsTable::open(::ttyname(slave), 3);
    ASSERT_TRUE(table) << table.error().describe();
  }
  // A pty hands over what was written in pieces: read until it has nothing more for 200 ms.
  std::string written;
  pollfd pfd{.fd = master, .events = POLLIN, .revents = 0};
  while (::poll(&pfd, 1, 200) > 0) {
    char buffer[4096];
    ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    written.append(buffer, static_cast<size_t>(n));
  }
  // Cleared, log lines confined below the title, header, 3 links and rule; reset at the end.
  EXPECT_NE(written.find("\033[2J"), std::string::npos);
  EXPECT_NE(written.find("\033[7;40r"), std::string::npos);
  EXPECT_NE(written.find("\033[r"), std::string::npos);
  auto missing = StatsTable::open("/nonexistent/tty", 1);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().describe().find("/nonexistent/tty"), std::string::npos);
  ::close(master);
  ::close(slave);
}

}  // namespace
}  // namespace braid::edge
