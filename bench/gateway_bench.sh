#!/usr/bin/env bash
# Gateway receive cost per backend, beside srt-live-transmit and ristreceiver (docs/gateway.md;
# acceptance 3 of issue 8), all in one run over one testbed: two network namespaces joined by a
# veth pair. Every receiver runs in the gateway namespace pinned to --gw-cpu; every sender in
# the edge namespace pinned to --gen-cpu. The figure is the receiving process's CPU time
# (utime + stime of all its threads, from /proc/PID/stat) over the sending window, divided by
# the datagrams it received, over --seconds of steady state after --warmup seconds of the same
# load (a session's jitter buffer is mapped as it first fills: page faults, not packet work).
#
#   kernel   braid-gateway --backend kernel (recvmmsg/sendmmsg), one worker, output null:
#   af_xdp   braid-gateway --backend af_xdp on the veth (XDP program native, copy mode: veth
#            has no zero-copy)
#   dpdk     braid-gateway --backend dpdk, EAL --no-huge with the net_af_packet vdev on the
#            veth (an nftables ingress drop keeps the kernel from seeing the frames too)
#            The three are fed by braid-loadgen --preseal (sealed before the clock starts):
#            SESSIONS sessions of RATE Mbit/s of 1200-byte DATA over 2 links each, 1 % of the
#            sequences skipped, 1 % reordered, FEC blocks of 20 + 2 repairs. Per packet that is
#            receive, AES-256-GCM open, replay check, per-link stats, reorder into the jitter
#            buffer, FEC decode of the skipped sequences, playout from the timer wheel,
#            feedback, the output thread. --raw-batch N has the generator send through one raw
#            socket, up to N datagrams per sendmmsg, from the same sources (one sendto per
#            datagram tops out at ~180 kpps on one core here).
#   srt      srt-live-transmit listener (AES-256 passphrase) from srt-live-transmit, forwarding
#            to UDP; the same total bit rate of 1316-byte payloads from bench/udp_stream.py
#   rist     ristreceiver (main profile, AES-256) from ristsender, the same way
#            (--peer-rate-mbps R: the peers receive one stream of R Mbit/s instead, e.g. one
#            session's rate: srt-live-transmit and ristreceiver carry one stream per process)
#
# On a veth the receive softirq (the veth NAPI, the XDP program, the kernel's UDP receive) runs
# on the sender's CPU, so no row includes it; what is measured is the receiving process alone.
# Needs root (namespaces, XDP, packet sockets); prints one line per row. KEEP_WORK=1 keeps the
# logs, STATS_INTERVAL=S has the gateways print a stats line every S seconds.
#
# usage: bench/gateway_bench.sh [--seconds N] [--warmup N] [--sessions N] [--rate-mbps R]
#                               [--gw-cpu C] [--gen-cpu C] [--only kernel,af_xdp,dpdk,srt,rist]
#                               [--no-fec] [--raw-batch N] [--peer-rate-mbps R]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=15
warmup=5
sessions=10
rate=10
gw_cpu=0
gen_cpu=1
only=kernel,af_xdp,dpdk,srt,rist
fec=(--loss 0.01 --fec 20,2)
raw_batch=0
peer_mbps=""
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --rate-mbps) rate=$2; shift 2 ;;
    --gw-cpu) gw_cpu=$2; shift 2 ;;
    --gen-cpu) gen_cpu=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-fec) fec=(); shift ;;
    --raw-batch) raw_batch=$2; shift 2 ;;
    --peer-rate-mbps) peer_mbps=$2; shift 2 ;;
    -h | --help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gateway_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
((EUID == 0)) || { echo "gateway_bench: needs root (network namespaces, XDP, packet sockets)" >&2; exit 77; }
build=${BRAID_BUILD_ROOT:-$repo/build/release}
gateway=$build/src/dataplane/gateway/braid-gateway
loadgen=$build/bench/loadgen/braid-loadgen
[[ -x $gateway && -x $loadgen ]] || { echo "build first: scripts/build release" >&2; exit 2; }
wanted() { [[ ",$only," == *",$1,"* ]]; }

gw=braid-gbench-gw-$$
ed=braid-gbench-ed-$$
gw_if=gbg$$
ed_if=gbe$$
gw_ip=10.97.0.1
ed_ip=10.97.0.2
work=$(mktemp -d "${TMPDIR:-/tmp}/gateway-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$gw" 2>/dev/null || true
  ip netns del "$ed" 2>/dev/null || true
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
ip netns add "$gw"
ip netns add "$ed"
for ns in "$gw" "$ed"; do ip -n "$ns" link set lo up; done

# pair: (re)creates the veth pair, so that no backend inherits another's XDP program, packet
# sockets or nftables table.
pair() {
  ip -n "$gw" link del "$gw_if" 2>/dev/null || true
  ip netns exec "$gw" nft delete table netdev braid_bench 2>/dev/null || true
  ip link add "$gw_if" type veth peer name "$ed_if"
  ip link set "$gw_if" netns "$gw"
  ip link set "$ed_if" netns "$ed"
  ip -n "$gw" addr add "$gw_ip/24" dev "$gw_if"
  ip -n "$ed" addr add "$ed_ip/24" dev "$ed_if"
  ip -n "$gw" link set "$gw_if" up
  ip -n "$ed" link set "$ed_if" up
  ip netns exec "$ed" ping -c 1 -W 2 "$gw_ip" >/dev/null
}
# Run in the background (`ingw CMD &`), so that $! is the command itself (exec all the way).
ingw() { exec ip netns exec "$gw" taskset -c "$gw_cpu" "$@"; }
ined() { exec ip netns exec "$ed" taskset -c "$gen_cpu" "$@"; }

hz=$(getconf CLK_TCK)
# received BACKEND: datagrams braid-gateway's workers have received so far (its metrics).
received() {
  ip netns exec "$gw" curl -sf http://127.0.0.1:9464/metrics |
    awk '/^braid_gateway_received_packets_total/ { n += $2 } END { printf "%d\n", n }'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
total_mbps=$(python3 -c "print($sessions * $rate)")
peer_mbps=${peer_mbps:-$total_mbps}
field() { tr ' ' '\n' <<<"$1" | grep -E "^$2=" | cut -d= -f2; }
wait_line() {  # FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 20; i++)); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "gateway_bench: no '$2' in $1 after $3 s:" >&2
  tail -n 20 "$1" >&2
  exit 1
}

# row NAME PACKETS CPU_TICKS WALL_S NOTE [MBPS]
row() {
  python3 - "${@:1:5}" "$hz" "${6:-$total_mbps}" <<'PY'
import sys
name, packets, ticks, wall, note, hz, mbps = sys.argv[1:8]
packets, cpu, wall, mbps = int(packets), int(ticks) / int(hz), float(wall), float(mbps)
pct = cpu / wall * 100
us = cpu * 1e6 / packets if packets else float('nan')
per_core = 100 / (pct / (mbps / 10)) if pct > 0 else float('inf')
print(f"{name:7s} {packets / wall:8.0f} pkt/s received  CPU {pct:5.1f} %  {us:6.2f} us/packet  "
      f"{per_core:6.0f} sessions/core at 10 Mbit/s  ({note})")
PY
}

"$loadgen" keygen --count "$sessions" --out "$work/keys" >/dev/null

# braid BACKEND: one braid-gateway run fed by braid-loadgen.
run_braid() {
  local backend=$1 args=(--backend "$1")
  pair
  case $backend in
    af_xdp) args+=(--xdp-interface "$gw_if") ;;
    dpdk)
      "$repo/scripts/netns-ingress-drop" "$gw" "$gw_if" braid_bench
      ip -n "$ed" neigh flush dev "$ed_if"
      local eal="--no-huge -m 256 --no-pci --no-shconf --no-telemetry -l $gw_cpu"
      eal+=" --log-level=*:warning --vdev=net_af_packet0,iface=$gw_if,qpairs=1,framecnt=8192"
      args+=(--dpdk-port 0 --dpdk-eal-args "$eal")
      ;;
  esac
  # The sessions idle while the generator seals (10 s and more at 240 sessions): they must not
  # time out before the clock starts.
  ingw "$gateway" --listen "$gw_ip:7400" --keys "$work/keys" --secret-file "$work/secret" \
    --output null: --workers 1 --handshake-rate 5000 --stats-interval "${STATS_INTERVAL:-0}" \
    --idle-timeout-ms 120000 \
    --metrics-listen 127.0.0.1:9464 "${args[@]}" >"$work/gateway-$backend.log" 2>&1 &
  local gwp=$!
  pids+=("$gwp")
  wait_line "$work/gateway-$backend.log" 'listening on' 20
  # The DPDK port answers ARP itself; learn its MAC before the clock starts.
  [[ $backend == dpdk ]] && ip netns exec "$ed" ping -c 1 -W 2 "$gw_ip" >/dev/null
  ined "$loadgen" run --gateway "$gw_ip:7400" --keys "$work/keys" --bind "$ed_ip" \
    --sessions "$sessions" --links 2 --rate-mbps "$rate" --seconds $((warmup + seconds)) \
    --reorder 0.01 "${fec[@]}" --latency-ms 200 --preseal --max-preseal-mb 8192 --no-close --raw-batch "$raw_batch" \
    >"$work/loadgen-$backend.log" &
  local lg=$!
  wait_line "$work/loadgen-$backend.log" 'loadgen sending' 60
  sleep "$warmup"
  local c0 t0 p0 c1 t1 p1
  c0=$(ticks "$gwp"); t0=$(now); p0=$(received "$backend")
  wait "$lg"
  c1=$(ticks "$gwp"); t1=$(now); p1=$(received "$backend")
  kill -TERM "$gwp"; wait "$gwp" || true
  local line final
  line=$(grep '^loadgen sessions' "$work/loadgen-$backend.log")
  final=$(grep '^final' "$work/gateway-$backend.log")
  echo "  generator: $(grep -oE '(packets|lost|reordered|repairs|recoverable|offered_pps|achieved_pps|achieved_mbps|max_late_ms)=[0-9.]+' <<<"$line" | tr '\n' ' ')"
  echo "  gateway:   $(grep -oE '(rx_packets|played|skipped|late|fec_recovered|feedback)=[0-9]+' <<<"$final" | tr '\n' ' ')"
  row "$backend" $((p1 - p0)) $((c1 - c0)) "$(python3 -c "print($t1 - $t0)")" \
    "braid-gateway workers=1, generator reached $(field "$line" achieved_pps) of $(field "$line" offered_pps) pkt/s"
}

# peer NAME: the sender/receiver pair of srt or rist, fed and drained over UDP on the
# namespaces' loopbacks.
run_peer() {
  local name=$1 in_port=40100 mid_port=40200 out_port=40300 recv send
  pair
  ingw python3 "$repo/bench/udp_stream.py" sink "$out_port" 1 >"$work/$name-sink.log" &
  local sink=$!
  pids+=("$sink")
  if [[ $name == srt ]]; then
    local pass="passphrase=braidbenchpassphrase&pbkeylen=32"
    ingw srt-live-transmit -q "srt://$gw_ip:$mid_port?mode=listener&$pass" \
      "udp://127.0.0.1:$out_port" >"$work/$name-recv.log" 2>&1 &
    recv=$!
    sleep 0.3
    ined srt-live-transmit -q "udp://127.0.0.1:$in_port" \
      "srt://$gw_ip:$mid_port?mode=caller&$pass" >"$work/$name-send.log" 2>&1 &
    send=$!
  else
    ingw ristreceiver -p 1 -e 256 -s braidbenchsecret -S 0 -v 3 \
      -i "rist://@$gw_ip:$mid_port" -o "udp://127.0.0.1:$out_port" >"$work/$name-recv.log" 2>&1 &
    recv=$!
    sleep 0.3
    ined ristsender -p 1 -e 256 -s braidbenchsecret -S 0 -v 3 \
      -i "udp://@127.0.0.1:$in_port" -o "rist://$gw_ip:$mid_port" >"$work/$name-send.log" 2>&1 &
    send=$!
  fi
  pids+=("$recv" "$send")
  sleep 1
  (ined python3 "$repo/bench/udp_stream.py" send "127.0.0.1:$in_port" "$peer_mbps" \
    $((warmup + seconds)) >"$work/$name-source.log") &
  local source=$!
  sleep "$warmup"
  local c0 t0 c1 t1
  c0=$(ticks "$recv"); t0=$(now)
  kill -USR1 "$sink"
  wait "$source"
  t1=$(now)
  # CPU until the sink has had everything (1 s quiet): what the receiver still held at the
  # end is counted as received, so its work counts too.
  wait "$sink" || true
  c1=$(ticks "$recv")
  kill -TERM "$send" "$recv" 2>/dev/null || true
  wait "$send" "$recv" 2>/dev/null || true
  local received marked
  received=$(grep -oE '^received packets=[0-9]+' "$work/$name-sink.log" | cut -d= -f2)
  marked=$(grep -oE '^mark packets=[0-9]+' "$work/$name-sink.log" | cut -d= -f2)
  echo "  source: $(cat "$work/$name-source.log"); delivered: $(grep '^received' "$work/$name-sink.log")"
  received=$((${received:-0} - ${marked:-0}))
  row "$name" "$received" $((c1 - c0)) "$(python3 -c "print($t1 - $t0)")" \
    "$(if [[ $name == srt ]]; then srt-live-transmit -version 2>&1 | grep -oE 'SRT Library version: [0-9.]+' | head -n1; else echo "librist $(ristreceiver -h 2>&1 | grep -oE 'libRIST library: [0-9.]+' | head -n1 | cut -d' ' -f3)"; fi), AES-256, one stream of $peer_mbps Mbit/s" "$peer_mbps"
}

echo "gateway_bench $(date -u +%Y-%m-%dT%H:%MZ): $sessions x $rate Mbit/s ($total_mbps Mbit/s; peers $peer_mbps) for" \
  "$seconds s after $warmup s, receivers on CPU $gw_cpu, senders on CPU $gen_cpu, braid ${fec[*]:-without FEC}" \
  "($(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r))"
for backend in kernel af_xdp dpdk; do
  wanted "$backend" && run_braid "$backend"
done
if wanted srt; then
  command -v srt-live-transmit >/dev/null && run_peer srt || echo "srt: srt-live-transmit not installed (srt-tools)"
fi
if wanted rist; then
  command -v ristreceiver >/dev/null && run_peer rist || echo "rist: ristreceiver not installed (rist-tools)"
fi
