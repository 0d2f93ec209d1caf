/* SPDX-License-Identifier: Apache-2.0 */
/*
 * neigh: next-hop resolution over rtnetlink for the AF_XDP backend.
 *
 * One resolution is two request/reply exchanges on a NETLINK_ROUTE socket,
 * both "doit" gets (no dumps): RTM_GETROUTE for the destination (the kernel
 * runs its own output route lookup and answers with the route it picked:
 * interface, gateway, source), then RTM_GETNEIGH for the next hop on that
 * interface (Linux >= 5.0). A missing or unresolved neighbour is not waited
 * for: one datagram through an ordinary UDP socket makes the kernel start
 * ARP / neighbour discovery itself, and the caller asks again later.
 *
 * Replies are matched by sequence number and port id (a reply to an earlier
 * request that timed out is skipped), every wait is bounded by a deadline,
 * and every attribute is length-checked before it is read.
 *
 * The kernel's route lookup reports unusable routes as errors, not as typed
 * routes (seen on 6.18, and the same since 4.x): "no route" is ENETUNREACH,
 * an unreachable route EHOSTUNREACH, prohibit EACCES and blackhole EINVAL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "neigh.h"

#define NEIGH_SLOTS 64		    /* destinations whose last probe time is kept */
#define NEIGH_RETRY_NS 100000000ull /* at most one probe per destination per 100 ms */
#define NL_TIMEOUT_MS 1000	    /* the kernel answers a get at once; 1 s is a hang */
#define NL_MAX_READS 64		    /* stale replies skipped per request, at most */
#define NL_BUF 8192		    /* one route or neighbour reply is < 512 bytes */
#define PROBE_PORT_DEFAULT 9	    /* discard */

struct slot {
	uint8_t family; /* 0: free */
	uint8_t ip[16];
	uint64_t last_probe_ns;
	uint64_t last_use; /* n->tick when last looked up: LRU order */
};

struct pfs_neigh {
	int fd;	      /* NETLINK_ROUTE */
	int udp4;     /* probe sockets, never read */
	int udp6;     /* -1 when IPv6 is unavailable */
	uint32_t pid; /* our netlink port id, as the kernel assigned it */
	uint32_t seq;
	uint64_t tick;
	struct slot slot[NEIGH_SLOTS];
	uint8_t buf[NL_BUF] __attribute__((aligned(8)));
};

/* What RTM_GETROUTE said about a destination. */
struct route {
	uint8_t type;
	int oif;
	int has_gw, has_src;
	uint8_t gw[16], src[16];
	int has_via; /* RTA_VIA: a gateway of another family (refused) */
};

static const char *fmt_ip(uint8_t family, const uint8_t *ip, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, ip, buf, (socklen_t)len))
		snprintf(buf, len, "(bad address)");
	return buf;
}

static const char *fmt_if(int ifindex, char buf[IF_NAMESIZE + 16])
{
	char name[IF_NAMESIZE];

	if (ifindex > 0 && if_indextoname((unsigned int)ifindex, name))
		snprintf(buf, IF_NAMESIZE + 16, "%s", name);
	else
		snprintf(buf, IF_NAMESIZE + 16, "ifindex %d", ifindex);
	return buf;
}

/* Read bytewise: pfs_addr's ip[] is not aligned for struct in6_addr. */
static int is_link_local(const struct pfs_addr *a)
{
	return a->family == 6 && a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int open_probe(int domain)
{
	int fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	/* Nothing is ever read: keep what could queue up (an echo) minimal. */
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	return fd;
}

int pfs_neigh_open(struct pfs_neigh **out, char *err, size_t errlen)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	struct pfs_neigh *n;
	int one = 1, rc;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "neigh: out of memory");
		return PFS_ERR_NOMEM;
	}
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (n->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket(NETLINK_ROUTE): %s", strerror(errno));
		goto err_free;
	}
	/* The kernel's reason for a refusal, in the error reply without a copy of
	 * the request; both only help messages, so a refusal is ignored. */
	setsockopt(n->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(n->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(n->fd, (struct sockaddr *)&sa, &salen) < 0) {
		rc = -errno;
		snprintf(err, errlen, "bind(NETLINK_ROUTE): %s", strerror(errno));
		goto err_close_nl;
	}
	n->pid = sa.nl_pid;
	n->seq = (uint32_t)time(NULL);
	n->udp4 = open_probe(AF_INET);
	if (n->udp4 < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket(AF_INET, SOCK_DGRAM) for neighbour probes: %s",
			 strerror(errno));
		goto err_close_nl;
	}
	n->udp6 = open_probe(AF_INET6); /* -1 without IPv6: said when it is needed */
	*out = n;
	return 0;

err_close_nl:
	close(n->fd);
err_free:
	free(n);
	return rc;
}

void pfs_neigh_close(struct pfs_neigh *n)
{
	if (!n)
		return;
	if (n->udp6 >= 0)
		close(n->udp6);
	close(n->udp4);
	close(n->fd);
	free(n);
}

/* --- netlink request / reply ------------------------------------------------ */

/* Appends an attribute to the request msg of cap bytes. The requests here are
 * small and fixed; the check guards the buffer against a later edit (the
 * kernel would then refuse the request that lacks the attribute). */
static void add_attr(void *msg, size_t cap, unsigned short type, const void *data, size_t len)
{
	struct nlmsghdr *nh = msg;
	size_t off = NLMSG_ALIGN(nh->nlmsg_len);
	struct rtattr *rta = (struct rtattr *)((uint8_t *)msg + off);

	if (off + RTA_SPACE(len) > cap)
		return;
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

/* The kernel's text in an extended ack (NLMSGERR_ATTR_MSG), or NULL. The reply
 * is capped (NETLINK_CAP_ACK): the attributes follow struct nlmsgerr, unless
 * the kernel ignored the option and appended the request. */
static const char *ext_ack_msg(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	size_t off = NLMSG_LENGTH(sizeof(*e));
	const struct rtattr *rta;
	int left;

	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	if (off >= nh->nlmsg_len)
		return NULL;
	left = (int)(nh->nlmsg_len - off);
	for (rta = (const struct rtattr *)((const uint8_t *)nh + off); RTA_OK(rta, left);
	     rta = RTA_NEXT(rta, left)) {
		const char *s = RTA_DATA(rta);
		size_t len = RTA_PAYLOAD(rta);

		if (rta->rta_type == NLMSGERR_ATTR_MSG && len > 0 && s[len - 1] == '\0')
			return s;
	}
	return NULL;
}

/*
 * Sends req and waits for the reply of type want carrying its sequence
 * number. Returns 0 with *reply pointing into n->buf (valid until the next
 * request), the negated errno of an error reply (*kmsg then the kernel's
 * explanation or NULL), -ETIMEDOUT, or a negated errno of send/recv.
 */
static int nl_request(struct pfs_neigh *n, struct nlmsghdr *req, uint16_t want,
		      const struct nlmsghdr **reply, const char **kmsg)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	uint64_t deadline;

	*kmsg = NULL;
	req->nlmsg_seq = ++n->seq;
	req->nlmsg_pid = n->pid;
	if (sendto(n->fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
	    (ssize_t)req->nlmsg_len)
		return errno ? -errno : -EIO;
	deadline = mono_ms() + NL_TIMEOUT_MS;
	for (int reads = 0; reads < NL_MAX_READS; reads++) {
		struct pollfd pfd = { .fd = n->fd, .events = POLLIN };
		struct sockaddr_nl from;
		struct iovec iov = { n->buf, sizeof(n->buf) };
		struct msghdr mh = { .msg_name = &from,
				     .msg_namelen = sizeof(from),
				     .msg_iov = &iov,
				     .msg_iovlen = 1 };
		uint64_t now = mono_ms();
		const struct nlmsghdr *nh;
		ssize_t got;
		int left;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		got = recvmsg(n->fd, &mh, MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if ((mh.msg_flags & MSG_TRUNC) || from.nl_pid != 0)
			continue; /* not a whole message from the kernel */
		/* left stays signed: NLMSG_NEXT may take it below 0 (by the padding
		 * of a last message); NLMSG_OK then sees an unsigned view of a
		 * positive count, as clang's -Wsign-compare wants. */
		left = (int)got;
		for (nh = (const struct nlmsghdr *)n->buf; left > 0 && NLMSG_OK(nh, (uint32_t)left);
		     nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != req->nlmsg_seq || nh->nlmsg_pid != n->pid)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				if (e->error == 0)
					continue; /* an ack: not asked for, not the answer */
				*kmsg = ext_ack_msg(nh);
				return e->error < 0 && e->error > -4096 ? e->error : -EBADMSG;
			}
			if (nh->nlmsg_type == want) {
				*reply = nh;
				return 0;
			}
		}
	}
	return -ETIMEDOUT;
}

/* --- route ------------------------------------------------------------------ */

static int get_route(struct pfs_neigh *n, const struct pfs_addr *dst, int oif, struct route *rt,
		     const char **kmsg)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
		uint8_t attrs[64];
	} req;
	size_t alen = dst->family == 6 ? 16 : 4;
	const struct nlmsghdr *nh;
	const struct rtmsg *rtm;
	const struct rtattr *rta;
	int left, rc;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.rtm.rtm_family = dst->family == 6 ? AF_INET6 : AF_INET;
	req.rtm.rtm_dst_len = (unsigned char)(alen * 8);
	add_attr(&req, sizeof(req), RTA_DST, dst->ip, alen);
	if (oif > 0)
		add_attr(&req, sizeof(req), RTA_OIF, &oif, sizeof(oif));

	rc = nl_request(n, &req.nh, RTM_NEWROUTE, &nh, kmsg);
	if (rc)
		return rc;
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return -EBADMSG;
	rtm = NLMSG_DATA(nh);
	if (rtm->rtm_family != req.rtm.rtm_family)
		return -EBADMSG;
	memset(rt, 0, sizeof(*rt));
	rt->type = rtm->rtm_type;
	left = (int)RTM_PAYLOAD(nh);
	for (rta = RTM_RTA(rtm); RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
		size_t len = RTA_PAYLOAD(rta);

		switch (rta->rta_type) {
		case RTA_OIF:
			if (len == sizeof(rt->oif))
				memcpy(&rt->oif, RTA_DATA(rta), len);
			break;
		case RTA_GATEWAY:
			if (len == alen) {
				memcpy(rt->gw, RTA_DATA(rta), len);
				rt->has_gw = 1;
			}
			break;
		case RTA_PREFSRC:
			if (len == alen) {
				memcpy(rt->src, RTA_DATA(rta), len);
				rt->has_src = 1;
			}
			break;
		case RTA_VIA:
			rt->has_via = 1;
			break;
		}
	}
	return 0;
}

/* The kernel's route lookup failed with rc: say why in the person's terms. */
static int route_error(int rc, const char *kmsg, const char *dst, char *err, size_t errlen)
{
	const char *type = NULL;

	switch (rc) {
	case -ENETUNREACH:
		snprintf(err, errlen,
			 "no route to %s: add a route to it, or an address on its link, in this "
			 "network namespace",
			 dst);
		return -ENETUNREACH;
	case -EHOSTUNREACH:
		type = "unreachable";
		break;
	case -EACCES:
		type = "prohibit";
		break;
	case -EINVAL:
		if (!kmsg) /* a refused request comes with the kernel's reason */
			type = "blackhole";
		break;
	}
	if (type) {
		snprintf(err, errlen,
			 "no route to %s: the route matching it is of type '%s' (traffic to it is "
			 "refused on purpose); change that route if PacketFS should reach it",
			 dst, type);
		return -ENETUNREACH;
	}
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "route lookup for %s: rtnetlink did not answer within %d ms",
			 dst, NL_TIMEOUT_MS);
	else
		snprintf(err, errlen, "route lookup for %s (RTM_GETROUTE): %s%s%s", dst,
			 strerror(-rc), kmsg ? ": " : "", kmsg ? kmsg : "");
	return rc;
}

static const char *route_type_name(uint8_t type)
{
	switch (type) {
	case RTN_BROADCAST:
		return "a broadcast address";
	case RTN_ANYCAST:
		return "an anycast address of this host";
	case RTN_MULTICAST:
		return "a multicast address";
	case RTN_BLACKHOLE:
		return "behind a 'blackhole' route";
	case RTN_UNREACHABLE:
		return "behind an 'unreachable' route";
	case RTN_PROHIBIT:
		return "behind a 'prohibit' route";
	case RTN_THROW:
		return "behind a 'throw' route";
	case RTN_NAT:
		return "behind a 'nat' route";
	default:
		return "routed by a route type PacketFS cannot address frames for";
	}
}

/* --- neighbour -------------------------------------------------------------- */

/* Returns 0 with *state (and mac when the entry has a 6-byte address,
 * *maclen its length or -1 without one), or a negated errno (-ENOENT: no
 * entry). */
static int get_neigh(struct pfs_neigh *n, const struct pfs_addr *hop, int ifindex, uint16_t *state,
		     uint8_t mac[6], int *maclen, const char **kmsg)
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg ndm;
		uint8_t attrs[32];
	} req;
	size_t alen = hop->family == 6 ? 16 : 4;
	const struct nlmsghdr *nh;
	const struct ndmsg *ndm;
	const struct rtattr *rta;
	int left, rc;

	/* neigh_get() refuses any header field but family, ifindex and
	 * NTF_PROXY, and any attribute but NDA_DST. */
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ndm));
	req.nh.nlmsg_type = RTM_GETNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.ndm.ndm_family = hop->family == 6 ? AF_INET6 : AF_INET;
	req.ndm.ndm_ifindex = ifindex;
	add_attr(&req, sizeof(req), NDA_DST, hop->ip, alen);

	rc = nl_request(n, &req.nh, RTM_NEWNEIGH, &nh, kmsg);
	if (rc)
		return rc;
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)))
		return -EBADMSG;
	ndm = NLMSG_DATA(nh);
	if (ndm->ndm_family != req.ndm.ndm_family || ndm->ndm_ifindex != ifindex)
		return -EBADMSG;
	*state = ndm->ndm_state;
	*maclen = -1;
	left = (int)NLMSG_PAYLOAD(nh, sizeof(*ndm));
	for (rta = (const struct rtattr *)((const uint8_t *)ndm + NLMSG_ALIGN(sizeof(*ndm)));
	     RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
		if (rta->rta_type != NDA_LLADDR)
			continue;
		*maclen = (int)RTA_PAYLOAD(rta);
		if (*maclen == 6)
			memcpy(mac, RTA_DATA(rta), 6);
	}
	return 0;
}

/* --- probes ----------------------------------------------------------------- */

static struct slot *slot_of(struct pfs_neigh *n, const struct pfs_addr *dst)
{
	size_t alen = dst->family == 6 ? 16 : 4; /* the rest of an IPv4 ip[] is not the key */
	struct slot *s, *victim = &n->slot[0];

	n->tick++;
	for (s = n->slot; s < n->slot + NEIGH_SLOTS; s++) {
		if (s->family == dst->family && !memcmp(s->ip, dst->ip, alen)) {
			s->last_use = n->tick;
			return s;
		}
		if (!s->family || (victim->family && s->last_use < victim->last_use))
			victim = s;
	}
	memset(victim, 0, sizeof(*victim));
	victim->family = dst->family;
	memcpy(victim->ip, dst->ip, alen);
	victim->last_use = n->tick;
	return victim;
}

/*
 * Makes the kernel resolve the next hop towards dst: a datagram to dst takes
 * the route just looked up, and its neighbour output queues it and sends ARP /
 * neighbour solicitation (also restarting a FAILED entry). At most once per
 * NEIGH_RETRY_NS per destination. Returns 0 (sent or not yet due), or a
 * negated errno with err filled when the kernel refused the datagram.
 */
static int probe(struct pfs_neigh *n, const struct pfs_addr *dst, int oif, uint64_t now_ns,
		 const char *dstname, char *err, size_t errlen)
{
	struct slot *s = slot_of(n, dst);
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint16_t port = dst->port ? dst->port : PROBE_PORT_DEFAULT;
	uint8_t byte = 0;
	char ifb[IF_NAMESIZE + 16];
	int fd;

	if (s->last_probe_ns && now_ns - s->last_probe_ns < NEIGH_RETRY_NS)
		return 0; /* (a clock gone back wraps around: probes) */
	s->last_probe_ns = now_ns ? now_ns : 1;

	memset(&ss, 0, sizeof(ss));
	if (dst->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, dst->ip, 16);
		if (is_link_local(dst))
			s6->sin6_scope_id = (uint32_t)oif;
		sslen = sizeof(*s6);
		fd = n->udp6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, dst->ip, 4);
		sslen = sizeof(*s4);
		fd = n->udp4;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot resolve %s: no IPv6 UDP socket (IPv6 disabled?)",
			 dstname);
		return -EAFNOSUPPORT;
	}
	if (sendto(fd, &byte, sizeof(byte), 0, (struct sockaddr *)&ss, sslen) >= 0)
		return 0;
	/* A full send buffer, or an entry that failed again: the next probe. */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EHOSTUNREACH ||
	    errno == EHOSTDOWN)
		return 0;
	snprintf(err, errlen,
		 "cannot start resolving %s on %s: sendto(UDP port %u): %s — is it firewalled?",
		 dstname, fmt_if(oif, ifb), port, strerror(errno));
	return -errno;
}

/* --- resolve ---------------------------------------------------------------- */

static int check_route(const struct route *rt, int want_ifindex, const char *dstname, char *err,
		       size_t errlen)
{
	char ifa[IF_NAMESIZE + 16], ifb[IF_NAMESIZE + 16];

	if (rt->type == RTN_LOCAL) {
		snprintf(err, errlen,
			 "%s is an address of this host: PacketFS over AF_XDP needs a peer on the "
			 "link (use the UDP backend for transfers within one host)",
			 dstname);
		return -ENETUNREACH;
	}
	if (rt->type != RTN_UNICAST) {
		snprintf(err, errlen, "cannot send to %s over AF_XDP: it is %s", dstname,
			 route_type_name(rt->type));
		return -ENETUNREACH;
	}
	if (rt->has_via && !rt->has_gw) {
		snprintf(err, errlen,
			 "the route to %s goes via a gateway of another address family "
			 "(RTA_VIA), which PacketFS does not resolve: add a route via a gateway "
			 "of the same family",
			 dstname);
		return -ENETUNREACH;
	}
	if (rt->oif <= 0) {
		snprintf(err, errlen, "the kernel's route to %s names no outgoing interface",
			 dstname);
		return -ENETUNREACH;
	}
	if (want_ifindex > 0 && rt->oif != want_ifindex) {
		snprintf(err, errlen,
			 "the route to %s leaves by %s, not by %s where the AF_XDP socket is: "
			 "route %s via %s, or run PacketFS on %s",
			 dstname, fmt_if(rt->oif, ifa), fmt_if(want_ifindex, ifb), dstname, ifb,
			 ifa);
		return -ENETUNREACH;
	}
	return 0;
}

static int neigh_error(int rc, const char *kmsg, const char *hopname, int oif, char *err,
		       size_t errlen)
{
	char ifb[IF_NAMESIZE + 16];

	if (rc == -EOPNOTSUPP)
		snprintf(err, errlen,
			 "neighbour lookup of %s on %s: this kernel cannot get one neighbour "
			 "entry (RTM_GETNEIGH without dump needs Linux 5.0)",
			 hopname, fmt_if(oif, ifb));
	else if (rc == -ETIMEDOUT)
		snprintf(err, errlen,
			 "neighbour lookup of %s on %s: rtnetlink did not answer within %d ms",
			 hopname, fmt_if(oif, ifb), NL_TIMEOUT_MS);
	else
		snprintf(err, errlen, "neighbour lookup of %s on %s (RTM_GETNEIGH): %s%s%s",
			 hopname, fmt_if(oif, ifb), strerror(-rc), kmsg ? ": " : "",
			 kmsg ? kmsg : "");
	return rc;
}

int pfs_neigh_resolve(struct pfs_neigh *n, const struct pfs_addr *dst, int want_ifindex,
		      uint64_t now_ns, struct pfs_neigh_hop *hop, char *err, size_t errlen)
{
	char dstname[INET6_ADDRSTRLEN], hopname[INET6_ADDRSTRLEN], ifb[IF_NAMESIZE + 16];
	const char *kmsg;
	struct pfs_addr via;
	struct route rt;
	uint16_t state;
	uint8_t mac[6];
	int maclen, rc, oif = 0;

	if (!n || !dst || !hop || (dst->family != 4 && dst->family != 6)) {
		snprintf(err, errlen, "neigh: destination address family must be 4 or 6");
		return PFS_ERR_INVALID_ARG;
	}
	fmt_ip(dst->family, dst->ip, dstname, sizeof(dstname));
	if (is_link_local(dst)) {
		/* fe80::/10 is on every link: only the interface says which. */
		if (want_ifindex <= 0) {
			snprintf(err, errlen,
				 "%s is link-local: name the interface to resolve it on", dstname);
			return PFS_ERR_INVALID_ARG;
		}
		oif = want_ifindex;
	}

	rc = get_route(n, dst, oif, &rt, &kmsg);
	if (rc)
		return route_error(rc, kmsg, dstname, err, errlen);
	rc = check_route(&rt, want_ifindex, dstname, err, errlen);
	if (rc)
		return rc;

	memset(&via, 0, sizeof(via));
	via.family = dst->family;
	memcpy(via.ip, rt.has_gw ? rt.gw : dst->ip, via.family == 6 ? 16 : 4);
	fmt_ip(via.family, via.ip, hopname, sizeof(hopname));
	fmt_if(rt.oif, ifb);

	rc = get_neigh(n, &via, rt.oif, &state, mac, &maclen, &kmsg);
	if (rc == -ENOENT)
		state = NUD_NONE;
	else if (rc)
		return neigh_error(rc, kmsg, hopname, rt.oif, err, errlen);

	if (state &
	    (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) {
		if (maclen != 6) {
			snprintf(err, errlen,
				 "%s on %s has a %d-byte link-layer address: %s is not an "
				 "Ethernet interface, which AF_XDP framing needs",
				 hopname, ifb, maclen < 0 ? 0 : maclen, ifb);
			return -EOPNOTSUPP;
		}
		memset(hop, 0, sizeof(*hop));
		hop->ifindex = rt.oif;
		hop->via = via;
		memcpy(hop->mac, mac, 6);
		memcpy(hop->src_ip, rt.src, sizeof(hop->src_ip));
		hop->has_src = rt.has_src;
		return 0;
	}

	rc = probe(n, dst, rt.oif, now_ns, dstname, err, errlen);
	if (rc)
		return rc;
	if (state & NUD_FAILED) {
		snprintf(err, errlen,
			 "%s on %s does not answer %s (neighbour entry FAILED): is the %s up "
			 "and on this link? (Asking again retries.)",
			 hopname, ifb, via.family == 6 ? "neighbour solicitation" : "ARP",
			 rt.has_gw ? "gateway" : "peer");
		return -EHOSTUNREACH;
	}
	snprintf(err, errlen, "resolving %s on %s (the kernel is sending %s): ask again shortly",
		 hopname, ifb, via.family == 6 ? "neighbour solicitation" : "ARP");
	return -EAGAIN;
}
