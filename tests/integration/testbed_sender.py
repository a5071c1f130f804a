#!/usr/bin/env python3
"""Paced multi-link UDP sender for the netns testbed test (runs in braid-tb-edge).

One socket per --device (link i is the i-th), bound to that interface with SO_BINDTODEVICE,
sends a datagram tagged "link=<i> seq=<n>" every --interval seconds to --target and collects
the echoes. Writes one CSV row per event to --out: kind,mono_ns,link,seq (kind sent or echo;
mono_ns is CLOCK_MONOTONIC) and prints a summary line per link.

Exit status 1 if an echo arrived on the wrong link's socket, carried another link's tag, or
came from another address than --target: a testbed that routes a link over the wrong
interface, or answers from the wrong address, shows up here.
"""
import argparse
import re
import select
import socket
import sys
import time

SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
TAG = re.compile(rb"^link=(\d+) seq=(\d+)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", action="append", required=True, help="interface of link i")
    ap.add_argument("--target", default="10.77.0.1:7400", help="IPv4 ADDR:PORT")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--duration", type=float, default=4.5)
    ap.add_argument("--linger", type=float, default=0.5, help="wait this long for late echoes")
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    host, port = args.target.rsplit(":", 1)
    target = (host, int(port))

    socks = []
    for dev in args.device:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode() + b"\0")
        s.bind(("0.0.0.0", 0))
        s.setblocking(False)
        socks.append(s)
    link_of = {s.fileno(): i for i, s in enumerate(socks)}
    sent = [0] * len(socks)
    echoes = [0] * len(socks)
    errors = []

    with open(args.out, "w") as out:
        out.write("kind,mono_ns,link,seq\n")
        start = time.monotonic()
        stop_sending = start + args.duration
        stop = stop_sending + args.linger
        seq = 0
        next_send = start
        while True:
            now = time.monotonic()
            if now >= stop:
                break
            if now >= next_send and now < stop_sending:
                for i, s in enumerate(socks):
                    tag = f"link={i} seq={seq} ".encode()
                    s.sendto(tag + b"." * max(0, args.size - len(tag)), target)
                    out.write(f"sent,{time.monotonic_ns()},{i},{seq}\n")
                    sent[i] += 1
                seq += 1
                # Pace from the start, not from the last send, so the rate does not drift.
                next_send = start + seq * args.interval
            wake = min(next_send if next_send < stop_sending else stop, stop)
            ready, _, _ = select.select(socks, [], [], max(0.0, wake - time.monotonic()))
            for s in ready:
                while True:
                    try:
                        data, source = s.recvfrom(65535)
                    except BlockingIOError:
                        break
                    i = link_of[s.fileno()]
                    m = TAG.match(data)
                    if not m or int(m.group(1)) != i or source != target:
                        errors.append(f"link {i}: unexpected echo {data[:24]!r} from {source}")
                        continue
                    out.write(f"echo,{time.monotonic_ns()},{i},{int(m.group(2))}\n")
                    echoes[i] += 1

    for i, dev in enumerate(args.device):
        print(f"link={i} device={dev} sent={sent[i]} echoes={echoes[i]}")
    for e in errors[:20]:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
