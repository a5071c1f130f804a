#!/usr/bin/env bash
# Gateway receive cost (docs/gateway.md; acceptance 3 of issue 8): process CPU time (utime +
# stime of every thread, from /proc/PID/stat) per packet received, with the receiver and the
# sender pinned to different CPUs.
#
#   braid   braid-gateway, workers=1, kernel UDP backend, output null:, fed by braid-loadgen
#           --preseal (packets sealed before the clock starts): SESSIONS sessions x RATE
#           Mbit/s of 1200-byte packets over 2 links each, 1% reordered. Counted per packet:
#           recvmmsg, AES-256-GCM open, replay check, per-link stats, reorder into the jitter
#           buffer, playout from the timer wheel, feedback (ACK every 50 ms), the output thread.
#           (braid-loadgen sends no REPAIR packets: FEC decode is not exercised.)
#   srt     srt-live-transmit receiving SRT (AES-256 passphrase) from srt-live-transmit and
#           forwarding to UDP, same total bit rate, 1316-byte payloads
#   rist    ristreceiver (main profile, AES-256) from ristsender, forwarding to UDP, same
#
# Over loopback the sender's sendto runs the kernel receive path up to the socket queue, so
# every row excludes it alike; what is measured is the receiving process itself.
#
# usage: bench/gateway_bench.sh [--seconds N] [--sessions N] [--rate-mbps R] [--gw-cpu C]
#                               [--gen-cpu C] [--only braid|srt|rist]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=15
sessions=10
rate=10
gw_cpu=0
gen_cpu=1
only=
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --rate-mbps) rate=$2; shift 2 ;;
    --gw-cpu) gw_cpu=$2; shift 2 ;;
    --gen-cpu) gen_cpu=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gateway_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
build=${BRAID_BUILD_ROOT:-$repo/build/release}
gateway=$build/src/dataplane/gateway/braid-gateway
loadgen=$build/bench/loadgen/braid-loadgen
[[ -x $gateway && -x $loadgen ]] || { echo "build first: scripts/build release" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gateway-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
total_mbps=$(python3 -c "print($sessions * $rate)")
field() { tr ' ' '\n' <<<"$1" | grep -E "^$2=" | cut -d= -f2; }

# row NAME PACKETS CPU_TICKS WALL_S NOTE
row() {
  python3 - "$@" "$hz" "$total_mbps" <<'PY'
import sys
name, packets, ticks, wall, note, hz, mbps = sys.argv[1:8]
packets, cpu, wall, mbps = int(packets), int(ticks) / int(hz), float(wall), float(mbps)
pct = cpu / wall * 100
us = cpu * 1e6 / packets if packets else float('nan')
per_core = 100 / (pct / (mbps / 10)) if pct > 0 else float('inf')
print(f"{name:7s} {mbps:7.0f} Mbit/s  {packets / wall:8.0f} pkt/s received  CPU {pct:5.1f} %  "
      f"{us:6.2f} us/packet  {per_core:6.0f} sessions/core at 10 Mbit/s  ({note})")
PY
}

run_braid() {
  "$loadgen" keygen --count "$sessions" --out "$work/keys" >/dev/null
  taskset -c "$gw_cpu" "$gateway" --listen 127.0.0.1:0 --keys "$work/keys" --secret-file \
    "$work/secret" --output null: --workers 1 --handshake-rate 5000 --stats-interval 0 \
    >"$work/gateway.log" 2>&1 &
  local gw=$!
  pids+=("$gw")
  until grep -q 'listening on' "$work/gateway.log" 2>/dev/null; do sleep 0.05; done
  local addr
  addr=$(grep -oE 'listening on [0-9.]+:[0-9]+' "$work/gateway.log" | awk '{print $3}')
  taskset -c "$gen_cpu" "$loadgen" run --gateway "$addr" --keys "$work/keys" \
    --sessions "$sessions" --links 2 --rate-mbps "$rate" --seconds "$seconds" --reorder 0.01 \
    --latency-ms 200 --preseal --no-close >"$work/loadgen.log" &
  local lg=$!
  until grep -q 'loadgen sending' "$work/loadgen.log" 2>/dev/null; do sleep 0.01; done
  sleep 0.02  # the generator's clock starts 20 ms after that line
  local c0 t0 c1 t1
  c0=$(ticks "$gw"); t0=$(date +%s.%N)
  wait "$lg"
  c1=$(ticks "$gw"); t1=$(date +%s.%N)
  kill -TERM "$gw"; wait "$gw" || true
  local line final
  line=$(grep '^loadgen sessions' "$work/loadgen.log")
  final=$(grep '^final' "$work/gateway.log")
  echo "  generator: $line"
  echo "  gateway:   $(grep -oE '(rx_packets|played|skipped|late|duplicates|feedback)=[0-9]+' <<<"$final" | tr '\n' ' ')"
  row braid "$(field "$final" rx_packets)" $((c1 - c0)) \
    "$(python3 -c "print($t1 - $t0)")" "workers=1 kernel UDP, achieved $(field "$line" achieved_mbps) Mbit/s"
}

# peer NAME: the sender/receiver pair of srt or rist, fed and drained over UDP.
run_peer() {
  local name=$1 in_port=40100 mid_port=40200 out_port=40300 recv send
  taskset -c "$gen_cpu" python3 "$repo/bench/udp_stream.py" sink "$out_port" 2 >"$work/$name-sink.log" &
  local sink=$!
  pids+=("$sink")
  if [[ $name == srt ]]; then
    local pass="passphrase=braidbenchpassphrase&pbkeylen=32"
    taskset -c "$gw_cpu" srt-live-transmit -q "srt://:$mid_port?mode=listener&$pass" \
      "udp://127.0.0.1:$out_port" >"$work/$name-recv.log" 2>&1 &
    recv=$!
    sleep 0.3
    taskset -c "$gen_cpu" srt-live-transmit -q "udp://127.0.0.1:$in_port" \
      "srt://127.0.0.1:$mid_port?mode=caller&$pass" >"$work/$name-send.log" 2>&1 &
    send=$!
  else
    taskset -c "$gw_cpu" ristreceiver -p 1 -e 256 -s braidbenchsecret -S 0 -v 3 \
      -i "rist://@127.0.0.1:$mid_port" -o "udp://127.0.0.1:$out_port" >"$work/$name-recv.log" 2>&1 &
    recv=$!
    sleep 0.3
    taskset -c "$gen_cpu" ristsender -p 1 -e 256 -s braidbenchsecret -S 0 -v 3 \
      -i "udp://@127.0.0.1:$in_port" -o "rist://127.0.0.1:$mid_port" >"$work/$name-send.log" 2>&1 &
    send=$!
  fi
  pids+=("$recv" "$send")
  sleep 1
  local c0 t0 c1 t1
  c0=$(ticks "$recv"); t0=$(date +%s.%N)
  taskset -c "$gen_cpu" python3 "$repo/bench/udp_stream.py" send "127.0.0.1:$in_port" \
    "$total_mbps" "$seconds" >"$work/$name-source.log"
  c1=$(ticks "$recv"); t1=$(date +%s.%N)
  wait "$sink" || true
  kill -TERM "$send" "$recv" 2>/dev/null || true
  local received
  received=$(grep -oE 'packets=[0-9]+' "$work/$name-sink.log" | cut -d= -f2)
  echo "  source: $(cat "$work/$name-source.log"); delivered: $(cat "$work/$name-sink.log")"
  row "$name" "${received:-0}" $((c1 - c0)) "$(python3 -c "print($t1 - $t0)")" \
    "$(if [[ $name == srt ]]; then srt-live-transmit -version 2>&1 | grep -oE 'SRT Library version: [0-9.]+' | head -n1; else echo "librist $(ristreceiver -h 2>&1 | grep -oE 'libRIST library: [0-9.]+' | head -n1 | cut -d' ' -f3)"; fi), AES-256"
}

echo "gateway_bench $(date -u +%Y-%m-%dT%H:%MZ): $sessions x $rate Mbit/s for $seconds s," \
  "receiver on CPU $gw_cpu, sender on CPU $gen_cpu ($(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
[[ -z $only || $only == braid ]] && run_braid
if [[ -z $only || $only == srt ]]; then
  command -v srt-live-transmit >/dev/null && run_peer srt || echo "srt: srt-live-transmit not installed (srt-tools)"
fi
if [[ -z $only || $only == rist ]]; then
  command -v ristreceiver >/dev/null && run_peer rist || echo "rist: ristreceiver not installed (rist-tools)"
fi
