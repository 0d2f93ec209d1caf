/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the XDP steering program (pfs_xdp.bpf.c) shares with user space: its map
 * sizes and the reason code under which it counts every packet it sees.
 *
 * Included by the BPF program and by C (the io_xdp backend, the data plane's
 * BACKEND event, the unit tests in test/dataplane/xdp_prog_test.c). Mirrored in
 * TypeScript (ts/dataplane/protocol.ts, metric labels; its test parses this
 * file and fails when the two disagree).
 *
 * Reason codes are indices of the per-CPU counter array and labels of metrics:
 * never renumber or reuse one; add new codes before PFS_XDP_REASON_MAX
 * (Cilium's drop_reasons.h).
 */
#ifndef PFS_XDP_H
#define PFS_XDP_H

#define PFS_XDP_XSKS_MAX 64 /* XSKMAP entries: one AF_XDP socket per rx queue */

enum pfs_xdp_reason {
	/* A PacketFS datagram handed to the AF_XDP socket of its receive queue. */
	PFS_XDP_REDIRECTED = 0,
	/* A PacketFS datagram, but no socket is bound on its queue (or the queue
	 * index is past the map): passed to the kernel stack instead. */
	PFS_XDP_PASS_NO_XSK = 1,
	/* Ethernet type is neither IPv4 nor IPv6 (ARP, LLDP, ...). */
	PFS_XDP_PASS_NOT_IP = 2,
	/* IP, but the next protocol is not UDP (TCP, ICMP, ...). */
	PFS_XDP_PASS_NOT_UDP = 3,
	/* UDP to a port other than the PacketFS port. */
	PFS_XDP_PASS_OTHER_PORT = 4,
	/* An IPv4 fragment (MF set or offset != 0): ports are not reliable, the
	 * kernel reassembles. */
	PFS_XDP_PASS_FRAGMENT = 5,
	/* The frame ends inside a header it claims to carry. */
	PFS_XDP_PASS_TRUNCATED = 6,
	/* IPv6 with an extension header before the transport: not parsed. */
	PFS_XDP_PASS_IPV6_EXT = 7,
	/* IPv4 header that is malformed (version != 4 or IHL < 5). */
	PFS_XDP_PASS_BAD_IP = 8,
	/* More than one VLAN tag (QinQ): not parsed. */
	PFS_XDP_PASS_VLAN_STACK = 9,
	PFS_XDP_REASON_MAX /* number of codes; not a code */
};

#endif
