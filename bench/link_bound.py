#!/usr/bin/env python3
"""What the link test's bounds allow on a Mahimahi trace (acceptance 4 of the bonded-transport
issue): utilization >= 90 % of the trace's capacity after the ramp-up, standing queue p95 <=
50 ms, and no 10 ms window above the trace's mean rate x 10 ms + 2 packets.

Two idealised senders over the trace, with linkem's byte-fluid model (1500 bytes per
opportunity, carried over between packets) and the link test's 1228-byte wire packets:

  oracle   knows the trace ahead: keeps queued what the next X ms of opportunities carry, sends
           no more than the burst bound allows; X is swept.
  causal   sees the link's exact queue and deliveries DELAY ms late (one round trip: what any
           real sender learns, and more exactly than it can) and sends at
               rate = delivered over the last W ms + (Q x that rate - queued) / tau,
           within the burst bound; W, Q and tau are swept.

Prints, for each, the best utilization among the settings whose queue p95 stays within the
bound, and the settings. A sender that does worse than the causal line here has room to improve;
one that does not cannot meet a bound the causal line misses. Standard library only.

usage: bench/link_bound.py TRACE [--seconds 20] [--skip 2] [--delay-ms 40] [--queue-ms 50]
"""
import argparse
import itertools
from collections import deque

OPPORTUNITY_BYTES = 1500
PACKET_BYTES = 1228  # 1200-byte link-test payload + the 28 bytes linkem charges


def load(path, seconds):
    dur = int(seconds * 1000)
    cap = [0.0] * dur
    with open(path) as f:
        for line in f:
            if line.strip() and int(line) < dur:
                cap[int(line)] += OPPORTUNITY_BYTES
    return cap


def percentile(values, q):
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if values else float("inf")


class Link:
    """Drop-free byte-fluid bottleneck: one step per millisecond."""

    def __init__(self):
        self.queue = deque()  # send times (ms) of queued packets
        self.credit = 0.0
        self.delays = []
        self.delivered_bytes = []

    def step(self, t, capacity, skip_ms):
        if not self.queue:
            self.credit = 0.0  # opportunities with nothing queued are lost
        self.credit += capacity
        sent = 0
        while self.queue and self.credit >= PACKET_BYTES:
            self.credit -= PACKET_BYTES
            at = self.queue.popleft()
            if at >= skip_ms:
                self.delays.append(t - at)
            sent += PACKET_BYTES
        self.delivered_bytes.append(sent)


def run(cap, skip_ms, burst_packets, decide):
    """decide(t, link) -> packets to send at t; sends are limited to burst_packets per 10 ms."""
    link = Link()
    recent = deque()
    for t, capacity in enumerate(cap):
        while recent and recent[0] <= t - 10:
            recent.popleft()
        n = min(decide(t, link), int(burst_packets - len(recent)))
        for _ in range(max(n, 0)):
            link.queue.append(t)
            recent.append(t)
        link.step(t, capacity, skip_ms)
    used = sum(link.delivered_bytes[skip_ms:])
    return used / sum(cap[skip_ms:]), percentile(link.delays, 0.5), percentile(link.delays, 0.95)


def oracle(cap, ahead_ms):
    prefix = [0.0]
    for c in cap:
        prefix.append(prefix[-1] + c)

    def decide(t, link):
        want = (prefix[min(len(cap), t + ahead_ms)] - prefix[t]) / PACKET_BYTES
        return int(want) - len(link.queue)

    return decide


def causal(delay_ms, window_ms, queue_ms, tau_ms):
    history = []  # (queued packets, delivered bytes) at the end of each ms
    credit = [0.0]

    def decide(t, link):
        if t > 0:
            history.append((len(link.queue), link.delivered_bytes[-1]))
        seen = t - delay_ms
        if seen <= window_ms:
            return 1
        rate = sum(d for _, d in history[seen - window_ms:seen]) / window_ms / PACKET_BYTES
        queued = history[seen - 1][0]
        credit[0] = min(credit[0] + max(rate + (rate * queue_ms - queued) / tau_ms, 0.0), 4.0)
        n = int(credit[0])
        credit[0] -= n
        return n

    return decide


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--skip", type=float, default=2, help="ramp-up seconds not measured")
    ap.add_argument("--delay-ms", type=int, default=40, help="the link's round trip")
    ap.add_argument("--queue-ms", type=float, default=50, help="bound on the queue p95")
    ap.add_argument("--utilization", type=float, default=0.90)
    args = ap.parse_args()
    cap = load(args.trace, args.seconds)
    skip_ms = int(args.skip * 1000)
    mean_bytes_per_ms = sum(cap[skip_ms:]) / (len(cap) - skip_ms)
    burst_packets = mean_bytes_per_ms * 10 / PACKET_BYTES + 2
    print(f"{args.trace}: first {args.seconds:g} s, measured after {args.skip:g} s: mean "
          f"{mean_bytes_per_ms * 8 / 1000:.3f} Mbit/s; burst bound {burst_packets:.2f} packets "
          f"of {PACKET_BYTES} B per 10 ms; queue p95 <= {args.queue_ms:g} ms")

    def best(name, results):
        fitting = [r for r in results if r[1][2] <= args.queue_ms]
        top = max(fitting, key=lambda r: r[1][0]) if fitting else None
        if top is None:
            print(f"  {name}: no setting keeps the queue p95 within {args.queue_ms:g} ms")
            return
        (settings, (util, q50, q95)) = top
        verdict = "meets" if util >= args.utilization else "misses"
        print(f"  {name}: best utilization {util * 100:.1f} % with queue p50 {q50} ms / p95 {q95} "
              f"ms ({settings}): {verdict} {args.utilization * 100:.0f} %")

    best("oracle", [(f"keeps {x} ms ahead queued", run(cap, skip_ms, burst_packets, oracle(cap, x)))
                    for x in (10, 20, 30, 40, 50)])
    grid = list(itertools.product((20, 50, 100, 200), (10, 20, 30, 40), (20, 50, 100, 200)))
    for name, bound in (("causal", burst_packets), ("causal, no burst bound", 1e9)):
        best(name, [(f"W {w} ms, Q {q} ms, tau {tau} ms",
                     run(cap, skip_ms, bound, causal(args.delay_ms, w, q, tau)))
                    for w, q, tau in grid])

if __name__ == "__main__":
    main()
