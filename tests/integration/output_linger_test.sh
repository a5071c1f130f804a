#!/usr/bin/env bash
# Outputs close when no session has used them for gateway.output_linger_s, and a file output
# reopened later for the same key is appended to: a gateway that has seen many edge keys does
# not keep a ring and a file open for each, and an edge that comes back after an outage
# continues its recording instead of emptying it. Key 1 plays to its own file for 2 s, its
# session ends (CLOSE), its output closes after the linger (1 s here), then key 1 plays for
# 2 s more: the file holds both runs (its size is every byte the gateway played out).
source "$(dirname "$0")/lib.sh"

"$LOADGEN" keygen --count 1 --out "$WORK/keys" >/dev/null
mkdir -p "$WORK/out"
start_gateway "$WORK/gateway.log" --keys "$WORK/keys" --output "file:$WORK/out/{key}.ts" \
  --output-linger-s 1

play() {
  "$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/keys" --sessions 1 --links 2 \
    --rate-mbps 2 --seconds 2 --latency-ms 200 >"$WORK/loadgen-$1.log" 2>&1 ||
    { cat "$WORK/loadgen-$1.log"; die "loadgen run $1 failed"; }
}

play 1
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
wait_for_line "$WORK/gateway.log" "output file:$WORK/out/1.ts closed: no session for 1 s" 10
sleep 1.2  # a stats line after the close
[[ "$(stat_value "$WORK/gateway.log" outputs)" == 0 ]] ||
  die "stats say outputs=$(stat_value "$WORK/gateway.log" outputs) after the close"
first=$(stat -c %s "$WORK/out/1.ts")
((first > 0)) || die "the first run wrote nothing"

play 2
wait_for_line "$WORK/gateway.log" '(reopened)' 10
stop "$GATEWAY_PID" || die "gateway exited non-zero"
played=$(grep -E '^final ' "$WORK/gateway.log" | tr ' ' '\n' | grep -E '^out_bytes=' | cut -d= -f2)
size=$(stat -c %s "$WORK/out/1.ts")
((size == played)) || die "file holds $size bytes, the gateway played $played (first run: $first)"
((size > first)) || die "the second run added nothing to the file"
log "output closed after its linger and reopened for appending: $first bytes, then $size in all (= out_bytes)"
