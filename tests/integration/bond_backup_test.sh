#!/usr/bin/env bash
# A backup link (links[].priority = "backup", e.g. metered satellite) carries media only when
# the others fall short: three 3 Mbit/s links at 40 ms, c the backup, a 4 Mbit/s stream at
# 500 ms. While a and b carry the stream c takes (almost) nothing; when a dies at 6 s, a and b
# alone cannot (3 Mbit/s), and c carries what b cannot. Nothing may be missing.
source "$(dirname "$0")/lib.sh"
bond_setup 4000 16
{
  constant_links 3000 a b c
  printf '[[events]]\nlink = "a"\nkind = "death"\nat_s = 6\nduration_s = 60\n'
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 500 a b c
printf 'priority = "backup"\n' >>"$WORK/edge.toml"  # the last table: c
"$EDGE" --config "$WORK/edge.toml" --check-config | grep -q 'priority = "backup"' ||
  die "the edge config does not make c a backup link"
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 40

grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
skipped=$(stat_value "$WORK/gateway.log" skipped)
((skipped == 0)) || die "$skipped media packets were skipped"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
# Media (datagrams above 200 bytes) on each link by linkem's clock: 2-6 s (a and b suffice;
# the first 2 s are the links' startup) and after 7 s (a dead).
media() {
  awk -F, -v l="$1" -v from="$2" -v to="$3" \
    '$1 == l && $2 == "up" && $4 > 200 && $5 >= from && $5 < to' "$WORK/record.csv" | wc -l
}
c_before=$(media c 2e9 6e9)
b_before=$(media b 2e9 6e9)
a_before=$(media a 2e9 6e9)
c_after=$(media c 7e9 1e12)
log "media 2-6 s: a $a_before, b $b_before, c (backup) $c_before; after 7 s: c $c_after"
((c_before * 50 <= a_before + b_before)) ||
  die "the backup link carried $c_before media packets while a and b sufficed"
((c_after > 300)) || die "the backup link carried only $c_after media packets after a died"
log "PASS: byte-identical; the backup link carried $c_before packets while not needed, $c_after after"
