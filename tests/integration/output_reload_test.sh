#!/usr/bin/env bash
# A config reload that removes an output leaves it to the sessions already playing to it, and
# keeps their claim on its URL: when a second reload brings the URL back, another edge key is
# still refused it (its stream would be mixed into the same file), and the sessions of the key
# that holds it play on into it. The output closes as soon as its last session ends (no
# linger: no edge is expected back to a target the config dropped), and the file holds exactly
# what that key's sessions played.
source "$(dirname "$0")/lib.sh"

"$LOADGEN" keygen --count 2 --out "$WORK/keys" >/dev/null
(umask 077; grep ' 2 ' "$WORK/keys" >"$WORK/key2")
write_outputs() {  # one output for every key, no {key}: the first key to play claims it
  printf '[gateway]\nkeys_file = "%s"\n[[outputs]]\nurl = "file:%s"\n' "$WORK/keys" "$1" \
    >"$WORK/gateway.toml"
}
reload() {
  local before
  before=$(grep -c 'outputs reloaded' "$WORK/gateway.log" || true)
  kill -HUP "$GATEWAY_PID"
  local waited=0
  until (($(grep -c 'outputs reloaded' "$WORK/gateway.log" || true) > before)); do
    ((waited++ < 50)) || die "no 'outputs reloaded' line after SIGHUP"
    sleep 0.1
  done
}
write_outputs "$WORK/a.ts"
start_gateway "$WORK/gateway.log" --config "$WORK/gateway.toml" --output-linger-s 30

# Key 1 plays to a.ts for 6 s; meanwhile the output moves to b.ts and back to a.ts.
"$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/keys" --sessions 1 --links 2 \
  --rate-mbps 2 --seconds 6 --latency-ms 200 >"$WORK/loadgen-1.log" 2>&1 &
key1=$!
PIDS+=("$key1")
wait_for_line "$WORK/gateway.log" 'output for edge key 1: file:' 10
sleep 1
write_outputs "$WORK/b.ts"
reload
grep -q 'outputs reloaded: 1 configured, 1 open (1 of them until their last session ends)' \
  "$WORK/gateway.log" || die "the removed output did not stay open for its session"
write_outputs "$WORK/a.ts"
reload

# Key 2 asks for a.ts while key 1 still plays into it: refused.
"$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/key2" --sessions 1 --links 2 \
  --rate-mbps 2 --seconds 1 --latency-ms 200 >"$WORK/loadgen-2.log" 2>&1 || true
grep -q "edge key 2 refused: output 'file:$WORK/a.ts' already carries edge key 1's stream" \
  "$WORK/gateway.log" || die "edge key 2 was not refused the output edge key 1 plays to"
grep -q 'output for edge key 2' "$WORK/gateway.log" && die "edge key 2 got an output"

wait "$key1" || { cat "$WORK/loadgen-1.log"; die "key 1's loadgen failed"; }
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
stop "$GATEWAY_PID" || die "gateway exited non-zero"
played=$(grep -E '^final ' "$WORK/gateway.log" | tr ' ' '\n' | grep -E '^out_bytes=' | cut -d= -f2)
size=$(stat -c %s "$WORK/a.ts")
((size == played && played > 0)) || die "a.ts holds $size bytes, the gateway played $played (key 1 only)"
[[ ! -s $WORK/b.ts ]] || die "b.ts has data: no session was opened while it was configured"
log "an output a reload removed and brought back stayed key 1's: $size bytes (= out_bytes), key 2 refused"
