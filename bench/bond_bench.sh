#!/usr/bin/env bash
# The bonded-transport scenarios of tests/integration/bond_*_test.sh, for longer (default 120 s
# each): edge -> braid-linkem -> gateway on loopback, a constant-bit-rate test pattern. Prints
# one line per scenario: packets fed, skipped and late at the gateway, packets recovered by FEC
# and by ARQ, overhead (all UDP payload bytes the edge sent / TS bytes sent as media, after
# null and filler deletion) split by kind (DATA headers and tags, FEC repairs, retransmissions,
# critical-packet copies, control: keepalives, JOIN, probe trains, CLOSE, null-run lists), the
# overhead over the TS bytes fed in, and demotions per link (name:downs, "/Nu": N of them
# stalls undone, gaps rather than a dead link).
#
# usage: bench/bond_bench.sh [--seconds N] [SCENARIO...]   (build first: scripts/build release)
# scenarios: lte (ATT/T-Mobile/Verizon uplink traces, 30/40/50 ms, 6 Mbit/s at 500 ms),
#            death (3 x 3 Mbit/s, one dies at 5 s and returns at 12 s, 4 Mbit/s at 500 ms),
#            asymmetric (3 x 2 Mbit/s at 30/80/250 ms, 4 Mbit/s at 1000 ms),
#            marginal (2 x 2.5 Mbit/s + 6 Mbit/s swinging 100 <-> 1200 ms over 30 s, 4 Mbit/s
#            at 1000 ms),
#            fec-lowlat / arq-lowlat (3 x 2.5 Mbit/s at 60 ms, 2 % random loss on each and
#            Gilbert-Elliott bursts on c, 4 Mbit/s at 200 ms; with FEC / with --no-fec),
#            fec-lte / arq-lte (the lte traces with 2 % random loss added on every uplink),
#            fec-clean (3 x 3 Mbit/s at 40 ms, 4 Mbit/s at 500 ms: the repair floor).
#            Default: lte death asymmetric marginal.
# env: KEEP_WORK=1 keeps each run's work directory (logs, linkem's record, in.ts and out.ts);
#      EDGE_STATS_INTERVAL=0.05 has the edge log its per-link stats at 20 Hz instead of 1 Hz.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=120
scenarios=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    lte | death | asymmetric | marginal | fec-lowlat | arq-lowlat | fec-lte | arq-lte | fec-clean)
      scenarios+=("$1"); shift ;;
    *) echo "bond_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
((${#scenarios[@]})) || scenarios=(lte death asymmetric marginal)
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds >= 20)) || { echo "bond_bench: --seconds must be >= 20" >&2; exit 2; }
export BRAID_BUILD_ROOT=${BRAID_BUILD_ROOT:-$repo/build/release} BRAID_SOURCE_ROOT=$repo
[[ -x $BRAID_BUILD_ROOT/src/edge/braid-edge ]] || { echo "build first: scripts/build release" >&2; exit 2; }

run_scenario() (
  source "$repo/tests/integration/lib.sh"
  local name=$1 kbps latency links=() edge_args=()
  case "$name" in
    arq-*) edge_args=(--no-fec) ;;
  esac
  case "$name" in
    lte | fec-lte | arq-lte) kbps=6000 latency=500 ;;
    fec-lowlat | arq-lowlat) kbps=4000 latency=200 ;;
    fec-clean) kbps=4000 latency=500 ;;
    death) kbps=4000 latency=500 ;;
    asymmetric) kbps=4000 latency=1000 ;;
    marginal) kbps=4000 latency=1000 ;;
  esac
  make_cbr_ts "$WORK/in.ts" "$seconds" "$kbps"
  keygen 1 "$WORK/edge.key"
  start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
  {
    printf '[scenario]\nseed = 1\ngateway = "%s"\n' "$GATEWAY_ADDR"
    case "$name" in
      lte) lte_links ;;
      fec-lte | arq-lte) lte_links 0.02 ;;
      fec-lowlat | arq-lowlat) lowlat_links ;;
      fec-clean)
        for n in a b c; do
          printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 3000\n' "$n"
          printf 'up.delay_ms = 40\ndown.delay_ms = 40\n'
        done ;;
      death)
        for n in a b c; do
          printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 3000\n' "$n"
          printf 'up.delay_ms = 40\ndown.delay_ms = 40\n'
        done
        printf '[[events]]\nlink = "b"\nkind = "death"\nat_s = 5\nduration_s = 7\n' ;;
      asymmetric)
        for l in a:30 b:80 c:250; do
          printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 2000\n' "${l%%:*}"
          printf 'up.delay_ms = %s\ndown.delay_ms = %s\n' "${l##*:}" "${l##*:}"
        done ;;
      marginal)
        for l in a:2500 b:2500 m:6000; do
          printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = %s\n' "${l%%:*}" "${l##*:}"
          printf 'up.delay_ms = 40\ndown.delay_ms = 40\n'
        done
        printf '[[events]]\nlink = "m"\nkind = "delay_swing"\nat_s = 0\ndirection = "up"\n'
        printf 'delay_ms = 100\ndelay_max_ms = 1200\nperiod_s = 30\nduration_s = 0\n' ;;
    esac
  } >"$WORK/scenario.toml"
  start_linkem "$WORK/scenario.toml"
  case "$name" in
    lte | fec-lte | arq-lte) links=(att tmobile verizon) ;;
    marginal) links=(a b m) ;;
    *) links=(a b c) ;;
  esac
  write_bond_config "$latency" "${links[@]}"
  start_edge "$WORK/edge.log" --config "$WORK/edge.toml" "${edge_args[@]}"
  finish_transfer $((seconds + 60))
  local gw edge
  gw=$(grep -E '^final ' "$WORK/gateway.log" | tail -n1)
  edge=$(grep -E '^final ' "$WORK/edge.log" | tail -n1)
  val() { grep -oE "(^| )$1=[0-9.]+" <<<"$2" | head -n1 | cut -d= -f2; }
  local input media udp data retx repair dup played skipped late late_copies fec arq stale
  input=$(val input_bytes "$edge"); udp=$(val udp_bytes "$edge"); data=$(val data_packets "$edge")
  media=$(val media_bytes "$edge")
  retx=$(val retransmit_bytes "$edge"); repair=$(val repair_bytes "$edge")
  dup=$(val duplicate_bytes "$edge") stale=$(val stale_dropped "$edge")
  played=$(val played "$gw"); skipped=$(val skipped "$gw"); late=$(val late "$gw")
  late_copies=$(val late_copies "$gw")
  fec=$(val fec_recovered "$gw"); arq=$(val arq_recovered "$gw")
  local demotions
  # name:downs, and "/Nu" when N of them were stalls undone (gaps, not a dead link)
  demotions=$(grep -E '^final-link ' "$WORK/edge.log" | awk '{n=""; d=""; u=0; for (i = 1; i <= NF; i++) {
    if ($i ~ /^name=/) n = substr($i, 6); if ($i ~ /^downs=/) d = substr($i, 7)
    if ($i ~ /^stalls_undone=/) u = substr($i, 15) }
    printf "%s:%s%s ", n, d, (u > 0 ? "/" u "u" : "")}')
  awk -v name="$name" -v s="$seconds" -v input="$input" -v media="$media" -v udp="$udp" -v data="$data" \
    -v retx="$retx" -v repair="$repair" -v dup="${dup:-0}" -v played="$played" -v skipped="$skipped" -v late="$late" -v late_copies="${late_copies:-0}" \
    -v dem="$demotions" -v fec="$fec" -v arq="$arq" -v stale="${stale:-0}" \
    'BEGIN {
      # media: the TS bytes sent as media, after null/filler deletion; the overhead is over
      # them (input - media: deleted nulls and what the edge dropped past its deadline).
      fed = input / 188; headers = data * 46; control = udp - media - headers - retx - repair - dup
      # Missing: the holes at the gateway (skipped) and what the edge dropped past its deadline
      # before it got a sequence number (stale), which the gateway cannot see as a hole.
      missing = skipped + stale
      printf "scenario=%s seconds=%d ts_packets=%d datagrams_played=%d missing=%d (%.2f %%) " \
        "[skipped %d, edge stale %d] late=%d late_copies=%d " \
        "recovered fec=%d arq=%d overhead=%.3f [headers %.3f, fec %.3f, retransmissions %.3f, " \
        "duplicates %.3f, control %.3f] overhead_vs_fed=%.3f demotions=%s\n",
        name, s, fed, played, missing, 100 * missing / (played + missing), skipped, stale, late, late_copies, fec, arq,
        udp / media, headers / media, repair / media, retx / media, dup / media, control / media, udp / input, dem
    }'
)

echo "bond_bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds} s per scenario, build $BRAID_BUILD_ROOT"
for scenario in "${scenarios[@]}"; do run_scenario "$scenario"; done
