/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_udp: kernel UDP sockets, the backend that runs anywhere without
 * privileges. One non-blocking socket; bursts go through recvmmsg/sendmmsg so
 * one system call moves up to PFS_IO_BURST_MAX datagrams. Buffers come from a
 * private pool, as they would from a UMEM in io_xdp.
 *
 * Segmentation offload where the kernel has it (Linux >= 5.0): consecutive
 * frames to one peer with one size leave as one GSO send (the kernel cuts them
 * back into datagrams; no copy here, one iovec per frame), and with GRO the
 * kernel hands over runs of datagrams as one buffer, which rx_burst cuts into
 * frames. Both cut the per-datagram cost of the system calls and the stack.
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "io_pool.h"

#define GSO_MAX_SEGS 64
#define GRO_BUF 65536 /* one coalesced run, at most a full UDP datagram's worth */

struct udp {
	struct pfs_io io; /* first */
	int fd;
	struct pfs_iopool pool;
	struct pfs_addr local;
	int gso, gro;
	/* GRO: runs received but not yet cut into frames */
	uint8_t *gro_buf; /* PFS_IO_BURST_MAX runs of GRO_BUF bytes */
	struct {
		uint32_t off, len, seg;
		struct pfs_addr from;
	} run[PFS_IO_BURST_MAX];
	int nrun, cur;
};

static const struct pfs_io_ops udp_ops;

static struct udp *udp_of(struct pfs_io *io)
{
	return (struct udp *)io;
}

static socklen_t to_sockaddr(const struct pfs_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct pfs_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		a->family = 6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->ip, &s6->sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = 4;
		a->port = ntohs(s4->sin_port);
		memcpy(a->ip, &s4->sin_addr, 4);
	}
}

static int udp_alloc(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	return pfs_iopool_alloc(&udp_of(io)->pool, f, n, &io->stats);
}

static void udp_release(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	for (int i = 0; i < n; i++)
		pfs_iopool_put(&udp_of(io)->pool, (uint32_t)f[i].handle);
}

static int same_addr(const struct pfs_addr *a, const struct pfs_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->ip, b->ip, 16);
}

/* How many frames from f[i] can leave as one GSO send: same peer, same size
 * (the last may be shorter), at most GSO_MAX_SEGS and one datagram's bytes. */
static int gso_run(const struct udp *u, const struct pfs_iobuf *f, int i, int n, size_t *bytes)
{
	uint32_t seg = f[i].len;
	int j = i + 1;

	*bytes = seg;
	if (!u->gso || seg == 0)
		return 1;
	while (j < n && j - i < GSO_MAX_SEGS && f[j].len <= seg && *bytes + f[j].len <= 65000 &&
	       same_addr(&f[j].peer, &f[i].peer)) {
		*bytes += f[j].len;
		if (f[j++].len < seg)
			break; /* a shorter one ends the run */
	}
	return j - i;
}

static int udp_tx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct udp *u = udp_of(io);
	struct mmsghdr msg[PFS_IO_BURST_MAX];
	struct sockaddr_storage to[PFS_IO_BURST_MAX];
	struct iovec iov[PFS_IO_BURST_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctrl[PFS_IO_BURST_MAX];
	int count[PFS_IO_BURST_MAX];
	size_t bytes[PFS_IO_BURST_MAX];
	int nmsg = 0, sent = 0, done = 0;

	if (n > PFS_IO_BURST_MAX)
		n = PFS_IO_BURST_MAX;
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ .iov_base = f[i].data,
					 .iov_len = f[i].len <= u->pool.size ? f[i].len :
									       u->pool.size };
	for (int i = 0; i < n; i += count[nmsg++]) {
		struct msghdr *h = &msg[nmsg].msg_hdr;

		count[nmsg] = gso_run(u, f, i, n, &bytes[nmsg]);
		memset(&msg[nmsg], 0, sizeof(msg[nmsg]));
		h->msg_name = &to[nmsg];
		h->msg_namelen = to_sockaddr(&f[i].peer, &to[nmsg]);
		h->msg_iov = &iov[i];
		h->msg_iovlen = (size_t)count[nmsg];
		if (count[nmsg] > 1) {
			struct cmsghdr *c;
			uint16_t seg = (uint16_t)f[i].len;

			h->msg_control = ctrl[nmsg].buf;
			h->msg_controllen = sizeof(ctrl[nmsg].buf);
			c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
	}
	while (done < nmsg) {
		int r = sendmmsg(u->fd, msg + done, (unsigned)(nmsg - done), MSG_DONTWAIT);
		if (r > 0) {
			for (int m = done; m < done + r; m++) {
				io->stats.tx_bytes += bytes[m];
				sent += count[m];
			}
			done += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* EAGAIN (socket buffer full) or a per-datagram error: drop this
		 * message's frames, count them, and go on with the rest */
		io->stats.tx_dropped += (uint64_t)count[done];
		done++;
	}
	io->stats.tx_frames += (uint64_t)sent;
	udp_release(io, f, n);
	return sent;
}

/* Without GRO: each datagram straight into a pool buffer. */
static int rx_plain(struct udp *u, struct pfs_iobuf *f, int n)
{
	struct mmsghdr msg[PFS_IO_BURST_MAX];
	struct sockaddr_storage from[PFS_IO_BURST_MAX];
	struct iovec iov[PFS_IO_BURST_MAX];
	int got = udp_alloc(&u->io, f, n), r;

	if (got == 0)
		return 0;
	for (int i = 0; i < got; i++) {
		iov[i] = (struct iovec){ .iov_base = f[i].data, .iov_len = f[i].cap };
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i],
							.msg_namelen = sizeof(from[i]),
							.msg_iov = &iov[i],
							.msg_iovlen = 1 } };
	}
	do
		r = recvmmsg(u->fd, msg, (unsigned)got, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		r = 0; /* EAGAIN: nothing queued; other errors (ICMP) carry no data */
	for (int i = 0; i < r; i++) {
		f[i].len = msg[i].msg_len;
		from_sockaddr(&from[i], &f[i].peer);
	}
	udp_release(&u->io, f + r, got - r);
	return r;
}

/* With GRO: receive runs into the staging area and note each run's segment
 * size (the UDP_GRO control message; absent for a single datagram). */
static void rx_runs(struct udp *u)
{
	struct mmsghdr msg[PFS_IO_BURST_MAX];
	struct sockaddr_storage from[PFS_IO_BURST_MAX];
	struct iovec iov[PFS_IO_BURST_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl[PFS_IO_BURST_MAX];
	int r;

	for (int i = 0; i < PFS_IO_BURST_MAX; i++) {
		iov[i] = (struct iovec){ .iov_base = u->gro_buf + (size_t)i * GRO_BUF,
					 .iov_len = GRO_BUF };
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i],
							.msg_namelen = sizeof(from[i]),
							.msg_iov = &iov[i],
							.msg_iovlen = 1,
							.msg_control = ctrl[i].buf,
							.msg_controllen = sizeof(ctrl[i].buf) } };
	}
	do
		r = recvmmsg(u->fd, msg, PFS_IO_BURST_MAX, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	u->nrun = r > 0 ? r : 0;
	u->cur = 0;
	for (int i = 0; i < u->nrun; i++) {
		struct msghdr *h = &msg[i].msg_hdr;
		uint32_t seg = msg[i].msg_len;

		for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
			int v;
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(v))) {
				memcpy(&v, CMSG_DATA(c), sizeof(v));
				if (v > 0)
					seg = (uint32_t)v;
			}
		}
		u->run[i].off = (uint32_t)i * GRO_BUF;
		u->run[i].len = msg[i].msg_len;
		u->run[i].seg = seg ? seg : 1;
		from_sockaddr(&from[i], &u->run[i].from);
	}
}

/* Cuts staged runs into pool frames, keeping what does not fit for later. */
static int rx_cut(struct udp *u, struct pfs_iobuf *f, int n)
{
	int k = 0;

	while (k < n && u->cur < u->nrun) {
		typeof(u->run[0]) *run = &u->run[u->cur];
		uint32_t len = run->len < run->seg ? run->len : run->seg;

		if (run->len == 0) {
			u->cur++;
			continue;
		}
		if (len > u->pool.size || udp_alloc(&u->io, &f[k], 1) != 1) {
			/* too big for a frame (not ours), or out of buffers: drop */
			u->io.stats.rx_dropped++;
			run->off += len;
			run->len -= len;
			continue;
		}
		memcpy(f[k].data, u->gro_buf + run->off, len);
		f[k].len = len;
		f[k].peer = run->from;
		run->off += len;
		run->len -= len;
		k++;
	}
	return k;
}

static int udp_rx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct udp *u = udp_of(io);
	int r;

	if (n > PFS_IO_BURST_MAX)
		n = PFS_IO_BURST_MAX;
	if (!u->gro) {
		r = rx_plain(u, f, n);
	} else {
		r = rx_cut(u, f, n);
		if (r < n && u->cur >= u->nrun) {
			rx_runs(u);
			r += rx_cut(u, f + r, n - r);
		}
	}
	for (int i = 0; i < r; i++)
		io->stats.rx_bytes += f[i].len;
	io->stats.rx_frames += (uint64_t)r;
	return r;
}

static void udp_close(struct pfs_io *io)
{
	struct udp *u = udp_of(io);

	if (u->fd >= 0)
		close(u->fd);
	pfs_iopool_destroy(&u->pool);
	free(u->gro_buf);
	free(u);
}

static const struct pfs_io_ops udp_ops = {
	.name = "udp",
	.alloc = udp_alloc,
	.tx_burst = udp_tx,
	.rx_burst = udp_rx,
	.release = udp_release,
	.close = udp_close,
};

int pfs_io_udp_fd(const struct pfs_io *io)
{
	return io->ops == &udp_ops ? ((const struct udp *)io)->fd : -1;
}

int pfs_io_udp_offloads(const struct pfs_io *io, int *gso, int *gro)
{
	if (io->ops != &udp_ops)
		return PFS_ERR_INVALID_ARG;
	*gso = ((const struct udp *)io)->gso;
	*gro = ((const struct udp *)io)->gro;
	return 0;
}

int pfs_io_udp_local(const struct pfs_io *io, struct pfs_addr *addr)
{
	if (io->ops != &udp_ops)
		return PFS_ERR_INVALID_ARG;
	*addr = ((const struct udp *)io)->local;
	return 0;
}

static void addr_text(const struct pfs_addr *a, char *buf, size_t len)
{
	if (a->family == 6) {
		int n = snprintf(buf, len, "[");
		for (int i = 0; i < 16 && n > 0 && (size_t)n < len; i += 2)
			n += snprintf(buf + n, len - (size_t)n, "%s%x", i ? ":" : "",
				      (unsigned)(a->ip[i] << 8 | a->ip[i + 1]));
		if (n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, "]:%u", a->port);
	} else {
		snprintf(buf, len, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3],
			 a->port);
	}
}

int pfs_io_udp_open(struct pfs_io **out, const struct pfs_udp_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char where[64];
	struct udp *u;
	int buf, rc;

	if ((cfg->bind.family != 4 && cfg->bind.family != 6) || cfg->frames == 0 ||
	    cfg->frames > (1u << 20) || cfg->frame_size < 64 || cfg->frame_size > 65536) {
		snprintf(err, errlen,
			 "udp backend: bad configuration (family 4 or 6, 1..1048576 "
			 "buffers of 64..65536 bytes)");
		return PFS_ERR_INVALID_ARG;
	}
	addr_text(&cfg->bind, where, sizeof(where));
	u = calloc(1, sizeof(*u));
	if (!u)
		return PFS_ERR_NOMEM;
	u->io.ops = &udp_ops;
	u->fd = socket(cfg->bind.family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (pfs_iopool_init(&u->pool, cfg->frames, cfg->frame_size)) {
		rc = PFS_ERR_NOMEM;
		snprintf(err, errlen, "udp backend: out of memory for %u buffers", cfg->frames);
		goto err_close;
	}
	if (u->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket() for %s: %s", where, strerror(errno));
		goto err_close;
	}
	/* Deep socket buffers absorb bursts between polls; the kernel caps the
	 * unprivileged request at net.core.{r,w}mem_max (FORCE lifts it for root). */
	buf = (int)(cfg->sockbuf ? cfg->sockbuf : 4u << 20);
	if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(u->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (cfg->reuseport) {
		int on = 1;
		if (setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
			rc = -errno;
			snprintf(err, errlen, "SO_REUSEPORT on %s: %s", where, strerror(errno));
			goto err_close;
		}
	}
	sl = to_sockaddr(&cfg->bind, &ss);
	if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0) {
		rc = -errno;
		snprintf(err, errlen, "bind %s: %s%s", where, strerror(errno),
			 errno == EADDRINUSE	? " (another process uses the port: pick another)" :
			 errno == EADDRNOTAVAIL ? " (no interface has that address)" :
						  "");
		goto err_close;
	}
	sl = sizeof(ss);
	getsockname(u->fd, (struct sockaddr *)&ss, &sl);
	from_sockaddr(&ss, &u->local);
	/* offloads where the kernel has them; without, plain datagrams */
	int zero = 0, one = 1;
	u->gso = !cfg->no_offload &&
		 setsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	if (!cfg->no_offload && setsockopt(u->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0) {
		u->gro_buf = malloc((size_t)PFS_IO_BURST_MAX * GRO_BUF);
		u->gro = u->gro_buf != NULL;
		if (!u->gro)
			setsockopt(u->fd, SOL_UDP, UDP_GRO, &zero, sizeof(zero));
	}
	*out = &u->io;
	return 0;

err_close:
	udp_close(&u->io);
	return rc;
}

int pfs_io_udp_steer(struct pfs_io *io, uint32_t n, char *err, size_t errlen)
{
	struct udp *u = (struct udp *)io;
	/* for UDP the program sees the datagram from its payload on; a packet
	 * too short to load from ends the program with 0: the first socket */
	struct sock_filter code[] = {
		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, 4 },	/* A = be32 payload[4..8) */
		{ BPF_ALU | BPF_MOD | BPF_K, 0, 0, n }, /* A %= n */
		{ BPF_RET | BPF_A, 0, 0, 0 },		/* socket index A */
	};
	struct sock_fprog prog = { .len = 3, .filter = code };

	if (n == 0) {
		snprintf(err, errlen, "steering needs at least one socket");
		return PFS_ERR_INVALID_ARG;
	}
	if (setsockopt(u->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0) {
		int rc = -errno;
		snprintf(err, errlen, "SO_ATTACH_REUSEPORT_CBPF: %s", strerror(errno));
		return rc;
	}
	return 0;
}
