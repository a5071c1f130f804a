// bpf/braid_xdp.bpf.c on packet fixtures through bpf_prog_test_run_opts: the verdict and the
// statistic each frame lands in. Needs root (loading BPF programs); skips otherwise.
#include "dataplane/io/xdp_program.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/io/udp_frame.h"

namespace braid::dp {
namespace {

constexpr uint16_t kPort = 7400;
const MacAddress kMac = {0x02, 0, 0, 0, 0, 1};

SocketAddress addr(const char* text) {
  return *parseSocketAddress(text);
}

std::vector<uint8_t> udpFrame(const std::vector<uint8_t>& payload, const char* to = "10.0.0.1:7400",
                              const char* from = "10.0.0.2:5555") {
  SocketAddress f = addr(from);
  SocketAddress t = addr(to);
  size_t header = udpFrameHeaderSize(f, t);
  std::vector<uint8_t> out(header + payload.size());
  if (!payload.empty()) std::memcpy(out.data() + header, payload.data(), payload.size());
  EXPECT_TRUE(writeUdpFrameHeaders({out.data(), header}, kMac, kMac, f, t, payload));
  return out;
}

std::vector<uint8_t> braid(uint8_t type, size_t size, uint8_t link = 0, uint8_t flags = 0,
                           uint8_t version = 1) {
  std::vector<uint8_t> p(size, 0);
  if (size > 0) p[0] = version;
  if (size > 1) p[1] = type;
  if (size > 10) p[10] = link;
  if (size > 11) p[11] = flags;
  return p;
}

struct Fixture {
  std::string description;
  std::vector<uint8_t> frame;
  uint32_t verdict;
  std::optional<braid_xdp_stat> stat;  // the statistic it counts in, if any
};

std::vector<Fixture> fixtures() {
  std::vector<Fixture> f;
  f.push_back({"DATA 1200 B", udpFrame(braid(16, 1200, 3)), XDP_PASS, BRAID_XDP_NO_SOCKET});
  f.push_back({"KEEPALIVE 38 B (smallest sealed)", udpFrame(braid(20, 38, 15)), XDP_PASS,
               BRAID_XDP_NO_SOCKET});
  f.push_back({"HS_INIT 1200 B", udpFrame(braid(1, 1200, 1)), XDP_PASS, BRAID_XDP_NO_SOCKET});
  f.push_back({"DATA over IPv6", udpFrame(braid(16, 100), "[fd00::1]:7400", "[fd00::2]:5555"),
               XDP_PASS, BRAID_XDP_NO_SOCKET});
  f.push_back({"empty datagram", udpFrame({}), XDP_DROP, BRAID_XDP_DROP_TOO_SHORT});
  f.push_back({"11 bytes", udpFrame(braid(16, 11)), XDP_DROP, BRAID_XDP_DROP_TOO_SHORT});
  f.push_back(
      {"version 2", udpFrame(braid(16, 60, 0, 0, 2)), XDP_DROP, BRAID_XDP_DROP_BAD_VERSION});
  f.push_back({"type 5", udpFrame(braid(5, 60)), XDP_DROP, BRAID_XDP_DROP_UNKNOWN_TYPE});
  f.push_back({"type 24", udpFrame(braid(24, 60)), XDP_DROP, BRAID_XDP_DROP_UNKNOWN_TYPE});
  f.push_back({"link 16", udpFrame(braid(16, 60, 16)), XDP_DROP, BRAID_XDP_DROP_BAD_LINK});
  // The gateway's order: the type is judged before the link ID.
  f.push_back(
      {"type 9 and link 16", udpFrame(braid(9, 60, 16)), XDP_DROP, BRAID_XDP_DROP_UNKNOWN_TYPE});
  f.push_back(
      {"NACK with link 200", udpFrame(braid(19, 60, 200)), XDP_DROP, BRAID_XDP_DROP_WRONG_DIR});
  f.push_back({"DATA 37 B", udpFrame(braid(16, 37)), XDP_DROP, BRAID_XDP_DROP_SEALED_SHORT});
  f.push_back({"HS_INIT 1199 B", udpFrame(braid(1, 1199)), XDP_DROP, BRAID_XDP_DROP_BAD_INIT});
  f.push_back(
      {"HS_INIT with flags", udpFrame(braid(1, 1200, 0, 1)), XDP_DROP, BRAID_XDP_DROP_BAD_INIT});
  f.push_back(
      {"HS_COOKIE to the gateway", udpFrame(braid(2, 60)), XDP_DROP, BRAID_XDP_DROP_WRONG_DIR});
  f.push_back({"ACK to the gateway", udpFrame(braid(18, 60)), XDP_DROP, BRAID_XDP_DROP_WRONG_DIR});
  auto longUdp = udpFrame(braid(16, 60));
  longUdp[34 + 4] = 0x05;  // UDP length 0x05xx: more than the frame holds
  f.push_back({"UDP length beyond the frame", longUdp, XDP_DROP, BRAID_XDP_DROP_BAD_UDP});
  auto firstFragment = udpFrame(braid(16, 60));
  firstFragment[14 + 6] = 0x20;  // MF
  f.push_back({"first IPv4 fragment", firstFragment, XDP_DROP, BRAID_XDP_DROP_FRAGMENT});
  auto laterFragment = udpFrame(braid(16, 60));
  laterFragment[14 + 7] = 0x10;  // offset 16: no UDP header in it
  f.push_back({"later IPv4 fragment", laterFragment, XDP_PASS, std::nullopt});
  f.push_back(
      {"junk to another port", udpFrame(braid(9, 3), "10.0.0.1:53"), XDP_PASS, std::nullopt});
  auto arp = udpFrame(braid(16, 60));
  arp[12] = 0x08;
  arp[13] = 0x06;
  f.push_back({"ARP", arp, XDP_PASS, std::nullopt});
  auto tcp = udpFrame(braid(16, 60));
  tcp[14 + 9] = 6;
  f.push_back({"TCP to the port", tcp, XDP_PASS, std::nullopt});
  return f;
}

TEST(XdpProgram, FixturesGiveVerdictAndReason) {
  if (geteuid() != 0) GTEST_SKIP() << "loading a BPF program needs root";
  auto program = XdpProgram::loadDetached(kPort);
  ASSERT_TRUE(program) << program.error().describe();
  for (const Fixture& fixture : fixtures()) {
    auto before = (*program)->readStats();
    ASSERT_TRUE(before);
    std::vector<uint8_t> out(fixture.frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = fixture.frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(fixture.frame.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts((*program)->programFd(), &opts), 0) << fixture.description;
    EXPECT_EQ(opts.retval, fixture.verdict) << fixture.description;
    // The frame leaves unchanged, whatever the verdict.
    ASSERT_EQ(opts.data_size_out, fixture.frame.size()) << fixture.description;
    EXPECT_EQ(std::memcmp(out.data(), fixture.frame.data(), fixture.frame.size()), 0);
    auto after = (*program)->readStats();
    ASSERT_TRUE(after);
    for (int i = 0; i < BRAID_XDP_STAT_COUNT; ++i) {
      auto stat = static_cast<braid_xdp_stat>(i);
      uint64_t expected = fixture.stat == stat ? 1 : 0;
      EXPECT_EQ(after->packets(stat) - before->packets(stat), expected)
          << fixture.description << ": " << xdpStatName(stat);
    }
  }
  auto stats = (*program)->readStats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->dropped(), 15u);
}

TEST(XdpProgram, StatNamesAreDistinct) {
  for (int i = 0; i < BRAID_XDP_STAT_COUNT; ++i) {
    for (int j = i + 1; j < BRAID_XDP_STAT_COUNT; ++j) {
      EXPECT_STRNE(xdpStatName(static_cast<braid_xdp_stat>(i)),
                   xdpStatName(static_cast<braid_xdp_stat>(j)));
    }
  }
  EXPECT_STREQ(xdpStatName(BRAID_XDP_STAT_COUNT), "unknown");
}

}  // namespace
}  // namespace braid::dp
