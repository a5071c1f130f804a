#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace braid::dp {

// One hashed timer wheel per worker for every deadline of its sessions (playout, NACK,
// feedback, keepalive, idle timeout): scheduling, moving and cancelling are O(1), and a
// pass costs the ticks elapsed plus the timers due, not the number of sessions.
//
// Timers are intrusive nodes owned by their users (no allocation). Ticks are kTickNs wide;
// a timer fires at the first expire() whose time has reached its tick, so up to one tick
// late and never early. A deadline beyond the wheel's horizon is parked at the horizon and
// fires there; its owner finds nothing due yet and schedules it again (sessions always have
// a feedback or keepalive deadline within a few hundred ms, so this is rare).
// Owner worker thread only.
class TimerWheel {
 public:
  static constexpr uint64_t kTickNs = 1'000'000;  // 1 ms: far below any latency budget
  static constexpr size_t kSlots = 1024;          // ~1 s horizon
  static constexpr uint64_t kNever = ~uint64_t{0};

  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    uint64_t tick = 0;
    uint64_t key = 0;  // the owner's identifier, given back when the timer fires
    bool linked = false;
  };

  // `nowNs`: the time the wheel starts at (nothing before it can be scheduled).
  explicit TimerWheel(uint64_t nowNs) noexcept : currentTick_(nowNs / kTickNs) {
    for (Node& head : slots_) head.prev = head.next = &head;
  }
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // (Re)schedules `node` to fire at `deadlineNs` (past deadlines fire at the next expire()).
  void schedule(Node& node, uint64_t deadlineNs) noexcept {
    uint64_t tick = deadlineNs / kTickNs + (deadlineNs % kTickNs != 0 ? 1 : 0);
    if (deadlineNs == kNever) tick = currentTick_ + kSlots - 1;
    if (tick <= currentTick_) tick = currentTick_ + 1;
    if (tick >= currentTick_ + kSlots) tick = currentTick_ + kSlots - 1;
    if (node.linked) {
      if (node.tick == tick) return;
      unlink(node);
    }
    node.tick = tick;
    Node& head = slots_[tick & (kSlots - 1)];
    node.prev = head.prev;
    node.next = &head;
    head.prev->next = &node;
    head.prev = &node;
    node.linked = true;
    ++size_;
  }

  // Removes `node` if it is scheduled.
  void cancel(Node& node) noexcept {
    if (node.linked) unlink(node);
  }

  // The scheduled time of `node` (its tick's start rounded up), kNever if not scheduled.
  static uint64_t scheduledNs(const Node& node) noexcept {
    return node.linked ? node.tick * kTickNs : kNever;
  }

  // Fires, in tick order, every timer due by `nowNs`: unlinks it and calls fire(key). The
  // callback may schedule or cancel any node, including the one fired.
  template <typename Fire>
  void expire(uint64_t nowNs, Fire&& fire) noexcept {
    const uint64_t target = nowNs / kTickNs;
    while (currentTick_ < target) {
      ++currentTick_;
      Node& head = slots_[currentTick_ & (kSlots - 1)];
      // Detach the slot first: what the callbacks schedule lands at later ticks.
      while (head.next != &head) {
        Node& node = *head.next;
        unlink(node);
        fire(node.key);
      }
      if (size_ == 0) {
        currentTick_ = target;  // nothing scheduled: skip the empty ticks
        break;
      }
    }
  }

  // The earliest scheduled time, at most `limitNs`; scans at most the ticks up to the
  // limit (used only when the worker is about to sleep).
  uint64_t nextDeadlineNs(uint64_t limitNs) const noexcept {
    if (size_ == 0) return limitNs;
    uint64_t limitTick = limitNs / kTickNs;
    for (uint64_t tick = currentTick_ + 1; tick <= limitTick && tick < currentTick_ + kSlots;
         ++tick) {
      const Node& head = slots_[tick & (kSlots - 1)];
      if (head.next != &head) return tick * kTickNs;
    }
    return limitNs;
  }

  size_t size() const noexcept { return size_; }

 private:
  void unlink(Node& node) noexcept {
    node.prev->next = node.next;
    node.next->prev = node.prev;
    node.prev = node.next = nullptr;
    node.linked = false;
    --size_;
  }

  std::array<Node, kSlots> slots_;
  uint64_t currentTick_;
  size_t size_ = 0;
};

}  // namespace braid::dp
