#!/usr/bin/env bash
# Receive-path cost per backend, kernel UDP (recvmmsg) vs AF_XDP (copy mode: veth has no
# zero-copy), over a veth pair between two namespaces it creates and removes. The generator
# (xdp_rx_bench blast, sendmmsg bursts of 32) runs in the edge namespace pinned to CPU
# $BLAST_CPU; the receiver in the gateway namespace pinned to CPU $RX_CPU. Needs root.
#
# MODE=gateway (or all) also measures the whole gateway per backend: braid-gateway (output
# null:, one worker) pinned to $RX_CPU, braid-loadgen sessions of 10 Mbit/s each (1200-byte
# packets, sealed before the clock starts, 2 links each) pinned to $BLAST_CPU; the gateway
# process's CPU time (user + system from /proc/PID/stat) per packet it received, which
# includes decryption, reorder and playout (FEC decode only when repairs arrive: loadgen
# sends none).
#
# usage: bench/xdp_bench.sh [BUILD_DIR]   (env: SECONDS_PER_RUN=5 SIZE=1200 RATE=0 RX_CPU=0 BLAST_CPU=1
#                                          MODE=rx|gateway|all SESSIONS=20)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/release}
bench=$build/bench/xdp_rx_bench
mode=${MODE:-rx}
[[ $mode == gateway || -x $bench ]] || { echo "xdp_bench: $bench is not built" >&2; exit 1; }
((EUID == 0)) || { echo "xdp_bench: needs root (namespaces, XDP)" >&2; exit 77; }
secs=${SECONDS_PER_RUN:-5}
size=${SIZE:-1200}
rate=${RATE:-0}
rx_cpu=${RX_CPU:-0}
blast_cpu=${BLAST_CPU:-1}

gw=braid-xbench-gw-$$
ed=braid-xbench-ed-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/braid-xdp-bench.XXXXXX")
cleanup() {
  ip netns del "$gw" 2>/dev/null || true
  ip netns del "$ed" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$gw"
ip netns add "$ed"
ip link add xbg$$ type veth peer name xbe$$
ip link set xbg$$ netns "$gw"
ip link set xbe$$ netns "$ed"
ip -n "$gw" addr add 10.94.0.1/24 dev xbg$$
ip -n "$ed" addr add 10.94.0.2/24 dev xbe$$
ip -n "$gw" link set xbg$$ up
ip -n "$ed" link set xbe$$ up
# Resolve ARP once so the blaster's first burst is not lost on it.
ip netns exec "$ed" ping -c 1 -W 2 10.94.0.1 >/dev/null

echo "xdp_bench: $(date -u +%Y-%m-%dT%H:%MZ) kernel $(uname -r), $(nproc) CPUs," \
  "size $size B, ${secs} s per run, rate ${rate:-0} (0 = flat out), receiver CPU $rx_cpu," \
  "generator CPU $blast_cpu"
for backend in udp xdp; do
  [[ $mode == gateway ]] && break
  ip netns exec "$gw" taskset -c "$rx_cpu" "$bench" rx --backend "$backend" \
    --listen 10.94.0.1:7400 --interface xbg$$ --seconds "$secs" >"$work/rx.log" 2>&1 &
  rx=$!
  for _ in $(seq 100); do grep -q 'rx ready' "$work/rx.log" && break; sleep 0.05; done
  grep -q 'rx ready' "$work/rx.log" || { cat "$work/rx.log"; exit 1; }
  ip netns exec "$ed" taskset -c "$blast_cpu" "$bench" blast --target 10.94.0.1:7400 \
    --size "$size" --seconds $((secs + 2)) --rate "$rate" >"$work/blast.log" 2>&1
  wait "$rx" || { cat "$work/rx.log"; exit 1; }
  grep -E '^(rx |xdp )' "$work/rx.log" | grep -v ready
  cat "$work/blast.log"
done

[[ $mode == rx ]] && exit 0

# The whole gateway, per backend: process CPU per received packet at a stated offered load.
gateway=$build/src/dataplane/gateway/braid-gateway
loadgen=$build/bench/loadgen/braid-loadgen
sessions=${SESSIONS:-20}
[[ -x $gateway && -x $loadgen ]] || { echo "xdp_bench: braid-gateway/braid-loadgen not built" >&2; exit 1; }
"$loadgen" keygen --count "$sessions" --out "$work/keys" >/dev/null
ticks=$(getconf CLK_TCK)
# cpu_seconds PID: utime + stime of the process (all threads) in seconds.
cpu_seconds() { awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
echo "gateway: $sessions sessions x 10 Mbit/s, ${size} B packets, ${secs} s, gateway CPU $rx_cpu," \
  "loadgen CPU $blast_cpu"
for backend in kernel af_xdp; do
  args=(--backend "$backend")
  [[ $backend == af_xdp ]] && args+=(--xdp-interface xbg$$)
  ip netns exec "$gw" taskset -c "$rx_cpu" "$gateway" --listen 10.94.0.1:7400 --keys "$work/keys" \
    --secret-file "$work/secret" --output null: --stats-interval 0 "${args[@]}" \
    >"$work/gateway.log" 2>&1 &
  gw_pid=$!
  for _ in $(seq 100); do grep -q 'listening on' "$work/gateway.log" && break; sleep 0.05; done
  grep -q 'listening on' "$work/gateway.log" || { cat "$work/gateway.log"; exit 1; }
  before=$(cpu_seconds "$gw_pid")
  ip netns exec "$ed" taskset -c "$blast_cpu" "$loadgen" run --gateway 10.94.0.1:7400 \
    --keys "$work/keys" --bind 10.94.0.2 --sessions "$sessions" --links 2 --rate-mbps 10 \
    --packet-bytes "$size" --seconds "$secs" --preseal --latency-ms 1000 >"$work/load.log" 2>&1 ||
    { cat "$work/load.log"; exit 1; }
  sleep 1.5  # the last playout (1 s latency)
  after=$(cpu_seconds "$gw_pid")
  kill -TERM "$gw_pid"
  wait "$gw_pid" || true
  final=$(grep -E '^final ' "$work/gateway.log")
  load=$(grep -E '^loadgen ' "$work/load.log")
  value() { tr ' ' '\n' <<<"$1" | grep -E "^$2=" | cut -d= -f2; }
  rx=$(value "$final" rx_packets)
  awk -v b="$backend" -v cpu="$(awk -v a="$before" -v z="$after" 'BEGIN { print z - a }')" \
    -v rx="$rx" -v sent="$(value "$load" packets)" -v pps="$(value "$load" achieved_pps)" \
    -v played="$(value "$final" played)" -v skipped="$(value "$final" skipped)" \
    -v per_session="$(awk -v s="$size" 'BEGIN { print 10e6 / (s * 8) }')" 'BEGIN {
      us = cpu * 1e6 / rx
      printf "gateway backend=%s sent=%d achieved_pps=%d received=%d played=%d skipped=%d " \
        "cpu_s=%.2f cpu_us_per_packet=%.2f sessions_per_core_at_10mbps=%.0f\n",
        b, sent, pps, rx, played, skipped, cpu, us, 1e6 / (us * per_session) }'
done
