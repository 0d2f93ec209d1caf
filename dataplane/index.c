/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "index.h"

#define EMPTY UINT64_MAX

uint64_t pfs_index_bytes_for(uint64_t log_capacity, uint32_t avg_chunk)
{
	uint64_t entries = log_capacity / (avg_chunk ? avg_chunk : 1) * 2;
	uint64_t bytes = entries * sizeof(struct pfs_index_entry);

	if (bytes < PFS_INDEX_BYTES_MIN)
		return PFS_INDEX_BYTES_MIN;
	if (bytes > PFS_INDEX_BYTES_MAX)
		return PFS_INDEX_BYTES_MAX;
	return bytes;
}

int pfs_index_init(struct pfs_index *ix, uint64_t bytes)
{
	const uint64_t bucket = PFS_INDEX_WAYS * sizeof(struct pfs_index_entry);
	void *mem;

	if (bytes < PFS_INDEX_BYTES_MIN || bytes > PFS_INDEX_BYTES_MAX)
		return PFS_ERR_INVALID_ARG;
	/* round down to a power of two */
	bytes = UINT64_C(1) << (63 - __builtin_clzll(bytes));
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return PFS_ERR_NOMEM;
	/* Random access over a large table: huge pages save TLB misses. */
	madvise(mem, bytes, MADV_HUGEPAGE);
	ix->slots = mem;
	ix->bytes = bytes;
	ix->bucket_mask = bytes / bucket - 1;
	pfs_index_clear(ix);
	return 0;
}

void pfs_index_free(struct pfs_index *ix)
{
	if (ix && ix->slots) {
		munmap(ix->slots, ix->bytes);
		ix->slots = NULL;
	}
}

void pfs_index_clear(struct pfs_index *ix)
{
	memset(ix->slots, 0xff, ix->bytes); /* off = EMPTY everywhere */
}

static struct pfs_index_entry *bucket_of(const struct pfs_index *ix, uint64_t fp)
{
	return ix->slots + (fp & ix->bucket_mask) * PFS_INDEX_WAYS;
}

void pfs_index_insert(struct pfs_index *ix, uint64_t fp, uint64_t off)
{
	struct pfs_index_entry *b = bucket_of(ix, fp), *victim = NULL;
	uint32_t tag = (uint32_t)(fp >> 32);

	for (int w = 0; w < PFS_INDEX_WAYS; w++) {
		if (b[w].off != EMPTY && b[w].tag == tag) {
			/* Same content seen again: keep the newer copy, it lives longer. */
			if (off > b[w].off)
				b[w].off = off;
			return;
		}
	}
	/* An empty way, else the oldest entry: it is the first the log evicts. */
	victim = &b[0];
	for (int w = 0; w < PFS_INDEX_WAYS; w++) {
		if (b[w].off == EMPTY) {
			victim = &b[w];
			break;
		}
		if (b[w].off < victim->off)
			victim = &b[w];
	}
	victim->off = off;
	victim->tag = tag;
}

int pfs_index_lookup(const struct pfs_index *ix, uint64_t fp, uint64_t lower,
		     uint64_t cand[PFS_INDEX_WAYS])
{
	const struct pfs_index_entry *b = bucket_of(ix, fp);
	uint32_t tag = (uint32_t)(fp >> 32);
	int n = 0;

	for (int w = 0; w < PFS_INDEX_WAYS; w++) {
		uint64_t off = b[w].off;

		if (off == EMPTY || b[w].tag != tag || off < lower)
			continue;
		/* insertion sort, newest first */
		int j = n++;
		while (j > 0 && cand[j - 1] < off) {
			cand[j] = cand[j - 1];
			j--;
		}
		cand[j] = off;
	}
	return n;
}
