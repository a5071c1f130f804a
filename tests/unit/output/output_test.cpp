#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/io/udp_socket.h"
#include "dataplane/output/file_sink.h"
#include "dataplane/output/host_port.h"
#include "dataplane/output/make_sink.h"
#include "dataplane/output/null_sink.h"
#include "dataplane/output/output_pool.h"
#include "dataplane/output/udp_sink.h"

namespace braid::dp {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "braid-output-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<uint8_t> readFile(const fs::path& path) {
  std::vector<uint8_t> bytes(fs::file_size(path));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// A loopback receiver the test owns: a UdpSocket on 127.0.0.1, ephemeral port.
struct Receiver {
  UdpSocket socket;
  SocketAddress address;
  RxBatch batch;

  static Receiver open() {
    Receiver r;
    auto bound = UdpSocket::bind(*parseSocketAddress("127.0.0.1:0"));
    EXPECT_TRUE(bound) << bound.error().describe();
    r.socket = std::move(*bound);
    r.address = *r.socket.localAddress();
    return r;
  }
  // Appends every datagram waiting now (loopback delivers inside sendto) to `out`.
  void drainInto(std::vector<std::vector<uint8_t>>& out, int waitMs = 0) {
    while (socket.waitReadable(waitMs)) {
      int n = socket.receiveBatch(batch);
      ASSERT_GE(n, 0);
      for (int i = 0; i < n; ++i) {
        auto d = batch.datagram(static_cast<size_t>(i));
        out.emplace_back(d.begin(), d.end());
      }
    }
  }
};

std::vector<uint8_t> tsBytes(size_t packets, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(packets * kTsPacketBytes);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  for (size_t i = 0; i < packets; ++i) bytes[i * kTsPacketBytes] = 0x47;
  return bytes;
}

TEST(FileSink, WritesAndTruncates) {
  TempDir dir;
  const fs::path file = dir.path() / "out.ts";
  { std::ofstream(file) << "old content that must disappear"; }
  auto sink = FileSink::create(file.string(), 64);
  ASSERT_TRUE(sink) << sink.error().describe();
  std::vector<uint8_t> expected;
  for (size_t size : {10u, 54u, 1u, 200u, 63u, 64u, 0u, 3u}) {
    std::vector<uint8_t> part(size, static_cast<uint8_t>(size));
    ASSERT_TRUE((*sink)->write(part));
    expected.insert(expected.end(), part.begin(), part.end());
  }
  ASSERT_TRUE((*sink)->flush());
  EXPECT_EQ(readFile(file), expected);
}

TEST(FileSink, AppendsWhenReopenedForAppending) {
  TempDir dir;
  const fs::path file = dir.path() / "out.ts";
  const std::string first = "first recording ";
  { std::ofstream(file) << first; }
  auto sink = makeSink("file:" + file.string(), FileOpen::kAppend);
  ASSERT_TRUE(sink) << sink.error().describe();
  const std::vector<uint8_t> more(300, 0x47);
  ASSERT_TRUE((*sink)->write(more));
  ASSERT_TRUE((*sink)->flush());
  std::vector<uint8_t> expected(first.begin(), first.end());
  expected.insert(expected.end(), more.begin(), more.end());
  EXPECT_EQ(readFile(file), expected);
}

TEST(FileSink, OpeningNeitherMapsNorTouchesItsBuffer) {
  // A gateway worker opens a session's file output: zeroing the buffer there faulted in every
  // page of it, and mapping it (glibc maps an allocation this large) waited on the process's
  // memory-map lock while other threads faulted; either held the worker's other sessions. The
  // buffer comes with the first write, on the output thread. 16 MB is 4 096 pages.
  constexpr size_t kBufferBytes = 16 << 20;
  TempDir dir;
  auto minorFaults = [] {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_minflt;
  };
  // glibc's count of bytes in mapped allocations (the sanitizers' allocators report none).
  auto mappedBytes = [] { return mallinfo2().hblkhd; };
  // meson test sets MALLOC_PERTURB_, with which glibc itself fills every allocation: off for
  // the measurement (the sanitizers' allocators ignore it).
  const char* perturb = std::getenv("MALLOC_PERTURB_");
  mallopt(M_PERTURB, 0);
  const long before = minorFaults();
  const size_t mappedBefore = mappedBytes();
  auto sink = FileSink::create((dir.path() / "out.ts").string(), kBufferBytes);
  const long faults = minorFaults() - before;
  const size_t mappedAtOpen = mappedBytes() - mappedBefore;
  mallopt(M_PERTURB, perturb != nullptr ? std::atoi(perturb) : 0);
  ASSERT_TRUE(sink) << sink.error().describe();
  EXPECT_LT(faults, 64) << "page faults while opening a sink with a 16 MB buffer";
  EXPECT_LT(mappedAtOpen, kBufferBytes) << "the buffer was allocated at open";
  // The output thread prepares it before media comes: allocated and backed there, so that the
  // first writes fault no more.
  (*sink)->prepare();
  if (mappedBytes() > 0) {
    EXPECT_GE(mappedBytes() - mappedBefore, kBufferBytes);
  }
  const std::vector<uint8_t> bytes(1000, 0x47);
  const long beforeWrites = minorFaults();
  for (size_t written = 0; written + bytes.size() <= kBufferBytes; written += bytes.size()) {
    ASSERT_TRUE((*sink)->write(bytes));
  }
  // (Under a sanitizer the writes also fault in its shadow of the buffer: glibc's allocator only.)
  if (mappedBytes() > 0) {
    EXPECT_LT(minorFaults() - beforeWrites, 64) << "page faults writing a prepared buffer full";
  }
  ASSERT_TRUE((*sink)->flush());
  // Still a working buffer.
  ASSERT_TRUE((*sink)->write(bytes));
  ASSERT_TRUE((*sink)->write(bytes));
  ASSERT_TRUE((*sink)->flush());
  const std::vector<uint8_t> file = readFile(dir.path() / "out.ts");
  const size_t writes = kBufferBytes / bytes.size() + 2;
  ASSERT_EQ(file.size(), writes * bytes.size());
  EXPECT_TRUE(std::all_of(file.begin(), file.end(), [](uint8_t b) { return b == 0x47; }));
}

TEST(FileSink, AWriteLargerThanTheBufferGoesStraightToTheFile) {
  TempDir dir;
  auto sink = FileSink::create((dir.path() / "out.ts").string(), 4096);
  ASSERT_TRUE(sink) << sink.error().describe();
  const std::vector<uint8_t> large(10000, 0x47), small(100, 0x11);
  ASSERT_TRUE((*sink)->write(large));  // before any buffer exists
  ASSERT_TRUE((*sink)->write(small));
  ASSERT_TRUE((*sink)->write(large));  // flushes the small one first: order kept
  ASSERT_TRUE((*sink)->flush());
  std::vector<uint8_t> want(large);
  want.insert(want.end(), small.begin(), small.end());
  want.insert(want.end(), large.begin(), large.end());
  EXPECT_EQ(readFile(dir.path() / "out.ts"), want);
}

TEST(FileSink, MissingDirectoryIsAnIoError) {
  auto sink = FileSink::create("/nonexistent-braid-dir/x.ts");
  ASSERT_FALSE(sink);
  EXPECT_EQ(sink.error().code, ErrorCode::kIo);
  EXPECT_NE(sink.error().context.find("/nonexistent-braid-dir/x.ts"), std::string::npos);
  EXPECT_NE(sink.error().context.find("No such file"), std::string::npos);
}

TEST(MakeSink, AcceptsFileForms) {
  TempDir dir;
  for (const std::string& url :
       {"file:" + (dir.path() / "a.ts").string(), "file://" + (dir.path() / "b.ts").string(),
        (dir.path() / "c.ts").string()}) {
    auto sink = makeSink(url);
    ASSERT_TRUE(sink) << url << ": " << sink.error().describe();
    uint8_t byte = 0x47;
    ASSERT_TRUE((*sink)->write({&byte, 1}));
    ASSERT_TRUE((*sink)->flush());
  }
  EXPECT_EQ(fs::file_size(dir.path() / "a.ts"), 1u);
  EXPECT_EQ(fs::file_size(dir.path() / "b.ts"), 1u);
  EXPECT_EQ(fs::file_size(dir.path() / "c.ts"), 1u);
}

TEST(MakeSink, RejectsBadUrlsClearly) {
  struct Case {
    const char* url;
    ErrorCode code;
    const char* mention;
  };
  const Case cases[] = {
      {"", ErrorCode::kInvalidArgument, "empty output URL"},
      {"file:", ErrorCode::kInvalidArgument, "empty file path"},
      {"srt://host:9000", ErrorCode::kUnsupported, "scheme 'srt'"},
      {"rtmp://x/live", ErrorCode::kUnsupported, "udp://HOST:PORT"},
      {"udp://127.0.0.1", ErrorCode::kInvalidArgument, "HOST:PORT"},
      {"udp://127.0.0.1:99999", ErrorCode::kInvalidArgument, "bad port"},
      {"udp://127.0.0.1:", ErrorCode::kInvalidArgument, "bad port"},
      {"udp://:5000", ErrorCode::kInvalidArgument, "needs a host"},
      {"udp://127.0.0.1:0", ErrorCode::kInvalidArgument, "non-zero port"},
      {"udp://127.0.0.1:5000?pkt_size=1316", ErrorCode::kInvalidArgument, "only HOST:PORT"},
      {"udp://no-such-host.invalid:5000", ErrorCode::kNotFound, "no-such-host.invalid"},
  };
  for (const auto& c : cases) {
    auto sink = makeSink(c.url);
    ASSERT_FALSE(sink) << c.url;
    EXPECT_EQ(sink.error().code, c.code) << c.url << ": " << sink.error().describe();
    EXPECT_NE(sink.error().context.find(c.mention), std::string::npos)
        << c.url << ": " << sink.error().describe();
  }
}

TEST(HostPort, ParsesNamesAndNumbers) {
  auto v4 = resolveHostPort("127.0.0.1:1234");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->port(), 1234);
  auto v6 = resolveHostPort("[::1]:80");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family(), AF_INET6);
  auto name = resolveHostPort("localhost:9");
  ASSERT_TRUE(name) << name.error().describe();
  EXPECT_EQ(name->port(), 9);
  auto any = parseUdpUrl("udp://:5000", /*allowEmptyHost=*/true);
  ASSERT_TRUE(any);
  EXPECT_EQ(toString(*any), "0.0.0.0:5000");
}

TEST(UdpSink, SendsWholeSevenPacketDatagramsInOrder) {
  Receiver rx = Receiver::open();
  auto sink = UdpSink::create(rx.address);
  ASSERT_TRUE(sink) << sink.error().describe();

  // 20 packets written in uneven pieces (1, 5, 14 packets): two full datagrams go out
  // as soon as they are complete, the last 6 packets only on flush.
  const auto stream = tsBytes(20, 1);
  std::vector<std::vector<uint8_t>> got;
  size_t offset = 0;
  for (size_t packets : {1u, 5u, 14u}) {
    ASSERT_TRUE((*sink)->write({stream.data() + offset, packets * kTsPacketBytes}));
    offset += packets * kTsPacketBytes;
    rx.drainInto(got);
  }
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE((*sink)->flush());
  rx.drainInto(got, 100);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].size(), 1316u);
  EXPECT_EQ(got[1].size(), 1316u);
  EXPECT_EQ(got[2].size(), 6u * kTsPacketBytes);
  std::vector<uint8_t> joined;
  for (auto& d : got) joined.insert(joined.end(), d.begin(), d.end());
  EXPECT_EQ(joined, stream);
  EXPECT_EQ((*sink)->datagramsSent(), 3u);
}

TEST(UdpSink, LargeWritesUseFullBatches) {
  Receiver rx = Receiver::open();
  auto sink = UdpSink::create(rx.address);
  ASSERT_TRUE(sink);
  // 7 * 40 packets in one write: one full sendmmsg batch of 32 plus 8 more; stays well
  // under the loopback receive buffer so nothing is dropped by the kernel.
  const auto stream = tsBytes(7 * 40, 2);
  ASSERT_TRUE((*sink)->write(stream));
  ASSERT_TRUE((*sink)->flush());  // nothing partial: no extra datagram
  std::vector<std::vector<uint8_t>> got;
  rx.drainInto(got, 100);
  ASSERT_EQ(got.size(), 40u);
  std::vector<uint8_t> joined;
  for (auto& d : got) {
    EXPECT_EQ(d.size(), 1316u);
    joined.insert(joined.end(), d.begin(), d.end());
  }
  EXPECT_EQ(joined, stream);
}

std::unique_ptr<OutputPool> startPool(size_t threads = 1, uint64_t idleSleepUs = 1000) {
  auto pool = OutputPool::start({.threads = threads, .idleSleepUs = idleSleepUs});
  EXPECT_TRUE(pool) << pool.error().describe();
  return pool ? std::move(*pool) : nullptr;
}

size_t processThreads() {
  size_t count = 0;
  for ([[maybe_unused]] const auto& task : fs::directory_iterator("/proc/self/task")) ++count;
  return count;
}

// 10^5 random-sized chunks through the ring and a pool thread into a file: the file must be
// byte-identical to what was accepted. A tiny ring makes full-ring drops happen; dropped
// submits are resubmitted so the file stays complete and the drop counter is exercised.
TEST(OutputPool, FileOutputIsByteIdentical) {
  TempDir dir;
  const fs::path file = dir.path() / "thread.ts";
  auto sink = FileSink::create(file.string());
  ASSERT_TRUE(sink);
  auto pool = startPool(1, 200);
  ASSERT_TRUE(pool);
  auto output = pool->open(std::move(*sink), 64);
  ASSERT_TRUE(output) << output.error().describe();

  // Chunks are random slices of a random pool: random content without paying for 80 MB
  // of generator calls under the sanitizers.
  std::mt19937_64 rng(42);
  std::vector<uint8_t> bytePool(1 << 20);
  for (auto& b : bytePool) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> expected;
  expected.reserve(100'000 * 800);
  uint64_t refused = 0;
  constexpr int kChunks = 100'000;
  for (int i = 0; i < kChunks; ++i) {
    const size_t size = 1 + rng() % 1600;  // sometimes more than one ring slot
    std::span<const uint8_t> chunk(bytePool.data() + rng() % (bytePool.size() - size), size);
    while (!(*output)->submit(chunk)) {
      ++refused;
      std::this_thread::yield();
    }
    expected.insert(expected.end(), chunk.begin(), chunk.end());
  }
  (*output)->close();
  EXPECT_EQ(pool->openOutputs(), 0u);
  const auto& counters = (*output)->counters();
  EXPECT_EQ(counters.drops.read(), refused);
  EXPECT_EQ(counters.bytes.read(), expected.size());
  EXPECT_GE(counters.chunks.read(), static_cast<uint64_t>(kChunks));
  EXPECT_EQ(counters.writeErrors.read(), 0u);
  EXPECT_EQ((*output)->lastError(), "");
  EXPECT_TRUE(readFile(file) == expected) << "file differs from the submitted bytes";
  EXPECT_FALSE((*output)->submit(std::span(bytePool).first(188)));  // after close
  EXPECT_EQ(counters.drops.read(), refused + 1);
}

TEST(OutputPool, UdpOutputArrivesInOrder) {
  Receiver rx = Receiver::open();
  auto sink = makeSink("udp://" + toString(rx.address));
  ASSERT_TRUE(sink) << sink.error().describe();
  auto pool = startPool();
  ASSERT_TRUE(pool);
  auto output = pool->open(std::move(*sink));
  ASSERT_TRUE(output);

  // 6-packet payloads as the gateway emits them; 60 packets total -> 8 full datagrams
  // and a 4-packet remainder on close's flush. Small enough for the socket buffer.
  const auto stream = tsBytes(60, 3);
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_TRUE((*output)->submit({stream.data() + i * 6 * kTsPacketBytes, 6 * kTsPacketBytes}));
  }
  (*output)->close();
  std::vector<std::vector<uint8_t>> got;
  rx.drainInto(got, 200);
  ASSERT_EQ(got.size(), 9u);
  std::vector<uint8_t> joined;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].size(), i + 1 < got.size() ? 1316u : 4u * kTsPacketBytes);
    joined.insert(joined.end(), got[i].begin(), got[i].end());
  }
  EXPECT_EQ(joined, stream);
  EXPECT_EQ((*output)->counters().bytes.read(), stream.size());
}

// A failing sink: errors are counted and described, the thread keeps going.
class FailingSink final : public OutputSink {
 public:
  Result<void> write(std::span<const uint8_t>) override {
    return fail(ErrorCode::kIo, "disk on fire");
  }
  Result<void> flush() override { return ok(); }
};

TEST(OutputPool, CountsSinkErrors) {
  auto pool = startPool();
  ASSERT_TRUE(pool);
  auto output = pool->open(std::make_unique<FailingSink>());
  ASSERT_TRUE(output);
  uint8_t bytes[188] = {0x47};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*output)->submit(bytes));
  (*output)->close();
  EXPECT_EQ((*output)->counters().writeErrors.read(), 5u);
  EXPECT_EQ((*output)->counters().chunks.read(), 0u);
  EXPECT_NE((*output)->lastError().find("disk on fire"), std::string::npos);
}

TEST(OutputPool, RejectsNullSinkEmptyRingAndBadThreadCounts) {
  auto pool = startPool();
  ASSERT_TRUE(pool);
  auto noSink = pool->open(nullptr);
  ASSERT_FALSE(noSink);
  EXPECT_EQ(noSink.error().code, ErrorCode::kInvalidArgument);
  auto noRing = pool->open(std::make_unique<FailingSink>(), 0);
  ASSERT_FALSE(noRing);
  EXPECT_EQ(noRing.error().code, ErrorCode::kInvalidArgument);
  for (size_t threads : {size_t{0}, size_t{65}}) {
    auto bad = OutputPool::start({.threads = threads});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(bad.error().describe().find("want 1..64"), std::string::npos);
  }
}

// The gateway gives every edge key its own "{key}" output: 200 outputs on a pool of two
// threads start no thread, are spread evenly, and each file holds exactly its producer's
// bytes while producers on two threads submit and close outputs at different times.
TEST(OutputPool, ManyOutputsShareAFixedSetOfThreads) {
  TempDir dir;
  auto pool = startPool(2, 200);
  ASSERT_TRUE(pool);
  ASSERT_EQ(pool->threads(), 2u);
  const size_t threadsBefore = processThreads();
  constexpr size_t kOutputs = 200;
  std::vector<std::shared_ptr<Output>> outputs;
  for (size_t i = 0; i < kOutputs; ++i) {
    auto sink = FileSink::create((dir.path() / (std::to_string(i) + ".ts")).string(), 4096);
    ASSERT_TRUE(sink);
    auto output = pool->open(std::move(*sink), 16);
    ASSERT_TRUE(output);
    outputs.push_back(std::move(*output));
  }
  EXPECT_EQ(processThreads(), threadsBefore);
  EXPECT_EQ(pool->openOutputs(), kOutputs);

  // Two producers, each owning half of the outputs (one producer per output, as on the
  // gateway); the first closes each of its outputs after a different number of rounds.
  constexpr size_t kRounds = 60;
  std::vector<std::vector<uint8_t>> expected(kOutputs);
  auto produce = [&](size_t first) {
    for (size_t round = 0; round < kRounds; ++round) {
      for (size_t i = first; i < kOutputs; i += 2) {
        const bool closes = first == 0;
        const size_t closeRound = 10 + i % 50;
        if (closes && round == closeRound) outputs[i]->close();
        const auto bytes = tsBytes(1 + (i + round) % 7, static_cast<uint32_t>(i * 1000 + round));
        if (closes && round >= closeRound) {
          EXPECT_FALSE(outputs[i]->submit(bytes));
          continue;
        }
        while (!outputs[i]->submit(bytes)) std::this_thread::yield();
        expected[i].insert(expected[i].end(), bytes.begin(), bytes.end());
      }
    }
  };
  std::thread even(produce, 0);
  std::thread odd(produce, 1);
  even.join();
  odd.join();
  EXPECT_EQ(pool->openOutputs(), kOutputs / 2);
  for (auto& output : outputs) output->close();
  EXPECT_EQ(pool->openOutputs(), 0u);
  for (size_t i = 0; i < kOutputs; ++i) {
    EXPECT_TRUE(readFile(dir.path() / (std::to_string(i) + ".ts")) == expected[i])
        << "output " << i << " differs from what its producer submitted";
    EXPECT_EQ(outputs[i]->counters().bytes.read(), expected[i].size());
  }
}

// Voluntary context switches of this process's threads named `name`.
uint64_t contextSwitchesOf(const std::string& name) {
  uint64_t total = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string taskName;
    std::getline(comm, taskName);
    if (taskName != name) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.starts_with("voluntary_ctxt_switches:")) total += std::stoull(line.substr(24));
    }
  }
  return total;
}

// A pool thread without outputs sleeps until it gets one (an idle gateway stays idle), and
// then serves it at once.
TEST(OutputPool, AThreadWithoutOutputsDoesNotWake) {
  auto pool = OutputPool::start({.threads = 1, .threadName = "braid-idle-out"});
  ASSERT_TRUE(pool);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const uint64_t before = contextSwitchesOf("braid-idle-out0");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Polling every millisecond would be ~300.
  EXPECT_LT(contextSwitchesOf("braid-idle-out0") - before, 10u);

  Receiver rx = Receiver::open();
  auto sink = makeSink("udp://" + toString(rx.address));
  ASSERT_TRUE(sink);
  auto output = (*pool)->open(std::move(*sink));
  ASSERT_TRUE(output);
  const auto stream = tsBytes(7, 11);
  ASSERT_TRUE((*output)->submit(stream));
  std::vector<std::vector<uint8_t>> got;
  rx.drainInto(got, 500);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], stream);
}

TEST(OutputPool, KeepsReadyRingsThatOpenTakesAndMapsMore) {
  // A gateway's workers open outputs: a ring mapped there waited on the process's memory-map
  // lock while other threads faulted. The pool's first thread keeps rings of the workers' size
  // mapped and populated; open() takes one and the thread maps the next.
  constexpr size_t kChunks = 256;
  auto pool = OutputPool::start(
      {.threads = 2, .threadName = "braid-ready-out", .readyRings = 2, .readyRingChunks = kChunks});
  ASSERT_TRUE(pool);
  auto waitForReady = [&](size_t want) {
    for (int i = 0; i < 500 && (*pool)->readyRings() != want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return (*pool)->readyRings();
  };
  ASSERT_EQ(waitForReady(2), 2u);
  // Full, the thread sleeps as a thread without outputs does.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const uint64_t before = contextSwitchesOf("braid-ready-out0");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LT(contextSwitchesOf("braid-ready-out0") - before, 10u);

  // Another ring size maps its own and leaves the stock alone.
  auto other = (*pool)->open(std::make_unique<NullSink>(), kChunks * 2);
  ASSERT_TRUE(other);
  EXPECT_EQ((*pool)->readyRings(), 2u);
  // The workers' size takes one (on either thread); the stock is made whole again.
  Receiver rx = Receiver::open();
  std::vector<std::shared_ptr<Output>> outputs;
  for (int i = 0; i < 3; ++i) {
    auto sink = makeSink("udp://" + toString(rx.address));
    ASSERT_TRUE(sink);
    auto output = (*pool)->open(std::move(*sink), kChunks);
    ASSERT_TRUE(output);
    outputs.push_back(std::move(*output));
  }
  EXPECT_EQ(waitForReady(2), 2u);
  // Rings from the stock carry media as any other.
  const auto stream = tsBytes(7, 11);
  for (auto& output : outputs) ASSERT_TRUE(output->submit(stream));
  std::vector<std::vector<uint8_t>> got;
  rx.drainInto(got, 500);
  ASSERT_EQ(got.size(), outputs.size());
  for (const auto& datagram : got) EXPECT_EQ(datagram, stream);
}

TEST(OutputPool, ARetiredOutputIsClosedOnThePoolsThread) {
  // A gateway worker retires an output no session uses: the last flush, the sink's end and the
  // ring's unmapping happen on the pool's thread, never on the worker.
  struct Recorded {
    std::mutex mutex;
    std::thread::id flushedOn, destroyedOn;
    size_t bytes = 0;
  };
  class RecordingSink final : public OutputSink {
   public:
    explicit RecordingSink(Recorded& recorded) : recorded_(recorded) {}
    ~RecordingSink() override {
      std::lock_guard lock(recorded_.mutex);
      recorded_.destroyedOn = std::this_thread::get_id();
    }
    Result<void> write(std::span<const uint8_t> bytes) override {
      std::lock_guard lock(recorded_.mutex);
      recorded_.bytes += bytes.size();
      return {};
    }
    Result<void> flush() override {
      std::lock_guard lock(recorded_.mutex);
      recorded_.flushedOn = std::this_thread::get_id();
      return {};
    }

   private:
    Recorded& recorded_;
  };
  Recorded recorded;
  auto pool = OutputPool::start({.threads = 2, .threadName = "braid-retire-out"});
  ASSERT_TRUE(pool);
  auto output = (*pool)->open(std::make_unique<RecordingSink>(recorded), 64);
  ASSERT_TRUE(output);
  const auto stream = tsBytes(3, 20);
  ASSERT_TRUE((*output)->submit(stream));
  std::weak_ptr<Output> watch = *output;
  (*pool)->retire(std::move(*output));
  for (int i = 0; i < 500 && !watch.expired(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(watch.expired()) << "the retired output was not closed";
  EXPECT_EQ((*pool)->retiring(), 0u);
  EXPECT_EQ((*pool)->openOutputs(), 0u);
  std::lock_guard lock(recorded.mutex);
  EXPECT_EQ(recorded.bytes, stream.size()) << "what was submitted before the retirement";
  EXPECT_NE(recorded.destroyedOn, std::thread::id{});
  EXPECT_NE(recorded.destroyedOn, std::this_thread::get_id());
  EXPECT_NE(recorded.flushedOn, std::this_thread::get_id());
}

TEST(OutputPool, AnOutputRetiredAsThePoolStopsIsStillWrittenOut) {
  TempDir dir;
  const fs::path file = dir.path() / "late.ts";
  auto sink = FileSink::create(file.string());
  ASSERT_TRUE(sink);
  std::vector<uint8_t> expected;
  {
    auto pool = OutputPool::start({.threads = 1});
    ASSERT_TRUE(pool);
    auto output = (*pool)->open(std::move(*sink), 64);
    ASSERT_TRUE(output);
    expected = tsBytes(5, 30);
    ASSERT_TRUE((*output)->submit(expected));
    (*pool)->retire(std::move(*output));
  }  // the pool stops, possibly before its thread took the retirement
  EXPECT_EQ(readFile(file), expected);
}

// A sink's partial datagram goes out once the output has been idle, without a close.
TEST(OutputPool, FlushesAnIdleOutput) {
  Receiver rx = Receiver::open();
  auto sink = makeSink("udp://" + toString(rx.address));
  ASSERT_TRUE(sink);
  auto pool = startPool();
  ASSERT_TRUE(pool);
  auto output = pool->open(std::move(*sink));
  ASSERT_TRUE(output);
  const auto stream = tsBytes(4, 9);
  ASSERT_TRUE((*output)->submit(stream));
  std::vector<std::vector<uint8_t>> got;
  rx.drainInto(got, 500);  // the pool flushes after 5 ms of silence
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], stream);
  EXPECT_EQ((*output)->counters().bytes.read(), stream.size());
}

// An output still open when its pool stops is drained and flushed by the pool; closing it
// afterwards is harmless.
TEST(OutputPool, StoppingThePoolWritesOutOpenOutputs) {
  TempDir dir;
  const fs::path file = dir.path() / "late.ts";
  auto sink = FileSink::create(file.string());
  ASSERT_TRUE(sink);
  auto pool = startPool(1, 100'000);  // a thread that sleeps through the test
  ASSERT_TRUE(pool);
  auto output = pool->open(std::move(*sink));
  ASSERT_TRUE(output);
  const auto stream = tsBytes(30, 5);
  ASSERT_TRUE((*output)->submit(stream));
  pool.reset();
  EXPECT_TRUE(readFile(file) == stream);
  (*output)->close();
  EXPECT_TRUE(readFile(file) == stream);
}

}  // namespace
}  // namespace braid::dp
