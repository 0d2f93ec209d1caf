/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The I/O backend interface: bursts of frames in and out, buffers owned by the
 * backend. Every backend — kernel UDP (io_udp), AF_XDP (io_xdp), the in-process
 * pair (io_mem) and the fault injector that wraps any of them (io_fault) —
 * implements these few operations, so the protocol engine above never knows
 * which one it runs on (msquic's datapath split, STYLE.md).
 *
 * Buffers: a backend hands out frames from its own pool (for AF_XDP, UMEM
 * chunks), with headroom before `data` for link headers. A frame given to
 * tx_burst belongs to the backend again, sent or dropped; a frame returned by
 * rx_burst belongs to the caller until it calls release. No frame is ever in
 * two places at once.
 *
 * Time is a parameter (now_ns): backends that model a link (io_mem delays,
 * io_fault) use it; real ones ignore it.
 */
#ifndef PFS_IO_H
#define PFS_IO_H

#include <stddef.h>
#include <stdint.h>

#define PFS_IO_BURST_MAX 64 /* frames per burst call */

/* A UDP endpoint, IPv4 or IPv6, in network byte order inside `ip`. */
struct pfs_addr {
	uint8_t family; /* 4 or 6; 0 = unset */
	uint16_t port;
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
};

struct pfs_iobuf {
	uint8_t *data;	      /* the UDP payload */
	uint32_t len;	      /* payload bytes */
	uint32_t cap;	      /* bytes writable from data */
	struct pfs_addr peer; /* source after rx, destination for tx */
	uint64_t handle;      /* the backend's id of the buffer */
};

struct pfs_io_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t tx_dropped; /* queue full or link down */
	uint64_t rx_dropped; /* no buffer, or a datagram larger than a buffer */
	uint64_t alloc_failed;
};

struct pfs_io;

struct pfs_io_ops {
	const char *name;
	/* Fills up to n frames (n <= PFS_IO_BURST_MAX) with free buffers; returns
	 * how many (0 when the pool is empty). */
	int (*alloc)(struct pfs_io *io, struct pfs_iobuf *f, int n);
	/* Queues n frames for sending and takes them back; returns how many were
	 * queued (the rest were dropped and counted). */
	int (*tx_burst)(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns);
	/* Receives up to n frames that are due by now_ns; returns how many. */
	int (*rx_burst)(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns);
	/* Gives received (or allocated, unsent) frames back to the pool. */
	void (*release)(struct pfs_io *io, struct pfs_iobuf *f, int n);
	void (*close)(struct pfs_io *io);
};

struct pfs_io {
	const struct pfs_io_ops *ops;
	struct pfs_io_stats stats;
};

static inline int pfs_io_alloc(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	return io->ops->alloc(io, f, n);
}

static inline int pfs_io_tx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	return io->ops->tx_burst(io, f, n, now_ns);
}

static inline int pfs_io_rx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	return io->ops->rx_burst(io, f, n, now_ns);
}

static inline void pfs_io_release(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	io->ops->release(io, f, n);
}

static inline void pfs_io_close(struct pfs_io *io)
{
	if (io)
		io->ops->close(io);
}

/*
 * io_mem: two connected endpoints in one process, for tests and simulation.
 * Each has a pool of `frames` buffers of `frame_size` bytes and a receive
 * queue of the same depth; a frame sent by one arrives at the other after
 * `delay_ns` (in order), or is dropped (counted) when the queue is full.
 * Returns 0, PFS_ERR_INVALID_ARG or PFS_ERR_NOMEM.
 */
int pfs_io_mem_pair(struct pfs_io **a, struct pfs_io **b, uint32_t frames, uint32_t frame_size,
		    uint64_t delay_ns);

/*
 * io_udp: a kernel UDP socket, batched with recvmmsg/sendmmsg; unprivileged.
 * bind: the local address and port (port 0: any free one); IPv4 or IPv6.
 * Non-blocking: rx_burst returns 0 when nothing is queued (poll on
 * pfs_io_udp_fd when idle). Errors name the address and the system error.
 * Returns 0, PFS_ERR_INVALID_ARG, PFS_ERR_NOMEM or a negated errno.
 */
struct pfs_udp_config {
	struct pfs_addr bind;
	uint32_t frames;     /* buffers in the pool */
	uint32_t frame_size; /* bytes per buffer: the largest datagram handled */
	uint32_t sockbuf;    /* SO_RCVBUF/SO_SNDBUF bytes asked for; 0 = 4 MiB */
	int no_offload;	     /* 1: no UDP GSO/GRO even where the kernel has them */
	int reuseport;	     /* 1: join a SO_REUSEPORT group on the address (one
			      * socket per worker; see pfs_io_udp_steer) */
};

/*
 * Steers the datagrams of a SO_REUSEPORT group of n sockets (io is any of
 * them, all bound in worker order) by connection id: the kernel hands a
 * packet to socket bswap32(le32 at payload offset 4) % n — the rule of
 * pfs_worker_for_cid — so every packet of a session reaches the worker that
 * owns it. A classic BPF program, no privileges needed. Returns 0 or a
 * negated errno with err saying why.
 */
int pfs_io_udp_steer(struct pfs_io *io, uint32_t n, char *err, size_t errlen);

/* Whether the socket uses UDP GSO (send) and GRO (receive). */
int pfs_io_udp_offloads(const struct pfs_io *io, int *gso, int *gro);

int pfs_io_udp_open(struct pfs_io **out, const struct pfs_udp_config *cfg, char *err,
		    size_t errlen);
int pfs_io_udp_fd(const struct pfs_io *io);
/* The bound address (with the port the kernel chose). */
int pfs_io_udp_local(const struct pfs_io *io, struct pfs_addr *addr);

/* Seeded faults applied to what an inner backend receives. Probabilities are
 * in parts per million. */
struct pfs_fault_config {
	uint64_t seed;
	uint32_t loss_ppm;	  /* independent loss */
	uint32_t burst_enter_ppm; /* Gilbert-Elliott: chance to enter the bad state */
	uint32_t burst_exit_ppm;  /* chance to leave it; every frame is lost inside */
	uint32_t reorder_ppm;	  /* chance a frame is held back ... */
	uint32_t reorder_depth;	  /* ... until this many later frames went past
				    * (with no later traffic it waits, like a loss) */
	uint32_t duplicate_ppm;
	uint32_t corrupt_ppm;			     /* one random bit flipped */
	uint64_t delay_ns;			     /* added to every frame */
	uint64_t jitter_ns;			     /* plus uniform [0, jitter) (may reorder) */
	uint64_t blackout_start_ns, blackout_end_ns; /* everything lost in [start, end) */
};

struct pfs_fault_stats {
	uint64_t seen, lost, burst_lost, blackout_lost, reordered, duplicated, corrupted;
};

/*
 * Wraps inner (taking ownership) so that its received frames suffer the
 * configured faults; sending passes through. Returns 0, PFS_ERR_INVALID_ARG
 * or PFS_ERR_NOMEM.
 */
int pfs_io_fault_wrap(struct pfs_io **out, struct pfs_io *inner,
		      const struct pfs_fault_config *cfg);
/* The fault counters of a wrapped io, or NULL if io is not one. */
const struct pfs_fault_stats *pfs_io_fault_stats(const struct pfs_io *io);

#endif
