#!/usr/bin/env bash
# gateway.workers: two sessions of 16 links each (every link its own source port, so
# SO_REUSEPORT spreads them over the workers' sockets) give byte-identical, complete outputs
# with one worker and with two; with two, datagrams are handed to their owner worker.
# The generator skips 2 % of the sequences and sends FEC repairs (blocks of 10 + 2) on the
# links in turn: the owner worker rebuilds every sequence whose block it can, with sources
# and repairs arriving through either worker.
source "$(dirname "$0")/lib.sh"

"$LOADGEN" keygen --count 2 --out "$WORK/keys" >/dev/null
PAYLOAD=1128  # whole TS packets that fit --packet-bytes 1200 (braid-loadgen prints it)

# A malformed --fec is refused with the accepted range, before any handshake.
for bad in 10 0,2 10,17 10,2x; do
  rc=0
  "$LOADGEN" run --keys "$WORK/keys" --fec "$bad" --seconds 1 >/dev/null 2>"$WORK/bad-fec.err" || rc=$?
  [[ $rc == 2 ]] && grep -q "want K,M with K 1..64 sources and M 1..16 repairs, got '$bad'" "$WORK/bad-fec.err" ||
    die "--fec $bad: exit $rc, $(cat "$WORK/bad-fec.err")"
done

run_with_workers() {
  local workers=$1 dir=$WORK/w$1
  mkdir -p "$dir"
  start_gateway "$dir/gateway.log" --keys "$WORK/keys" --output "file:$dir/out-{key}.bin" \
    --workers "$workers" --handshake-rate 1000
  grep -q "$workers worker(s)" "$dir/gateway.log" || die "gateway did not start $workers workers"
  "$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/keys" --sessions 2 --links 16 \
    --rate-mbps 4 --seconds 3 --latency-ms 200 --loss 0.02 --fec 10,2 --report "$dir/report" \
    >"$dir/loadgen.log" ||
    { cat "$dir/loadgen.log"; die "loadgen failed with $workers worker(s)"; }
  wait_for_line "$dir/gateway.log" 'sessions=0 .*played=[1-9]' 10
  stop "$GATEWAY_PID" || die "gateway exited non-zero"
  local rebuildable=0
  for key in 1 2; do
    "$LOADGEN" verify "$dir/out-$key.bin" --key-id "$key" --payload-bytes $PAYLOAD --allow-gaps \
      >"$dir/verify-$key.txt" || { cat "$dir/verify-$key.txt"; die "output of key $key corrupt or out of order ($workers workers)"; }
    # Columns: key_id session_id sent last_seq lost reordered repairs recoverable.
    read -r sent lost recoverable < <(awk -v k="$key" '$1 == k {print $3, $5, $8}' "$dir/report")
    ((lost > 0 && recoverable > 0)) || die "key $key: the generator skipped $lost, FEC could rebuild $recoverable"
    grep -q " packets=$((sent + recoverable)) " "$dir/verify-$key.txt" ||
      die "key $key: sent $sent + $recoverable rebuildable, output $(cat "$dir/verify-$key.txt")"
    grep -q " gaps=$((lost - recoverable)) " "$dir/verify-$key.txt" ||
      die "key $key: $lost skipped, $recoverable rebuildable, output $(cat "$dir/verify-$key.txt")"
    rebuildable=$((rebuildable + recoverable))
  done
  # FEC rebuilt every lost packet it could; any more it rebuilt were sources slower than their
  # block's repairs (with two workers, a handoff delayed), whose originals then arrived as
  # duplicates or, once the rebuild played, late copies (docs/transport.md, FEC "Recovery at the
  # gateway").
  local recovered extra
  recovered=$(stat_value "$dir/gateway.log" fec_recovered)
  extra=$(($(stat_value "$dir/gateway.log" duplicates) + $(stat_value "$dir/gateway.log" late_copies)))
  ((recovered >= rebuildable && recovered <= rebuildable + extra)) ||
    die "workers=$workers: fec_recovered $recovered, want $rebuildable (+ at most $extra duplicates/late copies)"
  log "workers=$workers: $(grep -E '^final' "$dir/gateway.log" | grep -oE '(played|skipped|fec_recovered|handoffs|handoff_drops)=[0-9]+' | tr '\n' ' ')"
}

run_with_workers 1
run_with_workers 2

for key in 1 2; do
  cmp "$WORK/w1/out-$key.bin" "$WORK/w2/out-$key.bin" ||
    die "key $key: output differs between one and two workers"
done
[[ $(stat_value "$WORK/w1/gateway.log" handoffs) == 0 ]] || die "one worker handed off"
handoffs=$(stat_value "$WORK/w2/gateway.log" handoffs)
((handoffs > 0)) || die "two workers: no datagram was handed to its owner"
[[ $(stat_value "$WORK/w2/gateway.log" handoff_drops) == 0 ]] || die "handoff ring drops"
[[ $(stat_value "$WORK/w2/gateway.log" skipped) == $(stat_value "$WORK/w1/gateway.log" skipped) ]] ||
  die "two workers skipped other sequences than one"
# Each worker owned one of the sessions (key ID mod 2): both owner bytes appear.
owners=$(awk '!/^#/ {print substr($2, 5, 2)}' "$WORK/w2/report" | sort -u | tr '\n' ' ')
[[ $owners == "00 01 " ]] || die "session owners with two workers: '$owners' (want 00 01)"
log "outputs identical with 1 and 2 workers; $handoffs handoffs; owners $owners"
