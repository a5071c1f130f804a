#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "dataplane/io/socket_address.h"
#include "dataplane/proto/result.h"

namespace braid::dp {

inline constexpr size_t kBurstSize = 32;
inline constexpr size_t kDatagramCapacity = 2048;

// Datagrams received by one recvmmsg call. Buffers live inline and are reused
// every burst, so the receive path does not allocate.
struct RxBatch {
  std::array<std::array<uint8_t, kDatagramCapacity>, kBurstSize> buffers;
  std::array<SocketAddress, kBurstSize> sources;
  std::array<uint32_t, kBurstSize> sizes{};
  size_t count = 0;

  std::span<uint8_t> datagram(size_t i) { return {buffers[i].data(), sizes[i]}; }
};

// Datagrams queued for one sendmmsg call.
struct TxBatch {
  std::array<std::array<uint8_t, kDatagramCapacity>, kBurstSize> buffers;
  std::array<SocketAddress, kBurstSize> destinations;
  std::array<uint32_t, kBurstSize> sizes{};
  size_t count = 0;

  bool full() const { return count == kBurstSize; }
  // Returns the next free buffer; the caller fills it, then calls commit().
  std::span<uint8_t> next() { return {buffers[count].data(), kDatagramCapacity}; }
  void commit(size_t size, const SocketAddress& to) {
    sizes[count] = static_cast<uint32_t>(size);
    destinations[count] = to;
    ++count;
  }
};

struct UdpSocketOptions {
  bool reusePort = false;
  int receiveBufferBytes = 8 << 20;
  int sendBufferBytes = 4 << 20;
  std::string bindDevice;  // SO_BINDTODEVICE; empty: none
};

// A non-blocking UDP socket (move-only fd owner) with batched receive and send.
class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Creates a socket bound to `local` (port 0: ephemeral). Any thread.
  static Result<UdpSocket> bind(const SocketAddress& local, const UdpSocketOptions& options = {});

  int fd() const { return fd_; }
  // The bound local address (after bind, with the kernel's port).
  Result<SocketAddress> localAddress() const;

  // Receives up to kBurstSize datagrams without blocking (one recvmmsg); returns how
  // many, 0 when none are waiting, -errno on error. Owner thread.
  int receiveBatch(RxBatch& batch) noexcept;
  // Sends every queued datagram (sendmmsg, retried on partial sends); clears the batch.
  // Returns datagrams sent, or -errno on error (the rest are dropped). Owner thread.
  int sendBatch(TxBatch& batch) noexcept;
  // Sends one datagram; true if the kernel took it. Owner thread.
  bool sendTo(std::span<const uint8_t> datagram, const SocketAddress& to) noexcept;

  // Waits until readable or the timeout passes; true if readable.
  bool waitReadable(int timeoutMs) const noexcept;

 private:
  explicit UdpSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
  // recvmmsg/sendmmsg headers are rebuilt from the batch every call; kept here so
  // they need no stack re-initialisation of the large batch structs.
  std::array<mmsghdr, kBurstSize> headers_{};
  std::array<iovec, kBurstSize> iovecs_{};
};

}  // namespace braid::dp
