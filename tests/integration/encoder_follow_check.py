#!/usr/bin/env python3
"""Checks that the edge's encoder target and the built-in encoder's output followed a bond
capacity step down and back up (encoder_follow_test.sh, bench/encoder_bench.sh).

Reads the edge log (stats lines every 0.25 s: t, target_bps, encoder_mbps; spdlog lines with
wall-clock times), the linkem log (its first line is logged as its clock starts) and the
gateway log (stats lines every second with cumulative `skipped`; the edge's `stale_dropped`
counts what never left the edge). Step times are given on
linkem's clock and moved to the edge's by the two logs' wall-clock times of their start.
Prints one summary line (key=value) and exits non-zero, naming the failed bound, if one is
not met.
"""
import argparse
import datetime
import re
import statistics
import sys

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)")


def wall(line):
    m = STAMP.match(line)
    if not m:
        return None
    return datetime.datetime.fromisoformat(m.group(1)).timestamp()


def first_wall(path, needle):
    with open(path) as f:
        for line in f:
            if needle in line and wall(line) is not None:
                return wall(line)
    raise SystemExit(f"{path}: no line with '{needle}'")


def stats(path, prefix="stats "):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith(prefix):
                continue
            fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            rows.append(fields)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edge-log", required=True)
    ap.add_argument("--linkem-log", required=True)
    ap.add_argument("--gateway-log", required=True)
    ap.add_argument("--down-at", type=float, required=True, help="linkem s of the step down")
    ap.add_argument("--up-at", type=float, required=True, help="linkem s of the step back up")
    ap.add_argument("--low-mbps", type=float, required=True, help="bond capacity after the step")
    ap.add_argument("--down-within", type=float, default=1.0)
    ap.add_argument("--up-within", type=float, default=5.0)
    ap.add_argument("--recover-share", type=float, default=0.9,
                    help="target back to this share of its level before the step")
    ap.add_argument("--output-share", type=float, default=0.75,
                    help="encoder output (1 s mean) back to this share of the target before")
    ap.add_argument("--skip-window", type=float, default=2.0,
                    help="skips allowed only this long after the step down (in-flight data)")
    ap.add_argument("--no-assert", action="store_true", help="print the figures only")
    args = ap.parse_args()

    # The edge's t=0 is logged as "braid-edge ... sending"; linkem's first line is its t=0.
    offset = first_wall(args.edge_log, "] braid-edge ") - first_wall(args.linkem_log, "braid-linkem")
    down = args.down_at - offset
    up = args.up_at - offset
    rows = [(float(r["t"]), int(r["target_bps"]) / 1e6, float(r.get("encoder_mbps", "nan")))
            for r in stats(args.edge_log)]
    interval = statistics.median(b[0] - a[0] for a, b in zip(rows, rows[1:]))
    before = [target for t, target, _ in rows if down - 2 <= t < down]
    if not before:
        raise SystemExit("no stats lines in the 2 s before the step")
    level = statistics.median(before)
    out_before = statistics.mean(out for t, _, out in rows if down - 2 <= t < down)

    def first(cond, start):
        return next((t for t, target, out in rows if t >= start and cond(t, target, out)), None)

    # The output over a stats interval ends at t; it is below the capacity once a whole
    # interval after the step is.
    target_down = first(lambda t, target, out: target < args.low_mbps, down)
    output_down = first(lambda t, target, out: out < args.low_mbps, down + interval)
    low_out = [out for t, _, out in rows if down + args.down_within + interval <= t < up]
    target_up = first(lambda t, target, out: target >= args.recover_share * level, up)

    def mean_out(t_end):  # encoder output over the second ending at t_end
        window = [out for t, _, out in rows if t_end - 1 < t <= t_end]
        return statistics.mean(window) if window else 0

    output_up = first(lambda t, target, out: mean_out(t) >= args.output_share * level, up)

    # Skipped media at the gateway: when did the count grow (gateway t=0 is "listening on")?
    gw_offset = first_wall(args.gateway_log, "listening on") - first_wall(args.linkem_log,
                                                                          "braid-linkem")
    gw = [(float(r["t"]) + gw_offset - offset, int(r["skipped"])) for r in stats(args.gateway_log)]
    final = stats(args.gateway_log, "final ")
    skipped = int(final[-1]["skipped"]) if final else (gw[-1][1] if gw else 0)
    outside = 0
    last = 0
    for t, count in gw:
        # A line counts what was skipped in the second before it; its clock is placed by the
        # gateway's log to within a few hundred ms (its stats clock starts with its first line).
        if count > last and not (down - 0.5 < t and t - 1 <= down + args.skip_window):
            outside += count - last
        last = count
    # Packets the edge dropped before sending (no link could land them in time) are missing
    # too, and never a hole at the gateway: the same window holds for them, on the edge's clock.
    stale = 0
    last = 0
    for r in stats(args.edge_log):
        t, count = float(r["t"]), int(r.get("stale_dropped", 0))
        if count > last and not (down - 0.5 < t and t - interval <= down + args.skip_window):
            outside += count - last
        stale, last = count, count

    def fmt(x):
        return "none" if x is None else f"{x:.2f}"

    print(f"step_down_at={down:.2f} step_up_at={up:.2f} target_before={level:.2f} "
          f"output_before={out_before:.2f} target_below_{args.low_mbps:g}_after="
          f"{fmt(None if target_down is None else target_down - down)} "
          f"output_below_after={fmt(None if output_down is None else output_down - down)} "
          f"output_while_low={fmt(statistics.median(low_out) if low_out else None)} "
          f"target_back_after={fmt(None if target_up is None else target_up - up)} "
          f"output_back_after={fmt(None if output_up is None else output_up - up)} "
          f"skipped={skipped} edge_stale={stale} missing_outside_drop={outside}")
    if args.no_assert:
        return 0
    failures = []
    if level < 4.0:
        failures.append(f"the target before the step was only {level:.2f} Mbit/s")
    if target_down is None or target_down - down > args.down_within:
        failures.append(f"the target was not below {args.low_mbps} Mbit/s within "
                        f"{args.down_within} s of the step")
    if output_down is None or output_down - down > args.down_within + interval:
        failures.append(f"the encoder output was not below {args.low_mbps} Mbit/s within "
                        f"{args.down_within} s (+ one {interval:.2f} s stats interval)")
    if low_out and statistics.median(low_out) >= args.low_mbps:
        failures.append("the encoder output stayed above the reduced capacity")
    if target_up is None or target_up - up > args.up_within:
        failures.append(f"the target did not climb back to {args.recover_share:.0%} of "
                        f"{level:.2f} Mbit/s within {args.up_within} s")
    if output_up is None or output_up - up > args.up_within:
        failures.append(f"the encoder output did not climb back to {args.output_share:.0%} of "
                        f"{level:.2f} Mbit/s within {args.up_within} s")
    if outside:
        failures.append(f"{outside} media packets missing away from the step down")
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
