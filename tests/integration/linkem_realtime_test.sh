#!/usr/bin/env bash
# braid-linkem in real time over loopback: a trace-driven link (TMobile-LTE-short uplink) and a
# 3 Mbit/s constant-rate link with jitter, both saturated by paced senders; a receiver counts
# what arrives with its own clock. Delivered bytes must match the model (2 % trace, 1 %
# constant) and each packet's delay must match the delay linkem drew for it (median within 5 ms,
# 95 % within 20 ms: wide, for a shared VM's stalls; bench/linkem_bench.sh has the figures).
source "$(dirname "$0")/lib.sh"

PROBE=$BUILD/tests/tools/linkem-probe
TRACE=$SRC/tests/data/traces/TMobile-LTE-short.up
SINK_PORT=$((20000 + RANDOM % 20000))
cat >"$WORK/scenario.toml" <<TOML
[scenario]
seed = 3
gateway = "127.0.0.1:$SINK_PORT"
[log]
stats_interval_s = 2
[[links]]
name = "trace"
listen = "127.0.0.1:0"
up.trace = "$TRACE"
up.delay_ms = 20
up.queue_packets = 300
[[links]]
name = "const"
listen = "127.0.0.1:0"
up.rate_kbps = 3000
up.delay_ms = 40
up.jitter_ms = 5
up.queue_packets = 100
TOML
"$LINKEM" --scenario "$WORK/scenario.toml" --record "$WORK/record.csv" --duration 13 \
  >"$WORK/linkem.log" 2>&1 &
LINKEM_PID=$!
PIDS+=("$LINKEM_PID")
wait_for_line "$WORK/linkem.log" '\] ready: ' 10
port_of() { grep -oE "link $1: edge → 127\.0\.0\.1:[0-9]+" "$WORK/linkem.log" | grep -oE '[0-9]+$'; }
TRACE_PORT=$(port_of trace)
CONST_PORT=$(port_of const)
log "linkem up: trace link on $TRACE_PORT, constant link on $CONST_PORT, sink on $SINK_PORT"

# 32 Mbit/s is above the trace's busiest second (29.8 Mbit/s) over the first 12 s.
"$PROBE" --sink "127.0.0.1:$SINK_PORT" --send "127.0.0.1:$TRACE_PORT@32000" \
  --send "127.0.0.1:$CONST_PORT@4000" --duration 11.5 --linger 0.3 --out "$WORK/received.csv"
wait "$LINKEM_PID" || die "braid-linkem exited with $?"
tail -n 2 "$WORK/linkem.log"

python3 "$SRC/tests/integration/linkem_check.py" --record "$WORK/record.csv" \
  --received "$WORK/received.csv" --window 2 11 \
  --link "trace:0:trace:$TRACE:20:0.02" --link "const:1:const:3000:40:0.01" ||
  die "linkem's delivery does not match its model"
log "PASS"
