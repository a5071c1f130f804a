#include "dataplane/io/stall_watch.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <thread>

namespace braid::dp {
namespace {

constexpr uint64_t kMs = 1'000'000;

ThreadUsage fakeUsage;
int usageReads = 0;
ThreadUsage readFake() noexcept {
  ++usageReads;
  return fakeUsage;
}

class StallWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fakeUsage = {};
    usageReads = 0;
  }
  StallWatch watch{readFake};
};

TEST_F(StallWatchTest, AShortPassIsNoStallAndReadsTheUsageAtMostEvery10Ms) {
  for (uint64_t t = 1 * kMs; t < 100 * kMs; t += kMs / 10) {
    watch.begin(t);
    EXPECT_FALSE(watch.end(t, t + kMs / 20, 0));
  }
  EXPECT_LE(usageReads, 11);
  EXPECT_GE(usageReads, 9);
}

TEST_F(StallWatchTest, ALongPassOnItsCpuIsTheWorkersOwnWork) {
  watch.begin(1 * kMs);
  fakeUsage = {
      .cpuNs = 28 * kMs, .preemptions = 1, .blocks = 0, .pageFaults = 4097, .majorFaults = 2};
  auto stall = watch.end(1 * kMs, 31 * kMs, 0);
  ASSERT_TRUE(stall);
  EXPECT_EQ(stall->heldNs, 30 * kMs);
  EXPECT_EQ(stall->windowNs, 30 * kMs);
  EXPECT_EQ(stall->used.cpuNs, 28 * kMs);
  EXPECT_EQ(stall->used.preemptions, 1u);
  EXPECT_EQ(stall->used.pageFaults, 4097u);
  EXPECT_EQ(stall->used.majorFaults, 2u);
  EXPECT_FALSE(stall->offCpu());
}

TEST_F(StallWatchTest, APassOffItsCpuIsTheMachineAndTheNextStallCountsFromItsEnd) {
  fakeUsage = {.cpuNs = 500 * kMs, .preemptions = 10, .blocks = 100};
  watch.begin(1 * kMs);
  watch.begin(5 * kMs);  // within 10 ms of the sample: not read again
  fakeUsage = {.cpuNs = 504 * kMs, .preemptions = 13, .blocks = 100, .pageFaults = 0};
  auto stall = watch.end(5 * kMs, 65 * kMs, 0);
  ASSERT_TRUE(stall);
  EXPECT_EQ(stall->heldNs, 60 * kMs);
  EXPECT_EQ(stall->windowNs, 64 * kMs);  // from the sample at 1 ms
  EXPECT_EQ(stall->used.cpuNs, 4 * kMs);
  EXPECT_EQ(stall->used.preemptions, 3u);
  EXPECT_EQ(stall->used.pageFaults, 0u);
  EXPECT_TRUE(stall->offCpu());
  fakeUsage.cpuNs += 25 * kMs;
  watch.begin(66 * kMs);  // 1 ms after the stall's own sample: not read
  stall = watch.end(66 * kMs, 91 * kMs, 0);
  ASSERT_TRUE(stall);
  EXPECT_EQ(stall->windowNs, 26 * kMs);
  EXPECT_EQ(stall->used.cpuNs, 25 * kMs);
}

TEST_F(StallWatchTest, ASleepStallsOnlyWhatItOverranItsPlan) {
  watch.begin(1 * kMs);
  EXPECT_FALSE(watch.end(1 * kMs, 40 * kMs, 30 * kMs));  // 9 ms late
  auto stall = watch.end(100 * kMs, 152 * kMs, 1 * kMs);
  ASSERT_TRUE(stall);
  EXPECT_EQ(stall->heldNs, 51 * kMs);
}

TEST(StallWatchUsage, TheThreadsOwnCpuTimeGrowsWhileItWorksAndNotWhileItSleeps) {
  ThreadUsage before = currentThreadUsage();
  volatile uint64_t sink = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
  ThreadUsage worked = currentThreadUsage();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ThreadUsage slept = currentThreadUsage();
  EXPECT_GE(worked.cpuNs - before.cpuNs, 10 * kMs);  // wide: a loaded machine preempts
  EXPECT_LT(slept.cpuNs - worked.cpuNs, 10 * kMs);
  EXPECT_GE(slept.blocks, worked.blocks + 1);  // the sleep is a voluntary switch
}

TEST(StallWatchUsage, FirstTouchingFreshPagesCountsAFaultForEach) {
  constexpr size_t kPages = 256;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* mapped =
      ::mmap(nullptr, kPages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  // Huge pages would back the whole span with a fault or two.
  ::madvise(mapped, kPages * page, MADV_NOHUGEPAGE);
  auto* bytes = static_cast<volatile uint8_t*>(mapped);
  ThreadUsage before = currentThreadUsage();
  for (size_t i = 0; i < kPages; ++i) bytes[i * page] = 1;
  ThreadUsage touched = currentThreadUsage();
  for (size_t i = 0; i < kPages; ++i) bytes[i * page] = 2;
  ThreadUsage again = currentThreadUsage();
  ::munmap(mapped, kPages * page);
  EXPECT_GE(touched.pageFaults - before.pageFaults, kPages);
  EXPECT_LT(again.pageFaults - touched.pageFaults, kPages / 8);  // resident now
  EXPECT_EQ(touched.majorFaults, before.majorFaults);  // anonymous memory waits for no storage
}

TEST(StallWatchUsage, TheWarningSaysWhatTheThreadUsedAndWhoseFaultItWas) {
  const Stall own{
      .heldNs = 30 * kMs,
      .windowNs = 30 * kMs,
      .used = {.cpuNs = 28 * kMs, .preemptions = 1, .pageFaults = 4097, .majorFaults = 2}};
  StallUsageText out{};
  EXPECT_EQ(describeStallUsage(own, out),
            "of the last 30.0 ms it ran 28.0 ms, preempted 1 times, blocked 0 times, 4097 page "
            "faults (2 major) (on its CPU: its own work)");
  const Stall held{.heldNs = 300 * kMs, .windowNs = 305 * kMs, .used = {.cpuNs = 0, .blocks = 1}};
  EXPECT_TRUE(describeStallUsage(held, out).ends_with("(off its CPU: the machine held it)"));
  // A buffer too short for the line gets its start, never past its end.
  std::array<char, 16> shortBuffer{};
  EXPECT_EQ(describeStallUsage(own, shortBuffer), "of the last 30.0");
}

TEST(StallWatchUsage, TallyCountsEveryStallAndKeepsTheLongest) {
  OwnedCounter stalls;
  OwnedCounter longestUs;
  tallyStall(Stall{.heldNs = 30 * kMs, .windowNs = 0, .used = {}}, stalls, longestUs);
  tallyStall(Stall{.heldNs = 300 * kMs, .windowNs = 0, .used = {}}, stalls, longestUs);
  tallyStall(Stall{.heldNs = 25 * kMs, .windowNs = 0, .used = {}}, stalls, longestUs);
  EXPECT_EQ(stalls.read(), 3u);
  EXPECT_EQ(longestUs.read(), 300'000u);
}

}  // namespace
}  // namespace braid::dp
