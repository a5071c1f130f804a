#include "dataplane/gateway/worker.h"
#include "dataplane/clock.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "dataplane/output/make_sink.h"
#include "dataplane/output/null_sink.h"
#include "dataplane/proto/crypto/aead.h"
#include "dataplane/proto/crypto/primitives.h"
#include "dataplane/proto/wire/sealed_header.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "tbb/tbb_allocator.h"

namespace braid::dp {

using proto::DropReason;
using proto::PacketType;

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr uint64_t kMaxIdleWaitNs = 50 * kNsPerMs;
// After a partial burst of n datagrams the worker sleeps 1 ms (n ≤ 16), less the fuller the
// burst was ((32 − n)/16 of it above that), before the next receive: at moderate rates a
// receive syscall then returns many datagrams rather than one, and near saturation the
// sleeps are short enough for a default-sized socket buffer. 1 ms is far below any latency
// budget, and a sleep never passes the next timer. After an idle wake: 250 µs.
constexpr uint64_t kMaxCoalesceNs = 1'000'000;
constexpr uint64_t kWakeCoalesceNs = 250'000;
// Receive bursts per pass while they come full (512 datagrams, ~0.5 ms of work): the port is
// drained before handshakes, and timers still run under a sustained overload.
constexpr size_t kMaxBurstsPerPass = 16;
// Handshakes handled per pass, after the pass's media. Most cost a cookie (a MAC, ~1 µs);
// the authenticated ones (an X25519 each) are limited by the responder's own bucket.
constexpr size_t kHandshakesPerPass = 32;
// Sessions opened per pass. Opening one costs ~2-3 ms on the worker (its jitter buffer and
// output ring are mapped and touched then, so that the packet path never faults), and ~22 ms
// where the hypervisor has not yet backed the memory (measured on a freshly booted VM): 32 at once,
// as when a fleet of edges reconnects after a restart, held the live sessions' media for
// ~100 ms, and two at 22 ms each made 50 ms sessions late. One per pass, after the pass's
// media and due playout, holds them for at most one opening. The rest wait in the handshake
// lane for the next passes.
constexpr uint64_t kSessionsPerPass = 1;
// A handshake lane that has waited this long for the arena pool says so, once per wait.
constexpr uint64_t kArenaWaitWarnNs = 1'000 * kNsPerMs;
// Rings per ordered worker pair: media (and every other sealed packet), and handshakes.
constexpr size_t kLanes = 2;
constexpr size_t kMediaLane = 0;
constexpr size_t kHandshakeLane = 1;
constexpr size_t kHandshakeRingSlots = 128;
// Where the owner worker of a session sits in a datagram: byte 2 of the session ID
// (docs/protocol.md §1.1), and an HS_INIT's key ID (§4.3).
constexpr size_t kOwnerOffset = 4;
constexpr size_t kInitKeyIdOffset = 12;

// The worker thread's C-library heap is grown this far once, when the worker starts: each
// later growth is an mprotect, which takes the process's memory-map lock for writing and so
// waits out any other thread's page fault (the output thread populating a ring, the arena
// pool's thread an arena). Opening a session grew the heap ~24 KB, and those waits held the
// worker 20-50 ms per opening on a loaded machine. 32 MB is ~1 300 sessions' objects.
constexpr size_t kReservedHeapBytes = 32 << 20;
// Below glibc's threshold for mapping an allocation on its own (128 KiB), so that the pieces
// come from the thread's heap and grow it.
constexpr size_t kHeapPieceBytes = 64 << 10;

// Grows the calling thread's heap by kReservedHeapBytes, allocated in pieces and freed. glibc
// gives a freed thread heap's pages back with MADV_DONTNEED and keeps the heap's size (its
// protection), so the heap grows again without an mprotect up to that size.
void reserveThreadHeap() noexcept {
  std::array<void*, kReservedHeapBytes / kHeapPieceBytes> pieces{};
  for (void*& piece : pieces) piece = std::malloc(kHeapPieceBytes);
  for (size_t i = pieces.size(); i-- > 0;) std::free(pieces[i]);
}

// The first uses that map memory, made when the worker starts rather than at its first
// session (for the same reason): the AEAD library's per-thread state (ipsec-mb's manager is
// ~200 KB) and TBB's allocator, which the session registry's nodes come from and which loads
// its library (dlopen) and sets up this thread's heap on first use.
void warmThreadFirstUses(proto::AeadBackend backend) noexcept {
  (void)proto::Aead::create(backend, proto::AeadKey{});
  tbb::tbb_allocator<uint64_t> allocator;
  allocator.deallocate(allocator.allocate(16), 16);  // a registry node's size
}

uint64_t unixSeconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec);
}

proto::HandshakeSource sourceOf(const SocketAddress& from) {
  proto::HandshakeSource source;
  from.toV6Bytes(source.address.data());
  source.port = from.port();
  return source;
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(const WorkerOptions& options,
                                               proto::HandshakeResponder&& responder,
                                               std::unique_ptr<PacketPort> port) {
  if (options.outputs.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no output configured");
  }
  if (port == nullptr) return fail(ErrorCode::kInvalidArgument, "no port");
  if (options.workerCount == 0 || options.workerCount > kMaxWorkers ||
      options.workerIndex >= options.workerCount) {
    return fail(ErrorCode::kInvalidArgument, "worker index out of range");
  }
  std::unique_ptr<OutputPool> ownPool;
  if (options.outputPool == nullptr) {
    auto started = OutputPool::start(
        {.threads = 1, .threadName = "braid-out-w" + std::to_string(options.workerIndex)});
    if (!started) return tl::unexpected(started.error());
    ownPool = std::move(*started);
  }
  int doorbell = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (doorbell < 0) return fail(ErrorCode::kIo, std::string("eventfd: ") + std::strerror(errno));
  return std::unique_ptr<Worker>(
      new Worker(options, std::move(ownPool), std::move(responder), std::move(port), doorbell));
}

Worker::Worker(const WorkerOptions& options, std::unique_ptr<OutputPool> ownOutputPool,
               proto::HandshakeResponder&& responder, std::unique_ptr<PacketPort> port,
               int doorbell)
    : options_(options),
      ownOutputPool_(std::move(ownOutputPool)),
      outputPool_(options.outputPool != nullptr ? options.outputPool : ownOutputPool_.get()),
      responder_(std::move(responder)),
      port_(std::move(port)),
      tx_(port_.get()),
      intake_(options.handshakeIntakePerSecond, options.handshakeIntakePerSecond * 2),
      wheel_(monotonicNs()),
      inbound_(options.workerCount * kLanes),
      outbound_(options.workerCount * kLanes, nullptr),
      staged_(options.workerCount * kLanes, 0),
      peers_(options.workerCount, nullptr),
      doorbell_(doorbell) {}

Worker::~Worker() {
  ::close(doorbell_);
}

Result<void> Worker::connect(std::span<const std::unique_ptr<Worker>> workers) {
  for (size_t i = 0; i < workers.size(); ++i) {
    if (workers[i]->options_.workerIndex != i ||
        workers[i]->options_.workerCount != workers.size()) {
      return fail(ErrorCode::kInvalidArgument, "workers out of order");
    }
  }
  for (size_t owner = 0; owner < workers.size(); ++owner) {
    Worker& consumer = *workers[owner];
    for (size_t sender = 0; sender < workers.size(); ++sender) {
      workers[sender]->peers_[owner] = &consumer;
      if (sender == owner) continue;
      for (size_t lane = 0; lane < kLanes; ++lane) {
        size_t slots =
            lane == kMediaLane ? consumer.options_.handoffRingSlots : kHandshakeRingSlots;
        consumer.inbound_[sender * kLanes + lane] = std::make_unique<SpscRing<Handoff>>(slots);
        workers[sender]->outbound_[owner * kLanes + lane] =
            consumer.inbound_[sender * kLanes + lane].get();
      }
    }
  }
  return {};
}

bool Worker::logBudget() noexcept {
  // Authenticated peers can still make sessions come and go quickly; their log lines are
  // rate-limited (the counters still count every event).
  return logLimiter_.take(monotonicNs());
}

std::vector<std::shared_ptr<Output>> Worker::outputsFor(uint32_t keyId) {
  std::vector<std::shared_ptr<Output>> chosen;
  for (const OutputTarget& target : options_.outputs) {
    if (target.keyId && *target.keyId != keyId) continue;
    std::string url = target.url;
    auto keyMarker = url.find("{key}");
    if (keyMarker != std::string::npos) url.replace(keyMarker, 5, std::to_string(keyId));
    // A null output mixes nothing up: every key may share the worker's one.
    const bool anyKey = url == kNullOutputUrl;
    if (options_.claims != nullptr && !anyKey) {
      uint32_t holder = 0;
      if (!options_.claims->claim(url, keyId, holder)) {
        spdlog::error(
            "edge key {} refused: output '{}' already carries edge key {}'s stream "
            "(put {{key}} in the output URL to give each edge its own)",
            keyId, url, holder);
        return {};
      }
    }
    auto cached = outputs_.find(url);
    if (cached != outputs_.end()) {
      if (cached->second.keyId != keyId && !anyKey) {
        spdlog::error(
            "edge key {} refused: output '{}' already carries edge key {}'s stream "
            "(put {{key}} in the output URL to give each edge its own)",
            keyId, url, cached->second.keyId);
        return {};
      }
      chosen.push_back(cached->second.output);
      cached->second.unusedSinceNs = 0;
      continue;
    }
    const bool reopened = openedBefore_.count(url) > 0;
    auto sink = makeSink(url, reopened ? FileOpen::kAppend : FileOpen::kTruncate);
    if (!sink) {
      spdlog::error("output '{}' for edge key {}: {}", url, keyId, sink.error().describe());
      return {};
    }
    auto output = outputPool_->open(std::move(*sink), options_.outputQueueChunks);
    if (!output) {
      spdlog::error("output '{}': {}", url, output.error().describe());
      return {};
    }
    spdlog::info("output for edge key {}: {}{}", keyId, url, reopened ? " (reopened)" : "");
    openedBefore_.insert(url);
    outputs_.emplace(url, CachedOutput{.url = target.url, .keyId = keyId, .output = *output});
    counters_.outputsOpen.set(outputs_.size());
    chosen.push_back(std::move(*output));
  }
  if (chosen.empty()) spdlog::error("edge key {} refused: no output is configured for it", keyId);
  return chosen;
}

void Worker::setOutputs(std::vector<OutputTarget> outputs) {
  options_.outputs = std::move(outputs);
  // The ones still configured stay open, so a file is not truncated by a reload. One whose
  // target is gone closes (by the output pool's thread, as one past its linger) now if no
  // session plays to it, else once its last session ends (closeIdleOutputs); until then it
  // stays here with its claim on the URL, so that a reload that brings the target back gives
  // the sessions of its key the same output, and no other key's stream is mixed into it.
  size_t configured = 0;
  for (auto it = outputs_.begin(); it != outputs_.end();) {
    CachedOutput& cached = it->second;
    cached.configured = false;
    for (const OutputTarget& target : options_.outputs) {
      if (target.url == cached.url && (!target.keyId || *target.keyId == cached.keyId)) {
        cached.configured = true;
      }
    }
    if (cached.configured || cached.output.use_count() > 1) {
      configured += cached.configured ? 1 : 0;
      ++it;
      continue;
    }
    outputPool_->retire(std::move(cached.output));
    if (options_.claims != nullptr) options_.claims->release(it->first, cached.keyId);
    it = outputs_.erase(it);
  }
  counters_.outputsOpen.set(outputs_.size());
  spdlog::info(
      "outputs reloaded: {} configured, {} open ({} of them until their last session ends)",
      options_.outputs.size(), outputs_.size(), outputs_.size() - configured);
}

bool Worker::post(std::function<void(Worker&)> task) {
  return mailbox_.tryPush(std::move(task));
}

void Worker::admit(const proto::ValidatedInit& validated, const SocketAddress& from,
                   uint64_t nowNs) {
  const proto::HandshakeInit& init = validated.init;
  if (!init.sessionId.isZero()) {
    // Rekey of a live session: same ID, new keys; buffers and outputs stay.
    auto it = sessions_.find(init.sessionId.value);
    if (it == sessions_.end() || it->second->session->keyId() != init.keyId) {
      counters_.drop(DropReason::kUnknownSession);
      return;
    }
    std::span<uint8_t> reply = tx_.next();
    auto accepted = responder_.accept(validated, init.sessionId, reply);
    if (!accepted) return;
    if (!it->second->session->channel().rekey(accepted->keys, init.linkId, nowNs)) return;
    counters_.rekeys.add();
    tx_.commit(accepted->replySize, from);
    if (logBudget()) spdlog::info("session {:016x} rekeyed", init.sessionId.value);
    return;
  }

  std::vector<std::shared_ptr<Output>> outputs = outputsFor(init.keyId);
  if (outputs.empty()) {
    counters_.admissionRefused.add();
    return;
  }
  // An INIT older than the one that opened the key's current session is a retry that took a
  // slower link (an edge sends its next attempt on another link when one is silent): it
  // must not replace the session the edge already has.
  // Every INIT of a key reaches the same worker (docs/gateway.md §3), so this worker's
  // table holds the key's session if there is one.
  for (const auto& [sessionId, entry] : sessions_) {
    const GatewaySession& session = *entry->session;
    if (session.keyId() == init.keyId && session.initTimestampNs() > init.timestampNs) {
      counters_.drop(DropReason::kStaleHandshake);
      return;
    }
  }
  // A restarted edge starts a new session: the older session of the same key gives way.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second->session->keyId() == init.keyId) {
      if (logBudget()) {
        spdlog::info("session {:016x} replaced by a new session of edge key {}", it->first,
                     init.keyId);
      }
      it->second->session->drainToOutput();
      it->second->session->sendClose(proto::CloseReason::kError, nowNs, tx_);
      endSession(it);
    } else {
      ++it;
    }
  }
  uint8_t randomBytes[5];
  if (!proto::randomBytes(randomBytes)) return;
  uint64_t random40 = 0;
  for (uint8_t b : randomBytes) random40 = (random40 << 8) | b;
  proto::SessionId id =
      proto::SessionId::make(options_.gatewayId, options_.workerIndex, random40 | 1);
  std::span<uint8_t> reply = tx_.next();
  auto accepted = responder_.accept(validated, id, reply);
  if (!accepted) {
    if (logBudget()) {
      spdlog::warn("handshake for edge key {} failed: {}", init.keyId, accepted.error().describe());
    }
    return;
  }
  auto channel = proto::SealedChannel::create(proto::Role::kGateway, accepted->keys, init.linkId,
                                              nowNs, options_.channel);
  if (!channel) return;
  const proto::ResponderConfig& config = responder_.config();
  auto session = GatewaySession::create(
      GatewaySessionParams{.id = id,
                           .keyId = init.keyId,
                           .latencyMs = accepted->latencyMs,
                           .feedbackMs = config.feedbackMs,
                           .keepaliveMs = config.keepaliveMs,
                           .idleTimeoutMs = config.idleTimeoutMs,
                           .jitterCapacity = options_.jitterCapacity,
                           .initTimestampNs = init.timestampNs,
                           .recoveryTrace = options_.recoveryTrace},
      std::move(*channel), std::move(outputs), counters_, nowNs,
      options_.arenas != nullptr ? options_.arenas->take(options_.workerIndex) : PayloadArena{});
  if (!session) {
    spdlog::error("session for edge key {}: {}", init.keyId, session.error().describe());
    return;
  }
  if (options_.registry != nullptr) options_.registry->add((*session)->stats());
  auto entry = std::make_unique<SessionEntry>();
  entry->session = std::move(*session);
  entry->timer.key = id.value;
  wheel_.schedule(entry->timer, entry->session->nextDeadlineNs());
  sessions_.emplace(id.value, std::move(entry));
  tx_.commit(accepted->replySize, from);
  counters_.handshakesAccepted.add();
  counters_.sessionsOpened.add();
  counters_.sessionsActive.set(sessions_.size());
  if (logBudget()) {
    spdlog::info("session {:016x} opened for edge key {} from {}, latency {} ms", id.value,
                 init.keyId, toString(from), accepted->latencyMs);
  }
}

void Worker::handleInit(std::span<uint8_t> datagram, const SocketAddress& from, uint64_t nowNs) {
  std::span<uint8_t> reply = tx_.next();
  auto outcome = responder_.handleInit(datagram, sourceOf(from), unixSeconds(), nowNs, reply);
  counters_.handshakeStateEntries.set(responder_.replayCacheSize());
  if (auto* reason = std::get_if<DropReason>(&outcome)) {
    counters_.drop(*reason);
  } else if (auto* cookie = std::get_if<proto::CookieReply>(&outcome)) {
    tx_.commit(cookie->size, from);
    counters_.cookiesSent.add();
  } else {
    admit(std::get<proto::ValidatedInit>(outcome), from, nowNs);
  }
}

void Worker::handleDatagram(std::span<uint8_t> datagram, const SocketAddress& from,
                            uint64_t nowNs) noexcept {
  auto prefix = proto::parsePrefix(datagram);
  if (!prefix) {
    counters_.drop(prefix.error());
    return;
  }
  switch (prefix->type) {
    case PacketType::kHandshakeInit:
      handleInit(datagram, from, nowNs);
      return;
    case PacketType::kHandshakeCookie:
    case PacketType::kHandshakeAccept:
    case PacketType::kStatelessReset:
      counters_.drop(DropReason::kWrongDirection);
      return;
    default:
      break;
  }
  if (datagram.size() < proto::kSealedFixedSize + proto::kTagSize) {
    counters_.drop(DropReason::kTooShort);
    return;
  }
  auto it = sessions_.find(prefix->sessionId.value);
  if (it == sessions_.end()) {
    counters_.drop(DropReason::kUnknownSession);
    // Tell an edge whose session we lost (restart) at once; rate-limited, and always
    // smaller than the trigger.
    std::span<uint8_t> out = tx_.next();
    size_t size = responder_.writeStatelessReset(prefix->sessionId, prefix->linkId, datagram.size(),
                                                 nowNs, out);
    if (size > 0) {
      tx_.commit(size, from);
      counters_.resetsSent.add();
    }
    return;
  }
  SessionEntry& entry = *it->second;
  if (auto reason = entry.session->onSealed(datagram, from, nowNs, tx_)) counters_.drop(*reason);
  // A packet can bring a deadline forward (the first packet held: its playout, a hole:
  // the NACK round); later deadlines wait for the timer already set.
  uint64_t deadline = entry.session->nextDeadlineNs();
  if (deadline < TimerWheel::scheduledNs(entry.timer)) wheel_.schedule(entry.timer, deadline);
}

void Worker::dispatch(std::span<uint8_t> datagram, const SocketAddress& from,
                      uint64_t nowNs) noexcept {
  counters_.rxPackets.add();
  counters_.rxBytes.add(datagram.size());
  const size_t workers = options_.workerCount;
  if (datagram.size() >= proto::kPrefixSize &&
      datagram[1] == static_cast<uint8_t>(PacketType::kHandshakeInit)) {
    // Handshakes are limited before any MAC or cookie work, so a flood of them costs a
    // token-bucket check each; the ones let in wait for the handshake lane of the worker
    // that owns their key.
    if (!intake_.take(nowNs)) {
      counters_.handshakesLimited.add();
      return;
    }
    size_t owner = 0;
    if (workers > 1 && datagram.size() >= kInitKeyIdOffset + 4) {
      uint32_t keyId = (uint32_t{datagram[kInitKeyIdOffset]} << 24) |
                       (uint32_t{datagram[kInitKeyIdOffset + 1]} << 16) |
                       (uint32_t{datagram[kInitKeyIdOffset + 2]} << 8) |
                       datagram[kInitKeyIdOffset + 3];
      owner = keyId % workers;
    }
    if (owner == options_.workerIndex) {
      queueHandshake(datagram, from);
    } else {
      handOff(owner, kHandshakeLane, datagram, from);
    }
    return;
  }
  // The owner byte routes without a lookup. Only what could be a sealed packet of this
  // gateway is copied to another worker (version, length, gateway ID), so a junk flood
  // cannot fill the rings live sessions use; the rest, and an owner byte no worker has, is
  // dropped (and counted) or answered here as an unknown session.
  if (workers > 1 && datagram.size() >= proto::kSealedFixedSize + proto::kTagSize &&
      datagram[0] == proto::kVersion &&
      ((uint16_t{datagram[2]} << 8) | datagram[3]) == options_.gatewayId) {
    size_t owner = datagram[kOwnerOffset];
    if (owner < workers && owner != options_.workerIndex) {
      handOff(owner, kMediaLane, datagram, from);
      return;
    }
  }
  handleDatagram(datagram, from, nowNs);
}

void Worker::handOff(size_t owner, size_t lane, std::span<const uint8_t> datagram,
                     const SocketAddress& from) noexcept {
  SpscRing<Handoff>& ring = *outbound_[owner * kLanes + lane];
  size_t& staged = staged_[owner * kLanes + lane];
  // Full: drop here and count, never wait for the owner (a stalled owner must not stall
  // the sessions of this worker). Handshakes have their own ring: a flood of them fills
  // that one, not the one live media takes.
  if (ring.writable(staged + 1) <= staged || datagram.size() > kDatagramCapacity) {
    if (lane == kMediaLane) {
      counters_.handoffDrops.add();
    } else {
      counters_.handshakesLimited.add();
    }
    return;
  }
  Handoff& slot = ring.writeSlot(staged++);
  slot.from = from;
  slot.size = static_cast<uint32_t>(datagram.size());
  std::memcpy(slot.bytes.data(), datagram.data(), datagram.size());
  counters_.handoffsSent.add();
}

void Worker::publishHandoffs() noexcept {
  for (size_t i = 0; i < staged_.size(); ++i) {
    if (staged_[i] == 0) continue;
    outbound_[i]->publish(staged_[i]);
    staged_[i] = 0;
    // Pairs with idleWait(): either the owner sees the items before it sleeps, or this
    // sees its flag and wakes it. One eventfd write per burst, only for a sleeping owner.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Worker& peer = *peers_[i / kLanes];
    if (peer.sleeping_.load(std::memory_order_relaxed)) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t r = ::write(peer.doorbell_, &one, sizeof(one));
    }
  }
}

size_t Worker::drainInbound(uint64_t nowNs) noexcept {
  size_t handled = 0;
  for (size_t r = 0; r < inbound_.size(); ++r) {
    SpscRing<Handoff>* ring = inbound_[r].get();
    if (ring == nullptr) continue;
    size_t n = std::min(ring->readable(kBurstSize), kBurstSize);
    for (size_t i = 0; i < n; ++i) {
      Handoff& item = ring->readSlot(i);
      std::span<uint8_t> datagram(item.bytes.data(), item.size);
      if (r % kLanes == kHandshakeLane) {
        queueHandshake(datagram, item.from);  // already let in by the receiver's intake
      } else {
        handleDatagram(datagram, item.from, nowNs);
      }
    }
    if (n > 0) {
      ring->consume(n);
      counters_.handoffsReceived.add(n);
    }
    handled += n;
  }
  return handled;
}

void Worker::queueHandshake(std::span<const uint8_t> datagram, const SocketAddress& from) noexcept {
  if (handshakeLane_.writable() == 0 || datagram.size() > kDatagramCapacity) {
    counters_.handshakesLimited.add();
    return;
  }
  Handoff& slot = handshakeLane_.writeSlot(0);
  slot.from = from;
  slot.size = static_cast<uint32_t>(datagram.size());
  std::memcpy(slot.bytes.data(), datagram.data(), datagram.size());
  handshakeLane_.publish(1);
}

bool Worker::serviceHandshakes(uint64_t nowNs) {
  // Opening a session takes a ready arena: with none, the lane waits for the pool's thread to
  // map one (a few ms; longer on a loaded machine or where the hypervisor must back the memory
  // first). The worker never maps one itself: live sessions would wait that long.
  if (options_.arenas != nullptr && handshakeLane_.readable() > 0 &&
      options_.arenas->ready(options_.workerIndex) == 0) {
    if (arenaWaitSinceNs_ == 0) {
      arenaWaitSinceNs_ = nowNs;
      arenaWaitLogged_ = false;
      counters_.arenaWaits.add();
    } else if (!arenaWaitLogged_ && nowNs - arenaWaitSinceNs_ >= kArenaWaitWarnNs) {
      arenaWaitLogged_ = true;
      spdlog::warn(
          "worker {}: handshakes have waited {} ms for a jitter-buffer arena (is memory "
          "short?); live sessions are not held",
          options_.workerIndex, (nowNs - arenaWaitSinceNs_) / kNsPerMs);
    }
    return true;
  }
  arenaWaitSinceNs_ = 0;
  const uint64_t openedBefore = counters_.sessionsOpened.read();
  for (size_t i = 0; i < kHandshakesPerPass && handshakeLane_.readable() > 0 &&
                     counters_.sessionsOpened.read() - openedBefore < kSessionsPerPass;
       ++i) {
    Handoff& item = handshakeLane_.readSlot(0);
    handleInit(std::span<uint8_t>(item.bytes.data(), item.size), item.from, nowNs);
    handshakeLane_.consume(1);
  }
  return false;
}

void Worker::closeIdleOutputs(uint64_t nowNs) {
  for (auto it = outputs_.begin(); it != outputs_.end();) {
    CachedOutput& cached = it->second;
    // The cache's own reference is the only one left once no session plays to it (sessions
    // are this thread's, so the count cannot change under us).
    if (cached.output.use_count() > 1) {
      cached.unusedSinceNs = 0;
      ++it;
      continue;
    }
    if (cached.unusedSinceNs == 0) cached.unusedSinceNs = nowNs;
    // One a reload took away has no edge to wait for: it closes once unused.
    if (cached.configured && nowNs - cached.unusedSinceNs < options_.outputLingerNs) {
      ++it;
      continue;
    }
    if (logBudget()) {
      if (cached.configured) {
        spdlog::info("output {} closed: no session for {:g} s", it->first,
                     static_cast<double>(options_.outputLingerNs) / 1e9);
      } else {
        spdlog::info("output {} closed: its last session ended, and a reload removed it",
                     it->first);
      }
    }
    // Closed by the output pool's thread: the last flush waits on the sink, and unmapping the
    // ring and the file buffer takes the process's memory-map lock, which waits out other
    // threads' page faults (as an opening's maps did). After the linger the pool's thread has
    // drained and flushed it, so a new opening of the same URL (claimable from now on) has
    // nothing to interleave with; only a sink stuck for the whole linger would still hold
    // bytes, and the worker must not wait on that one either.
    outputPool_->retire(std::move(cached.output));
    if (options_.claims != nullptr) options_.claims->release(it->first, cached.keyId);
    it = outputs_.erase(it);
  }
  counters_.outputsOpen.set(outputs_.size());
}

void Worker::endSession(SessionTable::iterator& it) {
  if (options_.registry != nullptr) options_.registry->remove(it->second->session->id());
  if (options_.arenas != nullptr) {
    options_.arenas->give(options_.workerIndex, it->second->session->releaseArena());
  }
  wheel_.cancel(it->second->timer);
  it = sessions_.erase(it);
  counters_.sessionsClosed.add();
  counters_.sessionsActive.set(sessions_.size());
}

void Worker::onSessionTimer(uint64_t sessionId, uint64_t nowNs) noexcept {
  counters_.timersFired.add();
  auto it = sessions_.find(sessionId);
  if (it == sessions_.end()) return;
  GatewaySession& session = *it->second->session;
  session.onTimer(nowNs, tx_);
  // Idle timeout and the end of a close are checked here: every session has a feedback
  // or keepalive deadline at least every feedback interval.
  if (session.finished(nowNs)) {
    if (logBudget()) spdlog::info("session {:016x} ended", it->first);
    session.drainToOutput();
    endSession(it);
    return;
  }
  wheel_.schedule(it->second->timer, session.nextDeadlineNs());
}

void Worker::serviceTimers(uint64_t nowNs) noexcept {
  if (nowNs >= nextHousekeepingNs_) {
    // Handshake replay entries live only as long as a cookie could be valid.
    responder_.pruneReplayCache(nowNs);
    counters_.handshakeStateEntries.set(responder_.replayCacheSize());
    closeIdleOutputs(nowNs);
    nextHousekeepingNs_ = nowNs + 1'000 * kNsPerMs;
  }
  wheel_.expire(nowNs, [this, nowNs](uint64_t sessionId) { onSessionTimer(sessionId, nowNs); });
}

Worker::Wake Worker::idleWait(uint64_t nowNs) noexcept {
  // Dekker with publishHandoffs(): raise the flag, then look at the rings once more.
  sleeping_.store(true, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (auto& ring : inbound_) {
    if (ring && ring->readable() > 0) {
      sleeping_.store(false, std::memory_order_relaxed);
      return Wake::kDoorbell;
    }
  }
  port_->prepareSleep();
  uint64_t deadline = wheel_.nextDeadlineNs(nowNs + kMaxIdleWaitNs);
  deadline = std::min(deadline, nextHousekeepingNs_);
  uint64_t waitNs = deadline > nowNs ? deadline - nowNs : 0;
  timespec timeout{static_cast<time_t>(waitNs / 1'000'000'000),
                   static_cast<long>(waitNs % 1'000'000'000)};
  pollfd fds[2] = {{port_->wakeFd(), POLLIN, 0}, {doorbell_, POLLIN, 0}};
  counters_.idleWaits.add();
  Wake wake = Wake::kTimeout;
  if (::ppoll(fds, 2, &timeout, nullptr) > 0) {
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t value = 0;
      [[maybe_unused]] ssize_t r = ::read(doorbell_, &value, sizeof(value));
      wake = Wake::kDoorbell;
    }
    if ((fds[0].revents & POLLIN) != 0) wake = Wake::kPort;
  }
  sleeping_.store(false, std::memory_order_relaxed);
  return wake;
}

Worker::Pass Worker::pass(bool receive) noexcept {
  std::function<void(Worker&)> task;
  while (mailbox_.readable() > 0 && mailbox_.tryPop(task)) task(*this);
  Pass done;
  // Media first: while the port returns full bursts, more is waiting, and it is taken in
  // before any handshake work. A pass that took one burst and then opened sessions (~22 ms
  // each on a fresh VM) fell behind 4 live sessions of 4 Mbit/s and played nothing for 2 s
  // (reconnect_storm_test.sh). Without `receive`, one round with nothing from the port.
  for (size_t bursts = 0; bursts < kMaxBurstsPerPass; ++bursts) {
    const size_t n = receive ? port_->receive(burst_) : 0;
    done.nowNs = monotonicNs();  // one clock read per burst
    for (size_t i = 0; i < n; ++i) {
      // The next frame was written by another CPU (the kernel's copy, the NIC): its header's
      // cache lines are fetched while this one is decrypted, not when it is parsed.
      if (i + 1 < n && burst_.packets[i + 1].size() > 64) {  // an empty one has no address
        const uint8_t* next = burst_.packets[i + 1].data();
        __builtin_prefetch(next);
        __builtin_prefetch(next + 64);
      }
      dispatch(burst_.packets[i], burst_.sources[i], done.nowNs);
    }
    port_->release(burst_);
    done.received += n;
    done.lastBurst = n;
    // Handoffs both ways after every burst, as with one burst per pass: a packet received by
    // another worker must not wait behind 16 of the owner's bursts (with two workers, a
    // session's sources then came after their block's repairs, and FEC rebuilt packets that
    // were on their way: workers_test.sh).
    publishHandoffs();
    done.handedIn += drainInbound(done.nowNs);
    if (n < kBurstSize) break;
  }
  // Due playout before the handshakes: opening a session takes milliseconds.
  done.timersStartNs = monotonicNs();  // for the stall watch: where a long pass went
  serviceTimers(done.nowNs);
  done.handshakesStartNs = monotonicNs();
  done.waitingForArena = serviceHandshakes(done.nowNs);
  tx_.flush();
  done.handshakesWaiting = handshakeLane_.readable() > 0;
  return done;
}

void Worker::run(const std::atomic<bool>& stop) noexcept {
  reserveThreadHeap();
  warmThreadFirstUses(responder_.config().backend);
  // False after a wake by the doorbell alone: the port has nothing, do not ask it.
  bool portReady = true;
  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t startNs = monotonicNs();
    const uint64_t openedBefore = counters_.sessionsOpened.read();
    stallWatch_.begin(startNs);
    const Pass done = pass(portReady);
    const uint64_t endNs = monotonicNs();
    if (auto stall = stallWatch_.end(startNs, endNs, 0)) {
      noteStall(*stall, false, counters_.sessionsOpened.read() - openedBefore,
                {.mediaNs = done.timersStartNs - startNs,
                 .timersNs = done.handshakesStartNs - done.timersStartNs,
                 .handshakesNs = endNs - done.handshakesStartNs});
    }
    portReady = true;
    const size_t n = done.lastBurst;
    const size_t handedIn = done.handedIn;
    // More may be waiting: no sleep.
    if (n == kBurstSize || handedIn >= kBurstSize) continue;
    if (done.waitingForArena) {
      coalesce(done.nowNs, kMaxCoalesceNs);
      continue;
    }
    if (done.handshakesWaiting) continue;
    if (n > 0 || handedIn > 0) {
      // Busy but not saturated: let the next burst gather.
      size_t got = std::max(n, handedIn);
      coalesce(done.nowNs,
               kMaxCoalesceNs * std::min(kBurstSize - got, kBurstSize / 2) / (kBurstSize / 2));
      continue;
    }
    // Woken by a datagram after idling: its burst is usually still arriving; receiving at
    // once would take it one datagram per syscall.
    switch (idleWait(done.nowNs)) {
      case Wake::kPort:
        coalesce(monotonicNs(), kWakeCoalesceNs);
        break;
      case Wake::kDoorbell:
        portReady = false;
        break;
      case Wake::kTimeout:
        break;
    }
  }
}

void Worker::coalesce(uint64_t nowNs, uint64_t forNs) noexcept {
  uint64_t until = std::min(wheel_.nextDeadlineNs(nowNs + forNs), nextHousekeepingNs_);
  if (until <= nowNs) return;
  const uint64_t plannedNs = std::min(until - nowNs, forNs);
  timespec pause{0, static_cast<long>(plannedNs)};
  counters_.coalesceSleeps.add();
  // `nowNs` may be the pass's last burst, before its timers and handshakes: a stall is
  // measured from now.
  const uint64_t sleptAtNs = monotonicNs();
  stallWatch_.begin(sleptAtNs);
  ::nanosleep(&pause, nullptr);
  if (auto stall = stallWatch_.end(sleptAtNs, monotonicNs(), plannedNs)) {
    noteStall(*stall, true, 0, {});
  }
}

void Worker::noteStall(const Stall& stall, bool inSleep, uint64_t sessionsOpened,
                       const PassPhases& phases) noexcept {
  tallyStall(stall, counters_.stalls, counters_.longestStallUs);
  if (!stallLogLimiter_.take(monotonicNs())) return;
  // One line a test or an operator can act on: whose fault the held media was.
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  // Formatted on the stack: this runs on the packet path, which allocates nothing (a
  // std::string here was the one allocation worker_path_test caught on a loaded machine).
  std::array<char, 160> whereBuffer{};
  std::string_view where = "past a sleep";
  if (!inSleep) {
    const auto written = fmt::format_to_n(
        whereBuffer.data(), whereBuffer.size(),
        "in a pass (media {:.1f} ms, timers {:.1f} ms, handshakes {:.1f} ms; {} session(s) "
        "opened)",
        ms(phases.mediaNs), ms(phases.timersNs), ms(phases.handshakesNs), sessionsOpened);
    where = std::string_view(whereBuffer.data(), std::min(written.size, whereBuffer.size()));
  }
  StallUsageText usage{};
  spdlog::warn("worker {} stalled {:.1f} ms {}: {}", options_.workerIndex, ms(stall.heldNs), where,
               describeStallUsage(stall, usage));
}

void Worker::shutdown() {
  for (auto& [id, entry] : sessions_) entry->session->drainToOutput();
  // An edge that misses the CLOSE learns of the shutdown only when its feedback stops: every
  // link carries proto::kCloseCopies of it, as the edge's own (docs/protocol.md §5).
  for (int copy = 0; copy < proto::kCloseCopies && !sessions_.empty(); ++copy) {
    if (copy > 0) {
      timespec pause{0, static_cast<long>(proto::kCloseSpacingNs)};
      ::nanosleep(&pause, nullptr);
    }
    uint64_t nowNs = monotonicNs();
    for (auto& [id, entry] : sessions_) {
      entry->session->sendClose(proto::CloseReason::kShutdown, nowNs, tx_);
    }
    tx_.flush();
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) endSession(it);
  for (auto& [url, output] : outputs_) {
    output.output->close();
    if (options_.claims != nullptr) options_.claims->release(url, output.keyId);
  }
  outputs_.clear();
  counters_.outputsOpen.set(0);
}

}  // namespace braid::dp
