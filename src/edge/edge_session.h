#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/counter.h"
#include "dataplane/fec/fec_encoder.h"
#include "dataplane/io/stall_watch.h"
#include "dataplane/io/udp_socket.h"
#include "dataplane/proto/handshake/initiator.h"
#include "dataplane/proto/handshake/sealed_channel.h"
#include "dataplane/proto/handshake/token_bucket.h"
#include "dataplane/proto/wire/control_messages.h"
#include "dataplane/reliability/retransmit_buffer.h"
#include "dataplane/ring/spsc_ring.h"
#include "edge/fec_policy.h"
#include "edge/feedback_filter.h"
#include "edge/link_controller.h"
#include "edge/link_options.h"
#include "edge/link_set.h"
#include "edge/media_chunk.h"
#include "edge/sent_fec_blocks.h"
#include "edge/wire_clock.h"

namespace braid::edge {

// Sealed DATA overhead on top of the body (docs/protocol.md §3.2).
inline constexpr uint64_t kDataOverheadBytes = 46;

// How media is spread over the live links.
enum class Scheduling : uint8_t {
  kEarliestDelivery,  // each packet on the link where it would arrive first (streaming)
  kPerLink,           // every link sends whenever its own pacer allows (the link test)
};

// Forward error correction of the media (docs/transport.md, FEC).
struct EdgeFecOptions {
  bool enabled = true;
  uint32_t maxBlock = 32;  // sources per block at most, 1..64
  FecPolicyConfig policy;
};

// Media older than this at the head of the input means the links are not keeping up: the
// bonded links probe up, critical packets are no longer copied, the shedder looks for
// droppable access units.
inline constexpr uint64_t kBackloggedAfterNs = 20'000'000;

// For this long after the sender shed an access unit, the links are not pushed past their
// delivery while media waits (LinkController::setShedding): the sheds say the bond is short.
inline constexpr uint64_t kShedHoldsLinksNs = 1'000'000'000;

// Room a REPAIR packet needs beyond the DATA packet of its largest source: the source symbol's
// 6-byte header and the repair header (block ID, k, m, index, first sequence; 8-byte varints
// at worst, 19 bytes). The packetizer leaves it free when FEC is on.
inline constexpr size_t kRepairReserve = 6 + 19;

struct EdgeSessionOptions {
  dp::SocketAddress gateway;
  std::vector<EdgeLinkOptions> links;  // 1..16 at start; link IDs are their indexes
  uint32_t keyId = 0;
  proto::PskBytes psk{};
  uint16_t latencyMs = 500;
  size_t wirePacketSize = proto::kDefaultWirePacketSize;
  proto::ChannelOptions channel;
  uint64_t epochNs = 0;  // media timestamps count from here
  // The clock of the send and media timestamps; skewed only by braid-edge --clock-skew (tests).
  WireClock wireClock = {};
  Scheduling scheduling = Scheduling::kEarliestDelivery;
  bool retransmit = true;  // false: NACKs and down links send no copies (synthetic media)
  EdgeFecOptions fec;
};

enum class EdgeState : uint8_t { kHandshaking, kEstablished, kDraining, kClosed };
const char* edgeStateName(EdgeState state);

// Counters and gauges of one link, written by the sender thread, read by stats and metrics.
struct EdgeLinkCounters {
  dp::OwnedCounter udpBytesSent;
  dp::OwnedCounter packetsSent;
  dp::OwnedCounter dataPackets;
  dp::OwnedCounter retransmits;
  dp::OwnedCounter sendErrors;
  dp::OwnedCounter phase;           // gauge: LinkPhase
  dp::OwnedCounter paceBps;         // gauge
  dp::OwnedCounter srttUs;          // gauge
  dp::OwnedCounter minRttUs;        // gauge
  dp::OwnedCounter deliveryBps;     // gauge
  dp::OwnedCounter lossPerMille;    // gauge
  dp::OwnedCounter downs;           // times the link was demoted (degrade), undone ones too
  dp::OwnedCounter stallsUndone;    // stall demotions a later report proved gaps and undid (F-RTO)
  dp::OwnedCounter forwardDelayUs;  // gauge: forward one-way delay estimate
  dp::OwnedCounter queueDelayUs;    // gauge: queueing delay the gateway saw
  dp::OwnedCounter jitterP95Us;     // gauge: p95 of the queueing delay, last 64 reports
  dp::OwnedCounter inflightBytes;   // gauge
  dp::OwnedCounter trainBps;        // gauge: packet-train capacity estimate
  dp::OwnedCounter scoreUs;         // gauge: expected delivery delay of a full packet sent now
  // Totals of the gateway's receive reports for the link (each report counted once, however
  // many links its ACK came back on), and the latest round-trip sample: the link test's input.
  dp::OwnedCounter reportedPackets;
  dp::OwnedCounter reportedLost;
  dp::OwnedCounter reportedBytes;
  dp::OwnedCounter lastRttUs;  // gauge
  dp::OwnedCounter repairs;    // FEC repair packets sent on the link
};

// Counters of the sender thread, read by the stats printer.
struct EdgeCounters {
  dp::OwnedCounter udpBytesSent;  // every UDP payload byte: headers, tags, control included
  dp::OwnedCounter packetsSent;
  dp::OwnedCounter mediaBytesSent;
  dp::OwnedCounter dataPackets;
  dp::OwnedCounter controlPackets;
  dp::OwnedCounter handshakePackets;
  dp::OwnedCounter probePackets;  // packet-train PROBEs (also in controlPackets)
  dp::OwnedCounter handshakes;
  dp::OwnedCounter rekeys;
  dp::OwnedCounter resetsReceived;
  dp::OwnedCounter staleDiscarded;
  dp::OwnedCounter rxDrops;
  dp::OwnedCounter ackedSeq;
  dp::OwnedCounter nextSeq;
  dp::OwnedCounter srttUs;  // of the link with the lowest SRTT that is live
  dp::OwnedCounter sendErrors;
  dp::OwnedCounter nacksReceived;
  dp::OwnedCounter acksRepeated;        // ACK copies whose reports were already taken (not news)
  dp::OwnedCounter retransmits;         // DATA copies resent for a NACK (also in udpBytesSent)
  dp::OwnedCounter retransmitBytes;     // their UDP payload bytes
  dp::OwnedCounter retransmitsRefused;  // NACKed sequences not resent (late, budget, acked)
  dp::OwnedCounter nacksLeftToFec;      // NACKed sequences not resent: their block's repairs
                                        // can rebuild them
  // Second copies of critical DATA packets (keyframe, codec config, PSI) sent on the second
  // best link (also in udpBytesSent), and their UDP payload bytes.
  dp::OwnedCounter duplicates;
  dp::OwnedCounter duplicateBytes;
  dp::OwnedCounter duplicatesSkipped;  // critical copies not made: media backlog
  // Non-reference access units shed whole under overload, and the TS bytes of their chunks.
  dp::OwnedCounter shedAccessUnits;
  dp::OwnedCounter shedBytes;
  dp::OwnedCounter liveLinks;       // gauge
  dp::OwnedCounter fecBlocks;       // FEC blocks closed
  dp::OwnedCounter repairPackets;   // REPAIR packets sent
  dp::OwnedCounter repairBytes;     // their UDP payload bytes (also in udpBytesSent)
  dp::OwnedCounter repairsDropped;  // repairs not sent: their block was past its deadline
  dp::OwnedCounter repairsTrimmed;  // repairs the policy asked for, not made: media backlog
  dp::OwnedCounter repairPermille;  // gauge: repairs per 1000 sources of the last block
  dp::OwnedCounter lossPermille;    // gauge: the bond's loss rate the FEC policy sees
  dp::OwnedCounter burstCenti;      // gauge: its mean loss burst length × 100
  dp::OwnedCounter bondFalls;       // capacity falls seen on every link at once and followed
  // Passes or waits of the sender thread that ended dp::StallWatch::kStallNs or more late
  // (the machine or a long pass held the links' sockets and the input), and the longest.
  dp::OwnedCounter senderStalls;
  dp::OwnedCounter longestSenderStallUs;  // gauge
  std::array<EdgeLinkCounters, proto::kMaxLinks> links;
  std::atomic<uint64_t> sessionId{0};
  std::atomic<uint8_t> state{0};
};

// One link-set change handed from the control thread to the sender (a SIGHUP reload).
struct LinkCommand {
  LinkChange change;
  dp::UdpSocket socket;  // kAdd: the new link's socket, opened by the control thread
};

// The edge's sender: handshakes, schedules media from the input ring over its links (each
// packet on the live link with the earliest expected delivery, under that link's pacer),
// keeps links alive and measured, handles feedback, NACKs, resets and rekeys. run() is its
// own thread.
class EdgeSession {
 public:
  static Result<std::unique_ptr<EdgeSession>> create(const EdgeSessionOptions& options,
                                                     dp::SpscRing<MediaChunk>& input);

  // Runs until `stop`, or until the input is done and everything sent was acknowledged
  // (or could no longer be). Sender thread.
  void run(const std::atomic<bool>& stop, const std::atomic<bool>& inputDone);

  // Hands one reload's link changes (removals first) to the sender thread, which applies them
  // all together between two loop passes. Control thread (the mailbox's only producer).
  // Returns false, posting nothing, when the mailbox has no room for all of them.
  bool postLinkChanges(std::vector<LinkCommand>&& commands);

  const EdgeCounters& counters() const { return counters_; }
  bool everEstablished() const { return everEstablished_.load(std::memory_order_acquire); }
  // Established, and every link has finished probing (or 1.5 s have passed): when a file
  // input may start without its first second going out on one warming link.
  bool linksSettled() const { return linksSettled_.load(std::memory_order_acquire); }

 private:
  enum class SlotState : uint8_t { kFree, kActive, kRetiring };
  struct Link {
    EdgeLinkOptions options;
    uint8_t id = 0;
    dp::UdpSocket socket;
    LinkController controller;
    bool joined = false;
    uint64_t lastSentNs = 0;
    uint64_t lastProbeNs = 0;
    LinkPhase reportedPhase = LinkPhase::kInit;
    uint32_t reportedStallsUndone = 0;
    // Active: carries media or probes. Retiring: removed by a reload; no longer sent on, its
    // socket still read (late feedback) until retireAtNs.
    SlotState state = SlotState::kFree;
    uint64_t retireAtNs = 0;

    bool active() const { return state == SlotState::kActive; }
  };
  // The active links in link-ID order, over fixed slots: adding or removing a link never moves
  // another, so a Link& stays valid. links_[id] is the slot of link ID `id`, active or not.
  class ActiveLinks {
   public:
    using Slots = std::array<Link, proto::kMaxLinks>;
    struct Iterator {
      Link* at;
      Link* end;
      Link& operator*() const { return *at; }
      Iterator& operator++() {
        do ++at;
        while (at != end && !at->active());
        return *this;
      }
      bool operator==(const Iterator&) const = default;
    };
    explicit ActiveLinks(Slots& slots) : slots_(slots) {}
    Iterator begin() const {
      Iterator it{slots_.data(), slots_.data() + slots_.size()};
      while (it.at != it.end && !it.at->active()) ++it.at;
      return it;
    }
    Iterator end() const { return {slots_.data() + slots_.size(), slots_.data() + slots_.size()}; }
    Link& operator[](size_t id) const { return slots_[id]; }
    size_t size() const {
      return static_cast<size_t>(
          std::count_if(slots_.begin(), slots_.end(), [](const Link& l) { return l.active(); }));
    }

   private:
    Slots& slots_;
  };

  EdgeSession(const EdgeSessionOptions& options, dp::SpscRing<MediaChunk>& input);
  void startHandshake(uint64_t nowNs, bool rekey);
  void sendInit(uint64_t nowNs);
  void onDatagram(Link& link, std::span<uint8_t> datagram, uint64_t nowNs);
  void onAccept(const proto::EstablishedSession& established, uint64_t nowNs);
  void onSealed(Link& link, std::span<uint8_t> datagram, uint64_t nowNs);
  // gatewaySendTsUs: the sealed ACK's send timestamp (which copy of which ACK it is).
  void onAck(const proto::Ack& ack, uint32_t gatewaySendTsUs, uint64_t nowNs);
  void onNack(const proto::Nack& nack, uint64_t nowNs);
  // Sends media packet `seq` again on the best live link other than `lostOn` if it can still
  // arrive in time (and, with `throttle`, if its last copy left over a round trip ago).
  bool resend(uint64_t seq, uint64_t nowNs, int lostOn, bool throttle);
  // Sends again what a link that just went down took and was not acknowledged.
  void rescue(Link& dead, uint64_t nowNs);
  // After an ACK's reports: when every link carrying media shows a capacity fall
  // (LinkController::showsFall), each takes its latest report's rate at once.
  void followBondFall(const std::array<bool, proto::kMaxLinks>& reported, uint64_t nowNs);
  // Sends queued media while some link's pacer allows; returns when the next packet must wait
  // (nanoseconds until it may go, or 0 when the input is empty).
  uint64_t sendMedia(uint64_t nowNs);
  // Scheduling::kPerLink: every live link takes the next queued packet whenever its own pacer
  // allows; returns like sendMedia.
  uint64_t sendMediaPerLink(uint64_t nowNs);
  // Seals the chunk as the next media sequence and sends it on `link` (a critical one also on
  // the second best link); consumes the chunk.
  void sendChunk(Link& link, MediaChunk& chunk, uint64_t nowNs);
  // Media awareness (edge_session_media.cpp). Under overload, sheds whole non-reference
  // access units from the input queue, oldest first, until the media ahead of them can leave
  // in time again. Sender thread, from sendMedia.
  void shedForDeadline(uint64_t nowNs);
  // Marks every queued chunk of access unit `ordinal`, from queue position `from` on, as
  // shed. Returns whether its last chunk was among them.
  bool shedAccessUnit(uint32_t ordinal, size_t from);
  // Whether access unit `ordinal` was shed before all of its chunks were queued.
  bool isShedUnit(uint32_t ordinal) const;
  // Whether a chunk at the head of the input is to be dropped as part of a shed access unit;
  // if so, its TS packets are counted into the continuity-counter offsets.
  bool takeShed(const MediaChunk& chunk);
  // Renumbers the chunk's continuity counters by the offsets of what was shed before it.
  void rewriteContinuity(MediaChunk& chunk);
  // Whether critical packets get a second copy now: while the bond's measured loss is at
  // least kDuplicateAboveLoss.
  bool duplicatesCritical(uint64_t nowNs) const;
  static constexpr double kDuplicateAboveLoss = 0.005;
  // Sends a second copy of a critical packet on the best live link other than `first`;
  // whether one left.
  bool sendCriticalCopy(const Link& first, const proto::PacketPrefix& prefix,
                        const proto::MediaFields& media, std::span<const uint8_t> body,
                        uint64_t nowNs);
  // Adds one receive report to the link's totals unless it repeats the last one (the gateway
  // sends each ACK on two links).
  void countReport(Link& link, const proto::LinkReport& report, uint64_t nowNs);
  // FEC: adds a sent DATA packet to the open block (closing it when full); `copied`: a second
  // copy of it left on another link, so the block needs fewer repairs for it.
  void protect(const Link& link, uint64_t seq, uint64_t mediaTsUs, uint64_t entryNs,
               std::span<const uint8_t> payload, bool copied, uint64_t nowNs);
  // Closes the open block (full, or its time budget ran out) and queues its repairs.
  void closeFecBlock(uint64_t nowNs);
  // Whether a resend of a lost source can still play: the FEC residual is then ARQ's to share.
  bool resendFitsLatency() const;
  // Sends the queued repairs, spread over the links other than the one that carried most of
  // the block; returns like sendMedia (0: none left).
  uint64_t sendRepairs(uint64_t nowNs);
  // Ready to take media: the open block closed if its budget ran out, no repair waiting.
  // Returns how long media must wait (0: go).
  uint64_t serviceFec(uint64_t nowNs, bool flush);
  void maintainLinks(uint64_t nowNs);
  void sendJoin(Link& link, uint64_t nowNs);
  // Sends CLOSE with `reason` on every link, proto::kCloseCopies times (the session's last act).
  void sendCloses(proto::CloseReason reason);
  void sendControl(Link& link, proto::PacketType type, std::span<const uint8_t> body,
                   uint64_t nowNs, size_t paddedSize = 0);
  // A capacity-probing packet train on a probing link.
  void sendTrain(Link& link, uint64_t nowNs);
  bool sendDatagram(Link& link, std::span<const uint8_t> datagram, uint64_t nowNs);
  // The live link where `bytes` would arrive first (skipping `avoid`, if another is live);
  // with `landByNs` (sender clock: its playout deadline less the resend reserve), first among
  // the links that land it by then even at their recent delivery rate, if any do. nullptr if
  // no link carries media. `expectedNs`, if given, receives the chosen link's expected delivery.
  Link* bestLink(uint64_t nowNs, uint64_t bytes, int avoid = -1, uint64_t landByNs = 0,
                 uint64_t* expectedNs = nullptr);
  // The live link that can send `bytes` now with the earliest expected delivery, if that is
  // well before `deadlineNs` (sender clock); nullptr otherwise.
  Link* readyLinkBefore(uint64_t nowNs, uint64_t bytes, uint64_t deadlineNs);
  // What a packet's landing should leave before its playout deadline for a resend or a repair.
  uint64_t resendReserveNs();
  // Why media left the input without being sent (counted as stale_dropped).
  enum class StaleReason : uint8_t { kHandshake, kPlayoutPassed, kNoLinkInTime };
  // Drops `count` chunks at the head of the input as stale and says why in the log, with
  // each media link's state then (a few lines a second at most; the rest are counted into
  // the next line). `earliest`: for kNoLinkInTime, the link that would have landed the first
  // of them soonest.
  void dropStale(StaleReason why, size_t count, uint64_t nowNs, Link* earliest = nullptr);
  void lose(const char* why, uint64_t nowNs);
  void setState(EdgeState state);
  void publishLinkGauges(uint64_t nowNs);
  void logRetransmitSummary();
  void waitForInput(uint64_t timeoutNs);
  // Counts a stall of the sender thread and says in the log whose it was (a few a second).
  void noteStall(const dp::Stall& stall, bool inWait);
  // The send timestamp of a packet sent now, and the clock echoed send timestamps are compared
  // with: both on the wire clock.
  uint32_t sendTimestampUs(uint64_t nowNs) const {
    return options_.wireClock.sendTimestampUs(nowNs);
  }
  // Link-set changes (SIGHUP), sender thread: takes what the control thread posted; starts an
  // added link in probe; stops media on a removed one at once, resends what it took and the
  // gateway has not acknowledged on the others, and lets it retire.
  void applyLinkCommands(uint64_t nowNs);
  void addLink(LinkCommand& command, uint64_t nowNs);
  // A link's controller as this session's scheduling wants it (bucket, probing cap), sharing
  // the drain slot.
  LinkController newLinkController();
  void removeLink(Link& link, const std::string& why, uint64_t nowNs);
  // Closes the sockets of removed links whose grace has passed.
  void retireLinks(uint64_t nowNs);
  void closeSlot(Link& link);
  // The next active link ID after `id` (wrapping), `id` itself if it is the only one.
  size_t nextActiveLink(size_t id) const;

  EdgeSessionOptions options_;
  dp::SpscRing<MediaChunk>& input_;
  ActiveLinks::Slots slots_;
  ActiveLinks links_{slots_};
  LinkController::DrainSlot drainSlot_;  // the links drain one at a time
  dp::SpscRing<LinkCommand> linkCommands_;
  EdgeCounters counters_;
  std::atomic<bool> everEstablished_{false};
  std::atomic<bool> linksSettled_{false};
  uint64_t establishedNs_ = 0;
  FeedbackFilter feedbackFilter_;
  EdgeState state_ = EdgeState::kHandshaking;

  std::optional<proto::HandshakeInitiator> initiator_;
  bool initiatorIsRekey_ = false;
  size_t handshakeLink_ = 0;
  uint64_t handshakeStartedNs_ = 0;
  uint64_t nextInitNs_ = 0;
  uint64_t handshakeBackoffNs_ = 0;

  std::optional<proto::SealedChannel> channel_;
  proto::SessionId sessionId_;
  proto::ResetToken resetToken_{};
  uint16_t latencyMs_ = 0;
  uint64_t keepaliveNs_ = 1'000'000'000;
  uint64_t peerTimeoutNs_ = 3'000'000'000;
  uint64_t lastHeardNs_ = 0;
  uint64_t nextMediaSeq_ = 0;
  uint64_t firstSeqOfSession_ = 0;
  uint64_t ackedSeq_ = 0;
  uint64_t drainStartedNs_ = 0;
  uint64_t lastTrainId_ = 0;
  std::unique_ptr<dp::RetransmitBuffer> retransmit_;
  // FEC: the block being filled, the repairs of the last one still to send.
  std::unique_ptr<dp::FecBlockEncoder> fec_;
  FecRatePolicy fecPolicy_;
  uint64_t repairsDueNs(uint64_t latencyNs);
  uint64_t blockEntryNs_ = 0;  // media entry time of the open block's first source
  std::array<uint16_t, proto::kMaxLinks> blockLinkPackets_{};
  uint32_t blockCopies_ = 0;  // the open block's sources that also went on a second link
  SentFecBlocks sentBlocks_;
  struct PendingRepairs {
    dp::FecRepairBlock block;
    uint32_t next = 0;  // repairs sent so far
    uint64_t entryNs = 0;
    std::array<uint16_t, proto::kMaxLinks> sourcesOnLink{};
    std::array<uint16_t, proto::kMaxLinks> repairsOnLink{};
    bool active() const { return next < block.m; }
  } pendingRepairs_;
  dp::RxBatch rx_;
  // Media awareness: the newest access unit a chunk was sent of (older ones can no longer be
  // shed whole), the last few shed ones (their chunks still to come are shed on arrival),
  // and per PID the TS packets shed so far (mod 16), taken off the continuity counter of
  // every later packet of the PID so that the output shows no gap.
  uint32_t lastSentAccessUnit_ = 0;
  std::array<uint32_t, 8> shedUnits_{};
  size_t shedUnitsNext_ = 0;
  std::array<uint8_t, 8192> ccShift_{};
  bool anyCcShift_ = false;
  uint64_t nextShedCheckNs_ = 0;
  uint64_t lastShedNs_ = 0;
  proto::TokenBucket staleLogLimiter_{2, 4};
  dp::StallWatch stallWatch_;
  proto::TokenBucket stallLogLimiter_{2, 20};
  uint64_t staleUnlogged_ = 0;
};

}  // namespace braid::edge
