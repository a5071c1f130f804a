#!/usr/bin/env bash
# Links added and removed by a config reload while streaming: three emulated 3 Mbit/s links
# (40 ms each way), a 4 Mbit/s stream at 500 ms. The edge starts on links a and b; at ~5 s its
# config gets link c and it is sent SIGHUP; at ~11 s link a is taken out and SIGHUP again; at
# ~12 s two reloads that must be refused (a link that cannot be bound, no link at all).
# Nothing may be missing (byte-identical output, 0 skipped, one handshake); c must carry media
# after it was added, a none from 1 s after its removal on; the log must say what happened.
source "$(dirname "$0")/lib.sh"
need perl
# CLOCK_MONOTONIC in ns, the clock of linkem's record.
monotonic_ns() {
  perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 'printf "%.0f\n", clock_gettime(CLOCK_MONOTONIC) * 1e9'
}

bond_setup 4000 16
{
  constant_links 3000 a b c
} >"$WORK/scenario.toml"
start_linkem "$WORK/scenario.toml"
write_bond_config 500 a b

# The per-link metrics series follow the links too (when the build has Prometheus support).
metrics=()
grep -q 'BRAID_HAVE_METRICS 1' "$BUILD/braid_config.h" && metrics=(--metrics-listen 127.0.0.1:0)
scrape() { curl -sf --max-time 5 "$EDGE_URL"; }
start_edge "$WORK/edge.log" --config "$WORK/edge.toml" "${metrics[@]}"
wait_for_line "$WORK/edge.log" 'session [0-9a-f]+ established' 10
EDGE_URL=$(grep -oE 'http://[0-9.]+:[0-9]+/metrics' "$WORK/edge.log" | head -n1 || true)
sleep 5
write_bond_config 500 a b c
added_ns=$(monotonic_ns)
kill -HUP "$EDGE_PID"
log "SIGHUP: a, b -> a, b, c"
wait_for_line "$WORK/edge.log" 'link 2 \(c\) added' 5
sleep 6
write_bond_config 500 b c
removed_ns=$(monotonic_ns)
kill -HUP "$EDGE_PID"
log "SIGHUP: a, b, c -> b, c"
wait_for_line "$WORK/edge.log" 'link 0 \(a\) removed' 5
if [[ -n $EDGE_URL ]]; then
  scrape >"$WORK/metrics.txt" || die "could not scrape $EDGE_URL"
  names=$(grep -oE '^braid_edge_link_sent_bytes_total\{link="[0-9]+",name="[a-z]+"\}' \
    "$WORK/metrics.txt" | grep -oE 'name="[a-z]+"' | sort | tr -d '\n')
  [[ $names == 'name="b"name="c"' ]] || die "per-link metrics series after the reloads: $names"
  log "per-link metrics series after the reloads: $names"
fi
# Reloads that cannot be carried out change nothing: a link whose socket cannot be bound (no
# such device), and a file without links.
sleep 1
write_bond_config 500 b c
printf '[[links]]\nname = "d"\ndevice = "braidnodev0"\n' >>"$WORK/edge.toml"
kill -HUP "$EDGE_PID"
wait_for_line "$WORK/edge.log" 'SIGHUP: links not changed: .*link d: ' 5
sed -i '/^\[\[links\]\]/,$d' "$WORK/edge.toml"
kill -HUP "$EDGE_PID"
wait_for_line "$WORK/edge.log" 'SIGHUP: .*edge.toml is not valid, nothing changed' 5
finish_transfer 40

grep -E '^final ' "$WORK/gateway.log"
grep -E '^final' "$WORK/edge.log"
grep -E 'SIGHUP|added|removed|unacknowledged|(init|probe|warm|live|degrade) -> |links\[' "$WORK/edge.log" || true
grep -q 'SIGHUP: link c added as link ID 2 (new)' "$WORK/edge.log" ||
  die "the log does not say that c was added"
grep -q 'SIGHUP: link a removed, was link ID 0 (no longer configured)' "$WORK/edge.log" ||
  die "the log does not say that a was removed"
grep -q 'link 2 (c): probe -> warm' "$WORK/edge.log" || die "link c was never proven (warm)"
grep -q 'link 2 (c): warm -> live' "$WORK/edge.log" || die "link c never went live"

epoch=$(sed -n '1s/.*epoch_ns=\([0-9]*\).*/\1/p' "$WORK/record.csv")
[[ -n $epoch ]] || die "record.csv has no epoch_ns header"
added=$((added_ns - epoch))
quiet=$((removed_ns - epoch + 1000000000))
# Media: uplink datagrams above 200 bytes that linkem delivered (column 5: arrival at linkem).
media_on() {
  awk -F, -v link="$1" -v from="$2" -v to="$3" \
    '$1 == link && $2 == "up" && $9 == "ok" && $4 > 200 && $5 > from && $5 <= to' \
    "$WORK/record.csv" | wc -l
}
never=9223372036854775807
c_media=$(media_on c "$added" "$never")
c_early=$(media_on c 0 "$added")
a_before=$(media_on a 0 "$((removed_ns - epoch))")
a_after=$(media_on a "$quiet" "$never")
a_removal=$(media_on a "$((removed_ns - epoch))" "$never")
log "media packets: c after its addition $c_media (before: $c_early), a before its removal" \
  "$a_before, a from its removal $a_removal, from 1 s after it $a_after"
((c_early == 0)) || die "c carried $c_early media packets before it was configured"
((c_media > 500)) || die "c carried only $c_media media packets after it was added"
((a_before > 500)) || die "a carried only $a_before media packets before its removal"
((a_after == 0)) || die "a carried $a_after media packets after its removal + 1 s"
# The per-link stats lines follow the links: b and c at the end, a no longer.
final_links=$(grep -E '^final-link ' "$WORK/edge.log" | grep -oE ' name=[^ ]+' | sort | tr -d '\n')
[[ $final_links == " name=b name=c" ]] || die "final per-link lines show${final_links:- nothing}"
handshakes=$(stat_value "$WORK/edge.log" handshakes)
((handshakes == 1)) || die "the edge handshook $handshakes times (the session was interrupted)"
skipped=$(stat_value "$WORK/gateway.log" skipped)
((skipped == 0)) || die "$skipped media packets were skipped"
cmp "$WORK/in.ts" "$WORK/out.ts" || die "output differs from input"
log "PASS: byte-identical while c was added and a removed; c carried $c_media media packets"
