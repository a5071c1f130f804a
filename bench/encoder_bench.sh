#!/usr/bin/env bash
# The encoder-feedback scenario of tests/integration/encoder_follow_test.sh, for longer (default
# 120 s): the built-in test pattern (testpattern:, 1280x720 at 30 fps, 6 Mbit/s at most) over
# three braid-linkem links whose total capacity steps 8 -> 2 Mbit/s at 15 s and every 35 s
# after, back to 8 Mbit/s 10 s later each time (120 s: down at 15, 50, 85 s, up at 25, 60, 95
# s), 40 ms each way, 500 ms latency. Prints one line per step pair (how long the encoder
# target and the encoder's measured output took to fall below 2 Mbit/s and to climb back, from
# encoder_follow_check.py) and one line for the run: media packets played and skipped at the
# gateway, packets that left the edge too late, overhead, frames encoded and decoded, ffmpeg's
# complaints, and braid-edge's CPU.
#
# usage: bench/encoder_bench.sh [--seconds N]   (build first: scripts/build release)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=120
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "encoder_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds >= 35)) || { echo "encoder_bench: --seconds must be >= 35" >&2; exit 2; }
export BRAID_BUILD_ROOT=${BRAID_BUILD_ROOT:-$repo/build/release} BRAID_SOURCE_ROOT=$repo
[[ -x $BRAID_BUILD_ROOT/src/edge/braid-edge ]] || { echo "build first: scripts/build release" >&2; exit 2; }

run() (
  source "$repo/tests/integration/lib.sh"
  local downs=() ups=() t
  for ((t = 15; t + 20 <= seconds; t += 35)); do
    downs+=("$t")
    ups+=($((t + 10)))
  done
  keygen 1 "$WORK/edge.key"
  start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
  {
    constant_links 2667 a b c
    for link in a b c; do
      for t in "${downs[@]}"; do
        printf '[[events]]\nlink = "%s"\nkind = "rate_step"\nat_s = %s\ndirection = "up"\nrate_kbps = 667\n' "$link" "$t"
      done
      for t in "${ups[@]}"; do
        printf '[[events]]\nlink = "%s"\nkind = "rate_step"\nat_s = %s\ndirection = "up"\nrate_kbps = 2667\n' "$link" "$t"
      done
    done
  } >"$WORK/scenario.toml"
  start_linkem "$WORK/scenario.toml"
  {
    printf '[edge]\ngateway = "%s"\nkey_file = "%s"\nlatency_ms = 500\n' "$GATEWAY_ADDR" "$WORK/edge.key"
    printf 'input = "testpattern:?bitrate=6M&size=1280x720&fps=30&duration=%s"\n' "$seconds"
    printf '[encoder]\nmin_bitrate = 300000\nmax_bitrate = 6000000\nsafety_margin = 0.8\n'
    for name in a b c; do
      printf '[[links]]\nname = "%s"\ngateway = "%s"\n' "$name" "$(linkem_addr "$name")"
    done
  } >"$WORK/edge.toml"
  "$EDGE" --config "$WORK/edge.toml" --stats-interval 0.25 >"$WORK/edge.log" 2>&1 &
  EDGE_PID=$!
  PIDS+=("$EDGE_PID")
  (while [[ -r /proc/$EDGE_PID/stat ]]; do
    awk '{print $14 + $15}' "/proc/$EDGE_PID/stat" >"$WORK/edge.cpu" 2>/dev/null || true
    sleep 0.5
  done) &
  local started wall cpu
  started=$(date +%s.%N)
  finish_transfer $((seconds + 60))
  wall=$(elapsed "$started" "$(date +%s.%N)")
  cpu=$(awk -v ticks="$(cat "$WORK/edge.cpu")" -v hz="$(getconf CLK_TCK)" -v wall="$wall" \
    'BEGIN { printf "%.0f", 100 * ticks / hz / wall }')
  local i
  for i in "${!ups[@]}"; do
    python3 "$SRC/tests/integration/encoder_follow_check.py" --no-assert --edge-log "$WORK/edge.log" \
      --linkem-log "$WORK/linkem.log" --gateway-log "$WORK/gateway.log" --down-at "${downs[$i]}" \
      --up-at "${ups[$i]}" --low-mbps 2 |
      awk -v d="${downs[$i]}" -v u="${ups[$i]}" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "steps=8->2@%ss,2->8@%ss target_before=%s output_before=%s target_below_2_after_s=%s " \
          "output_below_2_after_s=%s output_while_low=%s target_back_after_s=%s output_back_after_s=%s\n",
          d, u, v["target_before"], v["output_before"], v["target_below_2_after"],
          v["output_below_after"], v["output_while_low"], v["target_back_after"], v["output_back_after"]
      }'
  done
  local gw edge frames decoded errors
  gw=$(grep -E '^final ' "$WORK/gateway.log" | tail -n1)
  edge=$(grep -E '^final ' "$WORK/edge.log" | tail -n1)
  val() { grep -oE "(^| )$1=[0-9.]+" <<<"$2" | head -n1 | cut -d= -f2; }
  frames=$(val encoder_frames "$edge")
  decoded=$(count_video_frames "$WORK/out.ts")
  errors=$(ffmpeg -nostdin -v error -i "$WORK/out.ts" -f null - 2>&1 | wc -l)
  awk -v s="$seconds" -v played="$(val played "$gw")" -v skipped="$(val skipped "$gw")" \
    -v stale="$(val stale_dropped "$edge")" -v udp="$(val udp_bytes "$edge")" \
    -v input="$(val input_bytes "$edge")" -v changes="$(val encoder_rate_changes "$edge")" \
    -v frames="$frames" -v decoded="$decoded" -v errors="$errors" -v cpu="$cpu" 'BEGIN {
      printf "run seconds=%d datagrams_played=%d skipped=%d (%.2f %%) left_edge_too_late=%d " \
        "overhead=%.3f rate_changes=%d frames=%d decoded=%d ffmpeg_error_lines=%d edge_cpu=%s%%\n",
        s, played, skipped, 100 * skipped / (played + skipped), stale, udp / input, changes,
        frames, decoded, errors, cpu
    }'
)

echo "encoder_bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds} s, build $BRAID_BUILD_ROOT"
run
