#!/usr/bin/env bash
# FEC against random loss: three constant 3 Mbit/s links at 40 ms, each losing 2 % of its
# packets at random, a 4 Mbit/s stream at 500 ms, sent twice: with FEC (the default) and with
# --no-fec. With FEC nothing is missing, FEC recovers packets (the gateway counts them by
# mechanism), critical packets go twice, and the edge resends fewer packets than with ARQ alone.
source "$(dirname "$0")/lib.sh"
make_cbr_ts "$WORK/in.ts" 16 4000
keygen 1 "$WORK/edge.key"

# run LABEL EDGE_ARGS...: one transfer; leaves $WORK/LABEL-{edge,gateway}.log.
run() {
  local label=$1
  shift
  rm -f "$WORK/out.ts" "$WORK/record.csv"
  start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
  {
    constant_links 3000 a b c
  } | sed 's/^up.delay_ms = 40$/up.delay_ms = 40\nup.loss = 0.02/' >"$WORK/scenario.toml"
  start_linkem "$WORK/scenario.toml"
  write_bond_config 500 a b c
  start_edge "$WORK/edge.log" --config "$WORK/edge.toml" "$@"
  finish_transfer 40
  mv "$WORK/gateway.log" "$WORK/$label-gateway.log"
  mv "$WORK/edge.log" "$WORK/$label-edge.log"
  grep -E '^final' "$WORK/$label-gateway.log" "$WORK/$label-edge.log"
}

run fec
lost=$(awk -F, '$2 == "up" && $9 == "loss"' "$WORK/record.csv" | wc -l)
((lost > 50)) || die "linkem dropped only $lost packets: the scenario has no loss"
skipped=$(stat_value "$WORK/fec-gateway.log" skipped)
((skipped == 0)) || die "with FEC, $skipped media packets were skipped"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
fec_recovered=$(stat_value "$WORK/fec-gateway.log" fec_recovered)
((fec_recovered > 0)) || die "FEC recovered nothing of $lost lost packets"
fec_resent=$(stat_value "$WORK/fec-edge.log" retransmits)
# Over a lossy bond the critical packets (keyframes, parameter sets, PSI) also go twice.
dups=$(stat_value "$WORK/fec-edge.log" duplicates)
((dups > 0)) || die "no critical packet was sent twice over a bond losing 2 %"

run arq --no-fec
arq_resent=$(stat_value "$WORK/arq-edge.log" retransmits)
arq_repairs=$(stat_value "$WORK/arq-edge.log" repairs)
((arq_repairs == 0)) || die "--no-fec still sent $arq_repairs repairs"
((fec_resent < arq_resent)) ||
  die "with FEC the edge resent $fec_resent packets, not fewer than ARQ alone ($arq_resent)"
log "PASS: $lost lost; FEC recovered $fec_recovered; resends $fec_resent with FEC, $arq_resent without"
