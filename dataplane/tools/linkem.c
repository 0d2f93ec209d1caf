/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfs-linkem: the project's link emulator (the kernel here has no netem). It
 * runs in a middle network namespace and bridges every Ethernet frame between
 * two interfaces — ARP, ICMP, TCP, UDP, AF_XDP traffic alike — through one
 * linkem model per direction (dataplane/linkem.h): rate with a tail-drop
 * queue, delay and jitter, random and burst loss, reordering, duplication and
 * corruption.
 *
 *   ns A: A0 ===veth=== M0  [pfs-linkem in ns M]  M1 ===veth=== B0 :ns B
 *                       a_to_b: M0 -> model -> M1
 *                       b_to_a: M1 -> model -> M0
 *
 * I/O: one AF_PACKET raw socket per interface (ETH_P_ALL, promiscuous,
 * PACKET_IGNORE_OUTGOING so it never reads back its own sends), batched with
 * recvmmsg/sendmmsg. A frame waits in a binary heap ordered by (delivery
 * time, arrival), so with neither jitter nor reordering each direction is a
 * FIFO. One thread; between bursts it sleeps in ppoll until a socket is
 * readable or the next frame is due (timer slack 1 ns). Buffers come from one
 * bounded pool; when it is empty, frames are dropped and counted.
 *
 * The sockets use PACKET_VNET_HDR: a frame whose sender left its checksum to
 * the "hardware" (CHECKSUM_PARTIAL, veth's default) arrives with the checksum
 * unfilled, and is completed here before it may be corrupted; a GSO
 * super-frame (offloads left on) is dropped as too big — the emulator must see
 * the frames a wire would carry. At start the tool refuses interfaces with
 * TSO, GSO or GRO on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "compiler.h"
#include "error.h"
#include "linkem.h"
#include "tool.h"

#define BURST 64
#define FRAME_MAX 9018u		       /* a 9000-byte MTU, Ethernet header and a VLAN tag */
#define POOL_BYTES_DEFAULT (64u << 20) /* the default pool: 64 MiB of frames */
#define VNET sizeof(struct virtio_net_hdr)
#define SEED_B_TO_A 0x5851f42d4c957f2dull /* b_to_a draws from seed ^ this */

/* Counters that are the tool's, beside the model's. */
enum drop_reason {
	DROP_TOO_BIG,	/* longer than the out-interface's MTU + 14, a GSO super-frame,
			 * or checksum offsets outside the frame */
	DROP_NO_BUFFER, /* the pool was empty */
	DROP_SEND,	/* sendmmsg refused it (ENOBUFS: the peer's backlog) */
	DROP_REASONS,
};
static const char *const drop_name[DROP_REASONS] = { "too_big", "no_buffer", "send" };

struct slot {
	uint64_t due, seq;
	uint32_t buf, len;
};

struct pool {
	uint8_t *mem;
	uint32_t stride, n, nfree;
	uint32_t *free;
};

struct dir {
	const char *name;
	int in, out; /* socket indices */
	uint32_t out_mtu;
	struct pfs_linkem model;
	struct slot *heap; /* pool.n entries */
	uint32_t nheap;
	uint64_t seq;
	struct slot tx[BURST]; /* popped, not yet accepted by the kernel */
	uint32_t ntx;
	int want_pollout;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, dropped[DROP_REASONS];
	uint64_t socket_drops; /* the kernel's: our receive buffer overflowed */
};

struct iface {
	const char *name;
	int fd, ifindex;
	uint32_t mtu;
};

struct opts {
	struct pfs_linkem_config cfg[2];
	const char *ifname[2], *stats;
	uint64_t seed;
	double time_limit_s;
	uint32_t pool_frames;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

/* --- option values --------------------------------------------------------- */

/* A number followed by one of units[] (case-insensitive), scaled by the
 * matching mult[]; an empty unit matches a bare number when allowed. */
static int parse_scaled(const char *s, const char *const *units, const double *mult, int n,
			double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (strcasecmp(end, units[i]) == 0) {
			*out = v * mult[i];
			return 0;
		}
	}
	return -1;
}

static uint64_t parse_rate(const char *opt, const char *s)
{
	static const char *const u[] = { "", "bit", "kbit", "mbit", "gbit", "tbit" };
	static const double m[] = { 1, 1, 1e3, 1e6, 1e9, 1e12 };
	double v;

	if (parse_scaled(s, u, m, 6, &v) || v > PFS_LINKEM_RATE_MAX_BPS || (v > 0 && v < 8))
		die(PFS_ERR_INVALID_ARG,
		    "%s %s: expected bits per second such as 100mbit, 1gbit, 1500kbit (8bit to 1tbit; 0 = unlimited)",
		    opt, s);
	return (uint64_t)(v + 0.5);
}

static uint64_t parse_time(const char *opt, const char *s)
{
	static const char *const u[] = { "ns", "us", "ms", "s" };
	static const double m[] = { 1, 1e3, 1e6, 1e9 };
	double v;

	if (parse_scaled(s, u, m, 4, &v) || v > PFS_LINKEM_DELAY_MAX_NS)
		die(PFS_ERR_INVALID_ARG,
		    "%s %s: expected a time such as 10ms, 500us, 1s (at most 100s)", opt, s);
	return (uint64_t)(v + 0.5);
}

static uint32_t parse_prob(const char *opt, const char *s)
{
	static const char *const u[] = { "%", "ppm" };
	static const double m[] = { 1e4, 1 };
	double v;

	if (parse_scaled(s, u, m, 2, &v) || v > PFS_LINKEM_PPM)
		die(PFS_ERR_INVALID_ARG, "%s %s: expected a probability such as 0.1%% or 1000ppm",
		    opt, s);
	return (uint32_t)(v + 0.5);
}

static uint64_t parse_bytes(const char *opt, const char *s)
{
	static const char *const u[] = { "", "b", "k", "kib", "m", "mib", "g", "gib" };
	static const double m[] = { 1, 1, 1024, 1024, 1048576, 1048576, 1073741824, 1073741824 };
	double v;

	if (parse_scaled(s, u, m, 8, &v) || v > 1e15)
		die(PFS_ERR_INVALID_ARG, "%s %s: expected bytes such as 1048576, 512k, 4m", opt, s);
	return (uint64_t)(v + 0.5);
}

/* Seconds, bare or with a unit (--time-limit 30, 30s, 1500ms); 0 = none. */
static double parse_seconds(const char *opt, const char *s)
{
	static const char *const u[] = { "", "s", "ms" };
	static const double m[] = { 1, 1, 1e-3 };
	double v;

	if (parse_scaled(s, u, m, 3, &v) || v > 1e7)
		die(PFS_ERR_INVALID_ARG, "%s %s: expected seconds such as 30 or 1500ms", opt, s);
	return v;
}

static uint64_t parse_uint(const char *opt, const char *s, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		die(PFS_ERR_INVALID_ARG, "%s %s: expected a whole number up to %llu", opt, s,
		    (unsigned long long)max);
	return v;
}

/* Sets the link setting `name` (without "--" and direction prefix) on c;
 * returns 0 if name is not one. */
static int set_link(struct pfs_linkem_config *c, const char *opt, const char *name, const char *v)
{
	if (!strcmp(name, "rate"))
		c->rate_bps = parse_rate(opt, v);
	else if (!strcmp(name, "delay"))
		c->delay_ns = parse_time(opt, v);
	else if (!strcmp(name, "jitter"))
		c->jitter_ns = parse_time(opt, v);
	else if (!strcmp(name, "loss"))
		c->loss_ppm = parse_prob(opt, v);
	else if (!strcmp(name, "burst-enter"))
		c->burst_enter_ppm = parse_prob(opt, v);
	else if (!strcmp(name, "burst-exit"))
		c->burst_exit_ppm = parse_prob(opt, v);
	else if (!strcmp(name, "reorder"))
		c->reorder_ppm = parse_prob(opt, v);
	else if (!strcmp(name, "duplicate"))
		c->duplicate_ppm = parse_prob(opt, v);
	else if (!strcmp(name, "corrupt"))
		c->corrupt_ppm = parse_prob(opt, v);
	else if (!strcmp(name, "queue"))
		c->queue_bytes = parse_bytes(opt, v);
	else
		return 0;
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pfs-linkem --if-a IF --if-b IF [link settings] [--seed N] [--stats FILE]\n"
		"                  [--time-limit S] [--pool FRAMES]\n"
		"link settings, for both directions, or one with an --a-to-b- or --b-to-a- prefix\n"
		"(e.g. --a-to-b-delay 5ms), applied in the order given:\n"
		"  --rate 1gbit|100mbit|...  --delay 10ms  --jitter 1ms  --loss 0.1%%\n"
		"  --burst-enter P --burst-exit P  --reorder P  --duplicate P  --corrupt P\n"
		"  --queue BYTES (tail drop; default the round trip's BDP, at least 1 MiB)\n"
		"Stops on SIGTERM/SIGINT or after --time-limit, writing JSON stats to --stats\n"
		"(default stdout). Every interface needs: ethtool -K IF tso off gso off gro off\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL, *name;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0)
			die(PFS_ERR_INVALID_ARG, "unexpected argument %s (see --help)", a);
		if (!v)
			die(PFS_ERR_INVALID_ARG, "%s needs a value (see --help)", a);
		i++;
		name = a + 2;
		if (!strcmp(name, "if-a"))
			o->ifname[0] = v;
		else if (!strcmp(name, "if-b"))
			o->ifname[1] = v;
		else if (!strcmp(name, "stats"))
			o->stats = v;
		else if (!strcmp(name, "seed"))
			o->seed = parse_uint(a, v, UINT64_MAX);
		else if (!strcmp(name, "time-limit"))
			o->time_limit_s = parse_seconds(a, v);
		else if (!strcmp(name, "pool"))
			o->pool_frames = (uint32_t)parse_uint(a, v, 1u << 24);
		else if (!strncmp(name, "a-to-b-", 7) && set_link(&o->cfg[0], a, name + 7, v))
			;
		else if (!strncmp(name, "b-to-a-", 7) && set_link(&o->cfg[1], a, name + 7, v))
			;
		else if (set_link(&o->cfg[0], a, name, v))
			set_link(&o->cfg[1], a, name, v);
		else
			die(PFS_ERR_INVALID_ARG, "unknown option %s (see --help)", a);
	}
	if (!o->ifname[0] || !o->ifname[1])
		die(PFS_ERR_INVALID_ARG, "--if-a and --if-b are required (see --help)");
	if (!strcmp(o->ifname[0], o->ifname[1]))
		die(PFS_ERR_INVALID_ARG, "--if-a and --if-b name the same interface %s",
		    o->ifname[0]);
	o->cfg[0].seed = o->seed;
	o->cfg[1].seed = o->seed ^ SEED_B_TO_A;
}

/* --- set-up ---------------------------------------------------------------- */

static uint32_t ethtool_get(struct iface *f, uint32_t cmd, const char *what)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->name);
	ifr.ifr_data = (char *)&ev;
	if (ioctl(f->fd, SIOCETHTOOL, &ifr) == 0)
		return ev.data;
	if (errno == EOPNOTSUPP) /* a device without the offload */
		return 0;
	die(-errno, "ethtool %s on %s: %s", what, f->name, strerror(errno));
}

static void open_iface(struct iface *f, const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	struct ifreq ifr;
	int one = 1, rcvbuf = 32 << 20, sndbuf = 8 << 20;

	f->name = name;
	if (strlen(name) >= IF_NAMESIZE)
		die(PFS_ERR_INVALID_ARG, "interface name %s is longer than %d bytes", name,
		    IF_NAMESIZE - 1);
	f->ifindex = (int)if_nametoindex(name);
	if (!f->ifindex)
		die(-ENODEV, "no interface %s in this network namespace (ip link show)", name);
	/* protocol 0: nothing arrives until bind() names the interface */
	f->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		die(-errno, "socket(AF_PACKET, SOCK_RAW): %s%s", strerror(errno),
		    errno == EPERM ? " — pfs-linkem needs root (CAP_NET_RAW)" : "");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(f->fd, SIOCGIFMTU, &ifr) < 0)
		die(-errno, "SIOCGIFMTU on %s: %s", name, strerror(errno));
	f->mtu = (uint32_t)ifr.ifr_mtu;
	if (f->mtu + ETH_HLEN + 4 > FRAME_MAX)
		die(PFS_ERR_INVALID_ARG, "%s has MTU %u; pfs-linkem carries frames up to %u bytes",
		    name, f->mtu, FRAME_MAX);
	if (ethtool_get(f, ETHTOOL_GTSO, "GTSO") || ethtool_get(f, ETHTOOL_GGSO, "GGSO") ||
	    ethtool_get(f, ETHTOOL_GGRO, "GGRO"))
		die(PFS_ERR_INVALID_ARG,
		    "%s has TSO, GSO or GRO on: the emulator must see wire-sized frames; run "
		    "ethtool -K %s tso off gso off gro off (and the same on the far ends)",
		    name, name);
	if (setsockopt(f->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		die(-errno, "PACKET_IGNORE_OUTGOING on %s: %s (needs Linux 4.20)", name,
		    strerror(errno));
	if (setsockopt(f->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		die(-errno, "PACKET_VNET_HDR on %s: %s", name, strerror(errno));
	/* FORCE needs CAP_NET_ADMIN, which root has; else the capped size */
	if (setsockopt(f->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (setsockopt(f->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	sll.sll_ifindex = f->ifindex;
	if (bind(f->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die(-errno, "bind(AF_PACKET) to %s: %s", name, strerror(errno));
	/* frames for the far end's MAC address must reach us too; the kernel
	 * drops the membership when the socket closes */
	mr.mr_ifindex = f->ifindex;
	if (setsockopt(f->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		die(-errno, "promiscuous mode on %s: %s", name, strerror(errno));
}

static void pool_init(struct pool *p, uint32_t stride, uint32_t n)
{
	p->stride = stride;
	p->n = n;
	p->mem = mmap(NULL, (size_t)stride * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	p->free = malloc((size_t)n * sizeof(*p->free));
	if (p->mem == MAP_FAILED || !p->free)
		die(PFS_ERR_NOMEM, "a pool of %u frames of %u bytes: out of memory", n, stride);
	for (uint32_t i = 0; i < n; i++)
		p->free[i] = n - 1 - i;
	p->nfree = n;
}

static uint8_t *buf_of(struct pool *p, uint32_t b)
{
	return p->mem + (size_t)b * p->stride;
}

/* --- the heap of frames in flight, ordered by (due, seq) ------------------- */

static int before(const struct slot *a, const struct slot *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Never overflows: it has a place for every buffer of the pool. */
static void push(struct dir *d, uint32_t buf, uint32_t len, uint64_t due)
{
	struct slot e = { .due = due, .seq = d->seq++, .buf = buf, .len = len };
	uint32_t i = d->nheap++;

	while (i && before(&e, &d->heap[(i - 1) / 2])) {
		d->heap[i] = d->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	d->heap[i] = e;
}

static struct slot pop(struct dir *d)
{
	struct slot top = d->heap[0], last = d->heap[--d->nheap];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= d->nheap)
			break;
		if (c + 1 < d->nheap && before(&d->heap[c + 1], &d->heap[c]))
			c++;
		if (!before(&d->heap[c], &last))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (d->nheap)
		d->heap[i] = last;
	return top;
}

/* --- the forwarding loop --------------------------------------------------- */

/* Fills in the checksum a CHECKSUM_PARTIAL sender left to the device: the
 * ones' complement sum from csum_start to the end (the field holds the
 * pseudo-header's sum), stored at csum_start + csum_offset. Non-zero when the
 * offsets lie outside the frame. */
static int complete_csum(uint8_t *f, uint32_t len, const struct virtio_net_hdr *h)
{
	uint32_t start = h->csum_start, at = start + h->csum_offset, i;
	uint64_t sum = 0;
	uint16_t c;

	if (start >= len || at + 2 > len)
		return -1;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	if (i < len)
		sum += (uint32_t)f[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	if (!c && h->csum_offset == 6) /* UDP: 0 means "no checksum" */
		c = 0xffff;
	f[at] = (uint8_t)(c >> 8);
	f[at + 1] = (uint8_t)c;
	return 0;
}

static void admit(struct dir *d, struct pool *p, uint32_t b, uint32_t len, uint64_t now)
{
	struct pfs_linkem_verdict v;
	uint8_t *f = buf_of(p, b);

	if (pfs_linkem_offer(&d->model, now, len, &v) != PFS_LINKEM_DELIVER) {
		p->free[p->nfree++] = b;
		return;
	}
	if (v.corrupt)
		f[v.corrupt_bit / 8] ^= (uint8_t)(1u << (v.corrupt_bit % 8));
	if (v.duplicate) {
		if (p->nfree) {
			uint32_t copy = p->free[--p->nfree];
			memcpy(buf_of(p, copy), f, len);
			push(d, copy, len, v.dup_at_ns);
		} else {
			d->dropped[DROP_NO_BUFFER]++;
		}
	}
	push(d, b, len, v.deliver_at_ns);
}

/* One burst from d's in-interface into the model. Returns the frames read,
 * or -errno. */
static int rx_burst(struct dir *d, struct iface *ifs, struct pool *p, uint8_t *scratch,
		    uint64_t now)
{
	static struct virtio_net_hdr hdr[BURST];
	struct mmsghdr msg[BURST];
	struct iovec iov[BURST][2];
	uint32_t buf[BURST], nbuf = 0, limit = ifs[d->out].mtu + ETH_HLEN;
	int got;

	for (int i = 0; i < BURST; i++) {
		uint8_t *to = scratch; /* pool empty: read it to count and drop it */
		if (p->nfree) {
			buf[nbuf] = p->free[--p->nfree];
			to = buf_of(p, buf[nbuf++]);
		}
		iov[i][0] = (struct iovec){ .iov_base = &hdr[i], .iov_len = VNET };
		iov[i][1] = (struct iovec){ .iov_base = to, .iov_len = p->stride };
		msg[i].msg_hdr = (struct msghdr){ .msg_iov = iov[i], .msg_iovlen = 2 };
	}
	got = recvmmsg(ifs[d->in].fd, msg, BURST, MSG_DONTWAIT, NULL);
	if (got < 0)
		got = errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < (got > 0 ? got : 0); i++) {
		uint32_t len = msg[i].msg_len - (uint32_t)VNET;

		d->rx_packets++;
		d->rx_bytes += len;
		if (unlikely((uint32_t)i >= nbuf)) {
			d->dropped[DROP_NO_BUFFER]++;
			continue;
		}
		if (unlikely(len > limit || (msg[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			     hdr[i].gso_type != VIRTIO_NET_HDR_GSO_NONE ||
			     ((hdr[i].flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			      complete_csum(buf_of(p, buf[i]), len, &hdr[i])))) {
			d->dropped[DROP_TOO_BIG]++;
			p->free[p->nfree++] = buf[i];
			continue;
		}
		admit(d, p, buf[i], len, now);
	}
	/* buffers the burst did not use go back */
	for (uint32_t i = got > 0 ? (uint32_t)got : 0; i < nbuf; i++)
		p->free[p->nfree++] = buf[i];
	return got;
}

/* Sends what is due on d. Returns 1 when a full burst went (more may be due),
 * 0, or -errno on a socket error other than a full buffer or a refused frame. */
static int tx_burst(struct dir *d, struct iface *ifs, struct pool *p, uint64_t now)
{
	static const struct virtio_net_hdr none; /* no offloads asked of the kernel */
	struct mmsghdr msg[BURST];
	struct iovec iov[BURST][2];
	int sent;

	while (d->ntx < BURST && d->nheap && d->heap[0].due <= now)
		d->tx[d->ntx++] = pop(d);
	if (!d->ntx)
		return 0;
	for (uint32_t i = 0; i < d->ntx; i++) {
		iov[i][0] = (struct iovec){ .iov_base = (void *)&none, .iov_len = VNET };
		iov[i][1] = (struct iovec){ .iov_base = buf_of(p, d->tx[i].buf),
					    .iov_len = d->tx[i].len };
		msg[i].msg_hdr = (struct msghdr){ .msg_iov = iov[i], .msg_iovlen = 2 };
	}
	sent = sendmmsg(ifs[d->out].fd, msg, d->ntx, MSG_DONTWAIT);
	d->want_pollout = 0;
	if (sent < 0) {
		if (errno == EAGAIN) { /* our send buffer is full: wait for POLLOUT */
			d->want_pollout = 1;
			return 0;
		}
		if (errno != ENOBUFS && errno != EINTR && errno != EMSGSIZE)
			return -errno;
		/* the kernel refused the first frame (the peer's backlog was
		 * full): a drop, as on a congested wire */
		if (errno != EINTR) {
			d->dropped[DROP_SEND]++;
			p->free[p->nfree++] = d->tx[0].buf;
			memmove(d->tx, d->tx + 1, (--d->ntx) * sizeof(d->tx[0]));
		}
		return 1;
	}
	for (int i = 0; i < sent; i++) {
		d->tx_packets++;
		d->tx_bytes += d->tx[i].len;
		p->free[p->nfree++] = d->tx[i].buf;
	}
	d->ntx -= (uint32_t)sent;
	memmove(d->tx, d->tx + sent, d->ntx * sizeof(d->tx[0]));
	return sent == BURST || d->ntx;
}

/* Runs until a signal, the deadline (0: none) or a socket error (returned as
 * -errno, with its interface in *bad). */
static int run(struct dir *dirs, struct iface *ifs, struct pool *p, uint8_t *scratch,
	       uint64_t deadline, const sigset_t *waitmask, const char **bad)
{
	struct pollfd pfd[2] = { { .fd = ifs[0].fd }, { .fd = ifs[1].fd } };

	while (!stop) {
		uint64_t now = now_ns(), next = deadline ? deadline : UINT64_MAX;
		int busy = 0, r;

		if (deadline && now >= deadline)
			break;
		for (int i = 0; i < 2; i++) {
			r = rx_burst(&dirs[i], ifs, p, scratch, now);
			if (unlikely(r < 0)) {
				*bad = ifs[dirs[i].in].name;
				return r;
			}
			busy |= r == BURST;
		}
		now = now_ns();
		for (int i = 0; i < 2; i++) {
			r = tx_burst(&dirs[i], ifs, p, now);
			if (unlikely(r < 0)) {
				*bad = ifs[dirs[i].out].name;
				return r;
			}
			busy |= r;
			if (dirs[i].ntx && !dirs[i].want_pollout)
				next = now;
			else if (dirs[i].nheap && dirs[i].heap[0].due < next)
				next = dirs[i].heap[0].due;
		}
		for (int i = 0; i < 2; i++)
			pfd[i].events = POLLIN;
		for (int i = 0; i < 2; i++)
			if (dirs[i].want_pollout)
				pfd[dirs[i].out].events |= POLLOUT;
		/* a zero timeout when busy still lets a pending signal in */
		uint64_t wait = busy || next <= now ? 0 : next - now;
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ull),
				       .tv_nsec = (long)(wait % 1000000000ull) };
		r = ppoll(pfd, 2, next == UINT64_MAX && !busy ? NULL : &ts, waitmask);
		if (r > 0) {
			for (int i = 0; i < 2; i++) {
				if (unlikely(pfd[i].revents & (POLLERR | POLLNVAL))) {
					int err = 0;
					socklen_t l = sizeof(err);
					getsockopt(ifs[i].fd, SOL_SOCKET, SO_ERROR, &err, &l);
					*bad = ifs[i].name;
					return -(err ? err : EIO);
				}
			}
		}
	}
	return 0;
}

/* --- report ---------------------------------------------------------------- */

static void write_dir(FILE *f, const struct dir *d)
{
	const struct pfs_linkem_stats *s = &d->model.stats;
	const struct pfs_linkem_config *c = &d->model.cfg;

	fprintf(f, "\"%s\":{\"in_packets\":%llu,\"in_bytes\":%llu,", d->name,
		(unsigned long long)d->rx_packets, (unsigned long long)d->rx_bytes);
	fprintf(f, "\"out_packets\":%llu,\"out_bytes\":%llu,\"dropped\":{",
		(unsigned long long)d->tx_packets, (unsigned long long)d->tx_bytes);
	for (int r = PFS_LINKEM_DROP_LOSS; r < PFS_LINKEM_FATES; r++)
		fprintf(f, "\"%s\":%llu,", pfs_linkem_fate_name((enum pfs_linkem_fate)r),
			(unsigned long long)s->dropped[r]);
	for (int r = 0; r < DROP_REASONS; r++)
		fprintf(f, "\"%s\":%llu,", drop_name[r], (unsigned long long)d->dropped[r]);
	fprintf(f, "\"socket\":%llu},", (unsigned long long)d->socket_drops);
	fprintf(f, "\"duplicated\":%llu,\"corrupted\":%llu,\"reordered\":%llu,\"in_flight\":%u,",
		(unsigned long long)s->duplicated, (unsigned long long)s->corrupted,
		(unsigned long long)s->reordered, d->nheap + d->ntx);
	fprintf(f,
		"\"config\":{\"rate_bps\":%llu,\"delay_ns\":%llu,\"jitter_ns\":%llu,\"loss_ppm\":%u,"
		"\"burst_enter_ppm\":%u,\"burst_exit_ppm\":%u,\"reorder_ppm\":%u,"
		"\"duplicate_ppm\":%u,\"corrupt_ppm\":%u,\"queue_bytes\":%llu,\"seed\":%llu}}",
		(unsigned long long)c->rate_bps, (unsigned long long)c->delay_ns,
		(unsigned long long)c->jitter_ns, c->loss_ppm, c->burst_enter_ppm,
		c->burst_exit_ppm, c->reorder_ppm, c->duplicate_ppm, c->corrupt_ppm,
		(unsigned long long)c->queue_bytes, (unsigned long long)c->seed);
}

static void write_stats(const char *path, struct dir *dirs, struct iface *ifs, double elapsed)
{
	FILE *f = path ? fopen(path, "w") : stdout;
	struct rusage ru;

	if (!f)
		die(-errno, "cannot write the stats to %s: %s", path, strerror(errno));
	for (int i = 0; i < 2; i++) {
		struct tpacket_stats ts;
		socklen_t l = sizeof(ts);
		/* the counters of the socket reading this direction's frames */
		if (getsockopt(ifs[dirs[i].in].fd, SOL_PACKET, PACKET_STATISTICS, &ts, &l) == 0)
			dirs[i].socket_drops += ts.tp_drops;
	}
	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "{\"if_a\":\"%s\",\"if_b\":\"%s\",\"elapsed_s\":%.6f,\"cpu_s\":%.6f,",
		ifs[0].name, ifs[1].name, elapsed,
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	write_dir(f, &dirs[0]);
	fputc(',', f);
	write_dir(f, &dirs[1]);
	fprintf(f, "}\n");
	if (path ? fclose(f) != 0 : fflush(f) != 0)
		die(-EIO, "cannot write the stats to %s", path ? path : "stdout");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct iface ifs[2];
	struct dir dirs[2];
	struct pool pool;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	uint8_t *scratch;
	uint64_t start, deadline = 0;
	const char *bad = NULL;
	uint32_t stride;
	int err;

	parse_opts(argc, argv, &o);
	memset(dirs, 0, sizeof(dirs));
	for (int i = 0; i < 2; i++) {
		err = pfs_linkem_init(&dirs[i].model, &o.cfg[i]);
		if (err)
			die(err,
			    "%s: settings refused (a probability over 100%%, --burst-enter without "
			    "--burst-exit, or --queue without --rate)",
			    i ? "b_to_a" : "a_to_b");
	}
	for (int i = 0; i < 2; i++)
		open_iface(&ifs[i], o.ifname[i]);

	/* a buffer holds the largest frame either interface may carry (and a
	 * VLAN tag): a longer one is truncated, seen as such, and dropped */
	stride = (ifs[0].mtu > ifs[1].mtu ? ifs[0].mtu : ifs[1].mtu) + ETH_HLEN + 4;
	stride = (stride + 63) & ~63u;
	if (!o.pool_frames)
		o.pool_frames = POOL_BYTES_DEFAULT / stride;
	if (o.pool_frames < 2 * BURST || o.pool_frames > (1u << 24))
		die(PFS_ERR_INVALID_ARG, "--pool %u: between %u and %u frames", o.pool_frames,
		    2 * BURST, 1u << 24);
	pool_init(&pool, stride, o.pool_frames);
	scratch = malloc(stride);
	for (int i = 0; i < 2; i++) {
		dirs[i].name = i ? "b_to_a" : "a_to_b";
		dirs[i].in = i;
		dirs[i].out = !i;
		dirs[i].heap = malloc((size_t)pool.n * sizeof(struct slot));
		if (!dirs[i].heap || !scratch)
			die(PFS_ERR_NOMEM, "out of memory");
	}

	/* signals arrive only inside ppoll: no race between a check and a sleep */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* the default 50 us of timer slack would be jitter we did not ask for */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	start = now_ns();
	if (o.time_limit_s > 0)
		deadline = start + (uint64_t)(o.time_limit_s * 1e9);
	fprintf(stderr, "pfs-linkem: forwarding %s <-> %s (pool %u frames of %u bytes)\n",
		ifs[0].name, ifs[1].name, pool.n, stride);
	err = run(dirs, ifs, &pool, scratch, deadline, &waitmask, &bad);
	write_stats(o.stats, dirs, ifs, (double)(now_ns() - start) / 1e9);
	if (err)
		die(err, "forwarding stopped: socket on %s: %s", bad, strerror(-err));
	for (int i = 0; i < 2; i++) {
		free(dirs[i].heap);
		close(ifs[i].fd);
	}
	free(scratch);
	munmap(pool.mem, (size_t)pool.stride * pool.n);
	free(pool.free);
	return 0;
}
