#!/usr/bin/env bash
# FEC on clean links (issue 7, scenario 3): three constant 3 Mbit/s links at 40 ms, a 4 Mbit/s
# stream at 500 ms. The repair rate stays at its floor (one repair per 20 sources, fec.
# min_repair_ratio 0.05), the overhead (every UDP payload byte the edge sends ÷ TS bytes) is at
# most 1.15, nothing is missing and the output is byte-identical.
source "$(dirname "$0")/lib.sh"
bond_setup 4000 16
constant_links 3000 a b c >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 500 a b c
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 40

grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
skipped=$(stat_value "$WORK/gateway.log" skipped)
((skipped == 0)) || die "$skipped media packets were skipped"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
blocks=$(stat_value "$WORK/edge.log" fec_blocks)
repairs=$(stat_value "$WORK/edge.log" repairs)
data=$(stat_value "$WORK/edge.log" data_packets)
overhead=$(stat_value "$WORK/edge.log" overhead)
((blocks > 0 && repairs > 0)) || die "no FEC blocks or repairs were sent ($blocks, $repairs)"
# The floor: one repair per block of up to 32 (at least one per block, 5 % of a full one).
ratio=$(awk -v r="$repairs" -v d="$data" 'BEGIN { printf "%.3f", r / d }')
below "$ratio" 0.08 || die "repair rate $ratio on clean links is above its floor"
# After 5 s the repair ratio of each block is the floor's; the stats lines say the last one.
late_ratios=$(awk '/^stats t=/ { split($2, t, "="); if (t[2] >= 5) print }' "$WORK/edge.log" |
  grep -oE 'repair_ratio=[0-9.]+' | cut -d= -f2 | sort -u)
for r in $late_ratios; do below "$r" 0.11 || die "repair ratio $r after 5 s"; done
below "$overhead" 1.15 || die "overhead $overhead is above 1.15"
log "PASS: clean links: $repairs repairs for $data packets ($ratio), overhead $overhead, nothing missing"
