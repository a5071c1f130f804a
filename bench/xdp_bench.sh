#!/usr/bin/env bash
# Receive-path cost per backend, kernel UDP (recvmmsg) vs AF_XDP (copy mode: veth has no
# zero-copy), over a veth pair between two namespaces it creates and removes. The generator
# (xdp_rx_bench blast, sendmmsg bursts of 32) runs in the edge namespace pinned to CPU
# $BLAST_CPU; the receiver in the gateway namespace pinned to CPU $RX_CPU. Needs root.
#
# The whole gateway per backend (kernel, AF_XDP, DPDK) beside SRT and RIST receivers is
# bench/gateway_bench.sh.
#
# usage: bench/xdp_bench.sh [BUILD_DIR]   (env: SECONDS_PER_RUN=5 SIZE=1200 RATE=0 RX_CPU=0 BLAST_CPU=1)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/release}
bench=$build/bench/xdp_rx_bench
[[ -x $bench ]] || { echo "xdp_bench: $bench is not built" >&2; exit 1; }
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

