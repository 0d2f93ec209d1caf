/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fixed pool of equal buffers with a free stack: what io_mem and io_udp hand
 * out as frames (io_xdp's UMEM plays the same part). Internal to the backends.
 */
#ifndef PFS_IO_POOL_H
#define PFS_IO_POOL_H

#include <stdlib.h>

#include "error.h"
#include "io.h"

struct pfs_iopool {
	uint8_t *mem;
	uint32_t count, size;
	uint32_t *free, nfree;
};

static inline int pfs_iopool_init(struct pfs_iopool *p, uint32_t count, uint32_t size)
{
	p->mem = malloc((size_t)count * size);
	p->free = malloc((size_t)count * sizeof(*p->free));
	p->count = count;
	p->size = size;
	p->nfree = 0;
	if (!p->mem || !p->free)
		return PFS_ERR_NOMEM;
	for (uint32_t i = 0; i < count; i++)
		p->free[p->nfree++] = count - 1 - i; /* low indexes first out */
	return 0;
}

static inline void pfs_iopool_destroy(struct pfs_iopool *p)
{
	free(p->mem);
	free(p->free);
	p->mem = NULL;
	p->free = NULL;
}

static inline uint8_t *pfs_iopool_data(const struct pfs_iopool *p, uint32_t idx)
{
	return p->mem + (size_t)idx * p->size;
}

/* Fills up to n frames with free buffers; counts shortfalls in stats. */
static inline int pfs_iopool_alloc(struct pfs_iopool *p, struct pfs_iobuf *f, int n,
				   struct pfs_io_stats *stats)
{
	int i;

	for (i = 0; i < n && p->nfree; i++) {
		uint32_t idx = p->free[--p->nfree];
		f[i] = (struct pfs_iobuf){ .data = pfs_iopool_data(p, idx), .cap = p->size,
					   .handle = idx };
	}
	if (i < n)
		stats->alloc_failed += (uint64_t)(n - i);
	return i;
}

static inline void pfs_iopool_put(struct pfs_iopool *p, uint32_t idx)
{
	p->free[p->nfree++] = idx;
}

#endif
