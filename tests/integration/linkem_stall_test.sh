#!/usr/bin/env bash
# braid-linkem stamps a datagram with the time it reached its socket, not the time it read it:
# a relay that is descheduled (here stopped with SIGSTOP for 300 ms) must not turn packets
# that were sent 5 ms apart into a burst, in its model or in its record. (A CI machine's
# scheduling stall once made the edge's link test see a burst the edge never sent.)
source "$(dirname "$0")/lib.sh"
need python3

SINK_PORT=$((20000 + RANDOM % 20000))
cat >"$WORK/scenario.toml" <<TOML
[scenario]
seed = 1
gateway = "127.0.0.1:$SINK_PORT"
[[links]]
name = "fast"
listen = "127.0.0.1:0"
up.rate_kbps = 100000
up.delay_ms = 10
TOML
"$LINKEM" --scenario "$WORK/scenario.toml" --record "$WORK/record.csv" >"$WORK/linkem.log" 2>&1 &
LINKEM_PID=$!
PIDS+=("$LINKEM_PID")
wait_for_line "$WORK/linkem.log" '\] ready: ' 10
PORT=$(grep -oE "link fast: edge → 127\.0\.0\.1:[0-9]+" "$WORK/linkem.log" | grep -oE '[0-9]+$')

kill -STOP "$LINKEM_PID"
# The sender keeps each send's time (CLOCK_MONOTONIC, the clock of linkem's record): on a busy
# machine the sender itself may be descheduled, so the stamps are checked against when each
# packet was really sent, not against the 5 ms it meant to keep.
python3 - "$PORT" "$WORK/sent.txt" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.monotonic()
sent = []
for i in range(20):
    while time.monotonic() < start + i * 0.005:
        pass
    before = time.monotonic_ns()
    s.sendto(bytes([i]) * 1000, ("127.0.0.1", int(sys.argv[1])))
    sent.append((before, time.monotonic_ns()))
with open(sys.argv[2], "w") as f:
    f.writelines(f"{a} {b}\n" for a, b in sent)
PY
sleep 0.3
kill -CONT "$LINKEM_PID"
sleep 0.2
stop "$LINKEM_PID" || die "braid-linkem exited non-zero"

python3 - "$WORK/record.csv" "$WORK/sent.txt" <<'PY' || die "linkem stamped the stalled packets with its read time"
import csv, sys
with open(sys.argv[1]) as f:
    epoch = int(f.readline().split("epoch_ns=")[1])
    rows = [r for r in csv.DictReader(f) if r["dir"] == "up"]
sent = [tuple(map(int, line.split())) for line in open(sys.argv[2])]
arrivals = sorted(int(r["arrival_ns"]) + epoch for r in rows)
print(f"{len(rows)} packets recorded, results {sorted(set(r['result'] for r in rows))}")
assert len(rows) == 20, "expected the 20 packets sent"
assert all(r["result"] == "ok" for r in rows), "a packet was dropped"
gaps = [(b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:])]
print("arrival gaps (ms): " + " ".join(f"{g:.2f}" for g in gaps))
sent_gaps = [(b[0] - a[0]) / 1e6 for a, b in zip(sent, sent[1:])]
print("send gaps (ms):    " + " ".join(f"{g:.2f}" for g in sent_gaps))
# Loopback delivers within the sendto() call: each stamp falls between the call's start and a
# little after its return. A stamp taken when the relay read the packet would be up to 300 ms
# late (the SIGSTOP), and the packets a burst ~0 ms apart.
errors = [(arrival - after) / 1e6 for arrival, (_, after) in zip(arrivals, sent)]
print("stamp - send return (ms): " + " ".join(f"{e:.2f}" for e in errors))
for arrival, (before, after) in zip(arrivals, sent):
    assert before - 1_000_000 <= arrival <= after + 5_000_000, \
        f"stamped {(arrival - after) / 1e6:.2f} ms after its sendto() returned"
# The model used the stamp too: each packet's delivery is its arrival + 10 ms + its
# serialization (0.1 ms at 100 Mbit/s).
for r in rows:
    held = (int(r["delivery_ns"]) - int(r["arrival_ns"])) / 1e6
    assert 10.0 <= held < 11.0, f"delivery - arrival = {held:.2f} ms"
PY
log "PASS: arrivals keep the sender's spacing across a 300 ms stall of the relay"
