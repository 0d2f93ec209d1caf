/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_mem: two endpoints joined in one process. They share one buffer pool, so
 * a frame sent by one end is received by the other without a copy and goes
 * back to the pool when the receiver releases it. Each end has a bounded
 * receive queue; a frame becomes receivable delay_ns after it was sent, in
 * sending order. Single-threaded: both ends belong to one thread (a simulator
 * or a test).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "io_pool.h"

struct slot {
	uint32_t idx, len;
	uint64_t due;
};

struct mem_pair;

struct mem_end {
	struct pfs_io io; /* first: the io pointer is the end */
	struct mem_pair *pair;
	struct mem_end *peer;
	struct pfs_addr addr;
	struct slot *q; /* receive ring */
	uint32_t qhead, qcount;
	int closed;
};

struct mem_pair {
	struct pfs_iopool pool; /* 2 * frames buffers */
	uint32_t frames, frame_size;
	uint64_t delay_ns;
	struct mem_end end[2];
};

static const struct pfs_io_ops mem_ops;

static struct mem_end *end_of(struct pfs_io *io)
{
	return (struct mem_end *)io;
}

static int mem_alloc(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	return pfs_iopool_alloc(&end_of(io)->pair->pool, f, n, &io->stats);
}

static int mem_tx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct mem_end *e = end_of(io), *to = e->peer;
	struct mem_pair *p = e->pair;
	int queued = 0;

	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)f[i].handle;
		uint32_t len = f[i].len <= p->frame_size ? f[i].len : p->frame_size;

		if (to->closed || to->qcount == p->frames) {
			io->stats.tx_dropped++;
			pfs_iopool_put(&p->pool, idx);
			continue;
		}
		to->q[(to->qhead + to->qcount++) % p->frames] =
			(struct slot){ .idx = idx, .len = len, .due = now_ns + p->delay_ns };
		io->stats.tx_frames++;
		io->stats.tx_bytes += len;
		queued++;
	}
	return queued;
}

static int mem_rx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct mem_end *e = end_of(io);
	struct mem_pair *p = e->pair;
	int i;

	for (i = 0; i < n && e->qcount && e->q[e->qhead].due <= now_ns; i++) {
		struct slot s = e->q[e->qhead];
		e->qhead = (e->qhead + 1) % p->frames;
		e->qcount--;
		f[i] = (struct pfs_iobuf){ .data = pfs_iopool_data(&p->pool, s.idx),
					   .len = s.len, .cap = p->frame_size,
					   .peer = e->peer->addr, .handle = s.idx };
		io->stats.rx_frames++;
		io->stats.rx_bytes += s.len;
	}
	return i;
}

static void mem_release(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	for (int i = 0; i < n; i++)
		pfs_iopool_put(&end_of(io)->pair->pool, (uint32_t)f[i].handle);
}

static void free_pair(struct mem_pair *p)
{
	pfs_iopool_destroy(&p->pool);
	free(p->end[0].q);
	free(p->end[1].q);
	free(p);
}

static void mem_close(struct pfs_io *io)
{
	struct mem_end *e = end_of(io);

	e->closed = 1;
	if (e->peer->closed)
		free_pair(e->pair);
}

static const struct pfs_io_ops mem_ops = {
	.name = "mem",
	.alloc = mem_alloc,
	.tx_burst = mem_tx,
	.rx_burst = mem_rx,
	.release = mem_release,
	.close = mem_close,
};

int pfs_io_mem_pair(struct pfs_io **a, struct pfs_io **b, uint32_t frames, uint32_t frame_size,
		    uint64_t delay_ns)
{
	struct mem_pair *p;

	if (frames == 0 || frames > (1u << 20) || frame_size < 64 || frame_size > 65536)
		return PFS_ERR_INVALID_ARG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return PFS_ERR_NOMEM;
	p->frames = frames;
	p->frame_size = frame_size;
	p->delay_ns = delay_ns;
	p->end[0].q = malloc((size_t)frames * sizeof(struct slot));
	p->end[1].q = malloc((size_t)frames * sizeof(struct slot));
	if (pfs_iopool_init(&p->pool, 2 * frames, frame_size) || !p->end[0].q || !p->end[1].q) {
		free_pair(p);
		return PFS_ERR_NOMEM;
	}
	for (int i = 0; i < 2; i++) {
		struct mem_end *e = &p->end[i];
		e->io.ops = &mem_ops;
		e->pair = p;
		e->peer = &p->end[1 - i];
		/* 198.18.0.1 and .2 (the benchmarking range), port 7000 + i */
		e->addr = (struct pfs_addr){ .family = 4, .port = (uint16_t)(7000 + i),
					     .ip = { 198, 18, 0, (uint8_t)(1 + i) } };
	}
	*a = &p->end[0].io;
	*b = &p->end[1].io;
	return 0;
}
