# Shared helpers for Braid's shell integration tests. Source it; it sets `set -euo pipefail`.
# Tests run from meson with BRAID_BUILD_ROOT and BRAID_SOURCE_ROOT in the environment.
set -euo pipefail

BUILD=${BRAID_BUILD_ROOT:?run through meson test}
SRC=${BRAID_SOURCE_ROOT:?run through meson test}
GATEWAY=$BUILD/src/dataplane/gateway/braid-gateway
EDGE=$BUILD/src/edge/braid-edge
ATTACK=$BUILD/tests/tools/braid-attack
LOADGEN=$BUILD/bench/loadgen/braid-loadgen
WORK=$(mktemp -d "${TMPDIR:-/tmp}/braid-test.XXXXXX")
PIDS=()

cleanup() {
  local rc=$? pid f
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # A failed test's work directory goes with it: say what its programs logged last, and every
  # warning, so that a failure in CI can be read from the test log alone.
  if ((rc != 0 && rc != 77)); then
    for f in "$WORK"/*.log; do
      [[ -s $f ]] || continue
      echo "--- ${f##*/}: warnings and errors (first 10), then its last 6 lines" >&2
      { grep -E '\[(warning|error|critical)\]' "$f" | head -n 10 || true; tail -n 6 "$f"; } |
        cut -c1-400 >&2 || true
    done
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "[$(date +%H:%M:%S.%3N)] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }

# make_ts FILE SECONDS [BITRATE]: an H.264 test pattern in MPEG-TS, made with ffmpeg.
make_ts() {
  need ffmpeg
  ffmpeg -hide_banner -v error -f lavfi -i "testsrc2=size=640x360:rate=25" -t "$2" \
    -c:v libx264 -preset veryfast -tune zerolatency -b:v "${3:-2M}" -g 25 \
    -f mpegts -mpegts_flags +resend_headers -y "$1"
}

# keygen ID FILE
keygen() { "$GATEWAY" keygen --key-id "$1" --out "$2" >/dev/null; }

# wait_for_line FILE REGEX TIMEOUT_S: waits until FILE has a line matching REGEX.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  until grep -qE "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "--- $1:"; tail -n 30 "$1" || true; die "timed out waiting for /$2/ in $1"; }
    sleep 0.05
  done
}

# start_gateway LOG ARGS...: starts the gateway on an ephemeral loopback port and sets
# GATEWAY_PID and GATEWAY_ADDR (read from its log). GATEWAY_WORKERS=N: --workers N.
# Each start_* empties its log first, here: the background process's own `>` truncates it
# only once it is scheduled, and until then a waiter would read the previous run's lines
# (fec_loss_test.sh's second run took the first linkem's "ready" and found no link address).
start_gateway() {
  local logfile=$1; shift
  : >"$logfile"
  "$GATEWAY" --listen 127.0.0.1:${GATEWAY_PORT:-0} --secret-file "$WORK/gateway.secret" \
    --stats-interval 1 ${GATEWAY_WORKERS:+--workers "$GATEWAY_WORKERS"} "$@" >"$logfile" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  wait_for_line "$logfile" 'listening on' 10
  GATEWAY_ADDR=$(grep -oE 'listening on [0-9.]+:[0-9]+' "$logfile" | head -n1 | awk '{print $3}')
}

# start_edge LOG ARGS...: sets EDGE_PID. EDGE_STATS_INTERVAL (seconds, default 1) sets how often
# the edge logs its stats lines: 0.05 gives the 20 Hz per-link timeline a scenario is read from.
start_edge() {
  local logfile=$1; shift
  : >"$logfile"
  "$EDGE" --stats-interval "${EDGE_STATS_INTERVAL:-1}" "$@" >"$logfile" 2>&1 &
  EDGE_PID=$!
  PIDS+=("$EDGE_PID")
}

# stop PID: SIGTERM and wait; returns the exit code.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  local rc=0
  wait "$1" || rc=$?
  return $rc
}

# stat_value LOG KEY: the value of KEY in the last stats/final line of LOG.
stat_value() {
  grep -E '^(stats|final) ' "$1" | tail -n1 | tr ' ' '\n' | grep -E "^$2=" | cut -d= -f2 | head -n1
}

# elapsed T0 T1: T1 - T0 in seconds (from `date +%s.%N`), 3 decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# below X LIMIT: true if X < LIMIT (decimals).
below() { awk -v x="$1" -v l="$2" 'BEGIN { exit !(x < l) }'; }

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

LINKEM=$BUILD/src/linkem/braid-linkem

# start_linkem SCENARIO: starts braid-linkem with its record in $WORK/record.csv and its log in
# $WORK/linkem.log, waits until it is ready, and sets LINKEM_PID.
start_linkem() {
  : >"$WORK/linkem.log"
  "$LINKEM" --scenario "$1" --record "$WORK/record.csv" >"$WORK/linkem.log" 2>&1 &
  LINKEM_PID=$!
  PIDS+=("$LINKEM_PID")
  wait_for_line "$WORK/linkem.log" '\] ready: ' 10
}

# linkem_addr NAME: the address where linkem takes link NAME from the edge (from its log).
linkem_addr() {
  grep -oE "link $1: edge → [0-9.]+:[0-9]+" "$WORK/linkem.log" | awk '{print $NF}'
}

# finish_transfer TIMEOUT_S: waits for the edge to finish its file (exit 0), for the gateway to
# end the session, then stops the gateway and linkem (if running), failing on any error.
finish_transfer() {
  local rc=0
  timeout "$1" tail --pid="$EDGE_PID" -f /dev/null || die "edge did not finish"
  wait "$EDGE_PID" || rc=$?
  [[ $rc == 0 ]] || { tail -n 20 "$WORK/edge.log"; die "edge exited with $rc"; }
  wait_for_line "$WORK/gateway.log" 'session [0-9a-f]+ ended' 10
  stop "$GATEWAY_PID" || die "gateway exited non-zero"
  if [[ -n ${LINKEM_PID:-} ]]; then stop "$LINKEM_PID" || die "braid-linkem exited non-zero"; fi
}

# make_cbr_ts FILE SECONDS KBPS: a constant-bit-rate 720p H.264 test pattern in MPEG-TS whose
# mux rate is KBPS (video at 90 % of it).
make_cbr_ts() {
  need ffmpeg
  local video=$(($3 * 9 / 10))
  ffmpeg -hide_banner -v error -f lavfi -i "testsrc2=size=1280x720:rate=25" -t "$2" \
    -c:v libx264 -preset veryfast -tune zerolatency -b:v "${video}k" -minrate "${video}k" \
    -maxrate "${video}k" -bufsize "$((video / 6))k" -x264-params nal-hrd=cbr -g 25 \
    -f mpegts -muxrate "${3}k" -y "$1"
}

# bond_setup KBPS SECONDS: the common start of a bonding scenario: a KBPS constant-bit-rate
# stream of SECONDS in $WORK/in.ts, the edge key $WORK/edge.key, and a gateway writing
# $WORK/out.ts.
bond_setup() {
  make_cbr_ts "$WORK/in.ts" "$2" "$1"
  keygen 1 "$WORK/edge.key"
  start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
}

# constant_links RATE_KBPS NAME...: prints a linkem [scenario] (seed 1) with one [[links]] table
# per NAME: a constant RATE_KBPS uplink, 40 ms each way. [[events]] may follow.
constant_links() {
  local rate=$1 name
  shift
  printf '[scenario]\nseed = 1\ngateway = "%s"\n' "$GATEWAY_ADDR"
  for name in "$@"; do
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = %s\n' "$name" "$rate"
    printf 'up.delay_ms = 40\ndown.delay_ms = 40\n'
  done
}

# lowlat_links: prints the [[links]] tables of the 200 ms scenario (issue 7 scenario 1): a, b
# and c, constant 2.5 Mbit/s, 60 ms each way, 2 % random loss on each uplink, and on c the
# bursty cellular profile of the Tambur paper (Gilbert-Elliott p 0.068, r 0.852, 4 % / 50 %
# loss in the good / bad state).
lowlat_links() {
  local name
  for name in a b c; do
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 2500\n' "$name"
    printf 'up.delay_ms = 60\ndown.delay_ms = 60\nup.loss = 0.02\n'
  done
  printf 'up.ge_p = 0.068\nup.ge_r = 0.852\nup.ge_loss_good = 0.04\nup.ge_loss_bad = 0.5\n'
}

# one_lossy_link SECONDS SEED [TOML_LINE...]: the common start of a one-link test: SECONDS of
# test TS in $WORK/in.ts, the key $WORK/edge.key, a gateway writing $WORK/out.ts, and braid-linkem
# (seed SEED) with one link "lossy": 8 Mbit/s, 40 ms each way, 3 % random loss on the uplink, and
# any TOML_LINE added to it (e.g. 'up.ge_p = 0.01'). Sets LINK_ADDR, where the edge sends.
one_lossy_link() {
  local seconds=$1 seed=$2
  shift 2
  make_ts "$WORK/in.ts" "$seconds"
  keygen 1 "$WORK/edge.key"
  start_gateway "$WORK/gateway.log" --keys "$WORK/edge.key" --output "file:$WORK/out.ts"
  {
    printf '[scenario]\nseed = %s\ngateway = "%s"\n' "$seed" "$GATEWAY_ADDR"
    printf '[[links]]\nname = "lossy"\nlisten = "127.0.0.1:0"\nup.rate_kbps = 8000\n'
    printf 'up.delay_ms = 40\nup.loss = 0.03\ndown.delay_ms = 40\n'
    if (($#)); then printf '%s\n' "$@"; fi
  } >"$WORK/scenario.toml"
  start_linkem "$WORK/scenario.toml"
  LINK_ADDR=$(linkem_addr lossy)
}

# lte_links [LOSS]: prints the [[links]] tables of the LTE-trace scenario (issue 6 acceptance 1):
# att, tmobile and verizon on the ATT-LTE-driving-2016, TMobile-LTE-short and Verizon-LTE-short
# traces (.up for media, .down for feedback) at 30 / 40 / 50 ms one way; LOSS (e.g. 0.02): random
# loss added on every uplink (issue 7 acceptance 2).
lte_links() {
  local l name trace delay
  for l in att:ATT-LTE-driving-2016:30 tmobile:TMobile-LTE-short:40 verizon:Verizon-LTE-short:50; do
    IFS=: read -r name trace delay <<<"$l"
    printf '[[links]]\nname = "%s"\nlisten = "127.0.0.1:0"\n' "$name"
    printf 'up.trace = "%s/tests/data/traces/%s.up"\nup.delay_ms = %s\n' "$SRC" "$trace" "$delay"
    printf 'down.trace = "%s/tests/data/traces/%s.down"\ndown.delay_ms = %s\n' "$SRC" "$trace" "$delay"
    if [[ -n ${1:-} ]]; then printf 'up.loss = %s\n' "$1"; fi
  done
}

# write_bond_config LATENCY_MS NAME...: $WORK/edge.toml for the edge key $WORK/edge.key and
# input $WORK/in.ts, one [[links]] per NAME sending to linkem's port for that link.
write_bond_config() {
  local latency=$1 name
  shift
  {
    printf '[edge]\ngateway = "%s"\nkey_file = "%s"\ninput = "file:%s"\nlatency_ms = %s\n' \
      "$GATEWAY_ADDR" "$WORK/edge.key" "$WORK/in.ts" "$latency"
    for name in "$@"; do
      printf '[[links]]\nname = "%s"\ngateway = "%s"\n' "$name" "$(linkem_addr "$name")"
    done
  } >"$WORK/edge.toml"
}

# count_video_frames FILE: the number of pictures ffprobe decodes from FILE's first video stream
# (ffprobe lists an MPEG-TS stream once per program as well: the first figure is taken).
count_video_frames() {
  ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of csv=p=0 "$1" 2>/dev/null | awk 'NF && !n { print; n = 1 }'
}

# make_media_ts FILE SECONDS: 640x360 at 30 fps H.264 with B-frames (2, no pyramid: every B
# picture is a non-reference one), a keyframe every 2 s, 1.5 Mbit/s CBR (nal-hrd, filler data)
# in a 2 Mbit/s constant-rate mux (null packets): the media-awareness tests' stream.
make_media_ts() {
  need ffmpeg
  ffmpeg -hide_banner -v error -f lavfi -i "testsrc2=size=640x360:rate=30" -t "$2" \
    -c:v libx264 -preset veryfast -b:v 1500k -minrate 1500k -maxrate 1500k -bufsize 1000k \
    -x264-params bframes=2:b-pyramid=none:nal-hrd=cbr:keyint=60 \
    -f mpegts -muxrate 2000k -y "$1"
}

# gateway_edge_namespaces TAG: two network namespaces, $GW and $ED (braid-TAG-gw-PID and
# braid-TAG-ed-PID, loopback up), and the names of the veth pair between them, $GW_IF and $ED_IF
# (TAGg<PID>, TAGe<PID>: not created). At exit the test's processes stop and both namespaces go.
gateway_edge_namespaces() {
  GW=braid-$1-gw-$$ ED=braid-$1-ed-$$ GW_IF=$1g$$ ED_IF=$1e$$
  trap 'cleanup; ip netns del "$GW" 2>/dev/null || true; ip netns del "$ED" 2>/dev/null || true' EXIT
  ip netns add "$GW"
  ip netns add "$ED"
  local ns
  for ns in "$GW" "$ED"; do ip -n "$ns" link set lo up; done
}

# write_four_link_edge_config ADDRESS: $WORK/edge.toml sending $WORK/in.ts (key $WORK/edge.key) to
# ADDRESS over four links l0..l3 that the routing table places, at 2000 ms latency (well above
# the links' warm-up, so nothing goes stale and the output must equal the input).
write_four_link_edge_config() {
  {
    printf '[edge]\ngateway = "%s"\nkey_file = "%s"\ninput = "file:%s"\nlatency_ms = 2000\n' \
      "$1" "$WORK/edge.key" "$WORK/in.ts"
    local i
    for i in 0 1 2 3; do printf '[[links]]\nname = "l%s"\n' "$i"; done
  } >"$WORK/edge.toml"
}
