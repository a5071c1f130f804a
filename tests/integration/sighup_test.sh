#!/usr/bin/env bash
# SIGHUP re-reads the config: a reloadable change (log level) takes effect, a restart-only
# change (listen address) is reported and not applied, a key added to the key file admits
# its edge, and an invalid file changes nothing. --check-config accepts the examples and
# rejects a bad file with exit code 2.
source "$(dirname "$0")/lib.sh"

"$GATEWAY" --config "$SRC/docs/examples/gateway.toml" --check-config >/dev/null ||
  die "--check-config rejects docs/examples/gateway.toml"
"$EDGE" --config "$SRC/docs/examples/edge.toml" --check-config >/dev/null ||
  die "--check-config rejects docs/examples/edge.toml"
printf '[gateway]\nlisten = 5\n' >"$WORK/bad.toml"
rc=0
"$GATEWAY" --config "$WORK/bad.toml" --check-config >/dev/null 2>"$WORK/bad.err" || rc=$?
[[ $rc == 2 ]] || die "a bad config exited $rc, not 2"
grep -q 'bad.toml:2: gateway.listen: expected a string' "$WORK/bad.err" ||
  { cat "$WORK/bad.err"; die "no file:line:key error for the bad config"; }

make_ts "$WORK/in.ts" 2
keygen 1 "$WORK/edge1.key"
keygen 2 "$WORK/edge2.key"
cp "$WORK/edge1.key" "$WORK/gateway.keys"
write_config() {
  cat >"$WORK/gateway.toml" <<TOML
[gateway]
listen = "$1"
keys_file = "$WORK/gateway.keys"
secret_file = "$WORK/gateway.secret"
[log]
level = "$2"
[metrics]
listen = "127.0.0.1:0"
[[outputs]]
url = "file:$WORK/out-{key}.ts"
TOML
}
write_config 127.0.0.1:0 info
GATEWAY_PORT=0
"$GATEWAY" --config "$WORK/gateway.toml" --stats-interval 1 >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
PIDS+=("$GATEWAY_PID")
wait_for_line "$WORK/gateway.log" 'listening on' 10
GATEWAY_ADDR=$(grep -oE 'listening on [0-9.]+:[0-9]+' "$WORK/gateway.log" | head -n1 | awk '{print $3}')

# An unknown edge is refused...
start_edge "$WORK/edge2-early.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge2.key" \
  --input "file:$WORK/in.ts" --latency-ms 200
sleep 1.5
grep -q established "$WORK/edge2-early.log" && die "edge 2 got in before its key was added"
kill -TERM "$EDGE_PID"; wait "$EDGE_PID" || true
(($(stat_value "$WORK/gateway.log" drop_unknown_key) > 0)) || die "edge 2's inits not counted as unknown_key"

# ...until its key is added and the gateway is told.
cat "$WORK/edge2.key" >>"$WORK/gateway.keys"
write_config 127.0.0.1:7999 debug
kill -HUP "$GATEWAY_PID"
wait_for_line "$WORK/gateway.log" 'SIGHUP: log.level changed \("info" -> "debug"\): applied' 5
wait_for_line "$WORK/gateway.log" 'SIGHUP: gateway.listen changed .* needs a restart' 5
wait_for_line "$WORK/gateway.log" 'SIGHUP: 2 keys loaded' 5
wait_for_line "$WORK/gateway.log" '\[debug\] SIGHUP: reload done' 5
start_edge "$WORK/edge2.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge2.key" \
  --input "file:$WORK/in.ts" --latency-ms 200
wait "$EDGE_PID" || die "edge 2 exited non-zero after its key was added"
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10

# A broken file changes nothing (and says why).
printf 'this is not toml\n' >"$WORK/gateway.toml"
kill -HUP "$GATEWAY_PID"
wait_for_line "$WORK/gateway.log" 'SIGHUP: .*gateway.toml is not valid, nothing changed' 5
stop "$GATEWAY_PID" || die "gateway exited non-zero"
cmp "$WORK/in.ts" "$WORK/out-2.ts" || die "edge 2's output differs from its input"
log "reloaded: log level live, listen reported as restart-only, key 2 admitted, bad file refused"
