#!/usr/bin/env bash
# Braid's own traffic through braid-linkem: edge → linkem (one 10 Mbit/s link, 30 ms each way,
# a NAT rebinding half-way) → gateway. The handshake needs the downlink, the rebinding moves the
# link at the gateway, and the output must still be byte-identical to the input.
source "$(dirname "$0")/lib.sh"

make_ts "$WORK/in.ts" 4
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
cat >"$WORK/scenario.toml" <<TOML
[scenario]
gateway = "$GATEWAY_ADDR"
[[links]]
name = "lte"
listen = "127.0.0.1:0"
up.rate_kbps = 10000
up.delay_ms = 30
down.rate_kbps = 10000
down.delay_ms = 30
[[events]]
link = "lte"
at_s = 2.5
kind = "rebind"
TOML
start_linkem "$WORK/scenario.toml"
LINK_ADDR=$(linkem_addr lte)

start_edge "$WORK/edge.log" --gateway "$LINK_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 400
finish_transfer 40
grep -q 'NAT rebinding' "$WORK/linkem.log" || die "linkem did not rebind the link"
cmp "$WORK/in.ts" "$WORK/out.ts" || { tail -n 5 "$WORK/gateway.log"; die "output differs from input"; }
for dir in up down; do
  n=$(grep -c ",$dir,.*,ok$" "$WORK/record.csv" || true)
  ((n > 0)) || die "no $dir packets went through linkem"
done
log "byte-identical through linkem: $(stat -c %s "$WORK/out.ts") bytes; $(grep -E '^final' "$WORK/linkem.log")"
