// Drives the gateway session's handler of authenticated packets with arbitrary decrypted
// payloads: a fuzzer cannot forge a GCM tag, so fuzzing sealed packets never reaches here.
//
// Input: a sequence of records
//   u8 type selector | u8 link ID | u16 length | u48 link seq | u32 send ts |
//   u32 media seq delta | u32 media ts | u8 time step (ms) | payload[length]

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dataplane/gateway/gateway_session.h"

namespace {

using namespace braid;

constexpr proto::PacketType kTypes[] = {
    proto::PacketType::kData, proto::PacketType::kRepair,    proto::PacketType::kAck,
    proto::PacketType::kNack, proto::PacketType::kKeepalive, proto::PacketType::kProbe,
    proto::PacketType::kJoin, proto::PacketType::kClose,
};

uint64_t readBe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dp::WorkerCounters counters;
  proto::SessionKeys keys;
  keys.edgeToGateway.fill(1);
  keys.gatewayToEdge.fill(2);
  uint64_t nowNs = 1'000'000'000'000;
  auto channel = proto::SealedChannel::create(proto::Role::kGateway, keys, 0, nowNs);
  if (!channel) return 0;
  auto session = dp::GatewaySession::create(
      dp::GatewaySessionParams{.id = proto::SessionId{0x0001000000000001},
                               .keyId = 1,
                               .latencyMs = 200,
                               .jitterCapacity = 256},
      std::move(*channel), {}, counters, nowNs);
  if (!session) return 0;
  dp::Transmitter tx(nullptr);
  auto from = dp::parseSocketAddress("127.0.0.1:4000");
  auto other = dp::parseSocketAddress("127.0.0.2:4001");
  uint64_t mediaSeq = 0;
  constexpr size_t kRecordHead = 1 + 1 + 2 + 6 + 4 + 4 + 4 + 1;
  while (size >= kRecordHead) {
    proto::SealedHeader header;
    header.prefix.type = kTypes[data[0] % 8];
    header.prefix.linkId = data[1] & 15;
    header.prefix.sessionId = (*session)->id();
    size_t length = readBe(data + 2, 2) % 1500;
    header.linkSeq = readBe(data + 4, 6);
    header.sendTsUs = static_cast<uint32_t>(readBe(data + 10, 4));
    mediaSeq += readBe(data + 14, 4) % 5000;
    proto::MediaFields media{.mediaSeq = mediaSeq, .mediaTsUs = readBe(data + 18, 4)};
    nowNs += uint64_t{data[22]} * 1'000'000;
    const auto& source = (data[1] & 0x10) ? *other : *from;
    data += kRecordHead;
    size -= kRecordHead;
    if (length > size) length = size;
    (void)(*session)->onAuthenticated(header, media, std::span<const uint8_t>(data, length), source,
                                      length + 46, nowNs, tx);
    (*session)->onTimer(nowNs, tx);
    data += length;
    size -= length;
  }
  (*session)->drainToOutput();
  return 0;
}
