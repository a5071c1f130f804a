#!/usr/bin/env bash
# Clock offset and drift (bonded-transport acceptance scenario): the edge's wire clock is far
# off the gateway's and drifts 100 ppm (braid-edge --clock-skew), over three emulated 3 Mbit/s
# links at 40 ms each way, a 3 Mbit/s stream for 20 s at 500 ms. The playout latency must stay
# put: measured end to end, from a sender that stamps every TS packet with CLOCK_MONOTONIC to a
# receiver behind the gateway's UDP output (same machine, so the same clock for both, whatever
# the edge puts on the wire), after the first 2 s every second's mean latency is within 20 ms of
# the expected latency, so is every packet but isolated stalls of this machine (at most 2 %, by
# at most 60 ms more; latency_ts_receiver.py says why), and none is missing. The receiver says
# where in the run the send timestamps wrapped.
#
# The expected latency is the target plus the fastest path's one-way delay: the gateway plays a
# packet at media timestamp + clock offset + target, and its offset estimate is the windowed
# minimum of (arrival - media timestamp), i.e. the transit of the fastest packets, 40 ms here
# (docs/transport.md, "Clock offset and drift").
#
# The offset is at least an hour (CLOCK_SKEW_SIGN=- for one behind) and chosen so that the
# edge's 32-bit µs send timestamps wrap about 8 s into the run. CLOCK_SKEW_PPM sets the drift
# (100); CLOCK_SKEW=OFFSET_MS:PPM overrides both. The stream starts once the session is
# established; SENDER_FIRST=1 starts it before (its first packets then wait through the
# handshake, and the offset estimate converges from them during its warm-up).
source "$(dirname "$0")/lib.sh"
[[ ${BRAID_OPTIMIZED:-0} == 1 ]] || skip "real-time latency test: optimized build only"

HERE=$(dirname "$0")
LATENCY_MS=500
PATH_DELAY_MS=40
SECONDS_OF_MEDIA=20
ppm=${CLOCK_SKEW_PPM:-100}
if [[ -z ${CLOCK_SKEW:-} ]]; then
  CLOCK_SKEW=$(python3 - "${CLOCK_SKEW_SIGN:-+}" "$ppm" "$WORK/wrap.ms" <<'PY'
import sys, time
sign, ppm, wrap_file = sys.argv[1], sys.argv[2], sys.argv[3]
period_ms = (1 << 32) // 1000  # the 32-bit µs send timestamp wraps every 4294967.296 ms
now_ms = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1_000_000
wrap_at_ms = now_ms + 8_000  # edge clock: now + offset; wrap 8 s from now
with open(wrap_file, "w") as f:
    f.write(f"{wrap_at_ms}\n")  # the receiver says where in the run it fell
hour_ms = 3_600_000
if sign == "-":
    offset = -(hour_ms + (wrap_at_ms - hour_ms) % period_ms)
else:
    offset = hour_ms + (-(wrap_at_ms + hour_ms)) % period_ms
print(f"{offset}:{ppm}")
PY
)
  log "edge clock skew (OFFSET_MS:PPM): $CLOCK_SKEW; its send timestamps wrap ~8 s from now"
else
  log "edge clock skew (OFFSET_MS:PPM): $CLOCK_SKEW"
fi

WRAP_MARK=$(cat "$WORK/wrap.ms" 2>/dev/null || true)
keygen 1 "$WORK/edge.key"
python3 "$HERE/latency_ts_receiver.py" --port-file "$WORK/rx.port" --count-file "$WORK/sent.count" \
  --expect-ms $((LATENCY_MS + PATH_DELAY_MS)) --tolerance-ms 20 --settle 2 --timeout 90 \
  ${WRAP_MARK:+--mark-ms "$WRAP_MARK" --mark-label "the edge's send timestamps wrap"} \
  >"$WORK/receiver.log" 2>&1 &
RECEIVER_PID=$!
PIDS+=("$RECEIVER_PID")
for _ in $(seq 100); do [[ -s $WORK/rx.port ]] && break; sleep 0.05; done
[[ -s $WORK/rx.port ]] || die "the receiver did not start"

metrics=()
[[ ${BRAID_METRICS:-0} == 1 ]] && metrics=(--metrics-listen 127.0.0.1:0)
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" \
  --output "udp://127.0.0.1:$(cat "$WORK/rx.port")" "${metrics[@]}"
# The per-link interarrival jitter comes from the edge's send timestamps: it must not notice the
# offset, the drift or the wrap of the 32-bit timestamps (a spike would not show in a final
# scrape, so the gauge is watched through the run).
if ((${#metrics[@]} > 0)); then
  wait_for_line "$WORK/gateway.log" 'metrics on http://' 5
  python3 "$HERE/metric_watch.py" --stop-file "$WORK/done" --metric braid_link_jitter_seconds \
    --url "$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$WORK/gateway.log" | head -n1)" \
    >"$WORK/jitter.log" 2>&1 &
  WATCH_PID=$!
  PIDS+=("$WATCH_PID")
fi
{
  printf '[scenario]\nseed = 1\ngateway = "%s"\n' "$GATEWAY_ADDR"
  for name in a b c; do
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 3000\n' "$name"
    printf 'up.delay_ms = %s\ndown.delay_ms = %s\n' "$PATH_DELAY_MS" "$PATH_DELAY_MS"
  done
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config "$LATENCY_MS" a b c

input_port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_edge "$WORK/edge.log" --config "$WORK/edge.toml" --input "udp://127.0.0.1:$input_port" \
  --clock-skew "$CLOCK_SKEW"
if [[ ${SENDER_FIRST:-0} == 1 ]]; then
  sleep 0.05  # the edge's input socket is bound; the session is not established yet
else
  wait_for_line "$WORK/edge.log" 'session [0-9a-f]+ established' 10
fi

python3 "$HERE/latency_ts_sender.py" --dest "127.0.0.1:$input_port" --kbps 3000 \
  --seconds "$SECONDS_OF_MEDIA" --count-file "$WORK/sent.count" || die "the sender failed"
rc=0
wait "$RECEIVER_PID" || rc=$?
cat "$WORK/receiver.log"
touch "$WORK/done"
if [[ -n ${WATCH_PID:-} ]]; then
  wait "$WATCH_PID" || die "the metrics watcher failed"
  cat "$WORK/jitter.log"
  jitter=$(awk '/^max / {print $2}' "$WORK/jitter.log")
  # 20 ms: a stalling VM puts ~5 ms into it; a wrap or an offset taken for delay puts seconds.
  below "$jitter" 0.020 || die "a link's interarrival jitter reached $jitter s (20 ms at most)"
fi
stop "$EDGE_PID" || die "edge exited non-zero"
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
stop "$GATEWAY_PID" || die "gateway exited non-zero"
stop "$LINKEM_PID" || die "braid-linkem exited non-zero"
grep -E '^final ' "$WORK/gateway.log"
grep -E '^final' "$WORK/edge.log"
((rc == 0)) || die "end-to-end latency check failed (receiver exit $rc)"
skipped=$(stat_value "$WORK/gateway.log" skipped)
late=$(stat_value "$WORK/gateway.log" late)
((skipped == 0 && late == 0)) || die "$skipped media packets skipped, $late late"
log "PASS: latency within 20 ms of $((LATENCY_MS + PATH_DELAY_MS)) ms under clock skew $CLOCK_SKEW"
