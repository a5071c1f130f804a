#!/usr/bin/env bash
# Kill and restart the gateway mid-stream: the edge notices (stateless reset), handshakes
# again, and the output resumes within 2 s of the restart. Then stop it with SIGTERM: the edge
# learns of it from its CLOSE at once.
source "$(dirname "$0")/lib.sh"

make_ts "$WORK/in.ts" 10 1M
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway1.log" --keys "$WORK/edge.key" --output "file:$WORK/out1.ts"
PORT=${GATEWAY_ADDR##*:}
start_edge "$WORK/edge.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts?loop=1" --latency-ms 300
wait_for_line "$WORK/edge.log" 'established' 10
sleep 2
kill -KILL "$GATEWAY_PID"
wait "$GATEWAY_PID" 2>/dev/null || true
sleep 0.5
t0=$(date +%s.%N)
GATEWAY_PORT=$PORT start_gateway "$WORK/gateway2.log" --keys "$WORK/edge.key" \
  --output "file:$WORK/out2.ts"
deadline=$((SECONDS + 10))
until [[ -s $WORK/out2.ts ]]; do
  ((SECONDS < deadline)) || die "no output after the restart"
  sleep 0.02
done
t1=$(date +%s.%N)
resume_s=$(elapsed "$t0" "$t1")
log "output resumed ${resume_s} s after the restart"
grep -q 'stateless reset' "$WORK/edge.log" || die "the edge did not act on a stateless reset"
below "$resume_s" 2.0 || die "resume took ${resume_s} s (limit 2 s)"
sleep 1
# A gateway stopped with SIGTERM closes the session (CLOSE, several copies on every link): the
# edge acts on the first at once and handshakes again, and the other copies change nothing.
stop "$GATEWAY_PID" || die "gateway exited non-zero on SIGTERM"
wait_for_line "$WORK/edge.log" 'the gateway closed the session' 2
sleep 0.5
closes=$(grep -c 'the gateway closed the session' "$WORK/edge.log")
((closes == 1)) || die "the edge acted on $closes CLOSE messages of one shutdown"
log "gateway stopped: the edge saw its CLOSE and handshakes again"
stop "$EDGE_PID" || die "edge exited non-zero on SIGTERM"
need ffprobe
frames=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets \
  -of csv=p=0 "$WORK/out2.ts" 2>/dev/null | grep -E "^[0-9]+$" | head -n1)
((frames > 10)) || die "resumed output has only $frames video packets"
log "resumed output: $frames video packets"
