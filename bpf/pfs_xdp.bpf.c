/* SPDX-License-Identifier: Apache-2.0 */
/*
 * XDP steering program for the AF_XDP backend (issue 5).
 *
 * Model: every frame on the interface comes through here once. A UDP datagram
 * for the PacketFS port, over IPv4 or IPv6, behind at most one VLAN tag, goes to
 * the AF_XDP socket bound on the queue it arrived on (xsks_map, keyed by
 * rx_queue_index); every other frame goes on to the kernel stack untouched.
 * Anything this program does not fully understand (fragments, IPv6 extension
 * headers, QinQ, truncated or malformed headers) is passed, never dropped: the
 * kernel is the authority on what it is.
 *
 * Every frame is counted once, under a reason code of pfs_xdp.h, in a per-CPU
 * array (no atomics on the hot path; user space sums over CPUs).
 *
 * Configuration is read-only data set before load: the verifier sees pfs_port
 * as a constant, and nothing can change it under a running program.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "pfs_xdp.h"

/* The PacketFS UDP port, in HOST byte order (user space writes a plain number
 * before load). 0 matches nothing. */
const volatile __u16 pfs_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, PFS_XDP_XSKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PFS_XDP_REASON_MAX);
	__type(key, __u32);
	__type(value, __u64);
} reason_count SEC(".maps");

/* Not in the UAPI headers (the kernel's is in include/linux/if_vlan.h). */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

static __always_inline int count(__u32 reason, int action)
{
	__u64 *n = bpf_map_lookup_elem(&reason_count, &reason);

	if (n) /* always, for reason < PFS_XDP_REASON_MAX; the verifier wants it */
		*n += 1;
	return action;
}

static __always_inline int is_ipv6_ext(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_AH:
	case IPPROTO_DSTOPTS:
	case IPPROTO_MH:
	case 139: /* Host Identity Protocol */
	case 140: /* Shim6 */
		return 1;
	default:
		return 0;
	}
}

/* Returns a pointer to the UDP header, or NULL with *reason set. */
static __always_inline struct udphdr *parse_ipv4(void *l3, void *data_end, __u32 *reason)
{
	struct iphdr *ip = l3;
	__u32 ihl_bytes;

	if ((void *)(ip + 1) > data_end) {
		*reason = PFS_XDP_PASS_TRUNCATED;
		return NULL;
	}
	if (ip->version != 4 || ip->ihl < 5) {
		*reason = PFS_XDP_PASS_BAD_IP;
		return NULL;
	}
	ihl_bytes = ip->ihl * 4; /* 20..60: ihl is 4 bits */
	if (l3 + ihl_bytes > data_end) {
		*reason = PFS_XDP_PASS_TRUNCATED;
		return NULL;
	}
	if (ip->protocol != IPPROTO_UDP) {
		*reason = PFS_XDP_PASS_NOT_UDP;
		return NULL;
	}
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
		*reason = PFS_XDP_PASS_FRAGMENT;
		return NULL;
	}
	return l3 + ihl_bytes;
}

static __always_inline struct udphdr *parse_ipv6(void *l3, void *data_end, __u32 *reason)
{
	struct ipv6hdr *ip6 = l3;

	if ((void *)(ip6 + 1) > data_end) {
		*reason = PFS_XDP_PASS_TRUNCATED;
		return NULL;
	}
	if (ip6->nexthdr != IPPROTO_UDP) {
		*reason = is_ipv6_ext(ip6->nexthdr) ? PFS_XDP_PASS_IPV6_EXT : PFS_XDP_PASS_NOT_UDP;
		return NULL;
	}
	return (struct udphdr *)(ip6 + 1);
}

SEC("xdp")
int pfs_xdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	void *l3;
	__be16 proto;
	__u32 reason = PFS_XDP_PASS_NOT_IP;
	long ret;

	if ((void *)(eth + 1) > data_end)
		return count(PFS_XDP_PASS_TRUNCATED, XDP_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;

	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return count(PFS_XDP_PASS_TRUNCATED, XDP_PASS);
		proto = vlan->h_vlan_encapsulated_proto;
		l3 = vlan + 1;
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
			return count(PFS_XDP_PASS_VLAN_STACK, XDP_PASS);
	}

	if (proto == bpf_htons(ETH_P_IP))
		udp = parse_ipv4(l3, data_end, &reason);
	else if (proto == bpf_htons(ETH_P_IPV6))
		udp = parse_ipv6(l3, data_end, &reason);
	else
		udp = NULL; /* reason stays PFS_XDP_PASS_NOT_IP */
	if (!udp)
		return count(reason, XDP_PASS);

	if ((void *)(udp + 1) > data_end)
		return count(PFS_XDP_PASS_TRUNCATED, XDP_PASS);
	if (pfs_port == 0 || udp->dest != bpf_htons(pfs_port))
		return count(PFS_XDP_PASS_OTHER_PORT, XDP_PASS);

	/* With no socket at this queue (or a queue index past the map) the
	 * helper returns the fallback action, XDP_PASS: count what happened. */
	ret = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	return count(ret == XDP_REDIRECT ? PFS_XDP_REDIRECTED : PFS_XDP_PASS_NO_XSK, ret);
}

/* No GPL-only helper is used, so the project's licence is declared as it is. */
char LICENSE[] SEC("license") = "Apache-2.0";
