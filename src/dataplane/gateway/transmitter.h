#pragma once

#include <cstdint>
#include <span>

#include "dataplane/counter.h"
#include "dataplane/io/udp_socket.h"

namespace braid::dp {

// Batches outgoing datagrams of one worker and sends them with sendmmsg when the batch
// fills or at the end of a burst. Without a socket (fuzzing, unit tests) it counts and
// drops. Owner thread.
class Transmitter {
 public:
  explicit Transmitter(UdpSocket* socket) : socket_(socket) {}

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
    if (socket_ == nullptr) {
      batch_.count = 0;
      return true;
    }
    int sent = socket_->sendBatch(batch_);
    packets_.add(sent > 0 ? static_cast<uint64_t>(sent) : 0);
    if (sent < 0 || static_cast<size_t>(sent) < queued) {
      errors_.add(queued - (sent > 0 ? static_cast<size_t>(sent) : 0));
      return false;
    }
    return true;
  }

  uint64_t packetsSent() const { return packets_.read(); }
  uint64_t bytesQueued() const { return bytes_.read(); }
  uint64_t sendErrors() const { return errors_.read(); }

 private:
  UdpSocket* socket_;
  TxBatch batch_;
  OwnedCounter packets_;
  OwnedCounter bytes_;
  OwnedCounter errors_;
};

}  // namespace braid::dp
