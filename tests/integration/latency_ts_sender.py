#!/usr/bin/env python3
"""Sends a constant-rate stream of timestamped MPEG-TS packets over UDP (for latency tests).

Every 188-byte TS packet (PID 0x100, payload only, continuity counter counting) carries in its
payload a magic, a sequence number and the sender's CLOCK_MONOTONIC time in ns taken just
before the datagram was sent. Packets go PER_DATAGRAM at a time at the rate asked for, on a
schedule of absolute deadlines (a late wake-up never slows the rate). When done, prints
`sent N packets` and writes N to --count-file.
"""
import argparse
import socket
import struct
import time

TS_SIZE = 188
MAGIC = b"BRLT"
PAYLOAD = struct.Struct(">4sQQ")  # magic, sequence, send time (ns, CLOCK_MONOTONIC)


def ts_packet(seq, send_ns, cc):
    header = bytes([0x47, 0x01, 0x00, 0x10 | (cc & 0x0F)])  # PID 0x100, payload only
    body = PAYLOAD.pack(MAGIC, seq, send_ns)
    return header + body + b"\xff" * (TS_SIZE - len(header) - len(body))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dest", required=True, help="HOST:PORT (the edge's UDP input)")
    ap.add_argument("--kbps", type=float, required=True, help="TS rate in kbit/s")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--per-datagram", type=int, default=6, help="TS packets per datagram")
    ap.add_argument("--count-file", required=True)
    args = ap.parse_args()

    host, port = args.dest.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    interval_ns = int(args.per_datagram * TS_SIZE * 8 / (args.kbps * 1000) * 1e9)
    datagrams = int(args.seconds * 1e9 / interval_ns)
    seq = 0
    start = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for i in range(datagrams):
        deadline = start + i * interval_ns
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        if deadline > now:
            time.sleep((deadline - now) / 1e9)
        send_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        data = b"".join(ts_packet(seq + k, send_ns, seq + k) for k in range(args.per_datagram))
        sock.sendto(data, (host, int(port)))
        seq += args.per_datagram
    with open(args.count_file, "w") as f:
        f.write(f"{seq}\n")
    print(f"sent {seq} packets in {datagrams} datagrams of {args.per_datagram} "
          f"({args.kbps:.0f} kbit/s, one every {interval_ns / 1e6:.3f} ms)", flush=True)


if __name__ == "__main__":
    main()
