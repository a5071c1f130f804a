#!/usr/bin/env python3
"""Scrapes a Prometheus endpoint every --interval seconds until --stop-file exists and prints
the largest value each series of --metric took (one line per series), then `max VALUE` over
all. For gauges that a final scrape would miss: spikes in the middle of a run.
"""
import argparse
import os
import re
import time
import urllib.request


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--metric", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--timeout", type=float, default=90)
    args = ap.parse_args()
    line = re.compile(r"^" + re.escape(args.metric) + r"(\{[^}]*\})? (\S+)$")
    peaks = {}
    scrapes = 0
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(args.url, timeout=2).read().decode()
            scrapes += 1
        except OSError:
            text = ""
        for m in map(line.match, text.splitlines()):
            if m:
                series, value = m.group(1) or "", float(m.group(2))
                peaks[series] = max(peaks.get(series, value), value)
        time.sleep(args.interval)
    for series, value in sorted(peaks.items()):
        print(f"{args.metric}{series} peak {value:g}")
    print(f"max {max(peaks.values(), default=0):g} ({scrapes} scrapes)")


if __name__ == "__main__":
    main()
