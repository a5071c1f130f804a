#!/usr/bin/env bash
# Stopping an edge by signal finishes its stream. Mid-file, over a link with 3 % loss (40 ms each
# way, 500 ms latency), SIGTERM closes the input; the edge still sends what it had read and
# answers NACKs until the gateway has all of it, then closes the session: the output is exactly
# the input up to what the edge read, nothing skipped, the edge exits 0. Without a session a
# signal stops the edge at once, and so does a second signal while it finishes (the gateway
# frozen with SIGSTOP, so nothing is ever acknowledged).
source "$(dirname "$0")/lib.sh"

one_lossy_link 20 5

# 1. A stop mid-stream delivers everything read.
start_edge "$WORK/edge.log" --gateway "$LINK_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 500
wait_for_line "$WORK/edge.log" 'session [0-9a-f]+ established' 10
sleep 4
t0=$(date +%s.%N)
kill -TERM "$EDGE_PID"
rc=0
wait "$EDGE_PID" || rc=$?
t1=$(date +%s.%N)
((rc == 0)) || { tail -n 20 "$WORK/edge.log"; die "edge exited with $rc after SIGTERM"; }
grep -q 'finishing the stream' "$WORK/edge.log" || die "the edge did not finish its stream"
log "edge finished its stream $(elapsed "$t0" "$t1") s after SIGTERM"
# The session gives up 2 s after the latency; finishing takes a round trip or a few resends.
below "$(elapsed "$t0" "$t1")" 6 || die "the edge took $(elapsed "$t0" "$t1") s to stop"
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
stop "$GATEWAY_PID" || die "gateway exited non-zero"
stop "$LINKEM_PID" || die "braid-linkem exited non-zero"  # it writes its record as it stops
grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
# What the edge took from the input (a paced file is read ahead of its time; that part was
# not due yet): the TS bytes it packed, and the null packets it deleted, which the gateway
# puts back.
read_bytes=$(($(stat_value "$WORK/edge.log" ts_bytes) + 188 * $(stat_value "$WORK/edge.log" nulls_deleted)))
out_bytes=$(stat -c %s "$WORK/out.ts")
in_bytes=$(stat -c %s "$WORK/in.ts")
skipped=$(stat_value "$WORK/gateway.log" skipped)
late=$(stat_value "$WORK/gateway.log" late)
lost=$(grep -cE ',up,.*,loss$' "$WORK/record.csv" || true)
log "edge took $read_bytes of $in_bytes bytes, the gateway wrote $out_bytes; linkem dropped $lost"
((out_bytes < in_bytes)) || die "the stop came after the whole file: not a test of it"
((out_bytes == read_bytes)) || die "the output has $out_bytes bytes, the edge took $read_bytes"
((skipped == 0 && late == 0)) || die "$skipped skipped, $late late"
cmp -n "$out_bytes" "$WORK/in.ts" "$WORK/out.ts" || die "the output differs from the input"
((lost > 5)) || die "the link lost only $lost packets: ARQ was not exercised"

# 2. No session to finish (nothing answers at the gateway's address): a signal stops it at once.
start_gateway "$WORK/gateway2.log" --keys "$WORK/edge.key" --output "file:$WORK/out2.ts"
absent=$GATEWAY_ADDR
stop "$GATEWAY_PID" || die "gateway exited non-zero"
start_edge "$WORK/edge2.log" --gateway "$absent" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 500
sleep 1
t0=$(date +%s.%N)
stop "$EDGE_PID" || die "edge without a session exited non-zero on SIGTERM"
t1=$(date +%s.%N)
grep -q 'closing the session' "$WORK/edge2.log" || die "the edge did not log its stop"
below "$(elapsed "$t0" "$t1")" 2 || die "the edge without a session took $(elapsed "$t0" "$t1") s"

# 3. A second signal while finishing stops at once.
start_gateway "$WORK/gateway3.log" --keys "$WORK/edge.key" --output "file:$WORK/out3.ts"
start_edge "$WORK/edge3.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 500
wait_for_line "$WORK/edge3.log" 'session [0-9a-f]+ established' 10
sleep 2
kill -STOP "$GATEWAY_PID"
kill -TERM "$EDGE_PID"
wait_for_line "$WORK/edge3.log" 'finishing the stream' 5
sleep 0.5
kill -0 "$EDGE_PID" 2>/dev/null || die "the edge stopped before anything was acknowledged"
t0=$(date +%s.%N)
stop "$EDGE_PID" || die "edge exited non-zero on its second SIGTERM"
t1=$(date +%s.%N)
kill -CONT "$GATEWAY_PID"
grep -q 'closing the session' "$WORK/edge3.log" || die "the second signal was not acted on"
below "$(elapsed "$t0" "$t1")" 2 || die "the second signal took $(elapsed "$t0" "$t1") s"
log "PASS: a stopped edge delivered all $read_bytes bytes it took; without a session, or on a" \
  "second signal, it stopped at once"
