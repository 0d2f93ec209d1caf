/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_fault: seeded link faults on what an inner backend receives — loss,
 * Gilbert-Elliott burst loss, blackouts, corruption, duplication, reordering,
 * delay and jitter — so the transport can be tested against a bad network on
 * any backend, reproducibly (same seed, same inputs, same faults). Sending,
 * allocation and release pass straight through.
 *
 * Frames that survive wait in a min-heap ordered by (due time, arrival), which
 * makes delay, jitter and held-back (reordered) frames one mechanism.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "rand.h"

#define HOLD_MAX 256

struct pending {
	struct pfs_iobuf f;
	uint64_t due, seq;
};

struct held {
	struct pfs_iobuf f;
	uint32_t left; /* later frames to let past first */
};

struct fault {
	struct pfs_io io; /* first */
	struct pfs_io *inner;
	struct pfs_fault_config cfg;
	struct pfs_fault_stats st;
	uint64_t rng, seq;
	int bad; /* burst-loss state */
	struct pending *heap;
	uint32_t nheap, cap;
	struct held hold[HOLD_MAX];
	uint32_t nhold;
};

static struct fault *fault_of(struct pfs_io *io)
{
	return (struct fault *)io;
}

static uint64_t next(struct fault *ft)
{
	return pfs_rand_next(&ft->rng);
}

static int chance(struct fault *ft, uint32_t ppm)
{
	return pfs_rand_chance(&ft->rng, ppm);
}

static int before(const struct pending *a, const struct pending *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Adds a frame to the heap; 0, or PFS_ERR_NOMEM (the frame is then released). */
static int push(struct fault *ft, const struct pfs_iobuf *f, uint64_t due)
{
	if (ft->nheap == ft->cap) {
		uint32_t cap = ft->cap ? ft->cap * 2 : 1024;
		struct pending *h = realloc(ft->heap, (size_t)cap * sizeof(*h));
		if (!h) {
			pfs_io_release(ft->inner, (struct pfs_iobuf *)f, 1);
			ft->st.lost++;
			return PFS_ERR_NOMEM;
		}
		ft->heap = h;
		ft->cap = cap;
	}
	uint32_t i = ft->nheap++;
	struct pending e = { .f = *f, .due = due, .seq = ft->seq++ };
	while (i && before(&e, &ft->heap[(i - 1) / 2])) {
		ft->heap[i] = ft->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	ft->heap[i] = e;
	return 0;
}

static struct pfs_iobuf pop(struct fault *ft)
{
	struct pfs_iobuf top = ft->heap[0].f;
	struct pending last = ft->heap[--ft->nheap];
	uint32_t i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= ft->nheap)
			break;
		if (c + 1 < ft->nheap && before(&ft->heap[c + 1], &ft->heap[c]))
			c++;
		if (!before(&ft->heap[c], &last))
			break;
		ft->heap[i] = ft->heap[c];
		i = c;
	}
	if (ft->nheap)
		ft->heap[i] = last;
	return top;
}

/* Decides the fate of one received frame. */
static void admit(struct fault *ft, struct pfs_iobuf *f, uint64_t now)
{
	const struct pfs_fault_config *c = &ft->cfg;
	uint64_t due;

	ft->st.seen++;
	if (now >= c->blackout_start_ns && now < c->blackout_end_ns) {
		ft->st.blackout_lost++;
		goto drop;
	}
	if (pfs_rand_burst_step(&ft->rng, &ft->bad, c->burst_enter_ppm, c->burst_exit_ppm)) {
		ft->st.burst_lost++;
		goto drop;
	}
	if (chance(ft, c->loss_ppm)) {
		ft->st.lost++;
		goto drop;
	}
	if (f->len && chance(ft, c->corrupt_ppm)) {
		uint64_t bit = next(ft) % ((uint64_t)f->len * 8);
		f->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ft->st.corrupted++;
	}
	if (chance(ft, c->duplicate_ppm)) {
		struct pfs_iobuf copy;
		if (pfs_io_alloc(ft->inner, &copy, 1) == 1) {
			uint32_t len = f->len <= copy.cap ? f->len : copy.cap;
			memcpy(copy.data, f->data, len);
			copy.len = len;
			copy.peer = f->peer;
			if (push(ft, &copy, now + c->delay_ns) == 0)
				ft->st.duplicated++;
		}
	}
	if (c->reorder_depth && ft->nhold < HOLD_MAX && chance(ft, c->reorder_ppm)) {
		ft->hold[ft->nhold++] = (struct held){ .f = *f, .left = c->reorder_depth };
		ft->st.reordered++;
		return;
	}
	due = now + c->delay_ns + (c->jitter_ns ? next(ft) % c->jitter_ns : 0);
	push(ft, f, due);
	return;
drop:
	pfs_io_release(ft->inner, f, 1);
}

/* One frame went past the held ones: count them down, release those due. */
static void pass_held(struct fault *ft, uint64_t now)
{
	for (uint32_t i = 0; i < ft->nhold;) {
		if (--ft->hold[i].left == 0) {
			push(ft, &ft->hold[i].f, now);
			ft->hold[i] = ft->hold[--ft->nhold];
		} else {
			i++;
		}
	}
}

static int fault_rx(struct pfs_io *io, struct pfs_iobuf *out, int n, uint64_t now_ns)
{
	struct fault *ft = fault_of(io);
	struct pfs_iobuf in[PFS_IO_BURST_MAX];
	int got = pfs_io_rx(ft->inner, in, PFS_IO_BURST_MAX, now_ns), k = 0;

	for (int i = 0; i < got; i++)
		admit(ft, &in[i], now_ns);
	while (k < n && ft->nheap && ft->heap[0].due <= now_ns) {
		out[k++] = pop(ft);
		pass_held(ft, now_ns);
	}
	io->stats.rx_frames += (uint64_t)k;
	for (int i = 0; i < k; i++)
		io->stats.rx_bytes += out[i].len;
	return k;
}

static int fault_alloc(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	return pfs_io_alloc(fault_of(io)->inner, f, n);
}

static int fault_tx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	int sent = pfs_io_tx(fault_of(io)->inner, f, n, now_ns);

	io->stats.tx_frames += (uint64_t)sent;
	io->stats.tx_dropped += (uint64_t)(n - sent);
	return sent;
}

static void fault_release(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	pfs_io_release(fault_of(io)->inner, f, n);
}

static void fault_close(struct pfs_io *io)
{
	struct fault *ft = fault_of(io);

	while (ft->nheap) {
		struct pfs_iobuf f = pop(ft);
		pfs_io_release(ft->inner, &f, 1);
	}
	for (uint32_t i = 0; i < ft->nhold; i++)
		pfs_io_release(ft->inner, &ft->hold[i].f, 1);
	pfs_io_close(ft->inner);
	free(ft->heap);
	free(ft);
}

static const struct pfs_io_ops fault_ops = {
	.name = "fault",
	.alloc = fault_alloc,
	.tx_burst = fault_tx,
	.rx_burst = fault_rx,
	.release = fault_release,
	.close = fault_close,
};

int pfs_io_fault_wrap(struct pfs_io **out, struct pfs_io *inner, const struct pfs_fault_config *cfg)
{
	struct fault *ft;

	if (!inner || !cfg || cfg->loss_ppm > 1000000 || cfg->burst_enter_ppm > 1000000 ||
	    cfg->burst_exit_ppm > 1000000 || cfg->reorder_ppm > 1000000 ||
	    cfg->duplicate_ppm > 1000000 || cfg->corrupt_ppm > 1000000 ||
	    (cfg->burst_enter_ppm && !cfg->burst_exit_ppm))
		return PFS_ERR_INVALID_ARG;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return PFS_ERR_NOMEM;
	ft->io.ops = &fault_ops;
	ft->inner = inner;
	ft->cfg = *cfg;
	ft->rng = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ull;
	*out = &ft->io;
	return 0;
}

const struct pfs_fault_stats *pfs_io_fault_stats(const struct pfs_io *io)
{
	return io->ops == &fault_ops ? &((const struct fault *)io)->st : NULL;
}
