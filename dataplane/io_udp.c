/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_udp: kernel UDP sockets, the backend that runs anywhere without
 * privileges. One non-blocking socket; bursts go through recvmmsg/sendmmsg so
 * one system call moves up to PFS_IO_BURST_MAX datagrams. Buffers come from a
 * private pool, as they would from a UMEM in io_xdp.
 *
 * Not yet: UDP GSO/GRO (segmentation offload) — see docs/architecture.md.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "io_pool.h"

struct udp {
	struct pfs_io io; /* first */
	int fd;
	struct pfs_iopool pool;
	struct pfs_addr local;
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

static int udp_tx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct udp *u = udp_of(io);
	struct mmsghdr msg[PFS_IO_BURST_MAX];
	struct sockaddr_storage to[PFS_IO_BURST_MAX];
	struct iovec iov[PFS_IO_BURST_MAX];
	int sent = 0, done = 0;

	if (n > PFS_IO_BURST_MAX)
		n = PFS_IO_BURST_MAX;
	for (int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = f[i].data,
					 .iov_len = f[i].len <= u->pool.size ? f[i].len : u->pool.size };
		msg[i] = (struct mmsghdr){ .msg_hdr = {
						   .msg_name = &to[i],
						   .msg_namelen = to_sockaddr(&f[i].peer, &to[i]),
						   .msg_iov = &iov[i],
						   .msg_iovlen = 1,
					   } };
	}
	while (done < n) {
		int r = sendmmsg(u->fd, msg + done, (unsigned)(n - done), MSG_DONTWAIT);
		if (r > 0) {
			for (int i = done; i < done + r; i++)
				io->stats.tx_bytes += iov[i].iov_len;
			done += r;
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* EAGAIN (socket buffer full) or a per-datagram error: drop this
		 * one, count it, and go on with the rest */
		io->stats.tx_dropped++;
		done++;
	}
	io->stats.tx_frames += (uint64_t)sent;
	udp_release(io, f, n);
	return sent;
}

static int udp_rx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct udp *u = udp_of(io);
	struct mmsghdr msg[PFS_IO_BURST_MAX];
	struct sockaddr_storage from[PFS_IO_BURST_MAX];
	struct iovec iov[PFS_IO_BURST_MAX];
	int got, r;

	if (n > PFS_IO_BURST_MAX)
		n = PFS_IO_BURST_MAX;
	got = udp_alloc(io, f, n);
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
		io->stats.rx_bytes += f[i].len;
	}
	io->stats.rx_frames += (uint64_t)r;
	udp_release(io, f + r, got - r);
	return r;
}

static void udp_close(struct pfs_io *io)
{
	struct udp *u = udp_of(io);

	if (u->fd >= 0)
		close(u->fd);
	pfs_iopool_destroy(&u->pool);
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

int pfs_io_udp_open(struct pfs_io **out, const struct pfs_udp_config *cfg, char *err,
		    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char where[64];
	struct udp *u;
	int buf, rc;

	if ((cfg->bind.family != 4 && cfg->bind.family != 6) || cfg->frames == 0 ||
	    cfg->frames > (1u << 20) || cfg->frame_size < 64 || cfg->frame_size > 65536) {
		snprintf(err, errlen, "udp backend: bad configuration (family 4 or 6, 1..1048576 "
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
	sl = to_sockaddr(&cfg->bind, &ss);
	if (bind(u->fd, (struct sockaddr *)&ss, sl) != 0) {
		rc = -errno;
		snprintf(err, errlen, "bind %s: %s%s", where, strerror(errno),
			 errno == EADDRINUSE ? " (another process uses the port: pick another)"
			 : errno == EADDRNOTAVAIL ? " (no interface has that address)"
						  : "");
		goto err_close;
	}
	sl = sizeof(ss);
	getsockname(u->fd, (struct sockaddr *)&ss, &sl);
	from_sockaddr(&ss, &u->local);
	*out = &u->io;
	return 0;

err_close:
	udp_close(&u->io);
	return rc;
}
