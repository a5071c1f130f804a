#include "dataplane/gateway/worker.h"
#include "dataplane/clock.h"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "dataplane/output/make_sink.h"
#include "dataplane/proto/crypto/primitives.h"
#include "dataplane/proto/wire/sealed_header.h"
#include "spdlog/spdlog.h"

namespace braid::dp {

using proto::DropReason;
using proto::PacketType;

namespace {

constexpr uint64_t kNsPerMs = 1'000'000;
constexpr uint64_t kMaxIdleWaitNs = 50 * kNsPerMs;

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
                                               proto::HandshakeResponder&& responder) {
  if (options.outputs.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no output configured");
  }
  UdpSocketOptions socketOptions;
  socketOptions.reusePort = true;
  // Room for ~250 ms of a 60 kpps flood of 1200-byte packets while the worker is descheduled
  // on a busy machine; kernel memory used only while it fills.
  socketOptions.receiveBufferBytes = 64 << 20;
  auto socket = UdpSocket::bind(options.listen, socketOptions);
  if (!socket) return tl::unexpected(socket.error());
  auto local = socket->localAddress();
  if (!local) return tl::unexpected(local.error());
  return std::unique_ptr<Worker>(
      new Worker(options, std::move(responder), std::move(*socket), *local));
}

Worker::Worker(const WorkerOptions& options, proto::HandshakeResponder&& responder,
               UdpSocket&& socket, const SocketAddress& local)
    : options_(options),
      responder_(std::move(responder)),
      socket_(std::move(socket)),
      local_(local),
      tx_(&socket_) {}

Worker::~Worker() = default;

bool Worker::logBudget() noexcept {
  // Authenticated peers can still make sessions come and go quickly; their log lines are
  // rate-limited (the counters still count every event).
  return logLimiter_.take(monotonicNs());
}

std::vector<std::shared_ptr<OutputThread>> Worker::outputsFor(uint32_t keyId) {
  std::vector<std::shared_ptr<OutputThread>> chosen;
  for (const OutputTarget& target : options_.outputs) {
    if (target.keyId && *target.keyId != keyId) continue;
    std::string url = target.url;
    auto keyMarker = url.find("{key}");
    if (keyMarker != std::string::npos) url.replace(keyMarker, 5, std::to_string(keyId));
    auto cached = outputs_.find(url);
    if (cached != outputs_.end()) {
      if (cached->second.keyId != keyId) {
        spdlog::error(
            "edge key {} refused: output '{}' already carries edge key {}'s stream "
            "(put {{key}} in the output URL to give each edge its own)",
            keyId, url, cached->second.keyId);
        return {};
      }
      chosen.push_back(cached->second.thread);
      continue;
    }
    auto sink = makeSink(url);
    if (!sink) {
      spdlog::error("output '{}' for edge key {}: {}", url, keyId, sink.error().describe());
      return {};
    }
    auto thread = OutputThread::start(
        std::move(*sink), OutputThreadOptions{.ringChunks = options_.outputQueueChunks});
    if (!thread) {
      spdlog::error("output thread for '{}': {}", url, thread.error().describe());
      return {};
    }
    spdlog::info("output for edge key {}: {}", keyId, url);
    std::shared_ptr<OutputThread> shared(std::move(*thread));
    outputs_.emplace(url, CachedOutput{.url = target.url, .keyId = keyId, .thread = shared});
    chosen.push_back(std::move(shared));
  }
  if (chosen.empty()) spdlog::error("edge key {} refused: no output is configured for it", keyId);
  return chosen;
}

void Worker::setOutputs(std::vector<OutputTarget> outputs) {
  options_.outputs = std::move(outputs);
  // Outputs whose target is gone close once their last session ends (sessions share them);
  // the ones still configured stay open, so a file is not truncated by a reload.
  for (auto it = outputs_.begin(); it != outputs_.end();) {
    bool kept = false;
    for (const OutputTarget& target : options_.outputs) {
      if (target.url == it->second.url && (!target.keyId || *target.keyId == it->second.keyId)) {
        kept = true;
      }
    }
    it = kept ? std::next(it) : outputs_.erase(it);
  }
  spdlog::info("outputs reloaded: {} configured, {} open", options_.outputs.size(),
               outputs_.size());
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
    if (it == sessions_.end() || it->second->keyId() != init.keyId) {
      counters_.drop(DropReason::kUnknownSession);
      return;
    }
    std::span<uint8_t> reply = tx_.next();
    auto accepted = responder_.accept(validated, init.sessionId, reply);
    if (!accepted) return;
    if (!it->second->channel().rekey(accepted->keys, init.linkId, nowNs)) return;
    counters_.rekeys.add();
    tx_.commit(accepted->replySize, from);
    if (logBudget()) spdlog::info("session {:016x} rekeyed", init.sessionId.value);
    return;
  }

  std::vector<std::shared_ptr<OutputThread>> outputs = outputsFor(init.keyId);
  if (outputs.empty()) {
    counters_.admissionRefused.add();
    return;
  }
  // An INIT older than the one that opened the key's current session is a retry that took a
  // slower link (an edge sends its next attempt on another link when one is silent): it
  // must not replace the session the edge already has.
  for (const auto& [sessionId, session] : sessions_) {
    if (session->keyId() == init.keyId && session->initTimestampNs() > init.timestampNs) {
      counters_.drop(DropReason::kStaleHandshake);
      return;
    }
  }
  // A restarted edge starts a new session: the older session of the same key gives way.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second->keyId() == init.keyId) {
      if (logBudget()) {
        spdlog::info("session {:016x} replaced by a new session of edge key {}", it->first,
                     init.keyId);
      }
      it->second->drainToOutput();
      it->second->sendClose(proto::CloseReason::kError, nowNs, tx_);
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
  auto session =
      GatewaySession::create(GatewaySessionParams{.id = id,
                                                  .keyId = init.keyId,
                                                  .latencyMs = accepted->latencyMs,
                                                  .feedbackMs = config.feedbackMs,
                                                  .keepaliveMs = config.keepaliveMs,
                                                  .idleTimeoutMs = config.idleTimeoutMs,
                                                  .jitterCapacity = options_.jitterCapacity,
                                                  .initTimestampNs = init.timestampNs},
                             std::move(*channel), std::move(outputs), counters_, nowNs);
  if (!session) {
    spdlog::error("session for edge key {}: {}", init.keyId, session.error().describe());
    return;
  }
  if (options_.registry != nullptr) options_.registry->add((*session)->stats());
  sessions_.emplace(id.value, std::move(*session));
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
  counters_.rxPackets.add();
  counters_.rxBytes.add(datagram.size());
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
  if (auto reason = it->second->onSealed(datagram, from, nowNs, tx_)) counters_.drop(*reason);
}

void Worker::endSession(
    std::unordered_map<uint64_t, std::unique_ptr<GatewaySession>>::iterator& it) {
  if (options_.registry != nullptr) options_.registry->remove(it->second->id());
  it = sessions_.erase(it);
  counters_.sessionsClosed.add();
  counters_.sessionsActive.set(sessions_.size());
}

void Worker::serviceTimers(uint64_t nowNs) noexcept {
  if (nowNs >= nextHousekeepingNs_) {
    // Handshake replay entries live only as long as a cookie could be valid.
    responder_.pruneReplayCache(nowNs);
    counters_.handshakeStateEntries.set(responder_.replayCacheSize());
    nextHousekeepingNs_ = nowNs + 1'000 * kNsPerMs;
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    GatewaySession& session = *it->second;
    if (nowNs >= session.nextDeadlineNs()) session.onTimer(nowNs, tx_);
    if (session.finished(nowNs)) {
      if (logBudget()) spdlog::info("session {:016x} ended", it->first);
      session.drainToOutput();
      endSession(it);
    } else {
      ++it;
    }
  }
}

uint64_t Worker::nextDeadlineNs(uint64_t nowNs) const noexcept {
  uint64_t next = nowNs + kMaxIdleWaitNs;
  for (const auto& [id, session] : sessions_) next = std::min(next, session->nextDeadlineNs());
  return next;
}

void Worker::run(const std::atomic<bool>& stop) noexcept {
  while (!stop.load(std::memory_order_relaxed)) {
    std::function<void(Worker&)> task;
    while (mailbox_.readable() > 0 && mailbox_.tryPop(task)) task(*this);
    int n = socket_.receiveBatch(rx_);
    uint64_t nowNs = monotonicNs();  // one clock read per burst
    for (int i = 0; i < n; ++i) handleDatagram(rx_.datagram(i), rx_.sources[i], nowNs);
    serviceTimers(nowNs);
    tx_.flush();
    if (n == static_cast<int>(kBurstSize)) continue;  // more may be waiting
    // Idle until the next packet or the next deadline (playout, feedback).
    uint64_t deadline = nextDeadlineNs(nowNs);
    uint64_t waitNs = deadline > nowNs ? deadline - nowNs : 0;
    if (n > 0 && waitNs > 0) continue;
    timespec timeout{static_cast<time_t>(waitNs / 1'000'000'000),
                     static_cast<long>(waitNs % 1'000'000'000)};
    pollfd p{socket_.fd(), POLLIN, 0};
    ::ppoll(&p, 1, &timeout, nullptr);
  }
}

void Worker::shutdown() {
  uint64_t nowNs = monotonicNs();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it->second->drainToOutput();
    it->second->sendClose(proto::CloseReason::kShutdown, nowNs, tx_);
    endSession(it);
  }
  tx_.flush();
  for (auto& [url, output] : outputs_) output.thread->stop();
  outputs_.clear();
}

}  // namespace braid::dp
