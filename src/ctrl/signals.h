#pragma once

#include <chrono>
#include <optional>

#include "dataplane/proto/result.h"

namespace braid::ctrl {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread. Threads inherit the mask, so main
// calls this before it creates any thread; from then on only a SignalWatcher sees them.
// Returns an error only if pthread_sigmask fails.
[[nodiscard]] Result<void> blockShutdownSignals();

// Receives the shutdown signals through a signalfd, so no handler runs in an arbitrary thread
// and the main thread decides when to stop. Move-only owner of the descriptor.
class SignalWatcher {
 public:
  // Opens a signalfd for SIGINT, SIGTERM and SIGHUP. Fails if they are not blocked in the
  // calling thread (call blockShutdownSignals() first), because otherwise the default action
  // would kill the process before the watcher saw anything.
  [[nodiscard]] static Result<SignalWatcher> create();

  SignalWatcher(SignalWatcher&& other) noexcept;
  SignalWatcher& operator=(SignalWatcher&& other) noexcept;
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher();

  // Waits up to `timeout` (0: just checks) for a pending signal. One thread at a time.
  // Returns the signal number, or std::nullopt on timeout or interruption.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  // The descriptor, for callers that poll it together with other descriptors.
  int fd() const { return fd_; }

 private:
  explicit SignalWatcher(int fd) : fd_(fd) {}

  int fd_ = -1;
};

}  // namespace braid::ctrl
