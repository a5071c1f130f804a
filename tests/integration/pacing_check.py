#!/usr/bin/env python3
"""Checks a sender's congestion control and pacing against braid-linkem's record of one link.

For the link's up direction (edge -> gateway), over the measured interval (from the link's
first packet plus --skip seconds of ramp-up to its last packet), computes:
  * utilization: wire bytes (payload + --overhead) that left the bottleneck in the interval
    over the link's capacity in it: rate x time for a constant-rate link; for a Mahimahi
    trace, its delivery opportunities in the interval x 1500 x scale (counted as linkem does:
    opportunity times are the trace's milliseconds, looped with the period of its last line,
    shifted by --trace-offset-ms);
  * standing queue: the queueing delay in the bottleneck, departure - arrival, p50/p95/max;
  * bursts: the most packets and wire bytes that arrived at linkem (sent by the edge) in any
    10 ms window of the whole test, against rate x 10 ms + 2 largest packets (for a trace, the
    rate is its mean capacity over the measured interval);
  * with --edge-json (the output of `braid-edge link-test --json`): the capacity the edge
    reported for the link against the true capacity over the edge's measurement window (moved
    back by --shift-ms: the edge learns of a delivery about one round trip after it).
Prints every figure and exits 1 if any bound fails (the ones --only names; all by default).
Standard library only.
"""
import argparse
import bisect
import csv
import json
import math
import sys

OPPORTUNITY_BYTES = 1500


def read_record(path, link):
    with open(path) as f:
        header = f.readline()
        epoch = int(header.split("epoch_ns=")[1])
        rows = [r for r in csv.DictReader(f) if r["link"] == link and r["dir"] == "up"]
    return epoch, rows


class Trace:
    def __init__(self, path, offset_ms, scale):
        with open(path) as f:
            self.opps = [int(line) for line in f if line.strip()]
        self.period = self.opps[-1]
        self.offset = offset_ms
        self.scale = scale

    def _below(self, ms):
        # Opportunities at looped trace times < ms (mirrors linkem::Trace::opportunitiesBetween).
        if ms <= 0:
            return 0
        loops = int(ms // self.period)
        rest = ms - loops * self.period
        count = loops * len(self.opps) + bisect.bisect_left(self.opps, rest)
        if rest == 0 and loops > 0:
            count -= len(self.opps) - bisect.bisect_left(self.opps, self.period)
        return count

    def capacity_bytes(self, t0_ns, t1_ns):
        lo = t0_ns / 1e6 + self.offset
        hi = t1_ns / 1e6 + self.offset
        # Opportunities fall on whole milliseconds: count those at times in [lo, hi).
        n = self._below(math.ceil(hi)) - self._below(math.ceil(lo))
        return n * OPPORTUNITY_BYTES * self.scale


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[int(q * (len(sorted_values) - 1))]


def max_in_window(arrivals, window_ns):
    """The most packets and bytes whose arrival falls in any [t, t + window) (sorted input)."""
    best_packets = best_bytes = 0
    best_at = 0
    lo = 0
    total = 0
    for hi, (t, size) in enumerate(arrivals):
        total += size
        while arrivals[lo][0] <= t - window_ns:
            total -= arrivals[lo][1]
            lo += 1
        if total > best_bytes:
            best_bytes, best_at = total, arrivals[lo][0]
        best_packets = max(best_packets, hi - lo + 1)
    return best_packets, best_bytes, best_at


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--record", required=True)
    ap.add_argument("--link", required=True)
    kind = ap.add_mutually_exclusive_group(required=True)
    kind.add_argument("--rate-kbps", type=float)
    kind.add_argument("--trace")
    ap.add_argument("--trace-offset-ms", type=float, default=0)
    ap.add_argument("--trace-scale", type=float, default=1.0)
    ap.add_argument("--overhead", type=int, default=28, help="bytes linkem charges per packet")
    ap.add_argument("--skip", type=float, default=2.0, help="seconds of ramp-up not measured")
    ap.add_argument("--window-ms", type=float, default=10.0)
    ap.add_argument("--edge-json")
    ap.add_argument("--shift-ms", type=float, default=0.0)
    ap.add_argument("--min-utilization", type=float, default=0.90)
    ap.add_argument("--max-queue-p95-ms", type=float, default=50.0)
    ap.add_argument("--capacity-tolerance", type=float, default=0.10)
    ap.add_argument("--burst-packets", type=int, default=2,
                    help="packets allowed beyond rate x window")
    ap.add_argument("--only", default="utilization,standing queue,bursts,reported capacity",
                    help="comma-separated bounds that decide the verdict (every figure is "
                         "printed either way): utilization, standing queue, bursts, reported "
                         "capacity")
    args = ap.parse_args()

    epoch, rows = read_record(args.record, args.link)
    if not rows:
        print(f"{args.link}: no up packets in the record")
        return 1
    arrivals = sorted((int(r["arrival_ns"]), int(r["size"]) + args.overhead) for r in rows)
    first, last = arrivals[0][0], arrivals[-1][0]
    t0 = first + int(args.skip * 1e9)
    t1 = last
    if t1 <= t0:
        print(f"{args.link}: the link carried traffic for only {(t1 - first) / 1e9:.2f} s")
        return 1
    seconds = (t1 - t0) / 1e9
    trace = Trace(args.trace, args.trace_offset_ms, args.trace_scale) if args.trace else None

    def capacity(a, b):
        if trace:
            return trace.capacity_bytes(a, b)
        return args.rate_kbps * 1000 / 8 * (b - a) / 1e9

    failed = []
    enforced = {name.strip() for name in args.only.split(",")}
    unknown = enforced - {"utilization", "standing queue", "bursts", "reported capacity"}
    if unknown:
        print(f"--only: unknown bound(s) {', '.join(sorted(unknown))}")
        return 2

    def verdict(name, ok):
        if name not in enforced:
            return "ok" if ok else "over (not enforced)"
        if not ok:
            failed.append(name)
        return "ok" if ok else "FAIL"

    ok_rows = [r for r in rows if r["result"] == "ok"]
    delivered = sum(int(r["size"]) + args.overhead for r in ok_rows
                    if t0 <= int(r["departure_ns"]) < t1)
    cap = capacity(t0, t1)
    rate_bps = cap * 8 / seconds
    utilization = delivered / cap if cap > 0 else 0.0
    drops = {}
    for r in rows:
        if r["result"] != "ok":
            drops[r["result"]] = drops.get(r["result"], 0) + 1
    print(f"{args.link}: measured [{t0 / 1e9:.3f}, {t1 / 1e9:.3f}) s ({seconds:.2f} s); capacity "
          f"{rate_bps / 1e6:.3f} Mbit/s ({cap:.0f} B); delivered {delivered} B = "
          f"{delivered * 8 / seconds / 1e6:.3f} Mbit/s")
    print(f"  utilization {utilization * 100:.1f} % (need >= {args.min_utilization * 100:.0f} %) "
          f"-> {verdict('utilization', utilization >= args.min_utilization)}")

    queue = sorted((int(r["departure_ns"]) - int(r["arrival_ns"])) / 1e6 for r in ok_rows
                   if t0 <= int(r["arrival_ns"]) < t1)
    q50, q95 = percentile(queue, 0.50), percentile(queue, 0.95)
    qmax = queue[-1] if queue else float("nan")
    print(f"  standing queue (departure - arrival): p50 {q50:.1f} ms, p95 {q95:.1f} ms, max "
          f"{qmax:.1f} ms over {len(queue)} packets (need p95 <= {args.max_queue_p95_ms:.0f} ms) "
          f"-> {verdict('standing queue', len(queue) > 0 and q95 <= args.max_queue_p95_ms)}")
    print(f"  drops: {sum(drops.values())} of {len(rows)} packets "
          f"({', '.join(f'{k} {v}' for k, v in sorted(drops.items())) or 'none'})")

    window_ns = int(args.window_ms * 1e6)
    largest = max(size for _, size in arrivals)
    bound_bytes = rate_bps / 8 * window_ns / 1e9 + args.burst_packets * largest
    bound_packets = rate_bps / 8 * window_ns / 1e9 / largest + args.burst_packets
    packets, burst_bytes, at = max_in_window(arrivals, window_ns)
    over = 0
    lo = 0
    total = 0
    windows_over_end = -1
    for t, size in arrivals:  # windows ending at each arrival that break the bound
        total += size
        while arrivals[lo][0] <= t - window_ns:
            total -= arrivals[lo][1]
            lo += 1
        if total > bound_bytes and t - window_ns >= windows_over_end:
            over += 1
            windows_over_end = t
    ok = burst_bytes <= bound_bytes
    print(f"  bursts: at most {packets} packets / {burst_bytes} B in {args.window_ms:.0f} ms "
          f"(at {at / 1e9:.3f} s); bound {bound_bytes:.0f} B = {bound_packets:.2f} packets of "
          f"{largest} B; {over} disjoint windows over it -> {verdict('bursts', ok)}")
    # Where the worst burst came from: how tightly its packets were spaced (back-to-back sends
    # are tens of microseconds apart) and whether they were media or small control packets.
    worst = [(t, size) for t, size in arrivals if at <= t < at + window_ns]
    gaps = sorted(b[0] - a[0] for a, b in zip(worst, worst[1:]))
    small = sum(1 for _, size in worst if size < 400)
    if worst:
        print(f"  worst window: {len(worst)} packets ({small} under 400 B) over "
              f"{(worst[-1][0] - worst[0][0]) / 1e6:.2f} ms, median gap "
              f"{percentile(gaps, 0.5) / 1e3 if gaps else 0:.0f} us")

    if args.edge_json:
        with open(args.edge_json) as f:
            report = json.load(f)
        shift = int(args.shift_ms * 1e6)
        w0 = report["window_start_ns"] - epoch - shift
        w1 = report["window_end_ns"] - epoch - shift
        true_bps = capacity(w0, w1) * 8 / ((w1 - w0) / 1e9)
        entry = [l for l in report["links"] if l["name"] == args.link]
        if not entry:
            print(f"  edge report: no link {args.link}")
            verdict("reported capacity", False)
        else:
            reported = entry[0]["capacity_mbps"] * 1e6
            error = (reported - true_bps) / true_bps
            print(f"  reported capacity {reported / 1e6:.3f} Mbit/s vs true {true_bps / 1e6:.3f} "
                  f"Mbit/s over the edge's window [{w0 / 1e9:.3f}, {w1 / 1e9:.3f}) s: error "
                  f"{error * 100:+.1f} % (need within {args.capacity_tolerance * 100:.0f} %) -> "
                  f"{verdict('reported capacity', abs(error) <= args.capacity_tolerance)}")

    print(f"{args.link}: {'PASS' if not failed else 'FAIL (' + ', '.join(failed) + ')'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
