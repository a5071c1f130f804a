#!/usr/bin/env bash
# The gateway's /metrics after a transfer: promtool finds nothing to complain about, and the
# scraped counters equal the gateway's own stats. (1000 ms latency: at 200 ms, under ASan on a
# loaded 2-core machine, the edge dropped a first chunk as stale in 2 of 26 runs.)
source "$(dirname "$0")/lib.sh"
need promtool

scrape() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }

# 8 s: the live-session scrape comes after the edge's scrape and promtool; with a 3 s file the
# session had ended by then on a loaded machine (3 of 3 runs beside a clang build).
make_ts "$WORK/in.ts" 8
keygen 1 "$WORK/edge.key"
start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts" \
  --metrics-listen 127.0.0.1:0
wait_for_line "$WORK/gateway.log" 'metrics on http://' 5
URL=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$WORK/gateway.log" | head -n1)
start_edge "$WORK/edge.log" --gateway "$GATEWAY_ADDR" --key "$WORK/edge.key" \
  --input "file:$WORK/in.ts" --latency-ms 1000 --metrics-listen 127.0.0.1:0
wait_for_line "$WORK/gateway.log" 'sessions=1 ' 10
EDGE_URL=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$WORK/edge.log" | head -n1)
scrape "$EDGE_URL" >"$WORK/edge-metrics.txt"
promtool check metrics <"$WORK/edge-metrics.txt" >"$WORK/promtool-edge.txt" 2>&1 ||
  { cat "$WORK/promtool-edge.txt"; die "promtool check metrics failed (edge)"; }
[[ ! -s $WORK/promtool-edge.txt ]] || { cat "$WORK/promtool-edge.txt"; die "promtool: edge"; }
grep -qE '^braid_edge_session_live 1' "$WORK/edge-metrics.txt" || die "edge does not report its live session"
grep -qE '^braid_edge_link_sent_bytes_total\{link="0",name="link0"\} [1-9]' "$WORK/edge-metrics.txt" ||
  die "edge does not report bytes sent per link"
# A clean loopback link is neither demoted nor undone; both series exist from the start.
for family in braid_edge_link_demotions_total braid_edge_link_stalls_undone_total; do
  grep -qE "^$family\\{link=\"0\",name=\"link0\"\\} 0\$" "$WORK/edge-metrics.txt" ||
    die "edge does not report $family per link (or a clean link was demoted)"
done
# One link is no bond: no whole-bond fall, but the series exists from the start.
grep -qE '^braid_edge_bond_falls_total 0$' "$WORK/edge-metrics.txt" ||
  die "edge does not report braid_edge_bond_falls_total (or saw a bond fall on one link)"
# What the sender dropped as stale and how often its thread was held: series from the start.
for family in braid_edge_stale_dropped_total braid_edge_sender_stalls_total \
  braid_edge_sender_longest_stall_seconds; do
  grep -qE "^$family [0-9]" "$WORK/edge-metrics.txt" || die "edge does not report $family"
done
# The encoder target is published whatever the input (here a file: an external encoder).
grep -qE '^braid_edge_target_bitrate_bps [1-9]' "$WORK/edge-metrics.txt" ||
  die "edge does not publish the encoder target"
sleep 0.5
scrape "$URL" >"$WORK/metrics-live.txt"
promtool check metrics <"$WORK/metrics-live.txt" >"$WORK/promtool-live.txt" 2>&1 ||
  { cat "$WORK/promtool-live.txt"; die "promtool check metrics failed (live session)"; }
[[ ! -s $WORK/promtool-live.txt ]] || { cat "$WORK/promtool-live.txt"; die "promtool: live session"; }
grep -qE '^braid_session_played_packets_total\{session="[0-9a-f]{16}",key="1"\} [0-9]' \
  "$WORK/metrics-live.txt" || die "no per-session series while the session is live"
grep -qE '^braid_link_received_packets_total\{session="[0-9a-f]{16}",link="0"\} [1-9]' \
  "$WORK/metrics-live.txt" || die "no per-link series while the session is live"
wait "$EDGE_PID" || die "edge exited non-zero"
wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
sleep 1.2  # the next stats line carries the final counts
scrape "$URL" >"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.txt" 2>&1 ||
  { cat "$WORK/promtool.txt"; die "promtool check metrics failed"; }
[[ ! -s $WORK/promtool.txt ]] || { cat "$WORK/promtool.txt"; die "promtool reported problems"; }

metric() { awk -v m="$1" '$1 == m {print $2}' "$WORK/metrics.txt"; }
played=$(metric 'braid_gateway_played_packets_total{worker="0"}')
bytes=$(metric 'braid_gateway_output_bytes_total{worker="0"}')
[[ -n $played ]] || die "no braid_gateway_played_packets_total series"
[[ $(printf '%.0f' "$played") == $(stat_value "$WORK/gateway.log" played) ]] ||
  die "scraped played=$played, stats say $(stat_value "$WORK/gateway.log" played)"
[[ $(printf '%.0f' "$bytes") == $(stat -c %s "$WORK/in.ts") ]] || die "scraped output bytes $bytes"
grep -q 'braid_gateway_dropped_packets_total{worker="0",reason="auth_failed"}' "$WORK/metrics.txt" ||
  die "drop reasons are not labelled"
if grep -qE '^braid_(session|link)_[a-z_]+\{' "$WORK/metrics.txt"; then
  die "series of the ended session are still exported"
fi
stop "$GATEWAY_PID" || die "gateway exited non-zero"
log "promtool clean; $(grep -c '^braid_' "$WORK/metrics.txt") series; played=$played"
