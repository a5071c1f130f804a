#!/usr/bin/env bash
# The AF_XDP port over a veth pair between two network namespaces: braid-xdp-probe (XDP
# program + one AF_XDP socket, copy mode: veth has no zero-copy) answers every datagram that
# reaches it; the sender sends junk of every kind the XDP program drops and valid-looking
# Braid datagrams over IPv4 and IPv6. Checks: exactly the valid datagrams arrive, byte for
# byte, with their source addresses; each junk kind is counted under its reason in the BPF
# map; the answers (frames built by the port, IPv6 with its UDP checksum) reach the sender's
# kernel UDP socket; ARP/ND, ping and another UDP port still reach the kernel; the program is
# gone from the interface after the probe exits. Needs root (skips otherwise).
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || skip "needs root to create network namespaces and attach XDP programs"
need ping
PROBE=$BUILD/tests/tools/braid-xdp-probe
[[ -x $PROBE ]] || die "$PROBE is not built (meson feature xdp)"

PORT=7400
gateway_edge_namespaces bx
ip link add "$GW_IF" type veth peer name "$ED_IF"
ip link set "$GW_IF" netns "$GW"
ip link set "$ED_IF" netns "$ED"
ip -n "$GW" addr add 10.93.0.1/24 dev "$GW_IF"
ip -n "$ED" addr add 10.93.0.2/24 dev "$ED_IF"
ip -n "$GW" addr add fd93::1/64 dev "$GW_IF" nodad
ip -n "$ED" addr add fd93::2/64 dev "$ED_IF" nodad
for ns in "$GW" "$ED"; do ip -n "$ns" link set lo up; done
ip -n "$GW" link set "$GW_IF" up
ip -n "$ED" link set "$ED_IF" up

# A kernel UDP socket on another port in the gateway namespace: the program must pass it by.
ip netns exec "$GW" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.93.0.1", 7401)); s.settimeout(20)
print("kernel-udp listening", flush=True)
data, src = s.recvfrom(2048)
print("kernel-udp got", data.hex(), flush=True)' >"$WORK/kernel_udp.log" 2>&1 &
PIDS+=($!)
wait_for_line "$WORK/kernel_udp.log" 'listening' 10

VALID=16  # 8 per address family, see xdp_sender.py
ip netns exec "$GW" "$PROBE" --interface "$GW_IF" --port "$PORT" --count "$VALID" --timeout 30 \
  --echo --out "$WORK/received.txt" >"$WORK/probe.log" 2>&1 &
PROBE_PID=$!
PIDS+=("$PROBE_PID")
wait_for_line "$WORK/probe.log" '^xdp-probe ready' 10
grep '^xdp-probe ready' "$WORK/probe.log"
ip -n "$GW" link show "$GW_IF" | grep -q 'prog/xdp' || die "no XDP program on $GW_IF"

ip netns exec "$ED" ping -c 2 -i 0.2 -W 2 10.93.0.1 >"$WORK/ping4.log" ||
  { cat "$WORK/ping4.log"; die "IPv4 ping (ARP, ICMP) did not pass the XDP program"; }
ip netns exec "$ED" ping -6 -c 2 -i 0.2 -W 2 fd93::1 >"$WORK/ping6.log" ||
  { cat "$WORK/ping6.log"; die "IPv6 ping (ND, ICMPv6) did not pass the XDP program"; }
log "ping over IPv4 and IPv6 passes"
ip netns exec "$ED" python3 -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(bytes([1, 16]) + bytes(60), ("10.93.0.1", 7401))'
wait_for_line "$WORK/kernel_udp.log" 'kernel-udp got 0110' 10
log "a Braid-looking datagram to another UDP port reached the kernel socket"

ip netns exec "$ED" python3 "$SRC/tests/integration/xdp_sender.py" --target4 "10.93.0.1:$PORT" \
  --target6 fd93::1 --expect "$WORK/expected.txt" --junk-counts "$WORK/junk.txt" \
  >"$WORK/sender.log" 2>&1 || { cat "$WORK/sender.log"; die "the sender saw missing or wrong answers"; }
cat "$WORK/sender.log"

timeout 20 tail --pid="$PROBE_PID" -f /dev/null || die "the probe did not finish"
wait "$PROBE_PID" || { cat "$WORK/probe.log"; die "the probe failed"; }
grep -E '^(xdp_stat|port_stat)' "$WORK/probe.log" | sed 's/^/  /'

# Exactly the valid datagrams, in order, byte for byte, from the sender's addresses.
cut -d' ' -f3 "$WORK/received.txt" >"$WORK/received_payloads.txt"
diff "$WORK/expected.txt" "$WORK/received_payloads.txt" >/dev/null ||
  { diff "$WORK/expected.txt" "$WORK/received_payloads.txt" | head; die "received payloads differ from those sent"; }
awk '{print $1}' "$WORK/received.txt" | sed -E 's/:[0-9]+$//' | sort | uniq -c >"$WORK/sources.txt"
grep -qE "^ +8 10\.93\.0\.2$" "$WORK/sources.txt" && grep -qE '^ +8 \[fd93::2\]$' "$WORK/sources.txt" ||
  { cat "$WORK/sources.txt"; die "unexpected source addresses"; }
awk '{print $2}' "$WORK/received.txt" | sort -u | tr '\n' ' ' | grep -q "10.93.0.1:$PORT \[fd93::1\]:$PORT" ||
  die "unexpected destination addresses"
log "the port received exactly the $VALID valid datagrams, content and addresses checked"

stat_of() { awk -v k="$2" -v kind="$1" '$1 == kind && $2 == k { print $3 }' "$WORK/probe.log"; }
while read -r reason n; do
  got=$(stat_of xdp_stat "$reason")
  [[ $got == "$n" ]] || die "XDP map: $reason = ${got:-missing}, expected $n"
done <"$WORK/junk.txt"
total_junk=$(awk '{ s += $2 } END { print s }' "$WORK/junk.txt")
counted=$(awk '$1 == "xdp_stat" && $2 != "redirected" && $2 != "no_socket" { s += $3 } END { print s }' "$WORK/probe.log")
((counted == total_junk)) || die "XDP map counts $counted drops in all, expected $total_junk"
[[ $(stat_of xdp_stat redirected) == "$VALID" ]] || die "XDP map: redirected != $VALID"
[[ $(stat_of port_stat rx_bad_frames) == 0 ]] || die "the port saw frames it could not parse"
[[ $(stat_of port_stat tx_packets) == "$VALID" ]] || die "the port did not send $VALID answers"
log "each junk kind counted under its reason ($total_junk drops); $VALID answers sent"

if ip -n "$GW" link show "$GW_IF" | grep -q 'prog/xdp'; then die "XDP program left attached"; fi
log "XDP program detached at exit"
echo "PASS"
