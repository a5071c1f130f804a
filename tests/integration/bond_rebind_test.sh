#!/usr/bin/env bash
# NAT rebinding of a live link, then the death of another: three 3 Mbit/s links at 40 ms with
# 1 % random loss on the uplinks, a 4 Mbit/s stream at 500 ms. Link a's NAT rebinds at 4 s (the
# gateway must move it, keeping its link ID and the session); link b dies for good at 8 s,
# possibly taking a feedback path with it. Nothing may be missing, and NACK-driven recovery
# must keep working after b is gone.
source "$(dirname "$0")/lib.sh"
make_cbr_ts "$WORK/in.ts" 16 4000
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
{
  printf '[scenario]\nseed = 5\ngateway = "%s"\n' "$GATEWAY_ADDR"
  for name in a b c; do
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 3000\n' "$name"
    printf 'up.delay_ms = 40\nup.loss = 0.01\ndown.delay_ms = 40\n'
  done
  printf '[[events]]\nlink = "a"\nkind = "rebind"\nat_s = 4\n'
  printf '[[events]]\nlink = "b"\nkind = "death"\nat_s = 8\n'
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 500 a b c
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 40

grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
grep -q 'NAT rebinding' "$WORK/linkem.log" || die "linkem did not rebind link a"
moves=$(stat_value "$WORK/gateway.log" link_moves)
((moves >= 1)) || die "the gateway did not move link a to its new address"
sessions=$(grep -c 'opened for edge key' "$WORK/gateway.log")
((sessions == 1)) || die "the rebinding cost the session ($sessions sessions opened)"
# After b died (8 s, linkem's clock) the others still lost packets and ARQ still repaired them.
late_losses=$(awk -F, '$2 == "up" && ($9 == "loss") && $5 > 9e9' "$WORK/record.csv" | wc -l)
((late_losses > 0)) || die "no uplink losses after 9 s: the scenario did not exercise ARQ then"
recovered=$(stat_value "$WORK/gateway.log" arq_recovered)
((recovered > 0)) || die "nothing was recovered by ARQ"
skipped=$(stat_value "$WORK/gateway.log" skipped)
((skipped == 0)) || die "$skipped media packets were skipped"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
log "PASS: byte-identical through a NAT rebinding and a link death; $late_losses losses after 9 s, $recovered recovered by ARQ in all"
