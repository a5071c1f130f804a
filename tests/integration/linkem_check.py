#!/usr/bin/env python3
"""Checks a braid-linkem run against its own model from the outside.

Reads linkem's per-packet record and linkem-probe's receive log, then asserts:
  * delivered payload bytes per link, counted at the receiver with its own timestamps over a
    window, are within the given tolerance of the model's capacity (a constant rate, or the
    opportunities of a Mahimahi trace shifted by the link's delay);
  * each received packet's delay (receive - send) matches the delay linkem drew for it
    (delivery - arrival in the record): median within 5 ms, 95 % within 20 ms;
and prints linkem's timing error (sent - scheduled). Exit status 1 on any failed check.
"""
import argparse
import bisect
import csv
import sys

WIRE_OVERHEAD = 28


def read_record(path):
    with open(path) as f:
        header = f.readline()
        epoch = int(header.split("epoch_ns=")[1])
        return epoch, list(csv.DictReader(f))


def trace_opportunities(path):
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def count_between(opps, lo_ms, hi_ms):
    # Only the first loop is needed for the short windows of a test.
    assert hi_ms <= opps[-1], "window beyond one loop of the trace"
    return bisect.bisect_left(opps, hi_ms) - bisect.bisect_left(opps, lo_ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--record", required=True)
    ap.add_argument("--received", required=True)
    ap.add_argument("--window", nargs=2, type=float, required=True, help="seconds after epoch")
    ap.add_argument("--link", action="append", required=True,
                    help="NAME:STREAM:const:KBPS:DELAY_MS:TOL or NAME:STREAM:trace:PATH:DELAY_MS:TOL")
    ap.add_argument("--size", type=int, default=1200)
    args = ap.parse_args()

    epoch, record = read_record(args.record)
    with open(args.received) as f:
        received = list(csv.DictReader(f))
    w0, w1 = args.window
    payload_share = args.size / (args.size + WIRE_OVERHEAD)
    failed = False

    for spec in args.link:
        name, stream, kind, param, delay_ms, tol = spec.split(":")
        delay_s, tol = float(delay_ms) / 1000, float(tol)
        rows = [r for r in received if r["stream"] == stream]
        got = sum(int(r["size"]) for r in rows
                  if w0 <= (int(r["recv_ns"]) - epoch) / 1e9 < w1)
        if kind == "const":
            model = float(param) * 1000 / 8 * (w1 - w0) * payload_share
        else:
            opps = trace_opportunities(param)
            n = count_between(opps, round((w0 - delay_s) * 1000), round((w1 - delay_s) * 1000))
            model = n * 1500 * payload_share
        full = sum(1 for r in record if r["link"] == name and r["result"] == "queue_full")
        error = (got - model) / model
        ok = abs(error) <= tol and full > 0
        failed |= not ok
        print(f"{name}: delivered {got} B in [{w0}, {w1}) s, model {model:.0f} B, "
              f"error {error * 100:+.3f} % (tolerance {tol * 100:.0f} %), "
              f"queue_full drops {full} (saturated: {full > 0}) -> {'ok' if ok else 'FAIL'}")

    by_digest = {r["digest"]: r for r in record if r["result"] == "ok" and r["dir"] == "up"}
    diffs = []
    for r in received:
        rec = by_digest.get(r["digest"])
        if rec is None:
            continue
        measured = int(r["recv_ns"]) - int(r["send_ns"])
        drawn = int(rec["delivery_ns"]) - int(rec["arrival_ns"])
        diffs.append(abs(measured - drawn))
    diffs.sort()
    # A wide margin, as a test on a shared 2-core VM needs: its vCPUs stall (on a bad day a
    # busy loop lost 47 slices of up to 2.9 ms in 3 s), which delays the probe and linkem alike:
    # runs then had a median of 0.1–1.5 ms and 14–44 % of their packets past 2 ms, with the byte
    # counts exact. The delays drawn here are 20 ms and more (trace link) and 40 ± 5 ms
    # (constant link), so a linkem that dropped or doubled them still fails both bounds by far.
    # The precise figures are the bench's (bench/linkem_bench.sh).
    median = diffs[len(diffs) // 2] if diffs else 0
    within = sum(1 for d in diffs if d <= 2_000_000) / max(len(diffs), 1)
    within_wide = sum(1 for d in diffs if d <= 20_000_000) / max(len(diffs), 1)
    ok = len(diffs) > 1000 and median <= 5_000_000 and within_wide >= 0.95
    failed |= not ok
    print(f"delay: {len(diffs)} packets joined, |difference| from linkem's drawn delay: median "
          f"{median / 1e3:.0f} us (need <= 5 ms), {within_wide * 100:.2f} % within 20 ms "
          f"(need >= 95 %), {within * 100:.2f} % within 2 ms, p99 "
          f"{diffs[int(len(diffs) * 0.99)] / 1e3:.0f} us -> {'ok' if ok else 'FAIL'}")

    late = sorted(int(r["sent_ns"]) - int(r["delivery_ns"]) for r in record if r["result"] == "ok")
    if late:
        print(f"linkem timing error (sent - scheduled): p50 {late[len(late) // 2] / 1e3:.0f} us, "
              f"p99 {late[int(len(late) * 0.99)] / 1e3:.0f} us, max {late[-1] / 1e3:.0f} us "
              f"over {len(late)} packets")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
