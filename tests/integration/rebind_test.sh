#!/usr/bin/env bash
# The link's address changes mid-stream (a NAT rebinding, twice): the gateway moves the link
# on the first authenticated packet from the new address, keeps the session, and the output
# stays byte-identical.
source "$(dirname "$0")/lib.sh"

make_ts "$WORK/in.ts" 4
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
"$ATTACK" --target "$GATEWAY_ADDR" relay --listen 127.0.0.1:0 --duration 20 --replay-every 0 \
  --tamper-every 0 --handshake-replays 0 --rebind-after 300 >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_for_line "$WORK/relay.log" 'relay listening on' 5
RELAY_ADDR=$(awk '/relay listening on/ {print $4}' "$WORK/relay.log")
start_edge "$WORK/edge.log" --gateway "$RELAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 300
wait "$EDGE_PID" || die "edge exited non-zero"
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
stop "$RELAY_PID" || true
stop "$GATEWAY_PID" || die "gateway exited non-zero"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
moves=$(stat_value "$WORK/gateway.log" link_moves)
handshakes=$(stat_value "$WORK/gateway.log" handshakes)
((moves >= 2)) || die "expected 2 link moves, saw $moves"
[[ $handshakes == 1 ]] || die "the rebinding cost a new session ($handshakes handshakes)"
log "link moved $moves times, one session, byte-identical"
