#include "dataplane/io/stall_watch.h"

#include <sys/resource.h>

namespace braid::dp {

ThreadUsage currentThreadUsage() noexcept {
  rusage usage{};
  if (::getrusage(RUSAGE_THREAD, &usage) != 0) return {};
  auto ns = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000 +
           static_cast<uint64_t>(tv.tv_usec) * 1'000;
  };
  return {
      .cpuNs = ns(usage.ru_utime) + ns(usage.ru_stime),
      .preemptions = static_cast<uint64_t>(usage.ru_nivcsw),
      .blocks = static_cast<uint64_t>(usage.ru_nvcsw),
      .pageFaults = static_cast<uint64_t>(usage.ru_minflt) + static_cast<uint64_t>(usage.ru_majflt),
      .majorFaults = static_cast<uint64_t>(usage.ru_majflt)};
}

}  // namespace braid::dp
