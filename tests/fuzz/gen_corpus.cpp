// Writes the seed corpora of the wire fuzz targets (valid encoded messages) into
// <dir>/fuzz_outer_header, <dir>/fuzz_handshake and <dir>/fuzz_inner_messages.
// Usage: gen_fuzz_corpus tests/fuzz/corpus   (the outputs are checked in)

#include <array>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/proto/wire/data_body.h"
#include "dataplane/proto/wire/handshake_messages.h"
#include "dataplane/proto/wire/sealed_header.h"
#include "fuzz_check.h"

using namespace braid::proto;
using namespace braid::proto::fuzz;

namespace {

std::string gDir;

void write(const std::string& target, const std::string& name, std::span<const uint8_t> bytes) {
  std::string path = gDir + "/" + target + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
  std::fclose(f);
}

template <size_t N>
std::array<uint8_t, N> counting(uint8_t start) {
  std::array<uint8_t, N> a{};
  std::iota(a.begin(), a.end(), start);
  return a;
}

void sealed(const std::string& name, PacketType type, const MediaFields* media, size_t payload) {
  SealedHeader h{.prefix = {.version = kVersion,
                            .type = type,
                            .sessionId = SessionId::make(7, 3, 0xabcdef),
                            .linkId = 2,
                            .flags = flag::kKeyframe},
                 .linkSeq = 0x1234,
                 .sendTsUs = 0x01020304};
  std::vector<uint8_t> out(64 + payload + kTagSize, 0x5a);
  size_t n = writeSealedHeader(h, media, out);
  FUZZ_CHECK(n != 0);
  out.resize(n + payload + kTagSize);
  write("fuzz_outer_header", name, out);
}

void outerHeader() {
  MediaFields small{.mediaSeq = 1000, .mediaTsUs = 40000};
  MediaFields large{.mediaSeq = uint64_t{1} << 40, .mediaTsUs = uint64_t{1} << 35};
  sealed("data", PacketType::kData, &small, 40);
  sealed("data_large_varints", PacketType::kData, &large, 8);
  sealed("repair", PacketType::kRepair, &small, 20);
  sealed("ack", PacketType::kAck, nullptr, 12);
  sealed("keepalive_empty", PacketType::kKeepalive, nullptr, 0);
}

void handshake() {
  HandshakeInit init;
  init.linkId = 1;
  init.keyId = 0x0a0b0c0d;
  init.edgeNonce = counting<32>(0);
  init.edgePublic = counting<32>(0x20);
  init.timestampNs = 0x0102030405060708;
  init.requestedLatencyMs = 2000;
  init.mac = counting<16>(0xf0);
  std::array<uint8_t, HandshakeInit::kSize> initBytes{};
  FUZZ_CHECK(init.encode(initBytes) == initBytes.size());
  write("fuzz_handshake", "init_no_cookie", initBytes);
  init.cookie = counting<16>(0x40);
  init.sessionId = SessionId::make(7, 3, 0xabcdef);
  FUZZ_CHECK(init.encode(initBytes) == initBytes.size());
  write("fuzz_handshake", "init_cookie_rekey", initBytes);

  HandshakeCookie cookie{.linkId = 1, .edgeNonce = counting<32>(0), .cookie = counting<16>(0x40)};
  std::array<uint8_t, HandshakeCookie::kSize> cookieBytes{};
  FUZZ_CHECK(cookie.encode(cookieBytes) == cookieBytes.size());
  write("fuzz_handshake", "cookie", cookieBytes);

  HandshakeAccept accept;
  accept.linkId = 1;
  accept.sessionId = SessionId::make(7, 3, 0xabcdef);
  accept.edgeNonce = counting<32>(0);
  accept.gatewayNonce = counting<32>(0x40);
  accept.gatewayPublic = counting<32>(0x60);
  accept.latencyMs = 2000;
  AcceptSecrets secrets{.resetToken = counting<16>(0x80),
                        .keepaliveMs = 1000,
                        .feedbackMs = 50,
                        .idleTimeoutMs = 10000};
  FUZZ_CHECK(secrets.encode(accept.sealed) == AcceptSecrets::kEncodedSize);
  write("fuzz_handshake", "accept_secrets", accept.sealed);
  std::array<uint8_t, HandshakeAccept::kSize> acceptBytes{};
  FUZZ_CHECK(accept.encode(acceptBytes) == acceptBytes.size());
  write("fuzz_handshake", "accept", acceptBytes);

  StatelessReset reset{.sessionId = accept.sessionId, .linkId = 1, .token = counting<16>(0x80)};
  std::array<uint8_t, 64> random = counting<64>(0xa0);
  std::array<uint8_t, 64> resetBytes{};
  FUZZ_CHECK(reset.encode(resetBytes, 40, random) == 40);
  write("fuzz_handshake", "reset", std::span(resetBytes).first(40));
}

template <typename Message>
void inner(const std::string& name, InnerSelector selector, const Message& m) {
  std::array<uint8_t, 2048> out{};
  out[0] = selector;
  size_t n = m.encode(std::span<uint8_t>(out).subspan(1));
  FUZZ_CHECK(n != 0);
  write("fuzz_inner_messages", name, std::span(out).first(n + 1));
}

void innerMessages() {
  Ack ack;
  ack.cumulativeSeq = 1000;
  ack.addSack({.first = 1002, .count = 3});
  ack.addSack({.first = 1010, .count = 1});
  ack.addReport({.linkId = 2,
                 .highestLinkSeq = 0x1234,
                 .packetsReceived = 500,
                 .packetsLost = 3,
                 .bytesReceived = 600000,
                 .echoedSendTsUs = 0x01020304,
                 .holdTimeUs = 1500,
                 .jitterUs = 800,
                 .queueDelayUs = 12000,
                 .queueDelayMaxUs = 30000,
                 .probeTrainId = 7,
                 .probeRateKbps = 3000});
  inner("ack", kInnerAck, ack);
  inner("ack_empty", kInnerAck, Ack{});
  Nack nack;
  nack.addRange({.first = 1000, .count = 2});
  nack.addRange({.first = 1100, .count = 1});
  inner("nack", kInnerNack, nack);
  inner("keepalive", kInnerKeepalive, Keepalive{.echoedSendTsUs = 0x01020304, .holdTimeUs = 1500});
  inner("probe", kInnerProbe, Probe{.trainId = 5, .index = 2, .count = 10});
  Join join;
  FUZZ_CHECK(join.setName("lte0 ü"));
  inner("join", kInnerJoin, join);
  inner("close", kInnerClose, Close{.reason = CloseReason::kIdle});

  std::array<uint8_t, 64> out{};
  out[0] = kInnerRepair;
  ByteWriter w(std::span(out).subspan(1));
  FUZZ_CHECK(
      (RepairHeader{.blockId = 300, .k = 10, .m = 4, .index = 3, .firstSeq = 70000}.encode(w)));
  w.putBytes(counting<16>(0xc0));
  FUZZ_CHECK(w.ok());
  write("fuzz_inner_messages", "repair", std::span(out).first(w.size() + 1));

  // DATA bodies: three TS packets with null and filler runs before, between and after them;
  // one without.
  std::vector<uint8_t> data(1 + 64 + 3 * kTsPacketSize, 0);
  data[0] = kInnerData;
  const std::array<NullRun, 4> runs{NullRun{0, 2}, NullRun{1, 1},
                                    NullRun{1, 2, true, {0x01, 0x00, 0x1e}}, NullRun{3, 300}};
  size_t n = writeNullRuns(runs, std::span(data).subspan(1));
  FUZZ_CHECK(n != 0);
  data.resize(1 + n + 3 * kTsPacketSize);
  for (size_t i = 0; i < 3; ++i) {
    uint8_t* p = data.data() + 1 + n + i * kTsPacketSize;
    p[0] = 0x47;
    p[1] = 0x01;
    p[3] = static_cast<uint8_t>(0x10 | i);
  }
  write("fuzz_inner_messages", "data_null_runs", data);
  std::vector<uint8_t> plain(data.begin() + static_cast<long>(1 + n), data.end());
  plain.insert(plain.begin(), {static_cast<uint8_t>(kInnerData), 0x00});
  write("fuzz_inner_messages", "data_no_nulls", plain);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (e.g. tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  gDir = argv[1];
  outerHeader();
  handshake();
  innerMessages();
  return 0;
}
