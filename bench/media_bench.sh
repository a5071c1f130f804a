#!/usr/bin/env bash
# Media awareness over longer runs (default 120 s each): edge -> braid-linkem -> gateway on
# loopback, the media tests' stream (640x360 at 30 fps H.264 with two B-frames, 1.5 Mbit/s CBR
# video in a 2 Mbit/s constant-rate mux). Scenarios:
#   overload  two links whose total capacity is 20 % below the stream after null deletion,
#             1000 ms (acceptance scenario 4): access units shed, what arrived, decoding;
#   cbr       two 3 Mbit/s links, 500 ms: null restoration (byte-identical output).
# One line per scenario: access units in / out / shed (all of them non-reference?), decode
# errors, frames in / out, overhead (all UDP payload bytes the edge sent / TS bytes it sent as
# media, i.e. after null and filler deletion) split by kind (DATA headers and tags, run lists,
# critical duplicates, retransmissions, control), and the payload fill (body bytes / chunks x
# 1154) next to what the packetizer without deletion or access-unit grouping would reach.
#
# usage: bench/media_bench.sh [--seconds N] [SCENARIO...]   (build first: scripts/build release)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
seconds=120
scenarios=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    overload | cbr) scenarios+=("$1"); shift ;;
    *) echo "media_bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
((${#scenarios[@]})) || scenarios=(overload cbr)
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds >= 10)) || { echo "media_bench: --seconds must be >= 10" >&2; exit 2; }
export BRAID_BUILD_ROOT=${BRAID_BUILD_ROOT:-$repo/build/release} BRAID_SOURCE_ROOT=$repo
[[ -x $BRAID_BUILD_ROOT/src/edge/braid-edge ]] || { echo "build first: scripts/build release" >&2; exit 2; }

run_scenario() (
  source "$repo/tests/integration/lib.sh"
  local name=$1 check=$repo/tests/integration/ts_check.py latency kbps
  make_media_ts "$WORK/in.ts" "$seconds"
  local stream
  stream=$(python3 "$check" rate "$WORK/in.ts" "$seconds")
  case "$name" in
    overload) kbps=$((stream * 8 / 10 / 2)) latency=1000 ;;
    cbr) kbps=3000 latency=500 ;;
  esac
  keygen 1 "$WORK/edge.key"
  start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
  constant_links "$kbps" a b >"$WORK/scenario.toml"
  start_linkem "$WORK/scenario.toml"
  write_bond_config "$latency" a b
  start_edge "$WORK/edge.log" --config "$WORK/edge.toml"
  finish_transfer $((seconds + 60))
  local edge gw
  edge=$(grep -E '^final ' "$WORK/edge.log" | tail -n1)
  gw=$(grep -E '^final ' "$WORK/gateway.log" | tail -n1)
  val() { grep -oE "(^| )$1=[0-9.]+" <<<"$2" | head -n1 | cut -d= -f2; }
  local compare errors frames_in frames_out identical=no
  compare=$(python3 "$check" compare "$WORK/in.ts" "$WORK/out.ts" "$(val shed_access_units "$edge")" || true)
  errors=$(ffmpeg -hide_banner -v error -i "$WORK/out.ts" -f null - 2>&1 | wc -l)
  frames_in=$(count_video_frames "$WORK/in.ts")
  frames_out=$(count_video_frames "$WORK/out.ts")
  cmp -s "$WORK/in.ts" "$WORK/out.ts" && identical=yes
  local in_packets
  in_packets=$(($(wc -c <"$WORK/in.ts") / 188))
  awk -v name="$name" -v s="$seconds" -v stream="$stream" -v kbps="$kbps" \
    -v media="$(val media_bytes "$edge")" -v udp="$(val udp_bytes "$edge")" \
    -v data="$(val data_packets "$edge")" -v retx="$(val retransmit_bytes "$edge")" \
    -v dup="$(val duplicate_bytes "$edge")" -v input="$(val input_bytes "$edge")" \
    -v ts="$(val ts_bytes "$edge")" -v chunks="$(val chunks "$edge")" \
    -v shed="$(val shed_access_units "$edge")" -v stale="$(val stale_dropped "$edge")" \
    -v nulls="$(val nulls_deleted "$edge")" -v restored="$(val nulls_restored "$gw")" \
    -v skipped="$(val skipped "$gw")" -v errors="$errors" -v fin="$frames_in" -v fout="$frames_out" \
    -v identical="$identical" -v inpk="$in_packets" -v compare="$compare" \
    'BEGIN {
      # Per DATA packet on the wire: 46 bytes of header and tag; the run list is the body
      # bytes that are not TS (counted over every chunk, so a little high when some are shed).
      headers = data * 46; lists = (input - ts) * (data / chunks); control = udp - media - headers - lists - dup - retx
      before = inpk * 188 / (int((inpk + 5) / 6) * 1154)
      printf "scenario=%s seconds=%d stream_kbps=%d link_kbps=2x%d shed=%d stale=%d skipped=%d " \
        "decode_errors=%d frames_in=%d frames_out=%d identical=%s nulls_deleted=%d nulls_restored=%d " \
        "overhead=%.3f [headers %.3f, run lists %.4f, duplicates %.3f, retransmissions %.3f, control %.3f] " \
        "fill=%.3f (before: %.3f)\n",
        name, s, stream, kbps, shed, stale, skipped, errors, fin, fout, identical, nulls, restored,
        udp / media, headers / media, lists / media, dup / media, retx / media, control / media,
        input / (chunks * 1154), before
      print "  " compare
    }'
)

echo "media_bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds} s per scenario, build $BRAID_BUILD_ROOT"
for scenario in "${scenarios[@]}"; do run_scenario "$scenario"; done
