#include "ctrl/signals.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace braid::ctrl {

namespace {

constexpr int kShutdownSignals[] = {SIGINT, SIGTERM, SIGHUP};

sigset_t shutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kShutdownSignals) sigaddset(&set, sig);
  return set;
}

}  // namespace

Result<void> blockShutdownSignals() {
  sigset_t set = shutdownSet();
  // pthread_sigmask returns the error number instead of setting errno.
  int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (rc != 0) return fail(ErrorCode::kInternal, fmt::format("pthread_sigmask: {}", strerror(rc)));
  return ok();
}

Result<SignalWatcher> SignalWatcher::create() {
  sigset_t current;
  int rc = pthread_sigmask(SIG_BLOCK, nullptr, &current);
  if (rc != 0) return fail(ErrorCode::kInternal, fmt::format("pthread_sigmask: {}", strerror(rc)));
  for (int sig : kShutdownSignals) {
    if (sigismember(&current, sig) != 1) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("SIG{} is not blocked; call blockShutdownSignals() before "
                              "creating threads and the SignalWatcher",
                              sigabbrev_np(sig)));
    }
  }
  sigset_t set = shutdownSet();
  int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return fail(ErrorCode::kIo, fmt::format("signalfd: {}", strerror(errno)));
  return SignalWatcher(fd);
}

SignalWatcher::SignalWatcher(SignalWatcher&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

SignalWatcher& SignalWatcher::operator=(SignalWatcher&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

SignalWatcher::~SignalWatcher() {
  if (fd_ >= 0) close(fd_);
}

std::optional<int> SignalWatcher::wait(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  pollfd pfd{.fd = fd_, .events = POLLIN, .revents = 0};
  const auto ms = timeout.count();
  const int pollTimeout = ms < 0 ? 0 : (ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms));
  if (poll(&pfd, 1, pollTimeout) <= 0) return std::nullopt;
  signalfd_siginfo info;
  // Non-blocking: another reader (or a spurious wakeup) leaves nothing to read.
  ssize_t n = read(fd_, &info, sizeof info);
  if (n != static_cast<ssize_t>(sizeof info)) return std::nullopt;
  return static_cast<int>(info.ssi_signo);
}

}  // namespace braid::ctrl
