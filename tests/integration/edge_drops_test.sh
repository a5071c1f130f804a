#!/usr/bin/env bash
# What the edge cannot send in time it says in its log, and so does a stall of its sender.
# 1. A 2 Mbit/s constant-rate stream over one 1 Mbit/s link (40 ms each way) at 500 ms: the
#    edge drops media as stale, and its warnings say why (the earliest link would land it
#    after its playout time, with each link's state) and account for no more than it counted.
# 2. Over loopback at 1000 ms, the edge frozen for 300 ms (SIGSTOP, SIGCONT): it logs the
#    stall as the machine's (off its CPU), counts it, and the output is still the input.
source "$(dirname "$0")/lib.sh"

# 1. Stale media over a link at half the stream's rate.
bond_setup 2000 4
constant_links 1000 slow >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 500 slow
start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
finish_transfer 30
stale=$(stat_value "$WORK/edge.log" stale_dropped)
log "the edge dropped $stale chunks as stale"
((stale > 100)) || die "only $stale chunks went stale on a link at half the stream's rate"
grep -E 'dropped as stale' "$WORK/edge.log" | head -n 3
grep -qE 'dropped as stale: after [0-9]+ ms at the sender, the earliest link, 0 \(slow\), would land it [0-9]+ ms after its playout time; media links: slow (warm|live) pace [0-9.]+ Mbit/s' \
  "$WORK/edge.log" || die "no warning says why the edge dropped media as stale"
# Each line counts its own chunks and those the limiter kept off the log before it.
logged=$(awk '/dropped as stale/ {
    n += $4
    if (match($0, /\(([0-9]+) more since/)) n += substr($0, RSTART + 1, RLENGTH - 11)
  } END {print n + 0}' "$WORK/edge.log")
lines=$(grep -c 'dropped as stale' "$WORK/edge.log")
log "$lines warning lines account for $logged of the $stale stale chunks"
((logged >= 1 && logged <= stale)) || die "the warnings account for $logged of $stale stale chunks"
((lines <= 4 + 2 * 6)) || die "$lines warning lines in about 6 s: the log is not rate-limited"

# 2. A frozen sender.
make_ts "$WORK/in2.ts" 6
start_gateway "$WORK/gateway2.log" --keys "$WORK/edge.key" --output "file:$WORK/out2.ts"
start_edge "$WORK/edge2.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in2.ts" --latency-ms 1000
wait_for_line "$WORK/edge2.log" 'session [0-9a-f]+ established' 10
sleep 1.5
kill -STOP "$EDGE_PID"
sleep 0.3
kill -CONT "$EDGE_PID"
timeout 30 tail --pid="$EDGE_PID" -f /dev/null || die "edge did not finish"
wait "$EDGE_PID" || die "edge exited non-zero"
wait_for_line "$WORK/gateway2.log" 'session [0-9a-f]+ ended' 10
stop "$GATEWAY_PID" || die "gateway exited non-zero"
grep -E 'sender stalled' "$WORK/edge2.log" | head -n 3
grep -qE 'sender stalled [0-9.]+ ms .*off its CPU: the machine held it' "$WORK/edge2.log" ||
  die "the edge did not log its frozen sender as held off its CPU"
stalls=$(stat_value "$WORK/edge2.log" stalls)
longest=$(stat_value "$WORK/edge2.log" longest_stall_ms)
log "sender stalls $stalls, the longest $longest ms"
((stalls >= 1)) || die "the edge counted no stall"
below 250 "$longest" || die "the longest stall counted is $longest ms; the sender was frozen 300 ms"
cmp "$WORK/in2.ts" "$WORK/out2.ts" || die "the output differs from the input after the stall"
log "PASS: $stale stale chunks explained in $lines lines; a 300 ms freeze logged and counted" \
  "($longest ms), nothing lost"
