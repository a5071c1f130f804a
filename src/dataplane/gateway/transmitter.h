#pragma once

#include <cstdint>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/io/packet_port.h"

namespace braid::dp {

// Batches outgoing datagrams of one worker and hands them to its port (sendmmsg, AF_XDP TX
// ring) when the batch fills or at the end of a burst. Without a port (fuzzing, unit tests)
// it counts and drops. Owner thread.
class Transmitter {
 public:
  explicit Transmitter(PacketPort* port) : port_(port) {}

  // A buffer for the next datagram; fill it, then commit().
  std::span<uint8_t> next() noexcept {
    if (batch_.full()) flush();
    return batch_.next();
  }
  void commit(size_t size, const SocketAddress& to) noexcept {
    if (size == 0) return;
    batch_.commit(size, to);
    bytes_.add(size);
  }
  // Sends what is queued. Returns false if the kernel refused some of it.
  bool flush() noexcept {
    if (batch_.count == 0) return true;
    size_t queued = batch_.count;
    if (port_ == nullptr) {
      batch_.count = 0;
      return true;
    }
    size_t sent = port_->transmit(batch_);
    packets_.add(sent);
    if (sent < queued) {
      errors_.add(queued - sent);
      return false;
    }
    return true;
  }

  uint64_t packetsSent() const { return packets_.read(); }
  uint64_t bytesQueued() const { return bytes_.read(); }
  uint64_t sendErrors() const { return errors_.read(); }

 private:
  PacketPort* port_;
  TxBatch batch_;
  OwnedCounter packets_;
  OwnedCounter bytes_;
  OwnedCounter errors_;
};

}  // namespace braid::dp
