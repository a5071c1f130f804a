#!/usr/bin/env bash
# Reconnect storm (docs/gateway.md §3): LIVE (4) sessions of 2 links at 4 Mbit/s play at the
# lowest latency the gateway grants (50 ms) on one worker while STORM (300) other edges
# handshake, THREADS (64) at a time, as a fleet does when its gateway comes back. Opening a
# session takes a jitter-buffer arena that another thread mapped, and the worker opens one per
# pass, so the live sessions' media is never held past its deadline: their outputs are complete (0
# skipped, 0 late, every sequence played) and every storm session opens.
# A miss says what held the media (the live generator behind its schedule, or the gateway's
# worker stalled on or off its CPU) and runs the storm once more; a second miss fails.
source "$(dirname "$0")/lib.sh"
need python3
LIVE=${LIVE:-4}
STORM=${STORM:-300}
THREADS=${THREADS:-64}

scrape() { python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"; }

"$LOADGEN" keygen --count "$LIVE" --out "$WORK/live.keys" >/dev/null
"$LOADGEN" keygen --count "$STORM" --first-key-id 1001 --out "$WORK/storm.keys" >/dev/null
(umask 077 && cat "$WORK/live.keys" "$WORK/storm.keys" >"$WORK/all.keys")

# The storm's 64 handshaking threads stand for edges on other machines and the live generator
# for edges on others again: on this 2-core box the storm must not take the CPU of either (a CI
# run had the generator 90 ms behind its schedule, so its packets were late before they left).
# The gateway and the live generator run above them, the storm below.
live_prio=() storm_prio=(nice -n 19)
((EUID == 0)) && live_prio=(nice -n -10)

# storm_round N: one storm beside the live sessions. Returns 0 when every live packet played.
storm_round() {
  local round=$1 dir="$WORK/round$1"
  mkdir -p "$dir"
  "${live_prio[@]}" "$GATEWAY" --listen 127.0.0.1:0 --secret-file "$WORK/gateway.secret" \
    --stats-interval 1 --keys "$WORK/all.keys" --output null: --workers 1 \
    --handshake-rate 20000 --idle-timeout-ms 60000 --min-latency-ms 50 \
    --metrics-listen 127.0.0.1:0 >"$dir/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  wait_for_line "$dir/gateway.log" 'metrics on http://' 5
  wait_for_line "$dir/gateway.log" 'listening on' 10
  GATEWAY_ADDR=$(grep -oE 'listening on [0-9.]+:[0-9]+' "$dir/gateway.log" | head -n1 | awk '{print $3}')
  local url
  url=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$dir/gateway.log" | head -n1)

  "${live_prio[@]}" "$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/live.keys" \
    --sessions "$LIVE" --links 2 --rate-mbps 4 --seconds 12 --latency-ms 50 --no-close \
    --report "$dir/live.report" >"$dir/live.log" &
  local live_pid=$!
  PIDS+=("$live_pid")
  wait_for_line "$dir/live.log" 'loadgen sending' 30
  sleep 2
  "${storm_prio[@]}" "$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/storm.keys" \
    --sessions "$STORM" --links 1 --rate-mbps 0.05 --seconds 1 --latency-ms 500 --no-close \
    --handshake-threads "$THREADS" --report "$dir/storm.report" >"$dir/storm.log" 2>&1 ||
    { cat "$dir/storm.log"; die "storm loadgen failed"; }
  grep -E '^loadgen (summary|done)|handshake_s=' "$dir/storm.log" | tail -n1
  wait "$live_pid" || { cat "$dir/live.log"; die "live loadgen failed"; }
  local live_line live_late missed=0
  live_line=$(grep -E '^loadgen sessions' "$dir/live.log")
  echo "$live_line"
  live_late=$(grep -oE 'max_late_ms=[0-9.]+' <<<"$live_line" | cut -d= -f2)
  sleep 0.5  # the last packets play out
  scrape "$url" >"$dir/metrics.txt"

  python3 - "$dir/live.report" "$dir/metrics.txt" "$LIVE" "$STORM" <<'PY' || missed=1
import re, sys
report, metrics, live, storm = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sent = {}
for line in open(report):
    if line.startswith('#'): continue
    key, sid, n = line.split()[:3]
    sent[sid] = int(n)
played, skipped, late = {}, {}, {}
pat = re.compile(r'^braid_session_(played|skipped|late)_packets_total\{session="([0-9a-f]+)",key="\d+"\} (\S+)')
for line in open(metrics):
    m = pat.match(line)
    if m: {'played': played, 'skipped': skipped, 'late': late}[m[1]][m[2]] = int(float(m[3]))
bad = [f"{sid}: sent {n} played {played.get(sid)} skipped {skipped.get(sid)} late {late.get(sid)}"
       for sid, n in sent.items()
       if played.get(sid) != n or skipped.get(sid, -1) != 0 or late.get(sid, -1) != 0]
print(f"live sessions {len(sent)}, sessions in metrics {len(played)} (want {live + storm}), incomplete {len(bad)}")
for b in bad: print("  " + b)
sys.exit(0 if len(sent) == live and len(played) == live + storm and not bad else 1)
PY
  stop "$GATEWAY_PID" || die "gateway exited non-zero"
  grep -E 'stalled' "$dir/gateway.log" || true
  grep -E '^final ' "$dir/gateway.log" | grep -oE 'stalls=[0-9]+ longest_stall_ms=[0-9.]+ arena_waits=[0-9]+' || true
  ((missed)) || return 0
  # Say what held the media: a generator behind its own schedule by half the latency sends late
  # packets whatever the gateway does; a worker stall off its CPU is the machine's (another
  # process had the core, a write blocked); one on its CPU is the worker's own work (each
  # opening was one, ~22 ms, while sessions populated their arenas on the worker).
  if ! below "$live_late" 25; then
    log "round $round: the live generator itself ran $live_late ms behind its schedule"
  elif grep -q 'on its CPU: its own work' "$dir/gateway.log"; then
    log "round $round: the worker stalled on its own work (lines above)"
  elif grep -q 'off its CPU' "$dir/gateway.log"; then
    log "round $round: the gateway's worker was held off its CPU (lines above)"
  else
    log "round $round: no stall of 20 ms on either side"
  fi
  return 1
}

# A VM can hold either side for tens of milliseconds now and then: run right after
# gateway-scale had freed 4 GiB (where a CI run failed), the worker stalled 20-250 ms in a few
# passes that opened nothing, 2 runs in 9. One miss runs the storm once more; a gateway that
# holds live media misses both.
if ! storm_round 1; then
  log "round 1 missed packets: once more"
  storm_round 2 || die "a live session missed packets during the storm, twice"
fi
log "$LIVE live sessions at 50 ms complete while $STORM edges handshook $THREADS at a time"
