#!/usr/bin/env bash
# Bonding over links of very different delay: three 2 Mbit/s links at 30 / 80 / 250 ms one way,
# a 4 Mbit/s stream (so at least two links are needed, and the fast pair alone falls just
# short of stream + overhead) at 1000 ms. Nothing may be missing or late; the 250 ms link
# carries some media, and only what arrives in time.
source "$(dirname "$0")/lib.sh"
make_cbr_ts "$WORK/in.ts" 16 4000
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
{
  printf '[scenario]\nseed = 1\ngateway = "%s"\n' "$GATEWAY_ADDR"
  for link in a:30 b:80 c:250; do
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 2000\n' "${link%%:*}"
    printf 'up.delay_ms = %s\ndown.delay_ms = %s\n' "${link##*:}" "${link##*:}"
  done
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 1000 a b c
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 40

grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
skipped=$(stat_value "$WORK/gateway.log" skipped)
late=$(stat_value "$WORK/gateway.log" late)
late_copies=$(stat_value "$WORK/gateway.log" late_copies)
((skipped == 0)) || die "$skipped media packets were skipped"
((late == 0)) || die "$late media packets arrived after their playout time"
((late_copies == 0)) || die "$late_copies copies arrived after their packet had played"
slow=$(awk -F, '$1 == "c" && $2 == "up" && $9 == "ok" && $4 > 200' "$WORK/record.csv" | wc -l)
((slow > 0)) || die "the 250 ms link carried no media (the fast pair alone is too small)"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
log "PASS: byte-identical over 30/80/250 ms links; the 250 ms link carried $slow media packets"
