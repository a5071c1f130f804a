// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* XDP junk filter and AF_XDP steering for braid-gateway.
 *
 * Datagrams to the gateway's UDP port that cannot be Braid packets (docs/protocol.md §1-§4:
 * short, wrong version, unknown type, link ID > 15, sealed packets under 38 bytes, an
 * HS_INIT that is not exactly 1200 bytes, types only the gateway sends) are dropped here
 * and counted by reason in a per-CPU map, before the kernel allocates anything for them.
 * The rest goes to the AF_XDP socket of the receive queue through the XSKMAP; every other
 * frame (ARP, ICMP, other ports, non-first IP fragments, IPv6 extension headers, VLANs)
 * is passed to the kernel untouched.
 *
 * The checks are the stateless part of what the gateway's parser does anyway, so a packet
 * dropped here would have been dropped there; the gateway still checks everything again. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "braid_xdp_shared.h"

#define BRAID_VERSION	  1
#define BRAID_PREFIX_SIZE 12
#define BRAID_SEALED_MIN  38 /* 22-byte fixed sealed header + 16-byte tag */
#define BRAID_INIT_SIZE	  1200
#define BRAID_MAX_LINK_ID 15

/* The gateway's UDP port, host order; set by the loader between open and load. */
const volatile __u16 gateway_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BRAID_XDP_STAT_COUNT);
	__type(key, __u32);
	__type(value, struct braid_xdp_counter);
} stats SEC(".maps");

/* libxdp's dispatcher: run early and continue the chain only when we pass a frame on. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(braid_xdp);

static __always_inline void count(__u32 stat, __u32 bytes)
{
	struct braid_xdp_counter *c = bpf_map_lookup_elem(&stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline int drop(__u32 stat, __u32 bytes)
{
	count(stat, bytes);
	return XDP_DROP;
}

/* The Braid checks on a UDP payload of `len` bytes (per the UDP header) at `payload`. */
static __always_inline int check_braid(struct xdp_md *ctx, __u8 *payload, __u32 len, void *data_end)
{
	__u8 type;

	if (len < BRAID_PREFIX_SIZE)
		return drop(BRAID_XDP_DROP_TOO_SHORT, len);
	if ((void *)(payload + BRAID_PREFIX_SIZE) > data_end)
		return drop(BRAID_XDP_DROP_BAD_UDP, len);
	if (payload[0] != BRAID_VERSION)
		return drop(BRAID_XDP_DROP_BAD_VERSION, len);
	/* In the gateway's order: version, type, then the link ID and the sizes. */
	type = payload[1];
	switch (type) {
	case 1:	 /* HS_INIT */
	case 16: /* DATA */
	case 17: /* REPAIR */
	case 20: /* KEEPALIVE */
	case 21: /* PROBE */
	case 22: /* JOIN */
	case 23: /* CLOSE */
		break;
	case 2:	 /* HS_COOKIE */
	case 3:	 /* HS_ACCEPT */
	case 4:	 /* RESET */
	case 18: /* ACK */
	case 19: /* NACK */
		return drop(BRAID_XDP_DROP_WRONG_DIR, len);
	default:
		return drop(BRAID_XDP_DROP_UNKNOWN_TYPE, len);
	}
	if (payload[10] > BRAID_MAX_LINK_ID)
		return drop(BRAID_XDP_DROP_BAD_LINK, len);
	if (type == 1) {
		if (len != BRAID_INIT_SIZE || payload[11] != 0)
			return drop(BRAID_XDP_DROP_BAD_INIT, len);
	} else if (len < BRAID_SEALED_MIN) {
		return drop(BRAID_XDP_DROP_SEALED_SHORT, len);
	}

	/* Falls back to XDP_PASS when no socket is bound to this queue (e.g. during start-up,
	 * or a queue the gateway does not serve): the kernel socket, if any, gets it. */
	if (bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS) == XDP_REDIRECT) {
		count(BRAID_XDP_REDIRECTED, len);
		return XDP_REDIRECT;
	}
	count(BRAID_XDP_NO_SOCKET, len);
	return XDP_PASS;
}

static __always_inline int check_udp(struct xdp_md *ctx, struct udphdr *udp, void *data_end,
				     int first_fragment)
{
	__u32 udp_len;

	if ((void *)(udp + 1) > data_end)
		return XDP_PASS; /* not even a UDP header: the kernel counts it */
	if (bpf_ntohs(udp->dest) != gateway_port)
		return XDP_PASS;
	if (first_fragment)
		return drop(BRAID_XDP_DROP_FRAGMENT, 0);
	/* Frames may carry Ethernet padding after the datagram: trust the UDP length, but only
	 * when the frame really holds that many bytes. */
	udp_len = bpf_ntohs(udp->len);
	if (udp_len < sizeof(*udp) || (void *)udp + udp_len > data_end)
		return drop(BRAID_XDP_DROP_BAD_UDP, 0);
	return check_braid(ctx, (__u8 *)(udp + 1), udp_len - sizeof(*udp), data_end);
}

SEC("xdp")
int braid_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__u16 frag;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return XDP_PASS;
		frag = bpf_ntohs(ip->frag_off);
		/* A later fragment has no UDP header: only the kernel can reassemble it. */
		if (frag & 0x1fff)
			return XDP_PASS;
		return check_udp(ctx, (void *)ip + ihl, data_end, (frag & 0x2000) != 0);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		/* Extension headers (rare for UDP) are left to the kernel. */
		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		return check_udp(ctx, (void *)(ip6 + 1), data_end, 0);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
