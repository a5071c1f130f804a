#!/usr/bin/env bash
# Opening a session, and closing its output, change no memory mapping on the worker
# (docs/gateway.md §3): its arena
# (jitter buffer and NACK table), its output's ring and its file buffer are mapped by other
# threads, and the worker's heap was grown when it started. A mapping change (mmap, munmap,
# mprotect, brk, mremap) takes the process's memory-map lock for writing and waits out every
# other thread's page fault: on a loaded machine each held the worker, and every session on
# it, 20-50 ms. strace counts the worker thread's calls while WARM sessions open (first-use
# work: the crypto library's and TBB's allocators), then while MORE sessions open, the first
# WARM of them replacing the sessions of the same keys (their ends are counted too), then
# while MORE sessions open again, close, and their outputs close after their linger (handed
# to the output pool's thread, which unmaps their rings and buffers).
source "$(dirname "$0")/lib.sh"
((EUID == 0)) || skip "needs root to trace the gateway's worker thread (ptrace)"
need strace
WARM=${WARM:-20}
MORE=${MORE:-200}

"$LOADGEN" keygen --count "$MORE" --out "$WORK/keys" >/dev/null
mkdir -p "$WORK/out"
start_gateway "$WORK/gateway.log" --keys "$WORK/keys" --output "file:$WORK/out/{key}.ts" \
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
warm=$(grep -c . "$WORK/warm.strace" || true)
more=$(grep -c . "$WORK/more.strace" || true)
closing=$(grep -c . "$WORK/close.strace" || true)
log "worker mapping calls: $warm while the first $WARM sessions opened, $more while $MORE more opened ($WARM of them replacing), $closing while $MORE opened again, closed and their outputs closed"
stop "$GATEWAY_PID" || die "gateway exited non-zero"
# Before (each opening mapped its output's ring and file buffer, its NACK table and jitter
# index, and grew the heap): 1 300 calls here; 0 now. A few are allowed for an allocator's
# first use that the warm-up did not reach.
if ((more > 4)); then
  sed -n 1,20p "$WORK/more.strace"
  die "the worker changed memory mappings $more times while $MORE sessions opened"
fi
# Before, each output's close unmapped its ring and its buffer on the worker: 2 calls each.
if ((closing > 4)); then
  sed -n 1,20p "$WORK/close.strace"
  die "the worker changed memory mappings $closing times while $MORE sessions and their outputs closed"
fi
log "opening $MORE sessions changed the worker's memory mappings $more times; closing them and their outputs $closing times"
