#!/usr/bin/env bash
# Null-packet deletion and restoration: a constant-rate mux (2 Mbit/s, about a fifth of it null
# packets, the video padded with filler data) over two braid-linkem links with room to spare.
# The edge deletes the null and filler-only packets; the gateway puts them back in place: the
# output is byte-identical to the input, and the gateway restored as many as the edge deleted.
source "$(dirname "$0")/lib.sh"
make_media_ts "$WORK/in.ts" 8
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
constant_links 3000 a b >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 500 a b
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 30

grep -E '^final ' "$WORK/gateway.log"
grep -E '^final ' "$WORK/edge.log"
nulls=$(stat_value "$WORK/edge.log" nulls_deleted)
filler=$(stat_value "$WORK/edge.log" filler_deleted)
restored=$(stat_value "$WORK/gateway.log" nulls_restored)
((nulls > 0)) || die "the edge deleted no null packet"
((restored == nulls + filler)) || die "the gateway restored $restored, the edge deleted $nulls + $filler"
((restored > 0))
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
input=$(stat_value "$WORK/edge.log" input_bytes)
ts=$(stat_value "$WORK/edge.log" ts_bytes)
log "PASS: byte-identical; $nulls null and $filler filler packets deleted and restored ($(wc -c <"$WORK/in.ts") TS bytes in, $ts sent as media)"
