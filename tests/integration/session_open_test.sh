#!/usr/bin/env bash
# Opening a session, and closing its output, change no memory mapping on the worker
# (docs/gateway.md §3): its arena
# (jitter buffer and NACK table), its output's ring and its file buffer are mapped by other
# threads, and the worker's heap was grown when it started. A mapping change (mmap, munmap,
# mprotect, brk, mremap) takes the process's memory-map lock for writing and waits out every
# other thread's page fault: on a loaded machine each held the worker, and every session on
# it, 20-50 ms. strace counts the worker thread's calls while the first WARM sessions open
# (the crypto library's and TBB's allocators are set up when the worker starts, not at its
# first session), then while MORE sessions open, the first
# WARM of them replacing the sessions of the same keys (their ends are counted too), then
# while MORE sessions open again, close, and their outputs close after their linger (handed
# to the output pool's thread, which unmaps their rings and buffers), then while MORE sessions
# replace ones whose outputs a config reload moved (once its last session has ended, the
# worker hands such an output to the pool's thread too).
source "$(dirname "$0")/lib.sh"
((EUID == 0)) || skip "needs root to trace the gateway's worker thread (ptrace)"
need strace
WARM=${WARM:-20}
MORE=${MORE:-200}

"$LOADGEN" keygen --count "$MORE" --out "$WORK/keys" >/dev/null
mkdir -p "$WORK/out" "$WORK/moved"
write_outputs() {
  printf '[gateway]\nkeys_file = "%s"\n[[outputs]]\nurl = "file:%s/{key}.ts"\n' "$WORK/keys" "$1" \
    >"$WORK/gateway.toml"
}
write_outputs "$WORK/out"
start_gateway "$WORK/gateway.log" --config "$WORK/gateway.toml" \
  --workers 1 --handshake-rate 5000 --idle-timeout-ms 60000 --output-linger-s 1
worker_tid=""
for _ in $(seq 50); do
  worker_tid=$(grep -l '^braid-worker0$' /proc/"$GATEWAY_PID"/task/*/comm 2>/dev/null | head -n1 |
    cut -d/ -f5)
  [[ -n $worker_tid ]] && break
  sleep 0.1
done
[[ -n $worker_tid ]] || die "no braid-worker0 thread in the gateway"

trace_during() {  # trace_during OUT AFTER LOADGEN-ARGS...: the worker's mapping calls during
  # one run and until AFTER (a command) succeeds
  local out=$1 after=$2; shift 2
  strace -qq -p "$worker_tid" -e trace=mmap,munmap,mprotect,brk,mremap -o "$out" &
  local tracer=$!
  PIDS+=("$tracer")
  sleep 0.5  # attached
  "$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/keys" --links 2 --rate-mbps 1 \
    --seconds 1 --latency-ms 500 "$@" >>"$WORK/loadgen.log" 2>&1 ||
    { cat "$WORK/loadgen.log"; die "loadgen failed"; }
  sleep 1  # the last packets play out
  local waited=0
  until $after; do
    ((waited++ < 100)) || die "gave up waiting for: $after"
    sleep 0.1
  done
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  [[ -f $out ]] || die "strace wrote nothing (could it attach?)"
}

outputs_closed() { [[ $(stat_value "$WORK/gateway.log" outputs) == 0 ]]; }
trace_during "$WORK/warm.strace" true --no-close --sessions "$WARM" --report "$WORK/warm.report"
trace_during "$WORK/more.strace" true --no-close --sessions "$MORE" --report "$WORK/more.report"
sessions=$(stat_value "$WORK/gateway.log" sessions)
((sessions == MORE)) || die "$sessions sessions open after the second run, want $MORE"
trace_during "$WORK/close.strace" outputs_closed --sessions "$MORE" --report "$WORK/close.report"
# A reload that moves the outputs: the sessions open then keep theirs until they end (here,
# replaced by the next run's), and then the worker hands each to the output pool's thread.
"$LOADGEN" run --gateway "$GATEWAY_ADDR" --keys "$WORK/keys" --links 2 --rate-mbps 1 --seconds 1 \
  --latency-ms 500 --no-close --sessions "$MORE" >>"$WORK/loadgen.log" 2>&1 ||
  { cat "$WORK/loadgen.log"; die "loadgen failed"; }
write_outputs "$WORK/moved"
kill -HUP "$GATEWAY_PID"
wait_for_line "$WORK/gateway.log" 'outputs reloaded: 1 configured' 10
trace_during "$WORK/reload.strace" outputs_closed --sessions "$MORE" --report "$WORK/reload.report"
moved=$(find "$WORK/moved" -name '*.ts' -size +0 | wc -l)
((moved == MORE)) || die "$moved outputs written at the reloaded URL, want $MORE"
warm=$(grep -c . "$WORK/warm.strace" || true)
more=$(grep -c . "$WORK/more.strace" || true)
closing=$(grep -c . "$WORK/close.strace" || true)
reloaded=$(grep -c . "$WORK/reload.strace" || true)
log "worker mapping calls: $warm while the first $WARM sessions opened, $more while $MORE more opened ($WARM of them replacing), $closing while $MORE opened again, closed and their outputs closed, $reloaded while $MORE sessions replaced the ones on outputs a reload had moved"
stop "$GATEWAY_PID" || die "gateway exited non-zero"
# Every output closed off the worker still wrote all it was given.
played=$(grep -E '^final ' "$WORK/gateway.log" | tr ' ' '\n' | grep -E '^out_bytes=' | cut -d= -f2)
written=$(cat "$WORK"/out/*.ts "$WORK"/moved/*.ts | wc -c)
((written == played)) || die "the output files hold $written bytes, the gateway played $played"
# at_most_4 CALLS PHASE WHAT: fails, with PHASE's first calls, if the worker made more than 4
# (a few are allowed for an allocator's growth this test's load does not reach).
at_most_4() {
  (($1 <= 4)) && return
  sed -n 1,20p "$WORK/$2.strace"
  die "the worker changed memory mappings $1 times while $3"
}
# Before, the first session's first uses loaded TBB's allocator library and set up the AEAD
# library's thread state on the worker: 11 calls here; 0 now.
at_most_4 "$warm" warm "its first $WARM sessions opened"
# Before (each opening mapped its output's ring and file buffer, its NACK table and jitter
# index, and grew the heap): 1 300 calls here; 0 now.
at_most_4 "$more" more "$MORE sessions opened"
# Before, each output's close unmapped its ring and its buffer on the worker: 2 calls each.
at_most_4 "$closing" close "$MORE sessions and their outputs closed"
# Before, the end of the last session on an output a reload had moved destroyed it on the worker.
at_most_4 "$reloaded" reload "$MORE sessions on moved outputs ended"
log "opening $MORE sessions changed the worker's memory mappings $more times; closing them and their outputs $closing times; ending the sessions on moved outputs $reloaded times"
