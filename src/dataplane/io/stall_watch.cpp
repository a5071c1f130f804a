#include "dataplane/io/stall_watch.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>

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

std::string_view describeStallUsage(const Stall& stall, std::span<char> out) noexcept {
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  const auto written = fmt::format_to_n(
      out.data(), out.size(),
      "of the last {:.1f} ms it ran {:.1f} ms, preempted {} times, blocked {} times, {} page "
      "faults ({} major) ({})",
      ms(stall.windowNs), ms(stall.used.cpuNs), stall.used.preemptions, stall.used.blocks,
      stall.used.pageFaults, stall.used.majorFaults,
      stall.offCpu() ? "off its CPU: the machine held it" : "on its CPU: its own work");
  return {out.data(), std::min(written.size, out.size())};
}

}  // namespace braid::dp
