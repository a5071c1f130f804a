#include "dataplane/gateway/gateway_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <memory>

#include "dataplane/output/null_restorer.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/data_body.h"

namespace braid::dp {
namespace {

constexpr uint64_t kStartNs = 1'000'000'000'000;
constexpr uint64_t kMs = 1'000'000;

// Keeps what the output thread writes; read only after the thread is stopped.
class CapturingSink : public OutputSink {
 public:
  explicit CapturingSink(std::vector<uint8_t>& out) : out_(out) {}
  Result<void> write(std::span<const uint8_t> bytes) override {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return {};
  }
  Result<void> flush() override { return {}; }

 private:
  std::vector<uint8_t>& out_;
};

// A DATA body: the run list, then `packets` TS packets whose byte 4 numbers them from `first`.
std::vector<uint8_t> dataBody(std::span<const proto::NullRun> runs, size_t packets,
                              uint8_t first = 0) {
  std::vector<uint8_t> body(proto::nullRunsSize(runs));
  EXPECT_EQ(proto::writeNullRuns(runs, body), body.size());
  for (size_t i = 0; i < packets; ++i) {
    std::array<uint8_t, 188> ts{};
    ts[0] = 0x47;
    ts[2] = 0x44;
    ts[3] = 0x10;
    ts[4] = static_cast<uint8_t>(first + i);
    body.insert(body.end(), ts.begin(), ts.end());
  }
  return body;
}

struct Harness {
  WorkerCounters counters;
  std::vector<uint8_t> output;
  std::unique_ptr<OutputPool> outputPool;
  std::shared_ptr<Output> outputHandle;
  std::unique_ptr<GatewaySession> session;
  std::optional<proto::SealedChannel> edge;
  Transmitter tx{nullptr};
  SocketAddress addressA = *parseSocketAddress("127.0.0.1:4000");
  SocketAddress addressB = *parseSocketAddress("127.0.0.9:5000");
  proto::SessionId id = proto::SessionId::make(1, 0, 42);
  uint64_t mediaSeq = 0;
  uint64_t edgeClockOffsetUs = 0;  // the edge's send-timestamp clock minus ours

  explicit Harness(bool withOutput = false) {
    if (withOutput) {
      outputPool = std::move(*OutputPool::start());
      outputHandle = std::move(*outputPool->open(std::make_unique<CapturingSink>(output)));
    }
    proto::SessionKeys keys;
    keys.edgeToGateway.fill(3);
    keys.gatewayToEdge.fill(4);
    auto gatewayChannel = proto::SealedChannel::create(proto::Role::kGateway, keys, 0, kStartNs);
    auto edgeChannel = proto::SealedChannel::create(proto::Role::kEdge, keys, 0, kStartNs);
    edge.emplace(std::move(*edgeChannel));
    auto created =
        GatewaySession::create(GatewaySessionParams{.id = id,
                                                    .keyId = 1,
                                                    .latencyMs = 100,
                                                    .feedbackMs = 50,
                                                    .keepaliveMs = 1000,
                                                    .idleTimeoutMs = 2000,
                                                    .jitterCapacity = 256},
                               std::move(*gatewayChannel),
                               outputHandle ? std::vector<std::shared_ptr<Output>>{outputHandle}
                                            : std::vector<std::shared_ptr<Output>>{},
                               counters, kStartNs);
    session = std::move(*created);
  }

  std::optional<proto::DropReason> send(proto::PacketType type, std::span<const uint8_t> body,
                                        const SocketAddress& from, uint64_t nowNs,
                                        uint8_t link = 0) {
    std::array<uint8_t, 1500> packet{};
    proto::PacketPrefix prefix{.type = type, .sessionId = id, .linkId = link};
    proto::MediaFields media{.mediaSeq = mediaSeq, .mediaTsUs = (nowNs - kStartNs) / 1000};
    bool isData = type == proto::PacketType::kData;
    size_t size = edge->seal(prefix, static_cast<uint32_t>(nowNs / 1000 + edgeClockOffsetUs),
                             isData ? &media : nullptr, body, packet,
                             isData ? 0 : proto::kMinControlPacketSize);
    if (isData) ++mediaSeq;
    return session->onSealed(std::span(packet).first(size), from, nowNs, tx);
  }

  std::optional<proto::DropReason> sendData(const SocketAddress& from, uint64_t nowNs) {
    return send(proto::PacketType::kData, dataBody({}, 1), from, nowNs);
  }

  // Closes the output: everything played is then in `output`.
  void stopOutput() { outputHandle->close(); }

  std::optional<proto::DropReason> sendKeepalive(const SocketAddress& from, uint64_t nowNs,
                                                 uint8_t link = 0) {
    std::array<uint8_t, 16> body{};
    size_t size = proto::Keepalive{}.encode(body);
    return send(proto::PacketType::kKeepalive, std::span(body).first(size), from, nowNs, link);
  }
};

TEST(GatewaySession, PlaysDataAtTheTargetLatencyInOrder) {
  Harness h;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(h.sendData(h.addressA, kStartNs + i * kMs));
  h.session->onTimer(kStartNs + 50 * kMs, h.tx);
  EXPECT_EQ(h.counters.played.read(), 0u);  // not before media time + latency
  h.session->onTimer(kStartNs + 120 * kMs, h.tx);
  EXPECT_EQ(h.counters.played.read(), 10u);
  EXPECT_EQ(h.counters.dataPackets.read(), 10u);
}

TEST(GatewaySession, KeepaliveIsAnsweredOnTheSameLink) {
  Harness h;
  uint64_t before = h.tx.bytesQueued();
  // Data first, so the address has a budget for the answer.
  EXPECT_FALSE(h.sendData(h.addressA, kStartNs));
  EXPECT_FALSE(h.sendKeepalive(h.addressA, kStartNs + kMs));
  EXPECT_GT(h.tx.bytesQueued(), before);
}

TEST(GatewaySession, ReportsAProbeTrainBeforeMediaFlows) {
  // Trains run before media starts: their result must not wait for media, or every link
  // warms without it. Keepalives alone get no ACK.
  Harness h;
  EXPECT_FALSE(h.sendKeepalive(h.addressA, kStartNs));
  h.session->onTimer(kStartNs + 60 * kMs, h.tx);
  EXPECT_EQ(h.counters.feedbackSent.read(), 0u);
  for (uint64_t i = 0; i < 8; ++i) {
    std::array<uint8_t, 32> body{};
    size_t size = proto::Probe{.trainId = 5, .index = i, .count = 8}.encode(body);
    EXPECT_FALSE(h.send(proto::PacketType::kProbe, std::span(body).first(size), h.addressA,
                        kStartNs + 70 * kMs + i * 100'000));
  }
  h.session->onTimer(kStartNs + 120 * kMs, h.tx);
  EXPECT_EQ(h.counters.feedbackSent.read(), 1u);
  // Reported once; still no media, so no more.
  h.session->onTimer(kStartNs + 180 * kMs, h.tx);
  EXPECT_EQ(h.counters.feedbackSent.read(), 1u);
}

TEST(GatewaySession, AuthenticatedPacketFromNewAddressMovesTheLink) {
  Harness h;
  EXPECT_FALSE(h.sendData(h.addressA, kStartNs));
  EXPECT_FALSE(h.sendData(h.addressB, kStartNs + kMs));
  EXPECT_EQ(h.counters.linkAddressMoves.read(), 1u);
  EXPECT_EQ(h.session->activeLinks(kStartNs + 2 * kMs), 1u);
}

TEST(GatewaySession, NeverSendsMoreThanThreeTimesWhatAnAddressSent) {
  Harness h;
  // One small DATA packet in (188 + 46 bytes), then 19 feedback rounds while the stream still
  // counts as flowing, with nothing more received: the ACKs would exceed 3x.
  EXPECT_FALSE(h.sendData(h.addressA, kStartNs));
  const uint64_t received = 1 + 188 + 46;
  for (int i = 1; i < 20; ++i) h.session->onTimer(kStartNs + i * 50 * kMs, h.tx);
  EXPECT_GT(h.tx.bytesQueued(), 0u);
  EXPECT_LE(h.tx.bytesQueued(), 3 * received);
  EXPECT_GT(h.counters.amplificationLimited.read(), 0u);
}

TEST(GatewaySession, ReplayedAndTamperedPacketsAreDroppedByReason) {
  Harness h;
  std::array<uint8_t, 1500> packet{};
  std::vector<uint8_t> ts = dataBody({}, 1);
  proto::PacketPrefix prefix{.type = proto::PacketType::kData, .sessionId = h.id};
  proto::MediaFields media{.mediaSeq = 0, .mediaTsUs = 0};
  size_t size = h.edge->seal(prefix, 1, &media, ts, packet);
  auto copy = packet;
  EXPECT_FALSE(h.session->onSealed(std::span(packet).first(size), h.addressA, kStartNs, h.tx));
  EXPECT_EQ(h.session->onSealed(std::span(copy).first(size), h.addressA, kStartNs, h.tx),
            proto::DropReason::kReplay);
  size = h.edge->seal(prefix, 1, &media, ts, packet);
  packet[size - 1] ^= 1;
  EXPECT_EQ(h.session->onSealed(std::span(packet).first(size), h.addressA, kStartNs, h.tx),
            proto::DropReason::kAuthFailed);
  EXPECT_EQ(h.counters.dataPackets.read(), 1u);
}

TEST(GatewaySession, CloseDrainsThenFinishes) {
  Harness h;
  for (int i = 0; i < 5; ++i) h.sendData(h.addressA, kStartNs + i * kMs);
  std::array<uint8_t, 8> body{};
  size_t size = proto::Close{}.encode(body);
  EXPECT_FALSE(h.send(proto::PacketType::kClose, std::span(body).first(size), h.addressA,
                      kStartNs + 10 * kMs));
  EXPECT_FALSE(h.session->finished(kStartNs + 10 * kMs));  // still holds media
  h.session->onTimer(kStartNs + 200 * kMs, h.tx);
  EXPECT_TRUE(h.session->finished(kStartNs + 200 * kMs));
  EXPECT_EQ(h.counters.played.read(), 5u);
}

TEST(GatewaySession, IdleSessionFinishesAfterTheTimeout) {
  Harness h;
  h.sendData(h.addressA, kStartNs);
  EXPECT_FALSE(h.session->finished(kStartNs + 1'900 * kMs));
  EXPECT_TRUE(h.session->finished(kStartNs + 2'100 * kMs));
}

TEST(GatewaySession, InterarrivalJitterIgnoresTheEdgeClockWrapping) {
  // A send timestamp is the low 32 bits of the edge's µs clock: it wraps every 71.6 min, at any
  // point of a session, wherever the edge's clock is. Packets every 1 ms with a constant transit
  // have no jitter, across the wrap too.
  Harness h;
  constexpr uint64_t kPeriodUs = uint64_t{1} << 32;
  h.edgeClockOffsetUs = kPeriodUs - (kStartNs / 1000) % kPeriodUs - 20'000;  // wraps at 20 ms
  uint64_t maxJitterUs = 0;
  for (uint64_t i = 0; i < 60; ++i) {
    EXPECT_FALSE(h.sendData(h.addressA, kStartNs + i * kMs));
    maxJitterUs = std::max(maxJitterUs, h.session->stats()->links[0].jitterUs.read());
  }
  EXPECT_EQ(maxJitterUs, 0u);
}

TEST(GatewaySession, MalformedInnerMessagesAreCounted) {
  Harness h;
  std::array<uint8_t, 4> junk{0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(h.send(proto::PacketType::kJoin, junk, h.addressA, kStartNs),
            proto::DropReason::kMalformedBody);
}

TEST(GatewaySession, RestoresDeletedNullPacketsInPlace) {
  Harness h(/*withOutput=*/true);
  // Two nulls before packet 0, one between packets 1 and 2, three after the last; then a
  // body of nulls only, and one without any.
  // Then two filler packets of PID 0x100 (counters 14, 15) at the end.
  const std::array<proto::NullRun, 4> runs{proto::NullRun{0, 2}, proto::NullRun{2, 1},
                                           proto::NullRun{3, 3},
                                           proto::NullRun{3, 2, true, {0x01, 0x00, 0x1e}}};
  const std::array<proto::NullRun, 1> only{proto::NullRun{0, 9}};
  EXPECT_FALSE(h.send(proto::PacketType::kData, dataBody(runs, 3, 10), h.addressA, kStartNs));
  EXPECT_FALSE(h.send(proto::PacketType::kData, dataBody(only, 0), h.addressA, kStartNs + kMs));
  EXPECT_FALSE(h.send(proto::PacketType::kData, dataBody({}, 2, 20), h.addressA, kStartNs + kMs));
  h.session->onTimer(kStartNs + 200 * kMs, h.tx);
  h.stopOutput();
  EXPECT_EQ(h.counters.nullsRestored.read(), 17u);
  // Which packet is at each position: 'N' for a null, else its number.
  std::string order;
  ASSERT_EQ(h.output.size() % 188, 0u);
  for (size_t off = 0; off < h.output.size(); off += 188) {
    std::span<const uint8_t> p(h.output.data() + off, 188);
    if (std::equal(p.begin(), p.end(), kNullTsPacket.begin())) {
      order += 'N';
    } else if (p[1] == 0x01 && p[2] == 0x00 &&
               std::all_of(p.begin() + 4, p.end(), [](uint8_t b) { return b == 0xff; })) {
      order += "F" + std::to_string(p[3] & 0x0f) + ",";
    } else {
      order += std::to_string(p[4]) + ",";
    }
  }
  EXPECT_EQ(order, "NN10,11,N12,NNNF14,F15,NNNNNNNNN20,21,");
}

TEST(GatewaySession, DuplicateCopiesArePlayedOnce) {
  // A critical packet comes on two links with the same media sequence: one copy plays.
  Harness h(/*withOutput=*/true);
  auto body = dataBody({}, 1, 7);
  EXPECT_FALSE(h.send(proto::PacketType::kData, body, h.addressA, kStartNs, 0));
  --h.mediaSeq;
  EXPECT_FALSE(h.send(proto::PacketType::kData, body, h.addressB, kStartNs + kMs, 1));
  EXPECT_EQ(h.counters.duplicates.read(), 1u);
  h.session->onTimer(kStartNs + 200 * kMs, h.tx);
  h.stopOutput();
  EXPECT_EQ(h.counters.played.read(), 1u);
  EXPECT_EQ(h.output, std::vector<uint8_t>(body.begin() + 1, body.end()));
}

TEST(GatewaySession, ForgedDataNeverTouchesAHeldPayload) {
  // DATA is decrypted straight into its jitter-buffer slot, before the tag is checked: only a
  // free slot may be written, and a forgery there must leave nothing to play.
  Harness h(/*withOutput=*/true);
  auto first = dataBody({}, 1, 7);
  auto second = dataBody({}, 1, 9);
  EXPECT_FALSE(h.send(proto::PacketType::kData, first, h.addressA, kStartNs));
  auto forge = [&](uint64_t seq) {
    std::array<uint8_t, 1500> packet{};
    proto::PacketPrefix prefix{.type = proto::PacketType::kData, .sessionId = h.id};
    proto::MediaFields media{.mediaSeq = seq, .mediaTsUs = 0};
    auto junk = dataBody({}, 1, 0xee);
    size_t size = h.edge->seal(prefix, 1, &media, junk, packet);
    packet[size - 1] ^= 1;
    return h.session->onSealed(std::span(packet).first(size), h.addressA, kStartNs, h.tx);
  };
  EXPECT_EQ(forge(0), proto::DropReason::kAuthFailed);    // the held sequence itself
  EXPECT_EQ(forge(256), proto::DropReason::kAuthFailed);  // its slot, one window later
  EXPECT_EQ(forge(1), proto::DropReason::kAuthFailed);    // a free slot
  EXPECT_FALSE(h.send(proto::PacketType::kData, second, h.addressA, kStartNs + kMs));
  h.session->onTimer(kStartNs + 200 * kMs, h.tx);
  h.stopOutput();
  EXPECT_EQ(h.counters.played.read(), 2u);
  std::vector<uint8_t> expected(first.begin() + 1, first.end());
  expected.insert(expected.end(), second.begin() + 1, second.end());
  EXPECT_EQ(h.output, expected);
}

TEST(GatewaySession, MalformedDataBodyIsDroppedBeforePlayout) {
  Harness h;
  std::vector<uint8_t> partial = dataBody({}, 1);
  partial.pop_back();  // not a whole TS packet
  EXPECT_EQ(h.send(proto::PacketType::kData, partial, h.addressA, kStartNs),
            proto::DropReason::kMalformedBody);
  EXPECT_EQ(h.session->jitterBuffer().depth(), 0u);
}

}  // namespace
}  // namespace braid::dp
