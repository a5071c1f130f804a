#!/usr/bin/env bash
# ARQ over a lossy emulated link: 3 % random loss plus Gilbert-Elliott bursts on the uplink,
# 1 % loss on the feedback path, 40 ms each way, 500 ms target latency. The gateway NACKs the
# holes once the reorder tolerance has passed, the edge resends what can still arrive in time,
# and the output is byte-identical to the input: nothing missing.
source "$(dirname "$0")/lib.sh"

one_lossy_link 6 11 'up.ge_p = 0.01' 'up.ge_r = 0.5' 'down.loss = 0.01'

start_edge "$WORK/edge.log" --gateway "$LINK_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 500
finish_transfer 40

lost=$(grep -cE ',up,.*,(loss|burst_loss)$' "$WORK/record.csv" || true)
nacked=$(stat_value "$WORK/gateway.log" nacked)
recovered=$(stat_value "$WORK/gateway.log" arq_recovered)
skipped=$(stat_value "$WORK/gateway.log" skipped)
retransmits=$(stat_value "$WORK/edge.log" retransmits)
log "linkem dropped $lost uplink packets; gateway nacked $nacked, recovered $recovered, skipped $skipped; edge resent $retransmits"
((lost > 20)) || die "the link lost only $lost packets: the scenario did not exercise ARQ"
((recovered > 0)) || die "nothing was recovered by ARQ"
((skipped == 0)) || die "$skipped media packets were skipped"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
log "PASS: byte-identical over a lossy link ($(stat -c %s "$WORK/out.ts") bytes)"
