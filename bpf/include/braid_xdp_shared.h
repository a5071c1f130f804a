/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by bpf/braid_xdp.bpf.c and src/dataplane/io/xdp_program.cpp: the layout of the
 * per-CPU statistics map. Plain C (the BPF side has no C++), fixed-width types only; the
 * C++ side static_asserts the size. */
#ifndef BRAID_XDP_SHARED_H
#define BRAID_XDP_SHARED_H

#ifdef __bpf__
#include <linux/types.h>
typedef __u64 braid_u64;
#else
#include <stdint.h>
typedef uint64_t braid_u64;
#endif

/* One slot per outcome for datagrams addressed to the gateway port. The drop reasons
 * mirror docs/protocol.md §3.6 where one exists; the names userspace exports are in
 * xdp_program.cpp (kStatNames), in this order. Append only: the map is indexed by it. */
enum braid_xdp_stat {
	BRAID_XDP_REDIRECTED = 0, /* handed to the queue's AF_XDP socket */
	BRAID_XDP_NO_SOCKET,	  /* valid, but no socket on this rx queue: passed to the kernel */
	BRAID_XDP_DROP_TOO_SHORT, /* payload shorter than the 12-byte prefix */
	BRAID_XDP_DROP_BAD_VERSION,  /* version byte is not 1 */
	BRAID_XDP_DROP_UNKNOWN_TYPE, /* packet type the protocol does not define */
	BRAID_XDP_DROP_BAD_LINK,     /* link ID above 15 (bad_header) */
	BRAID_XDP_DROP_SEALED_SHORT, /* sealed type shorter than 22 + 16 bytes (too_short) */
	BRAID_XDP_DROP_BAD_INIT,     /* HS_INIT not exactly 1200 bytes, or flags set (bad_header) */
	BRAID_XDP_DROP_WRONG_DIR, /* a gateway->edge type (HS_COOKIE, HS_ACCEPT, RESET, ACK, NACK)
				   */
	BRAID_XDP_DROP_BAD_UDP,	  /* UDP length field inconsistent with the frame */
	BRAID_XDP_DROP_FRAGMENT,  /* first IPv4 fragment to the port: Braid never fragments */
	BRAID_XDP_STAT_COUNT,
};

struct braid_xdp_counter {
	braid_u64 packets;
	braid_u64 bytes; /* UDP payload bytes */
};

#endif
