#!/usr/bin/env bash
# The netns testbed (scripts/testbed) with braid-linkem in the middle: three links from the
# edge namespace, each bound to its own interface, reach an echo server in the gateway
# namespace from a distinct source address per link; a NAT rebinding moves link 1 to a new
# source port at t = 2 s; echoes come back on every link before and after it. Needs root (it
# creates network namespaces); it removes whatever testbed exists before and after.
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || skip "needs root to create network namespaces (scripts/testbed)"

TESTBED=$SRC/scripts/testbed
LINKEM=$BUILD/src/linkem/braid-linkem
LINKS=3
REBIND_AT=2.0
[[ -x $LINKEM ]] || die "$LINKEM is not built"
indent() { local line; while IFS= read -r line; do echo "  $line"; done <<<"$1"; }

# The lib's cleanup first: the processes inside the namespaces must go before the namespaces.
trap 'cleanup; "$TESTBED" down >/dev/null 2>&1 || true' EXIT

"$TESTBED" up --links "$LINKS" >"$WORK/up1.log" 2>&1 || { cat "$WORK/up1.log"; die "testbed up failed"; }
"$TESTBED" up --links "$LINKS" >"$WORK/up2.log" 2>&1 ||
  { cat "$WORK/up2.log"; die "a second testbed up failed (not idempotent)"; }
"$TESTBED" status >"$WORK/status.log" 2>&1 || { cat "$WORK/status.log"; die "testbed status says down after up"; }
grep -q "up with $LINKS links" "$WORK/status.log" || { cat "$WORK/status.log"; die "status does not report $LINKS links"; }
log "testbed up with $LINKS links (twice)"

"$TESTBED" exec gw python3 "$SRC/tests/integration/testbed_echo.py" --listen 0.0.0.0:7400 \
  --log "$WORK/echo.csv" >"$WORK/echo.log" 2>&1 &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
wait_for_line "$WORK/echo.log" '^echo listening on' 10

{
  printf '[scenario]\nseed = 1\ngateway = "10.78.0.1:7400"\n'
  for ((i = 0; i < LINKS; i++)); do
    cat <<TOML
[[links]]
name = "l$i"
listen = "10.77.0.1:7400"
device = "tb-l$i"
source = "10.78.0.$((10 + i)):0"
up.rate_kbps = 10000
up.delay_ms = 10
down.delay_ms = 10
TOML
  done
  printf '[[events]]\nlink = "l1"\nkind = "rebind"\nat_s = %s\n' "$REBIND_AT"
} >"$WORK/scenario.toml"
"$TESTBED" exec linkem "$LINKEM" --scenario "$WORK/scenario.toml" --record "$WORK/record.csv" \
  >"$WORK/linkem.log" 2>&1 &
LINKEM_PID=$!
PIDS+=("$LINKEM_PID")
wait_for_line "$WORK/linkem.log" '\] ready: ' 10
log "linkem ready"

devices=()
for ((i = 0; i < LINKS; i++)); do devices+=(--device "tb-e$i"); done
"$TESTBED" exec edge python3 "$SRC/tests/integration/testbed_sender.py" "${devices[@]}" \
  --target 10.77.0.1:7400 --interval 0.05 --duration 4.5 --linger 0.5 --size 100 \
  --out "$WORK/sender.csv" >"$WORK/sender.log" 2>&1 ||
  { cat "$WORK/sender.log"; die "the sender failed (echoes on the wrong link or from the wrong address)"; }
cat "$WORK/sender.log"
stop "$LINKEM_PID" || { tail -n 20 "$WORK/linkem.log"; die "braid-linkem exited with $?"; }
stop "$ECHO_PID" || true
grep -E 'NAT rebinding' "$WORK/linkem.log" || die "linkem logged no rebinding"

epoch=$(sed -n '1s/.*epoch_ns=\([0-9]*\).*/\1/p' "$WORK/record.csv")
[[ -n $epoch ]] || die "record.csv has no epoch_ns header"

# One source address per link, 10.78.0.<10+i>, and each tag from exactly one address.
sources=$(awk -F, 'NR > 1 { print $4, $2 }' "$WORK/echo.csv" | sort -u)
echo "echo server: link, source address:"
indent "$sources"
expected=$(for ((i = 0; i < LINKS; i++)); do echo "$i 10.78.0.$((10 + i))"; done)
[[ $sources == "$expected" ]] || die "expected exactly one source address per link, 10.78.0.10+i"
ips=$(awk -F, 'NR > 1 { print $2 }' "$WORK/echo.csv" | sort -u | wc -l)
((ips == LINKS)) || die "the echo server saw $ips source addresses, not $LINKS"

# Source ports: links 0 and 2 keep theirs; link 1 changes once, at the rebinding. Prints
# "link changes t_last_old t_first_new" (seconds since linkem's epoch).
ports=$(awk -F, -v epoch="$epoch" 'NR > 1 {
    t = ($1 - epoch) / 1e9
    if (!($4 in port)) { port[$4] = $3; changes[$4] = 0 }
    else if ($3 != port[$4]) { changes[$4]++; last_old[$4] = prev[$4]; first_new[$4] = t; port[$4] = $3 }
    prev[$4] = t
  }
  END { for (l in port) printf "%s %d %.3f %.3f\n", l, changes[l], last_old[l], first_new[l] }' \
  "$WORK/echo.csv" | sort -n)
echo "source port changes: link, changes, last packet from the old port, first from the new (s)"
indent "$ports"
for ((i = 0; i < LINKS; i++)); do
  read -r _ changes last_old first_new < <(grep "^$i " <<<"$ports") ||
    die "the echo server saw nothing from link $i"
  if ((i == 1)); then
    ((changes == 1)) || die "link 1's source port changed $changes times, not once"
    # The packets that left linkem before the rebinding came from the old port, the first one
    # after it from the new one; 10 ms of delay and 50 ms between packets, plus scheduling.
    awk -v a="$last_old" -v b="$first_new" -v r="$REBIND_AT" \
      'BEGIN { exit !(a >= r - 0.3 && a <= r + 0.05 && b >= r - 0.001 && b <= r + 0.3) }' ||
      die "link 1 moved between t=$last_old and t=$first_new s, not around t=$REBIND_AT s"
  else
    ((changes == 0)) || die "link $i's source port changed $changes times (only link 1 rebinds)"
  fi
done

# Echoes on every link, before and after the rebinding (the downlink works throughout, and
# the new gateway-facing socket of link 1 relays the echoes too).
echoes=$(awk -F, -v epoch="$epoch" -v r="$REBIND_AT" 'NR > 1 {
    t = ($2 - epoch) / 1e9
    if ($1 == "sent") sent[$3]++
    else { echo[$3]++; if (t < r - 0.1) before[$3]++; if (t > r + 0.2) after[$3]++ }
  }
  END { for (l in sent) printf "%s %d %d %d %d\n", l, sent[l], echo[l], before[l], after[l] }' \
  "$WORK/sender.csv" | sort -n)
echo "edge: link, sent, echoes, echoes before / after the rebinding"
indent "$echoes"
for ((i = 0; i < LINKS; i++)); do
  read -r _ sent echoed before after < <(grep "^$i " <<<"$echoes") ||
    die "the sender sent nothing on link $i"
  ((before >= 10 && after >= 10)) ||
    die "link $i: $before echoes before and $after after the rebinding (expected 10+ each)"
  # Nothing is lost on this path but what was in flight to link 1's old port at the rebinding.
  ((echoed >= sent - 2)) || die "link $i: only $echoed echoes for $sent datagrams"
done

# linkem's record: delivered packets in both directions on every link.
oks=$(awk -F, 'NR > 2 && $9 == "ok" { n[$1 " " $2]++ } END { for (k in n) print k, n[k] }' \
  "$WORK/record.csv" | sort)
echo "record.csv ok rows: link, dir, count"
indent "$oks"
for ((i = 0; i < LINKS; i++)); do
  for dir in up down; do
    grep -qE "^l$i $dir [1-9]" <<<"$oks" || die "record.csv has no delivered ($dir, ok) row for l$i"
  done
done
dropped=$(awk -F, 'NR > 2 && $9 != "ok"' "$WORK/record.csv" | wc -l)
log "record.csv: $dropped rows with a drop reason"

"$TESTBED" down || die "testbed down failed"
"$TESTBED" down || die "a second testbed down failed (not idempotent)"
left=$(ip netns list | grep -E '^braid-tb-(edge|linkem|gw)( |$)' || true)
[[ -z $left ]] || die "namespaces left after down: $left"
log "PASS"
