/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Content-defined chunking, FastCDC (Xia et al. 2016, 2020). A gear hash
 * h = (h << 1) + gear[byte] rolls over the input; a chunk ends where the top bits
 * of h are all zero, and the first `min` bytes of a chunk are skipped outright.
 * Normalized chunking (level n > 0) uses a mask n bits stricter before the
 * average size and n bits looser after it, which pulls chunk sizes towards the
 * average — at the price of making a boundary depend on where its chunk began,
 * so two streams that share content from different starting points resynchronize
 * later. The codec uses the chunk starts as anchors and prefers level 0 for that
 * reason (docs/decisions/0002-anchors-without-normalization.md).
 *
 * The gear table comes from the pair key (keys.h), so where boundaries fall
 * reveals nothing across peer pairs.
 */
#ifndef PFS_CHUNKER_H
#define PFS_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

/* Specification limits for the average chunk size. */
#define PFS_CHUNK_AVG_MIN 256u
#define PFS_CHUNK_AVG_MAX (1u << 20)
#define PFS_CHUNK_LEVEL_MAX 3u

struct pfs_chunker {
	const uint64_t *gear;
	uint64_t gear_ls[256]; /* gear[b] << 1: two bytes per step (FastCDC 2020) */
	uint64_t mask_s, mask_l;
	uint32_t min, avg, max;
};

/*
 * avg: power of two in [PFS_CHUNK_AVG_MIN, PFS_CHUNK_AVG_MAX]; level: normalization
 * 0..PFS_CHUNK_LEVEL_MAX; min = avg/8, max = avg*8. The gear table must outlive
 * the chunker. Returns 0 or PFS_ERR_INVALID_ARG.
 */
int pfs_chunker_init(struct pfs_chunker *c, const uint64_t gear[256], uint32_t avg,
		     unsigned level);

/* Length of the chunk that starts at p (1..n; n when n <= min or no cut found
 * before max). n == 0 returns 0. */
size_t pfs_chunker_next(const struct pfs_chunker *c, const uint8_t *p, size_t n);

/* Byte-at-a-time reference implementation of the same function, for tests. */
size_t pfs_chunker_next_ref(const struct pfs_chunker *c, const uint8_t *p, size_t n);

#endif
