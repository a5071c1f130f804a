#!/usr/bin/env bash
# The gateway over DPDK (issue 8, acceptance 1): the real braid-edge sends a TS file over a
# veth pair between two namespaces to braid-gateway with backend kernel and dpdk, each with
# 1 and 2 workers. DPDK runs without hugepages or a NIC: --no-huge and the net_af_packet vdev
# on the gateway's veth with one queue pair per worker (its packet sockets share a hash
# fanout group, so the edge's four links usually spread over both queues; handoffs= in the
# log says whether datagrams reached a worker that does not own their session). An af_packet socket does not
# steal frames from the kernel, so for the dpdk runs an nftables netdev ingress rule drops
# everything on the veth after the packet taps have seen it: the kernel neither answers ARP
# and ping nor sends ICMP port unreachable, and the edge reaches the gateway only through the
# ARP and ICMP answers of the DPDK port. Every output must be byte-identical to the input,
# hence to each other. The dpdk runs also give the gateway an exception path to the kernel, a
# net_tap vdev holding the gateway's address (taken off the veth): a TCP download from an HTTP
# server in the gateway's namespace must go edge -> DPDK port -> TAP -> kernel and back, whole,
# while ping and ARP are still answered by the port. Needs root (skips otherwise).
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || skip "needs root to create network namespaces and open packet sockets"
need nft
need ethtool

GW_IP=10.96.0.1
PORT=7400
gateway_edge_namespaces dg

# pair: (re)creates the veth pair, the kernel answering on the gateway side.
pair() {
  ip netns exec "$GW" nft delete table netdev braid_dpdk 2>/dev/null || true
  ip -n "$GW" link del "$GW_IF" 2>/dev/null || true
  ip link add "$GW_IF" type veth peer name "$ED_IF"
  ip link set "$GW_IF" netns "$GW"
  ip link set "$ED_IF" netns "$ED"
  ip -n "$GW" addr add "$GW_IP/24" dev "$GW_IF"
  ip -n "$ED" addr add 10.96.0.2/24 dev "$ED_IF"
  ip -n "$GW" link set "$GW_IF" up
  ip -n "$ED" link set "$ED_IF" up
  ip netns exec "$ED" ping -c 1 -W 2 "$GW_IP" >/dev/null || die "no ping over the veth pair"
}

# kernel_off: the gateway's kernel no longer sees the veth's frames (the DPDK port does).
kernel_off() {
  "$SRC/scripts/netns-ingress-drop" "$GW" "$GW_IF" braid_dpdk
  # The address moves to the exception TAP (exception_on): the kernel's replies must leave
  # through it and the DPDK port, not straight out of the veth.
  ip -n "$GW" addr flush dev "$GW_IF"
  # A veth leaves TCP checksums to be filled in by the receiving kernel (checksum offload); a
  # packet socket, and so net_af_packet, hands them on unfilled, and the TAP's kernel would
  # drop the TCP segments as corrupt (TcpInCsumErrors). A NIC delivers them whole.
  ip netns exec "$ED" ethtool -K "$ED_IF" tx off >/dev/null
  # Forget the kernel's ARP answer: the edge must learn the MAC from the DPDK port.
  ip -n "$ED" neigh flush dev "$ED_IF"
}

# exception_on TAG: the gateway's address on its TAP; an HTTP server in the gateway's namespace.
exception_on() {
  ip -n "$GW" addr add "$GW_IP/24" dev "$TAP_IF"
  ip -n "$GW" link set "$TAP_IF" up
  ip netns exec "$GW" python3 -m http.server --bind "$GW_IP" "$HTTP_PORT" --directory "$WORK" \
    >"$WORK/http-$1.log" 2>&1 &
  HTTP_PID=$!
  PIDS+=("$HTTP_PID")
}

# exception_check TAG: the download through the exception path is whole.
exception_check() {
  local got="" i
  for i in $(seq 1 20); do
    got=$(ip netns exec "$ED" python3 -c 'import sys, urllib.request
sys.stdout.write(str(len(urllib.request.urlopen(sys.argv[1], timeout=10).read())))' \
      "http://$GW_IP:$HTTP_PORT/in.ts" 2>"$WORK/fetch-$1.log") && break
    sleep 0.25  # the server may still be starting
  done
  [[ "$got" == "$(stat -c %s "$WORK/in.ts")" ]] ||
    { cat "$WORK/fetch-$1.log"; tail -n 5 "$WORK/gateway-$1.log"; die "$1: download through the exception path got '$got' bytes"; }
  kill "$HTTP_PID" 2>/dev/null || true
  wait "$HTTP_PID" 2>/dev/null || true
}

eal_args() {
  echo "--no-huge -m 256 --no-pci --no-shconf --no-telemetry -l 0 --log-level=*:warning" \
    "--vdev=net_af_packet0,iface=$GW_IF,qpairs=$1"
}
# The exception TAP (DPDK port 1, probed after net_af_packet0) and the HTTP server behind it.
TAP_IF=dgx$$
HTTP_PORT=8480
tap_arg() { echo "--vdev=net_tap0,iface=$TAP_IF"; }

make_ts "$WORK/in.ts" 4
keygen 1 "$WORK/edge.key"
write_four_link_edge_config "$GW_IP:$PORT"

# run BACKEND WORKERS: one transfer; the output is $WORK/out-BACKEND-WORKERS.ts.
run() {
  local backend=$1 workers=$2 tag=$1-$2
  pair
  local dpdk_args=()
  if [[ $backend == dpdk ]]; then
    kernel_off
    dpdk_args=(--backend dpdk --dpdk-eal-args "$(eal_args "$workers") $(tap_arg)" --dpdk-port 0
      --dpdk-exception-port 1)
  fi
  ip netns exec "$GW" "$GATEWAY" --listen "$GW_IP:$PORT" --secret-file "$WORK/gateway.secret" \
    --keys "$WORK/edge.key" --output "file:$WORK/out-$tag.ts" --workers "$workers" \
    --stats-interval 1 "${dpdk_args[@]}" >"$WORK/gateway-$tag.log" 2>&1 &
  GATEWAY_PID=$!
  PIDS+=("$GATEWAY_PID")
  wait_for_line "$WORK/gateway-$tag.log" 'listening on' 20
  if [[ $backend == dpdk ]]; then
    # With the kernel cut off, only the DPDK port can answer ARP and ping.
    ip netns exec "$ED" ping -c 2 -i 0.2 -W 2 "$GW_IP" >"$WORK/ping-$tag.log" ||
      { cat "$WORK/ping-$tag.log"; tail -n 20 "$WORK/gateway-$tag.log"; die "$tag: no ping answer from the DPDK port"; }
    exception_on "$tag"
    exception_check "$tag"
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
  local extra=""
  if [[ $backend == dpdk ]]; then
    local arp icmp
    arp=$(stat_value "$WORK/gateway-$tag.log" dpdk_arp_answered)
    icmp=$(stat_value "$WORK/gateway-$tag.log" dpdk_icmp_answered)
    ((arp > 0)) || die "$tag: the DPDK port answered no ARP request (dpdk_arp_answered=$arp)"
    ((icmp >= 2)) || die "$tag: the DPDK port answered $icmp ping(s), want 2"
    local to from
    to=$(stat_value "$WORK/gateway-$tag.log" dpdk_to_kernel)
    from=$(stat_value "$WORK/gateway-$tag.log" dpdk_from_kernel)
    ((to > 0 && from > 0)) || die "$tag: exception path unused (to_kernel=$to from_kernel=$from)"
    extra=" arp_answered=$arp icmp_answered=$icmp to_kernel=$to from_kernel=$from other_dropped=$(stat_value \
      "$WORK/gateway-$tag.log" dpdk_other_dropped) tx_no_neighbour=$(stat_value \
      "$WORK/gateway-$tag.log" dpdk_tx_no_neighbour)"
  fi
  cmp "$WORK/in.ts" "$WORK/out-$tag.ts" ||
    { tail -n 5 "$WORK/gateway-$tag.log"; die "$tag: output differs from input"; }
  log "$tag: byte-identical, $(stat -c %s "$WORK/out-$tag.ts") bytes; handoffs=$(stat_value \
    "$WORK/gateway-$tag.log" handoffs) rx_packets=$(stat_value "$WORK/gateway-$tag.log" \
    rx_packets) feedback=$(stat_value "$WORK/gateway-$tag.log" feedback)$extra"
}

# Clear errors at start: EAL arguments it refuses, a port that does not exist, fewer queue
# pairs than workers, a wildcard listen address.
pair
refused() {
  local name=$1 expect=$2 rc=0
  shift 2
  ip netns exec "$GW" "$GATEWAY" --secret-file "$WORK/gateway.secret" --keys "$WORK/edge.key" \
    --output null: --backend dpdk "$@" >"$WORK/$name.log" 2>&1 || rc=$?
  ((rc != 0)) || die "$name: the gateway started"
  grep -qF "$expect" "$WORK/$name.log" || { cat "$WORK/$name.log"; die "$name: no clear error"; }
  log "$name refused: $(grep -F "$expect" "$WORK/$name.log" | sed 's/.*\] //')"
}
refused bad-eal-args "DPDK EAL init with" --listen "$GW_IP:$PORT" \
  --dpdk-eal-args "--no-huge --no-such-eal-option"
refused no-port "gateway.dpdk_port 3: no such DPDK port" --listen "$GW_IP:$PORT" \
  --dpdk-eal-args "$(eal_args 1)" --dpdk-port 3
refused queue-mismatch "has 1 rx / 1 tx queue(s) but gateway.workers = 2" \
  --listen "$GW_IP:$PORT" --dpdk-eal-args "$(eal_args 1)" --workers 2
refused wildcard-listen "gateway.listen must name the gateway's own address" \
  --listen "0.0.0.0:$PORT" --dpdk-eal-args "$(eal_args 1)"
refused same-exception-port "gateway.dpdk_exception_port 0 is gateway.dpdk_port" \
  --listen "$GW_IP:$PORT" --dpdk-eal-args "$(eal_args 1)" --dpdk-exception-port 0
refused no-exception-port "gateway.dpdk_exception_port 1: no such DPDK port" \
  --listen "$GW_IP:$PORT" --dpdk-eal-args "$(eal_args 1)" --dpdk-exception-port 1

for backend in kernel dpdk; do
  for workers in 1 2; do run "$backend" "$workers"; done
done
for tag in kernel-2 dpdk-1 dpdk-2; do
  cmp "$WORK/out-kernel-1.ts" "$WORK/out-$tag.ts" || die "out-$tag.ts differs from out-kernel-1.ts"
done
log "PASS: kernel and dpdk, 1 and 2 workers: four identical outputs; the DPDK runs' exception path carried a whole TCP download"
