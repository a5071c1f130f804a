#!/usr/bin/env python3
"""Sender side of xdp_port_test.sh: junk of every kind the XDP program drops, then valid-looking
Braid datagrams (IPv4 and IPv6) to the AF_XDP port, each answered with "echo:" + payload by
braid-xdp-probe. Checks every answer; writes the valid payloads it sent (hex, one a line) to
--expect. Exits non-zero when an answer is missing or wrong."""
import argparse
import socket
import sys


def prefix(ptype, link=0, flags=0, version=1, session=0x0001020304050607):
    return bytes([version, ptype]) + session.to_bytes(8, "big") + bytes([link, flags])


def sealed(ptype, size, tag, link=2):
    body = prefix(ptype, link=link) + tag.to_bytes(6, "big")
    return body + bytes(size - len(body))


def hs_init(tag, size=1200, flags=0):
    body = prefix(1, link=1, flags=flags, session=0) + tag.to_bytes(4, "big")
    return body + bytes(size - len(body))


# (reason the XDP program counts, payload)
JUNK = [
    ("too_short", b""),
    ("too_short", bytes([1, 16, 0, 0, 0])),
    ("too_short", prefix(16)[:11]),
    ("bad_version", bytes([2]) + sealed(16, 60, 1)[1:]),
    ("bad_version", bytes([0]) + sealed(16, 60, 1)[1:]),
    ("unknown_type", prefix(9) + bytes(40)),
    ("unknown_type", prefix(24) + bytes(40)),
    ("unknown_type", prefix(0) + bytes(40)),
    ("bad_link_id", prefix(16, link=16) + bytes(40)),
    ("bad_link_id", prefix(1, link=255) + bytes(1188)),
    ("sealed_too_short", sealed(16, 37, 1)),
    ("sealed_too_short", prefix(20) + bytes(10)),
    ("bad_init", hs_init(1, size=1199)),
    ("bad_init", hs_init(1, size=1201)),
    ("bad_init", hs_init(1, flags=1)),
    ("wrong_direction", prefix(2) + bytes(48)),
    ("wrong_direction", prefix(3) + bytes(154)),
    ("wrong_direction", prefix(4) + bytes(20)),
    ("wrong_direction", sealed(18, 60, 1)),
    ("wrong_direction", sealed(19, 60, 1)),
    # Larger than the veth MTU: the kernel sends two IPv4 fragments; the first (with the UDP
    # header) is dropped, the second goes to the kernel, which cannot reassemble it.
    ("fragment", sealed(16, 2000, 1)),
]


def valid_packets():
    tag = 100
    out = []
    for ptype, size in [(16, 1200), (16, 46), (17, 300), (20, 38), (21, 64), (22, 40), (23, 38)]:
        out.append(sealed(ptype, size, tag, link=tag % 16))
        tag += 1
    out.append(hs_init(tag))
    return out


def exchange(sock, target, payload, errors):
    sock.sendto(payload, target)
    try:
        reply, source = sock.recvfrom(4096)
    except socket.timeout:
        errors.append(f"no answer to a {len(payload)}-byte datagram to {target}")
        return
    if reply != b"echo:" + payload:
        errors.append(f"wrong answer to a {len(payload)}-byte datagram: {reply[:24].hex()}...")
    elif source[:2] != target[:2]:
        errors.append(f"answer from {source}, not {target}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target4", required=True, help="IPv4 HOST:PORT of the AF_XDP port")
    ap.add_argument("--target6", help="IPv6 address of the AF_XDP port (same port)")
    ap.add_argument("--expect", required=True, help="write the valid payloads sent here")
    ap.add_argument("--junk-counts", required=True, help="write `reason count` lines here")
    args = ap.parse_args()
    host, port = args.target4.rsplit(":", 1)
    target4 = (host, int(port))

    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s4.settimeout(2.0)
    counts = {}
    for reason, payload in JUNK:
        s4.sendto(payload, target4)
        counts[reason] = counts.get(reason, 0) + 1
    sockets = [(s4, target4)]
    if args.target6:
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s6.settimeout(2.0)
        target6 = (args.target6, int(port))
        s6.sendto(prefix(9) + bytes(40), target6)  # junk over IPv6 too
        counts["unknown_type"] += 1
        sockets.append((s6, target6))
    with open(args.junk_counts, "w") as f:
        for reason, n in sorted(counts.items()):
            f.write(f"{reason} {n}\n")

    errors = []
    sent = []
    for sock, target in sockets:
        for payload in valid_packets():
            exchange(sock, target, payload, errors)
            sent.append(payload)
    # Junk must not have been answered (the probe answers whatever reaches the port).
    for sock, _ in sockets:
        sock.settimeout(0.2)
        try:
            extra, _ = sock.recvfrom(4096)
            errors.append(f"an unexpected answer: {extra[:24].hex()}")
        except socket.timeout:
            pass
    with open(args.expect, "w") as f:
        for payload in sent:
            f.write(payload.hex() + "\n")
    print(f"sent {sum(counts.values())} junk and {len(sent)} valid datagrams, "
          f"{len(sent) - len(errors)} answered correctly")
    for e in errors:
        print("error:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
