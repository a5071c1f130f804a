#!/usr/bin/env python3
"""UDP echo server for the netns testbed test (runs in braid-tb-gw).

Echoes every datagram to its source and logs one CSV row per datagram:
mono_ns,ip,port,link,seq, where link and seq come from the payload's "link=<i> seq=<n>" tag
(-1 when it has none). mono_ns is CLOCK_MONOTONIC, the clock of linkem's record epoch.
Prints "echo listening on ADDR" once bound; stops on SIGTERM or SIGINT.
"""
import argparse
import re
import signal
import socket
import sys
import time

TAG = re.compile(rb"^link=(\d+) seq=(\d+)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", default="0.0.0.0:7400", help="IPv4 ADDR:PORT")
    ap.add_argument("--log", required=True, help="CSV file of received datagrams")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, int(port)))
    with open(args.log, "w", buffering=1) as log:
        log.write("mono_ns,ip,port,link,seq\n")
        print(f"echo listening on {host}:{sock.getsockname()[1]}", flush=True)
        try:
            while True:
                data, source = sock.recvfrom(65535)
                now = time.monotonic_ns()
                m = TAG.match(data)
                link, seq = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
                log.write(f"{now},{source[0]},{source[1]},{link},{seq}\n")
                sock.sendto(data, source)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
