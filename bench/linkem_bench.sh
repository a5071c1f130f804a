#!/usr/bin/env bash
# braid-linkem forwarding benchmark: one constant-rate 2 Gbit/s link (40 ms delay), 1200-byte
# datagrams offered at increasing rates by tests/tools/linkem-probe over loopback; linkem pinned
# to one CPU, the probe to the other. Prints, per offered rate: what the probe sent, what the
# receiver got, linkem's CPU use (user+system from /proc) and linkem's own timing error
# (sent − scheduled, from its record). "lost in linkem" = datagrams the probe sent that linkem
# did not forward (its socket buffer overflowed); "at receiver" is what the probe's own sink
# took in, which tops out first (it writes a CSV line per datagram on the sender's CPU).
#
# usage: bench/linkem_bench.sh [BUILD_DIR] [SECONDS] [RATES_MBPS...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build/release}
seconds=${2:-5}
shift $(($# > 2 ? 2 : $#))
rates=("$@")
((${#rates[@]})) || rates=(100 200 300 400)
linkem=$build/src/linkem/braid-linkem
probe=$build/tests/tools/linkem-probe
[[ -x $linkem && -x $probe ]] || { echo "build first: ninja -C $build" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
linkem_cpu=${LINKEM_CPU:-1}
probe_cpu=${PROBE_CPU:-0}
hz=$(getconf CLK_TCK)

printf '| offered Mbit/s | sent pkt/s | forwarded Mbit/s | lost in linkem | at receiver Mbit/s | linkem CPU %% | µs CPU/pkt | timing error p50 / p99 / max (µs) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---|\n'
for rate in "${rates[@]}"; do
  port=$((30000 + RANDOM % 20000))
  cat >"$work/s.toml" <<TOML
[scenario]
gateway = "127.0.0.1:$port"
pool_packets = 262144
[log]
stats_interval_s = 0
[[links]]
name = "fast"
listen = "127.0.0.1:0"
up.rate_kbps = 2000000
up.delay_ms = 40
up.queue_packets = 100000
TOML
  taskset -c "$linkem_cpu" "$linkem" --scenario "$work/s.toml" --record "$work/record.csv" \
    >"$work/linkem.log" 2>&1 &
  pid=$!
  until grep -q '\] ready: ' "$work/linkem.log"; do sleep 0.05; done
  listen=$(grep -oE 'edge → 127\.0\.0\.1:[0-9]+' "$work/linkem.log" | grep -oE '[0-9]+$')
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  taskset -c "$probe_cpu" "$probe" --sink "127.0.0.1:$port" --send "127.0.0.1:$listen@$((rate * 1000))" \
    --duration "$seconds" --linger 0.3 --out "$work/recv.csv" >"$work/probe.log"
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  kill -TERM "$pid"; wait "$pid" || true
  python3 - "$work" "$seconds" "$rate" "$(( (u1 - u0) + (s1 - s0) ))" "$hz" <<'PY'
import csv, sys
work, seconds, rate, ticks, hz = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sent = int(open(f"{work}/probe.log").read().split("sent=")[1].split()[0])
with open(f"{work}/recv.csv") as f:
    got = sum(int(r["size"]) for r in csv.DictReader(f))
with open(f"{work}/record.csv") as f:
    f.readline()
    rows = list(csv.DictReader(f))
late = sorted(int(r["sent_ns"]) - int(r["delivery_ns"]) for r in rows if r["result"] == "ok")
ok = [r for r in rows if r["result"] == "ok"]
lost = sent - len(ok)
forwarded = sum(int(r["size"]) for r in ok)
cpu = ticks / hz
q = lambda p: late[min(len(late) - 1, int(len(late) * p))] / 1e3
print(f"| {rate} | {sent / seconds:.0f} | {forwarded * 8 / seconds / 1e6:.1f} | {lost} | "
      f"{got * 8 / seconds / 1e6:.1f} | "
      f"{cpu / seconds * 100:.0f} | {cpu / max(len(late), 1) * 1e6:.2f} | "
      f"{q(0.5):.0f} / {q(0.99):.0f} / {late[-1] / 1e3:.0f} |")
PY
done
