#!/usr/bin/env bash
# An edge that vanishes (SIGKILL: no CLOSE) leaves a session that the gateway closes after the
# idle timeout, reclaiming its state; what it held still reaches the output.
source "$(dirname "$0")/lib.sh"

make_ts "$WORK/in.ts" 6 1M
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts" \
  --idle-timeout-ms 1500
start_edge "$WORK/edge.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 300
wait_for_line "$WORK/gateway.log" 'sessions=1 ' 10
sleep 1
kill -KILL "$EDGE_PID"
wait "$EDGE_PID" 2>/dev/null || true
t0=$SECONDS
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
wait_for_line "$WORK/gateway.log" 'sessions=0 ' 5
log "session reclaimed about $((SECONDS - t0)) s after the edge vanished"
stop "$GATEWAY_PID" || die "gateway exited non-zero"
[[ -s $WORK/out.ts ]] || die "nothing reached the output"
played=$(stat_value "$WORK/gateway.log" out_bytes)
cmp -n "$played" "$WORK/in.ts" "$WORK/out.ts" || die "the output is not a prefix of the input"
log "output: first $played bytes of the input, intact"
