#!/usr/bin/env bash
# Scale (docs/gateway.md): SESSIONS (500) authenticated sessions of 2 links at 1 Mbit/s each,
# straight from braid-loadgen, on ONE worker through the kernel UDP backend for SECONDS (20),
# each edge key playing to its own file ("{key}" in the output URL). Every session's output is
# complete by sequence (its played count equals what it was sent, nothing skipped, scraped per
# session from /metrics; its file holds every sequence in order, checked by braid-loadgen
# verify), on one timer wheel and one output thread: the gateway runs a handful of threads,
# not one per session or per output.
source "$(dirname "$0")/lib.sh"
need python3
SESSIONS=${SESSIONS:-500}
SECONDS_RUN=${SECONDS_RUN:-20}

scrape() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"; }

"$LOADGEN" keygen --count "$SESSIONS" --out "$WORK/keys" >/dev/null
mkdir -p "$WORK/out"
start_gateway "$WORK/gateway.log" --keys "$WORK/keys" --output "file:$WORK/out/{key}.ts" --workers 1 \
  --handshake-rate 5000 --idle-timeout-ms 60000 --metrics-listen 127.0.0.1:0
wait_for_line "$WORK/gateway.log" 'metrics on http://' 5
URL=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$WORK/gateway.log" | head -n1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$GATEWAY_PID/stat"; }

"$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/keys" --sessions "$SESSIONS" --links 2 \
  --rate-mbps 1 --seconds "$SECONDS_RUN" --latency-ms 500 --no-close \
  --report "$WORK/report" >"$WORK/loadgen.log" &
LOADGEN_PID=$!
PIDS+=("$LOADGEN_PID")
wait_for_line "$WORK/gateway.log" "sessions=$SESSIONS " 60
ticks0=$(cpu_ticks)
t0=$(date +%s.%N)
threads=$(awk '/^Threads:/ {print $2}' "/proc/$GATEWAY_PID/status")
wait "$LOADGEN_PID" || { cat "$WORK/loadgen.log"; die "loadgen failed"; }
t1=$(date +%s.%N)
ticks1=$(cpu_ticks)
cat "$WORK/loadgen.log"
sleep 1.5  # the last packets play out (latency 500 ms)
scrape "$URL" >"$WORK/metrics.txt"

# What a failure needs to be read: was the generator late (its schedule is the media's clock),
# or the gateway's worker held (its stall lines say by what)?
explain_failure() {
  grep -o 'max_late_ms=[0-9.]*' "$WORK/loadgen.log" | sed 's/^/loadgen /'
  grep -E 'stalled|arena pool' "$WORK/gateway.log" | tail -n 12
  die "$1"
}
python3 - "$WORK/report" "$WORK/metrics.txt" "$SESSIONS" <<'PY' || explain_failure "outputs incomplete"
import re, sys
report, metrics, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
sent = {}
for line in open(report):
    if line.startswith('#'): continue
    key, sid, n, last, lost, reordered = line.split()[:6]
    sent[sid] = (int(n), int(last))
played, skipped, late = {}, {}, {}
pat = re.compile(r'^braid_session_(played|skipped|late)_packets_total\{session="([0-9a-f]+)",key="\d+"\} (\S+)')
for line in open(metrics):
    m = pat.match(line)
    if m: {'played': played, 'skipped': skipped, 'late': late}[m[1]][m[2]] = int(float(m[3]))
bad = []
for sid, (n, last) in sent.items():
    if played.get(sid) != n or last + 1 != n or skipped.get(sid, -1) != 0 or late.get(sid, -1) != 0:
        bad.append(f"{sid}: sent {n} (last seq {last}) played {played.get(sid)} skipped {skipped.get(sid)} late {late.get(sid)}")
print(f"sessions in report {len(sent)}, in metrics {len(played)}, incomplete {len(bad)}")
for b in bad[:10]: print("  " + b)
sys.exit(0 if len(sent) == want and len(played) == want and not bad else 1)
PY
grep -qE '^braid_gateway_handoffs_sent_total\{worker="0"\} 0$' "$WORK/metrics.txt" ||
  die "one worker handed datagrams off"
stop "$GATEWAY_PID" || die "gateway exited non-zero"
outputs=$(find "$WORK/out" -name '*.ts' | wc -l)
((outputs == SESSIONS)) || die "$outputs output files for $SESSIONS sessions"
# Every file against what its session was sent: all sequences, in order, none corrupt.
incomplete=0
while read -r key _ sent _; do
  [[ "$key" == \#* ]] && continue
  line=$("$LOADGEN" verify "$WORK/out/$key.ts" --key-id "$key") || {
    log "key $key: $line"
    incomplete=$((incomplete + 1))
    continue
  }
  [[ "$line" == *" packets=$sent "* ]] || { log "key $key: sent $sent, $line"; incomplete=$((incomplete + 1)); }
done <"$WORK/report"
((incomplete == 0)) || die "$incomplete of $SESSIONS output files incomplete"
hz=$(getconf CLK_TCK)
packets=$(awk '!/^#/ {s += $3} END {print s}' "$WORK/report")
cpu=$(python3 -c "print(f'{($ticks1 - $ticks0) / $hz / ($t1 - $t0) * 100:.0f}')")
log "$SESSIONS sessions x 1 Mbit/s, 1 worker, ${SECONDS_RUN} s: $packets packets, $outputs files, every output complete; gateway threads=$threads, CPU ${cpu}% of one core"
((threads < 20)) || die "the gateway runs $threads threads for $SESSIONS sessions"
