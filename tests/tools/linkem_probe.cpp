// linkem-probe: saturating UDP senders and a timestamping sink, to measure braid-linkem from
// outside. Every datagram carries (stream, sequence, send time); the sink writes one CSV row
// per datagram with its own receive time, and the payload digest linkem's record uses, so
// tests can join the two.

#include <sys/socket.h>
#include <time.h>

#include <sys/prctl.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/clock.h"
#include "dataplane/io/udp_socket.h"
#include "linkem/record_writer.h"

namespace {

using namespace braid;

struct Stream {
  dp::SocketAddress to;
  double rateKbps = 0;
};

// "HOST:PORT@KBPS"
bool parseStream(const std::string& text, Stream& out) {
  auto at = text.rfind('@');
  if (at == std::string::npos) return false;
  auto address = dp::parseSocketAddress(text.substr(0, at));
  if (!address) return false;
  out.to = *address;
  try {
    out.rateKbps = std::stod(text.substr(at + 1));
  } catch (...) {
    return false;
  }
  return out.rateKbps > 0;
}

void sleepUntil(uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void sendStream(uint32_t id, Stream stream, uint32_t size, uint64_t startNs, uint64_t endNs,
                std::atomic<uint64_t>& sent) {
  auto socket = dp::UdpSocket::bind(
      *dp::parseSocketAddress(stream.to.family() == AF_INET6 ? "[::]:0" : "0.0.0.0:0"));
  if (!socket) {
    std::fprintf(stderr, "linkem-probe: %s\n", socket.error().context.c_str());
    return;
  }
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  // pacing, not 50 µs bursts
  std::vector<uint8_t> payload(size, 0x5a);
  double intervalNs = size * 8.0 / (stream.rateKbps * 1000.0) * 1e9;
  for (uint64_t seq = 0;; ++seq) {
    auto due = startNs + static_cast<uint64_t>(static_cast<double>(seq) * intervalNs);
    if (due >= endNs) break;
    sleepUntil(due);
    uint64_t now = dp::monotonicNs();
    std::memcpy(payload.data(), &id, 4);
    std::memcpy(payload.data() + 4, &seq, 8);
    std::memcpy(payload.data() + 12, &now, 8);
    if (socket->sendTo(payload, stream.to)) sent.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"linkem-probe: paced UDP streams to braid-linkem and a timestamping sink"};
  std::string sinkText, outPath;
  std::vector<std::string> streamTexts;
  uint32_t size = 1200;
  double seconds = 5, linger = 1;
  app.add_option("--sink", sinkText, "receive on HOST:PORT and log every datagram")->required();
  app.add_option("--send", streamTexts, "a paced stream HOST:PORT@KBPS (repeatable)");
  app.add_option("--size", size, "datagram size in bytes")->check(CLI::Range(20u, 2000u));
  app.add_option("--duration", seconds, "seconds of sending");
  app.add_option("--linger", linger, "seconds the sink keeps receiving after the senders stop");
  app.add_option("--out", outPath,
                 "CSV of received datagrams (stream,seq,size,send_ns,"
                 "recv_ns,digest)")
      ->required();
  CLI11_PARSE(app, argc, argv);

  std::vector<Stream> streams;
  for (const auto& t : streamTexts) {
    Stream s;
    if (!parseStream(t, s)) {
      std::fprintf(stderr, "linkem-probe: bad --send '%s' (expected HOST:PORT@KBPS)\n", t.c_str());
      return 2;
    }
    streams.push_back(s);
  }
  auto sinkAddress = dp::parseSocketAddress(sinkText);
  if (!sinkAddress) {
    std::fprintf(stderr, "linkem-probe: bad --sink: %s\n", sinkAddress.error().context.c_str());
    return 2;
  }
  auto sink = dp::UdpSocket::bind(*sinkAddress);
  if (!sink) {
    std::fprintf(stderr, "linkem-probe: %s\n", sink.error().context.c_str());
    return 1;
  }
  std::FILE* out = std::fopen(outPath.c_str(), "w");
  if (!out) {
    std::perror(outPath.c_str());
    return 1;
  }
  std::fprintf(out, "stream,seq,size,send_ns,recv_ns,digest\n");

  uint64_t startNs = dp::monotonicNs() + 50'000'000;
  uint64_t endNs = startNs + static_cast<uint64_t>(seconds * 1e9);
  uint64_t stopNs = endNs + static_cast<uint64_t>(linger * 1e9);
  std::atomic<uint64_t> sent{0};
  std::vector<std::thread> senders;
  for (size_t i = 0; i < streams.size(); ++i) {
    senders.emplace_back(sendStream, static_cast<uint32_t>(i), streams[i], size, startNs, endNs,
                         std::ref(sent));
  }
  auto batch = std::make_unique<dp::RxBatch>();
  uint64_t received = 0;
  while (dp::monotonicNs() < stopNs) {
    if (!sink->waitReadable(20)) continue;
    int n = sink->receiveBatch(*batch);
    uint64_t now = dp::monotonicNs();
    for (int i = 0; i < n; ++i) {
      auto d = batch->datagram(static_cast<size_t>(i));
      if (d.size() < 20) continue;
      uint32_t id;
      uint64_t seq, sendNs;
      std::memcpy(&id, d.data(), 4);
      std::memcpy(&seq, d.data() + 4, 8);
      std::memcpy(&sendNs, d.data() + 12, 8);
      std::fprintf(out, "%u,%llu,%zu,%llu,%llu,%016llx\n", id, static_cast<unsigned long long>(seq),
                   d.size(), static_cast<unsigned long long>(sendNs),
                   static_cast<unsigned long long>(now),
                   static_cast<unsigned long long>(linkem::payloadDigest(d.data(), d.size())));
      ++received;
    }
  }
  for (auto& t : senders) t.join();
  std::fclose(out);
  std::printf("linkem-probe: sent=%llu received=%llu\n",
              static_cast<unsigned long long>(sent.load()),
              static_cast<unsigned long long>(received));
  return 0;
}
