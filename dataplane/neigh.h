/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Next-hop resolution for the AF_XDP backend, which writes its own Ethernet
 * headers and so must know whom to address them to: the kernel's routing
 * table (RTM_GETROUTE) gives the outgoing interface and gateway for a
 * destination; the neighbour table (RTM_GETNEIGH) gives that hop's MAC
 * address. When the neighbour is missing or not yet resolved, the kernel is
 * asked to resolve it (one datagram through an ordinary UDP socket to the
 * destination, which makes the kernel send ARP / neighbour solicitation), and
 * the caller asks again later.
 *
 * Works in the network namespace the thread calling pfs_neigh_open was in:
 * the rtnetlink socket and the probe sockets are made there and stay there.
 * Every reply is parsed bounds-checked: attributes are taken only when their
 * lengths fit the message. A request waits at most 1 s for its reply.
 * Not thread-safe: one struct pfs_neigh per thread.
 */
#ifndef PFS_NEIGH_H
#define PFS_NEIGH_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

struct pfs_neigh; /* an rtnetlink socket, probe sockets, the last probe times */

struct pfs_neigh_hop {
	int ifindex;	     /* the interface the route leaves by */
	struct pfs_addr via; /* the gateway, or dst itself when on-link (port 0) */
	uint8_t mac[6];	     /* the next hop's link-layer address */
	uint8_t src_ip[16];  /* the preferred source address the route names, if any */
	int has_src;
};

/* Returns 0, PFS_ERR_NOMEM or a negated errno (netlink or UDP socket
 * refused), err filled on failure. */
int pfs_neigh_open(struct pfs_neigh **out, char *err, size_t errlen);
void pfs_neigh_close(struct pfs_neigh *n);

/*
 * Resolves the next hop for dst (IPv4 or IPv6; port ignored except for the
 * resolution datagram, which goes to dst's port — 9 (discard) when 0). Each
 * call asks the kernel afresh (two rtnetlink round trips; nothing is cached
 * but the time of the last resolution datagram per destination, for the 64
 * destinations used last). An IPv6 link-local dst (fe80::/10) is looked up
 * on want_ifindex, which it then requires.
 * Returns:
 *   0                  hop filled in (route found, neighbour REACHABLE, STALE,
 *                      DELAY, PROBE, PERMANENT, or NOARP with an address);
 *   -EAGAIN            route found, neighbour not yet resolved: resolution was
 *                      started (at most once per 100 ms per destination; now_ns
 *                      is the caller's clock) — ask again later;
 *   -ENETUNREACH       no usable route to dst (none, or an unreachable,
 *                      blackhole or prohibit route), dst is an address of
 *                      this host, a broadcast or multicast address (err says
 *                      which);
 *   -EHOSTUNREACH      the neighbour is FAILED (the kernel's probes went
 *                      unanswered; resolution is retried on the next call after
 *                      100 ms);
 *   -EOPNOTSUPP        the hop's link-layer address is not 6 bytes (the
 *                      interface is not Ethernet);
 *   PFS_ERR_INVALID_ARG  dst's family neither 4 nor 6; a link-local dst without
 *                      want_ifindex;
 *   other negated errno (rtnetlink failed, -ETIMEDOUT when it did not answer;
 *   sendto of the resolution datagram refused, e.g. -EPERM by a firewall).
 * err is filled for every code but 0 (for -EAGAIN too: what is awaited).
 * A route that leaves by another interface than want_ifindex (when > 0) is an
 * error (-ENETUNREACH, err naming both interfaces): the frame could not go out
 * of the socket's interface.
 */
int pfs_neigh_resolve(struct pfs_neigh *n, const struct pfs_addr *dst, int want_ifindex,
		      uint64_t now_ns, struct pfs_neigh_hop *hop, char *err, size_t errlen);

#endif
