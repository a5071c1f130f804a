#!/usr/bin/env python3
"""UDP helpers for bench/gateway_bench.sh (the srt-live-transmit and ristreceiver rows).

  udp_stream.py send HOST:PORT MBPS SECONDS [SIZE]   paced datagrams of SIZE bytes (1316)
  udp_stream.py sink PORT SECONDS                     counts datagrams until SECONDS of silence
                                                      after the first; prints packets and bytes
                                                      (and the counts so far on SIGUSR1: a
                                                      measuring window's start)
"""
import signal
import socket
import sys
import time


def send(dest, mbps, seconds, size):
    host, port = dest.rsplit(':', 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    payload = bytes(size)
    pps = mbps * 1e6 / (size * 8)
    start = time.monotonic()
    sent = 0
    target = (host, int(port))
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        due = int(elapsed * pps)
        while sent < due:
            s.sendto(payload, target)
            sent += 1
        time.sleep(0.0005)
    print(f"sent packets={sent} bytes={sent * size} seconds={time.monotonic() - start:.3f}")


def sink(port, quiet):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind(('127.0.0.1', int(port)))
    counts = [0, 0]  # packets, bytes

    def mark(_signum, _frame):
        print(f"mark packets={counts[0]} bytes={counts[1]}", flush=True)

    signal.signal(signal.SIGUSR1, mark)
    s.settimeout(60)
    while True:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except InterruptedError:
            continue
        counts[0] += 1
        counts[1] += len(data)
        s.settimeout(quiet)
    packets, nbytes = counts
    print(f"received packets={packets} bytes={nbytes}", flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'send':
        send(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]),
             int(sys.argv[5]) if len(sys.argv) > 5 else 1316)
    elif sys.argv[1] == 'sink':
        sink(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
