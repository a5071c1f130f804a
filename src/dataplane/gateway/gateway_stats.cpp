#include "dataplane/gateway/gateway_stats.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace braid::dp {

namespace {

// The sum of every worker's counters.
void sumInto(WorkerCounters& total, std::span<const WorkerCounters* const> workers) {
  // The histogram is left out: the stats line does not print it.
  for (const WorkerCounters* w : workers) {
    for (size_t i = 0; i < w->drops.size(); ++i) total.drops[i].add(w->drops[i].read());
    for (auto member : {&WorkerCounters::rxPackets,        &WorkerCounters::rxBytes,
                        &WorkerCounters::dataPackets,      &WorkerCounters::dataBytes,
                        &WorkerCounters::duplicates,       &WorkerCounters::late,
                        &WorkerCounters::lateCopies,       &WorkerCounters::tooFarAhead,
                        &WorkerCounters::skipped,          &WorkerCounters::played,
                        &WorkerCounters::outputBytes,      &WorkerCounters::outputDrops,
                        &WorkerCounters::cookiesSent,      &WorkerCounters::handshakesAccepted,
                        &WorkerCounters::rekeys,           &WorkerCounters::resetsSent,
                        &WorkerCounters::sessionsOpened,   &WorkerCounters::sessionsClosed,
                        &WorkerCounters::sessionsActive,   &WorkerCounters::outputsOpen,
                        &WorkerCounters::linkAddressMoves, &WorkerCounters::amplificationLimited,
                        &WorkerCounters::feedbackSent,     &WorkerCounters::nacksSent,
                        &WorkerCounters::nackedSequences,  &WorkerCounters::retransmitsReceived,
                        &WorkerCounters::arqRecovered,     &WorkerCounters::repairsReceived,
                        &WorkerCounters::fecRecovered,     &WorkerCounters::nullsRestored,
                        &WorkerCounters::admissionRefused, &WorkerCounters::handshakeStateEntries,
                        &WorkerCounters::handoffsSent,     &WorkerCounters::handoffsReceived,
                        &WorkerCounters::handoffDrops,     &WorkerCounters::handshakesLimited,
                        &WorkerCounters::idleWaits,        &WorkerCounters::coalesceSleeps,
                        &WorkerCounters::timersFired,      &WorkerCounters::stalls,
                        &WorkerCounters::arenaWaits}) {
      (total.*member).add((w->*member).read());
    }
    total.longestStallUs.set(std::max(total.longestStallUs.read(), w->longestStallUs.read()));
  }
}

}  // namespace

void GatewayStatsPrinter::print(std::span<const WorkerCounters* const> workers, bool final,
                                std::string_view extra) {
  WorkerCounters c;
  sumInto(c, workers);
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t nowNs = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
  if (startNs_ == 0) startNs_ = lastNs_ = nowNs;
  uint64_t outputBytes = c.outputBytes.read();
  double seconds = static_cast<double>(nowNs - lastNs_) / 1e9;
  double mbps =
      seconds > 0 ? static_cast<double>(outputBytes - lastOutputBytes_) * 8 / seconds / 1e6 : 0.0;
  lastNs_ = nowNs;
  lastOutputBytes_ = outputBytes;

  std::string drops;
  for (size_t i = 0; i < c.drops.size(); ++i) {
    uint64_t n = c.drops[i].read();
    if (n == 0) continue;
    drops += " drop_";
    drops += proto::dropReasonName(static_cast<proto::DropReason>(i));
    drops += "=" + std::to_string(n);
  }
  std::printf(
      "%s t=%.1f sessions=%llu rx_packets=%llu data_packets=%llu played=%llu out_bytes=%llu "
      "out_mbps=%.2f skipped=%llu late=%llu late_copies=%llu duplicates=%llu handshakes=%llu "
      "cookies=%llu "
      "rekeys=%llu resets=%llu link_moves=%llu feedback=%llu output_drops=%llu "
      "handshake_state=%llu "
      "nacks=%llu nacked=%llu retransmits=%llu arq_recovered=%llu repairs=%llu "
      "fec_recovered=%llu nulls_restored=%llu workers=%zu handoffs=%llu handoff_drops=%llu "
      "handshakes_limited=%llu outputs=%llu stalls=%llu longest_stall_ms=%.1f "
      "arena_waits=%llu%.*s%s\n",
      final ? "final" : "stats", static_cast<double>(nowNs - startNs_) / 1e9,
      (unsigned long long)c.sessionsActive.read(), (unsigned long long)c.rxPackets.read(),
      (unsigned long long)c.dataPackets.read(), (unsigned long long)c.played.read(),
      (unsigned long long)outputBytes, mbps, (unsigned long long)c.skipped.read(),
      (unsigned long long)c.late.read(), (unsigned long long)c.lateCopies.read(),
      (unsigned long long)c.duplicates.read(), (unsigned long long)c.handshakesAccepted.read(),
      (unsigned long long)c.cookiesSent.read(), (unsigned long long)c.rekeys.read(),
      (unsigned long long)c.resetsSent.read(), (unsigned long long)c.linkAddressMoves.read(),
      (unsigned long long)c.feedbackSent.read(), (unsigned long long)c.outputDrops.read(),
      (unsigned long long)c.handshakeStateEntries.read(), (unsigned long long)c.nacksSent.read(),
      (unsigned long long)c.nackedSequences.read(),
      (unsigned long long)c.retransmitsReceived.read(), (unsigned long long)c.arqRecovered.read(),
      (unsigned long long)c.repairsReceived.read(), (unsigned long long)c.fecRecovered.read(),
      (unsigned long long)c.nullsRestored.read(), workers.size(),
      (unsigned long long)c.handoffsSent.read(), (unsigned long long)c.handoffDrops.read(),
      (unsigned long long)c.handshakesLimited.read(), (unsigned long long)c.outputsOpen.read(),
      (unsigned long long)c.stalls.read(), static_cast<double>(c.longestStallUs.read()) / 1e3,
      (unsigned long long)c.arenaWaits.read(), static_cast<int>(extra.size()), extra.data(),
      drops.c_str());
  std::fflush(stdout);
}

}  // namespace braid::dp
