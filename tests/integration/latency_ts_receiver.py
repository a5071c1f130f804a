#!/usr/bin/env python3
"""Receives the timestamped TS stream of latency_ts_sender.py and checks its end-to-end latency.

Latency of a TS packet = its receive time - the send time it carries, both CLOCK_MONOTONIC of
this machine (sender and receiver share it whatever clock the processes in between use). The
receive time is the kernel's timestamp of the datagram's arrival at this socket (SO_TIMESTAMPNS),
so that the receiver being scheduled late on a busy machine does not count as latency; the
kernel stamps CLOCK_REALTIME, mapped to CLOCK_MONOTONIC with the two clocks' difference read right
after each receive (the latency from the receiver's own wake-up is printed too). The
receiver binds 127.0.0.1:0 and writes its port to --port-file; it stops once --count-file
exists (the sender is done) and nothing arrived for --idle seconds, or after --timeout. Then:

  * every sequence number in [0, N) must have arrived (N from --count-file), once;
  * the playout latency stays put: after --settle seconds (from the first packet's send time)
    the mean latency of every second of sending is within --expect-ms +- --tolerance-ms;
  * every packet sent after --settle seconds has a latency within --expect-ms +- --tolerance-ms,
    except isolated stalls of the machine: at most --stall-fraction of those packets may be
    outside, and none by more than --stall-ms beyond the tolerance. The end-to-end figure
    includes the sender's stamp-to-send and the edge's input thread, which a shared 2-core
    machine delays now and then (two CI runs: one datagram 16 ms above the median at 6.4 s;
    25 packets up to 28 ms above it at 7.8 s, 0.07 %; both away from the wrap of the edge's
    send timestamps, which --mark-ms places in the run; on a day when this VM's vCPUs stalled
    for up to 3 ms dozens of times a second, 1.3 % of a run's packets, up to 34 ms beyond,
    with every second's mean within 9 ms of the expected latency); a fault of the playout (an
    offset step, drift, a wrap) moves every packet after it and fails the per-second check and
    this one;

and it prints min / median / max latency over those packets and the drift (mean latency of the
last second minus that of the first second after --settle). Exit status 1 if a check fails.
"""
import argparse
import os
import socket
import statistics
import struct
import sys
import time

# <asm-generic/socket.h>: SO_TIMESTAMPNS (the "old" one, a native struct timespec on 64-bit).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@qq")
TS_SIZE = 188
MAGIC = b"BRLT"
PAYLOAD = struct.Struct(">4sQQ")


def receive(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{sock.getsockname()[1]}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.settimeout(0.1)
    samples = {}  # sequence -> (send_ns, kernel receive ns, user-space receive ns)
    duplicates = foreign = 0
    last_rx = time.monotonic()
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(TIMESPEC.size))
        except socket.timeout:
            if os.path.exists(args.count_file) and time.monotonic() - last_rx > args.idle:
                break
            continue
        mono_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        real_ns = time.clock_gettime_ns(time.CLOCK_REALTIME)
        kernel_ns = mono_ns
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack(value[:TIMESPEC.size])
                kernel_ns = sec * 1_000_000_000 + nsec - (real_ns - mono_ns)
        last_rx = time.monotonic()
        for off in range(0, len(data) - TS_SIZE + 1, TS_SIZE):
            magic, seq, send_ns = PAYLOAD.unpack_from(data, off + 4)
            if data[off] != 0x47 or magic != MAGIC:
                foreign += 1
            elif seq in samples:
                duplicates += 1
            else:
                samples[seq] = (send_ns, kernel_ns, mono_ns)
    return samples, duplicates, foreign


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--count-file", required=True)
    ap.add_argument("--expect-ms", type=float, required=True)
    ap.add_argument("--tolerance-ms", type=float, default=20)
    ap.add_argument("--settle", type=float, default=2, help="seconds not checked at the start")
    ap.add_argument("--stall-fraction", type=float, default=0.02,
                    help="fraction of the checked packets that may be outside the tolerance")
    ap.add_argument("--stall-ms", type=float, default=60,
                    help="how far beyond the tolerance such a packet may be")
    ap.add_argument("--mark-ms", type=float,
                    help="a CLOCK_MONOTONIC time (ms) to place in the run, e.g. an event")
    ap.add_argument("--mark-label", default="mark")
    ap.add_argument("--idle", type=float, default=1.5)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()

    samples, duplicates, foreign = receive(args)
    failed = False
    if not os.path.exists(args.count_file):
        print("FAIL: the sender never finished")
        return 1
    with open(args.count_file) as f:
        sent = int(f.read())
    missing = [s for s in range(sent) if s not in samples]
    print(f"received {len(samples)} of {sent} TS packets, {len(missing)} missing, "
          f"{duplicates} duplicates, {foreign} foreign")
    if missing:
        print(f"FAIL: missing sequences, first ones: {missing[:10]}")
        failed = True
    if not samples:
        return 1

    t0 = min(send for send, _, _ in samples.values())
    rows = sorted((send, (recv - send) / 1e6) for send, recv, _ in samples.values())
    everything = [lat for _, lat in rows]
    user = [(recv - send) / 1e6 for send, _, recv in samples.values()]
    print(f"all packets: latency min {min(everything):.2f} ms, "
          f"median {statistics.median(everything):.2f} ms, max {max(everything):.2f} ms "
          f"(from the receiver's wake-up: median {statistics.median(user):.2f} ms, "
          f"max {max(user):.2f} ms)")
    checked = [(send, lat) for send, lat in rows if send - t0 >= args.settle * 1e9]
    if not checked:
        print("FAIL: nothing sent after the settling time")
        return 1
    lats = [lat for _, lat in checked]
    first_t, last_t = checked[0][0], checked[-1][0]
    first = [lat for send, lat in checked if send < first_t + 1e9]
    last = [lat for send, lat in checked if send > last_t - 1e9]
    lo, hi = args.expect_ms - args.tolerance_ms, args.expect_ms + args.tolerance_ms
    outside = [(send, lat) for send, lat in checked if not lo <= lat <= hi]
    print(f"after {args.settle:g} s ({len(checked)} packets over "
          f"{(last_t - first_t) / 1e9:.1f} s): latency min {min(lats):.2f} ms, "
          f"median {statistics.median(lats):.2f} ms, max {max(lats):.2f} ms, "
          f"expected {args.expect_ms:g} +- {args.tolerance_ms:g} ms")
    print(f"latency drift (last-second mean - first-second mean): "
          f"{mean(last) - mean(first):+.3f} ms "
          f"(first {mean(first):.3f} ms, last {mean(last):.3f} ms)")
    # One line per second of sending: how the latency moved over the run.
    per_second = {}
    for send, lat in rows:
        per_second.setdefault(int((send - t0) // 1e9), []).append(lat)
    if args.mark_ms is not None:
        print(f"{args.mark_label} at {(args.mark_ms * 1e6 - t0) / 1e9:.3f} s into the run")
    print("per second (mean/min/max ms): " + " ".join(
        f"{s}:{mean(v):.1f}/{min(v):.1f}/{max(v):.1f}" for s, v in sorted(per_second.items())))
    settled = {s: v for s, v in per_second.items() if s >= args.settle}
    off_seconds = [(s, mean(v)) for s, v in sorted(settled.items()) if not lo <= mean(v) <= hi]
    if off_seconds:
        s, m = off_seconds[0]
        print(f"FAIL: the mean latency of {len(off_seconds)} seconds is outside [{lo:g}, {hi:g}] "
              f"ms, the first second {s} with {m:.2f} ms")
        failed = True
    if outside:
        send, lat = outside[0]
        worst = max(abs(lat - args.expect_ms) for _, lat in outside) - args.tolerance_ms
        summary = (f"{len(outside)} packets ({100 * len(outside) / len(checked):.3f} %) outside "
                   f"[{lo:g}, {hi:g}] ms, the first sent at {(send - t0) / 1e9:.3f} s with "
                   f"{lat:.2f} ms, the farthest {worst:.2f} ms beyond")
        if len(outside) > args.stall_fraction * len(checked) or worst > args.stall_ms:
            print(f"FAIL: {summary} (isolated stalls: at most {100 * args.stall_fraction:g} %, "
                  f"{args.stall_ms:g} ms beyond)")
            failed = True
        else:
            print(f"isolated stalls: {summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
