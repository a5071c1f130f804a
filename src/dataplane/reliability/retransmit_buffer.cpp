#include "dataplane/reliability/retransmit_buffer.h"

#include <algorithm>
#include <cstring>

namespace braid::dp {

Result<std::unique_ptr<RetransmitBuffer>> RetransmitBuffer::create(const RetransmitConfig& config) {
  if (config.capacity == 0 || (config.capacity & (config.capacity - 1)) != 0) {
    return fail(ErrorCode::kInvalidArgument, "retransmit capacity must be a power of two");
  }
  if (config.maxPayload == 0 || config.budgetShare < 0) {
    return fail(ErrorCode::kInvalidArgument, "retransmit maxPayload and budgetShare");
  }
  return std::unique_ptr<RetransmitBuffer>(new RetransmitBuffer(config));
}

RetransmitBuffer::RetransmitBuffer(const RetransmitConfig& config)
    : config_(config),
      mask_(config.capacity - 1),
      slots_(new Slot[config.capacity]{}),
      payloads_(new uint8_t[size_t{config.capacity} * config.maxPayload]),
      budgetBytes_(static_cast<double>(config.budgetBurstBytes)) {}

void RetransmitBuffer::store(uint64_t seq, uint64_t mediaTsUs, uint8_t flags,
                             std::span<const uint8_t> payload, uint64_t deadlineNs, uint64_t sentNs,
                             uint8_t linkId, uint64_t linkSeq) noexcept {
  budgetBytes_ = std::min(budgetBytes_ + config_.budgetShare * static_cast<double>(payload.size()),
                          static_cast<double>(config_.budgetBurstBytes));
  Slot& slot = slots_[seq & mask_];
  if (payload.size() > config_.maxPayload) {
    slot.held = false;
    return;
  }
  uint8_t* copy = payloads_.get() + (seq & mask_) * config_.maxPayload;
  std::memcpy(copy, payload.data(), payload.size());
  slot.packet = Packet{.seq = seq,
                       .mediaTsUs = mediaTsUs,
                       .deadlineNs = deadlineNs,
                       .lastSentNs = sentNs,
                       .size = static_cast<uint32_t>(payload.size()),
                       .flags = flags,
                       .linkId = linkId,
                       .linkSeq = linkSeq,
                       .payload = copy};
  slot.held = true;
}

const RetransmitBuffer::Packet* RetransmitBuffer::find(uint64_t seq) const noexcept {
  const Slot& slot = slots_[seq & mask_];
  if (!slot.held || slot.packet.seq != seq || seq < released_) return nullptr;
  return &slot.packet;
}

int RetransmitBuffer::linkOf(uint64_t seq) const noexcept {
  const Packet* packet = find(seq);
  return packet == nullptr ? -1 : packet->linkId;
}

void RetransmitBuffer::release(uint64_t cumulativeSeq) noexcept {
  // Nothing to clear: a slot below the release point is simply never handed out again.
  released_ = std::max(released_, cumulativeSeq);
}

const RetransmitBuffer::Packet* RetransmitBuffer::takeForResend(uint64_t seq, uint64_t nowNs,
                                                                uint64_t extraDelayNs,
                                                                uint64_t roundTripNs,
                                                                uint8_t linkId,
                                                                uint64_t linkSeq) noexcept {
  Slot& slot = slots_[seq & mask_];
  if (!slot.held || slot.packet.seq != seq || seq < released_) {
    counters_.notHeld.add();
    return nullptr;
  }
  Packet& p = slot.packet;
  if (nowNs + extraDelayNs >= p.deadlineNs) {
    counters_.tooLate.add();
    return nullptr;
  }
  // A copy sent less than a round trip ago may still arrive: repeated NACKs wait for it.
  if (nowNs - p.lastSentNs < std::max(config_.minResendGapNs, roundTripNs)) {
    counters_.throttled.add();
    return nullptr;
  }
  if (budgetBytes_ < static_cast<double>(p.size)) {
    counters_.overBudget.add();
    return nullptr;
  }
  budgetBytes_ -= static_cast<double>(p.size);
  p.lastSentNs = nowNs;
  p.linkId = linkId;
  p.linkSeq = linkSeq;
  counters_.resent.add();
  counters_.resentBytes.add(p.size);
  return &p;
}

}  // namespace braid::dp
