#!/usr/bin/env bash
# A marginal link: two steady 2.5 Mbit/s links (40 ms) plus a 6 Mbit/s link whose one-way delay
# swings 100 <-> 1200 ms with a 30 s period, a 4 Mbit/s stream at 1000 ms. Nothing may be
# missing nor late (a late copy only of what the demotion's rescue sent again); the marginal
# link carries media while its delay allows, is set aside once
# as the delay passes what the latency can absorb, and stays aside (no flapping) while the
# delay stays high. (The 120 s run over four periods is in bench/bond_bench.sh.)
source "$(dirname "$0")/lib.sh"
make_cbr_ts "$WORK/in.ts" 18 4000
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
{
  printf '[scenario]\nseed = 1\ngateway = "%s"\n' "$GATEWAY_ADDR"
  for link in a:2500 b:2500 m:6000; do
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = %s\n' \
      "${link%%:*}" "${link##*:}"
    printf 'up.delay_ms = 40\ndown.delay_ms = 40\n'
  done
  printf '[[events]]\nlink = "m"\nkind = "delay_swing"\nat_s = 0\ndirection = "up"\n'
  printf 'delay_ms = 100\ndelay_max_ms = 1200\nperiod_s = 30\nduration_s = 0\n'
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 1000 a b m
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 45

grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
grep -E 'link 2 \(m\)' "$WORK/edge.log" || true
skipped=$(stat_value "$WORK/gateway.log" skipped)
late=$(stat_value "$WORK/gateway.log" late)
late_copies=$(stat_value "$WORK/gateway.log" late_copies)
((skipped == 0)) || die "$skipped media packets were skipped"
((late == 0)) || die "$late media packets arrived after their playout time"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
# What the marginal link held when it was demoted is sent again on the others at once (the
# rescue); an original of those may still arrive, after its copy played (a CI run: 1 of 3).
# So may the original of a packet that FEC or a resend had already rebuilt before the
# demotion: the gateway had acknowledged it, so the rescue did not count it (a CI run at
# 3af7dc5: 2 late copies, 1 rescued, nothing missing). Two of those are allowed; more would be
# media the link took too late. (No rescue at all is a run too: a grep without a match must
# not end the script.)
rescued=$({ grep -oE 'link 2 \(m\): [0-9]+ unacknowledged packets sent again' "$WORK/edge.log" ||
  true; } | awk '{sum += $4} END {print sum + 0}')
((late_copies <= rescued + 2)) ||
  die "$late_copies copies arrived after their packet played (the rescue replaced $rescued)"
log "$late_copies copies arrived after their packet played, of $rescued the rescue replaced"
demotions=$(grep -c 'link 2 (m): \(warm\|live\) -> degrade' "$WORK/edge.log" || true)
((demotions == 1)) || die "the marginal link was demoted $demotions times (want exactly 1)"
grep -q 'link 2 (m): [a-z]* -> degrade (delay' "$WORK/edge.log" ||
  die "the marginal link was not demoted for its delay"
# Media on m (linkem's clock) while its delay is low (the first 5 s: <= 280 ms) and once it is
# far beyond the target (from 12 s: >= 1100 ms). The delay passes 800 ms (the demotion
# threshold, 0.8 x latency) at 8.9 s; the edge learns a packet's delay only when it arrives
# (~1 s later) and demotes after 1 s above the threshold, so by 12 s the link must be aside.
early=$(awk -F, '$1 == "m" && $2 == "up" && $4 > 200 && $5 < 5e9' "$WORK/record.csv" | wc -l)
late_media=$(awk -F, '$1 == "m" && $2 == "up" && $4 > 200 && $5 > 12e9' "$WORK/record.csv" |
  wc -l)
log "media on the marginal link: $early packets in 0-5 s, $late_media after 12 s"
((early > 50)) || die "the marginal link carried only $early media packets while its delay was low"
((late_media == 0)) || die "the marginal link carried $late_media media packets at > 1100 ms"
log "PASS: byte-identical; the marginal link carried $early packets early, demoted once, for delay"
