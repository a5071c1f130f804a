#!/usr/bin/env bash
# Low latency needs FEC (issue 7, scenario 1): three constant 2.5 Mbit/s links at 60 ms one
# way, 2 % random loss on each and Gilbert-Elliott bursts on c (p 0.068, r 0.852, 4 % / 50 %
# loss in the good / bad state: the bursty cellular profile of the Tambur paper), a 4 Mbit/s
# stream at 200 ms, where a resend rarely beats the deadline. Nothing is missing (the output
# is byte-identical), FEC rebuilds what the links lose, and the overhead (every UDP payload
# byte the edge sends ÷ TS bytes after null deletion: headers, repairs, resends, critical
# copies, control) is at most 1.4. bench/bond_bench.sh fec-lowlat runs it for 120 s, and
# arq-lowlat shows ARQ alone losing packets there.
source "$(dirname "$0")/lib.sh"
bond_setup 4000 20
{
  printf '[scenario]\nseed = 1\ngateway = "%s"\n' "$GATEWAY_ADDR"
  lowlat_links
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 200 a b c
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 50

grep -E '^final' "$WORK/gateway.log" "$WORK/edge.log"
lost=$(grep -cE ',up,.*,(loss|burst_loss)$' "$WORK/record.csv" || true)
((lost > 200)) || die "linkem dropped only $lost uplink packets: the scenario has no loss"
skipped=$(stat_value "$WORK/gateway.log" skipped)
stale=$(stat_value "$WORK/edge.log" stale_dropped)
((skipped == 0)) || die "$skipped media packets were skipped at the gateway"
((stale == 0)) || die "the edge dropped $stale media packets past their deadline"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
fec_recovered=$(stat_value "$WORK/gateway.log" fec_recovered)
((fec_recovered > 0)) || die "FEC recovered nothing of $lost lost packets"
overhead=$(stat_value "$WORK/edge.log" overhead)
awk -v x="$overhead" 'BEGIN { exit !(x <= 1.4) }' || die "overhead $overhead is above 1.4"
log "PASS: 200 ms over lossy links: $lost lost, FEC recovered $fec_recovered, nothing missing, overhead $overhead"
