/* SPDX-License-Identifier: Apache-2.0 */
#include "chunker.h"
#include "compiler.h"
#include "error.h"

/* A mask of the top `bits` bits: with h = (h << 1) + gear[b], the top bit of h
 * depends on the last 64 bytes, so high bits give the widest content window. */
static uint64_t top_mask(unsigned bits)
{
	return ~UINT64_C(0) << (64 - bits);
}

int pfs_chunker_init(struct pfs_chunker *c, const uint64_t gear[256], uint32_t avg,
		     unsigned level)
{
	unsigned bits;

	if (avg < PFS_CHUNK_AVG_MIN || avg > PFS_CHUNK_AVG_MAX || (avg & (avg - 1)) ||
	    level > PFS_CHUNK_LEVEL_MAX)
		return PFS_ERR_INVALID_ARG;
	bits = (unsigned)__builtin_ctz(avg);
	c->gear = gear;
	for (int i = 0; i < 256; i++)
		c->gear_ls[i] = gear[i] << 1;
	c->mask_s = top_mask(bits + level);
	c->mask_l = top_mask(bits - level);
	c->avg = avg;
	c->min = avg / 8;
	c->max = avg * 8;
	return 0;
}

/*
 * Rolls the gear hash over p[i..end) two bytes per step and returns the length
 * of the chunk if a position satisfies mask, or 0. Two bytes per step shortens
 * the dependency chain: h2 = (h << 2) + ((gear[a] << 1) + gear[b]) needs one
 * shift and one add on h, and the odd position h1 = (h << 1) + gear[a] is
 * computed beside it, off the chain.
 */
static size_t roll(const struct pfs_chunker *c, const uint8_t *p, size_t *ip, size_t end,
		   uint64_t mask, uint64_t *hp)
{
	const uint64_t *g = c->gear, *gls = c->gear_ls;
	uint64_t h = *hp;
	size_t i = *ip;

	for (; i + 2 <= end; i += 2) {
		uint64_t h1 = (h << 1) + g[p[i]];

		h = (h << 2) + (gls[p[i]] + g[p[i + 1]]);
		if (unlikely(!(h1 & mask)))
			return i + 1;
		if (unlikely(!(h & mask)))
			return i + 2;
	}
	if (i < end) {
		h = (h << 1) + g[p[i]];
		i++;
		if (!(h & mask))
			return i;
	}
	*ip = i;
	*hp = h;
	return 0;
}

size_t pfs_chunker_next(const struct pfs_chunker *c, const uint8_t *p, size_t n)
{
	size_t max, normal, i, cut;
	uint64_t h = 0;

	if (n <= c->min)
		return n;
	max = n < c->max ? n : c->max;
	normal = c->avg < max ? c->avg : max;
	i = c->min;
	cut = roll(c, p, &i, normal, c->mask_s, &h);
	if (cut)
		return cut;
	cut = roll(c, p, &i, max, c->mask_l, &h);
	return cut ? cut : max;
}

size_t pfs_chunker_next_ref(const struct pfs_chunker *c, const uint8_t *p, size_t n)
{
	size_t max, normal, i;
	uint64_t h = 0;

	if (n <= c->min)
		return n;
	max = n < c->max ? n : c->max;
	normal = c->avg < max ? c->avg : max;
	for (i = c->min; i < max; i++) {
		h = (h << 1) + c->gear[p[i]];
		if (!(h & (i < normal ? c->mask_s : c->mask_l)))
			return i + 1;
	}
	return max;
}
