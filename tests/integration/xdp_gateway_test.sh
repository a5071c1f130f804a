#!/usr/bin/env bash
# The gateway over AF_XDP (issue 8, acceptance 1): the real braid-edge sends a TS file over a
# veth pair between two namespaces to braid-gateway with backend kernel and af_xdp, each with
# 1 and 2 workers (the veth made with as many queues as workers: worker i takes rx queue i).
# Every output must be byte-identical to the input, hence to each other. The edge uses four
# links (four source ports) so that with 2 workers the flows spread over both queues and
# datagrams are handed between workers. Needs root (skips otherwise).
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || skip "needs root to create network namespaces and attach XDP programs"

GW_IP=10.95.0.1
PORT=7400
gateway_edge_namespaces xg

# pair QUEUES: (re)creates the veth pair with QUEUES rx and tx queues on each end (XDP on veth
# wants at least as many rx queues as its peer has tx queues).
pair() {
  ip -n "$GW" link del "$GW_IF" 2>/dev/null || true
  ip link add "$GW_IF" numrxqueues "$1" numtxqueues "$1" type veth peer name "$ED_IF" \
    numrxqueues "$1" numtxqueues "$1"
  ip link set "$GW_IF" netns "$GW"
  ip link set "$ED_IF" netns "$ED"
  ip -n "$GW" addr add "$GW_IP/24" dev "$GW_IF"
  ip -n "$ED" addr add 10.95.0.2/24 dev "$ED_IF"
  ip -n "$GW" link set "$GW_IF" up
  ip -n "$ED" link set "$ED_IF" up
  ip netns exec "$ED" ping -c 1 -W 2 "$GW_IP" >/dev/null || die "no ping over the veth pair"
}

# Latency well above the links' warm-up (about 1 s before all four carry media), so the edge
# drops nothing as stale: the outputs must then equal the input byte for byte.
make_ts "$WORK/in.ts" 4
keygen 1 "$WORK/edge.key"
write_four_link_edge_config "$GW_IP:$PORT"

# run BACKEND WORKERS: one transfer; the output is $WORK/out-BACKEND-WORKERS.ts.
run() {
  local backend=$1 workers=$2 tag=$1-$2
  pair "$workers"
  local xdp_args=()
  [[ $backend == af_xdp ]] && xdp_args=(--backend af_xdp --xdp-interface "$GW_IF")
  ip netns exec "$GW" "$GATEWAY" --listen "$GW_IP:$PORT" --secret-file "$WORK/gateway.secret" \
    --keys "$WORK/edge.key" --output "file:$WORK/out-$tag.ts" --workers "$workers" \
    --stats-interval 1 "${xdp_args[@]}" >"$WORK/gateway-$tag.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  wait_for_line "$WORK/gateway-$tag.log" 'listening on' 10
  if [[ $backend == af_xdp ]]; then
    ip -n "$GW" link show "$GW_IF" | grep -q 'prog/xdp' || die "$tag: no XDP program on $GW_IF"
  fi
  ip netns exec "$ED" "$EDGE" --config "$WORK/edge.toml" --stats-interval 1 \
    >"$WORK/edge-$tag.log" 2>&1 &
  EDGE_PID=$!
  PIDS+=("$EDGE_PID")
  local rc=0
  timeout 40 tail --pid="$EDGE_PID" -f /dev/null || die "$tag: edge did not finish"
  wait "$EDGE_PID" || rc=$?
  [[ $rc == 0 ]] || { tail -n 20 "$WORK/edge-$tag.log"; die "$tag: edge exited with $rc"; }
  wait_for_line "$WORK/gateway-$tag.log" 'session [0-9a-f]+ ended' 10
  stop "$GATEWAY_PID" || { tail -n 20 "$WORK/gateway-$tag.log"; die "$tag: gateway exited non-zero"; }
  if [[ $backend == af_xdp ]]; then
    ! ip -n "$GW" link show "$GW_IF" | grep -q 'prog/xdp' || die "$tag: XDP program left attached"
    local redirected
    redirected=$(stat_value "$WORK/gateway-$tag.log" xdp_redirected)
    ((redirected > 0)) || die "$tag: the XDP program redirected nothing (xdp_redirected=$redirected)"
  fi
  cmp "$WORK/in.ts" "$WORK/out-$tag.ts" ||
    { tail -n 5 "$WORK/gateway-$tag.log"; die "$tag: output differs from input"; }
  log "$tag: byte-identical, $(stat -c %s "$WORK/out-$tag.ts") bytes; handoffs=$(stat_value \
    "$WORK/gateway-$tag.log" handoffs) rx_packets=$(stat_value "$WORK/gateway-$tag.log" \
    rx_packets) xdp_redirected=$(stat_value "$WORK/gateway-$tag.log" xdp_redirected)"
}

# Clear errors at start: an interface that does not exist, a queue count other than workers.
pair 1
refused() {
  local name=$1 expect=$2 rc=0
  shift 2
  ip netns exec "$GW" "$GATEWAY" --listen "$GW_IP:$PORT" --secret-file "$WORK/gateway.secret" \
    --keys "$WORK/edge.key" --output null: --backend af_xdp "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  ((rc != 0)) || die "$name: the gateway started"
  grep -qF "$expect" "$WORK/$name.log" || { cat "$WORK/$name.log"; die "$name: no clear error"; }
  log "$name refused: $(grep -F "$expect" "$WORK/$name.log" | sed 's/.*\] //')"
}
refused no-interface "xdp_interface 'nosuch0': no such interface" --xdp-interface nosuch0
refused queue-mismatch "has 1 rx queue(s) but gateway.workers = 2" --xdp-interface "$GW_IF" \
  --workers 2
! ip -n "$GW" link show "$GW_IF" | grep -q 'prog/xdp' || die "a refused start left the program"

for backend in kernel af_xdp; do
  for workers in 1 2; do run "$backend" "$workers"; done
done
for tag in kernel-2 af_xdp-1 af_xdp-2; do
  cmp "$WORK/out-kernel-1.ts" "$WORK/out-$tag.ts" || die "out-$tag.ts differs from out-kernel-1.ts"
done
log "PASS: kernel and af_xdp, 1 and 2 workers: four identical outputs"
