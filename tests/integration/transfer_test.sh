#!/usr/bin/env bash
# A TS file crosses edge -> gateway over one loopback link and arrives byte-identical.
source "$(dirname "$0")/lib.sh"

make_ts "$WORK/in.ts" 4
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts" \
  --aead "${GATEWAY_AEAD:-auto}"
start_edge "$WORK/edge.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 300 --aead "${EDGE_AEAD:-auto}" \
  ${REKEY_AFTER:+--rekey-after-packets "$REKEY_AFTER"}
# The edge exits by itself once the file is sent and acknowledged.
rc=0
timeout 30 tail --pid="$EDGE_PID" -f /dev/null || die "edge did not finish"
wait "$EDGE_PID" || rc=$?
[[ $rc == 0 ]] || { cat "$WORK/edge.log"; die "edge exited with $rc"; }
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
stop "$GATEWAY_PID" || die "gateway exited non-zero"
cmp "$WORK/in.ts" "$WORK/out.ts" || { tail -n 5 "$WORK/gateway.log"; die "output differs from input"; }
if command -v ffprobe >/dev/null; then
  errors=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$WORK/out.ts" 2>&1 >/dev/null)
  [[ -z $errors ]] || die "ffprobe: $errors"
fi
if [[ -n ${REKEY_AFTER:-} ]]; then
  rekeys=$(stat_value "$WORK/gateway.log" rekeys)
  ((rekeys >= 2)) || die "expected the session to rekey at least twice, saw $rekeys"
  log "rekeyed $rekeys times during the transfer"
fi
log "byte-identical: $(stat -c %s "$WORK/out.ts") bytes; $(grep -E '^final' "$WORK/gateway.log")"
