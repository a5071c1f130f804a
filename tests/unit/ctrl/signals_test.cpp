#include "ctrl/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace braid::ctrl {
namespace {

using namespace std::chrono_literals;

// Restores the thread's signal mask, so the tests do not depend on their order.
class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &saved_), 0); }
  void TearDown() override {
    // Drain anything still pending so unblocking does not kill the test process.
    if (Result<SignalWatcher> watcher = SignalWatcher::create()) {
      while (watcher->wait(0ms)) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }

 private:
  sigset_t saved_{};
};

TEST_F(SignalsTest, CreateRequiresBlockedSignals) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &set, nullptr), 0);
  Result<SignalWatcher> watcher = SignalWatcher::create();
  ASSERT_FALSE(watcher.has_value());
  EXPECT_EQ(watcher.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(watcher.error().context,
            "SIGINT is not blocked; call blockShutdownSignals() before creating threads and the "
            "SignalWatcher");
}

TEST_F(SignalsTest, TimesOutWithoutSignal) {
  ASSERT_TRUE(blockShutdownSignals().has_value());
  Result<SignalWatcher> watcher = SignalWatcher::create();
  ASSERT_TRUE(watcher.has_value()) << watcher.error().describe();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(watcher->wait(50ms).has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
  EXPECT_FALSE(watcher->wait(0ms).has_value());
}

TEST_F(SignalsTest, ReceivesEachShutdownSignal) {
  ASSERT_TRUE(blockShutdownSignals().has_value());
  Result<SignalWatcher> watcher = SignalWatcher::create();
  ASSERT_TRUE(watcher.has_value()) << watcher.error().describe();
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    ASSERT_EQ(kill(getpid(), sig), 0);
    EXPECT_EQ(watcher->wait(1000ms), sig);
  }
  EXPECT_FALSE(watcher->wait(0ms).has_value());
}

TEST_F(SignalsTest, SignalFromAnotherThreadWakesTheWaiter) {
  // Threads created after blocking inherit the mask: the process-directed signal can only
  // be taken by the signalfd.
  ASSERT_TRUE(blockShutdownSignals().has_value());
  Result<SignalWatcher> watcher = SignalWatcher::create();
  ASSERT_TRUE(watcher.has_value()) << watcher.error().describe();
  std::thread sender([] {
    std::this_thread::sleep_for(20ms);
    kill(getpid(), SIGTERM);
  });
  std::optional<int> got;
  for (int i = 0; i < 100 && !got; ++i) got = watcher->wait(100ms);
  sender.join();
  EXPECT_EQ(got, SIGTERM);
}

TEST_F(SignalsTest, MoveTransfersOwnership) {
  ASSERT_TRUE(blockShutdownSignals().has_value());
  Result<SignalWatcher> watcher = SignalWatcher::create();
  ASSERT_TRUE(watcher.has_value()) << watcher.error().describe();
  int fd = watcher->fd();
  SignalWatcher moved = std::move(*watcher);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(watcher->fd(), -1);  // NOLINT(bugprone-use-after-move): documented moved-from state.
  EXPECT_FALSE(watcher->wait(0ms).has_value());
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  EXPECT_EQ(moved.wait(1000ms), SIGHUP);
}

}  // namespace
}  // namespace braid::ctrl
