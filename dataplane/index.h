/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fingerprint index: keyed fingerprints of anchor windows -> log offsets.
 *
 * Fixed memory chosen at creation: buckets of four 16-byte entries, one cache
 * line per bucket, so a lookup touches one line. A full bucket replaces its
 * oldest entry (lowest offset), which is also the first to be evicted from the
 * log. Entries are hints only: the encoder verifies every candidate bytewise
 * against the log (DESIGN §3.4), and lookups never return an offset below the
 * caller's lower bound, so evicted ranges are never offered as valid.
 */
#ifndef PFS_INDEX_H
#define PFS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define PFS_INDEX_WAYS 4
#define PFS_INDEX_BYTES_MIN (UINT64_C(1) << 12)
#define PFS_INDEX_BYTES_MAX (UINT64_C(1) << 36)

struct pfs_index_entry {
	uint64_t off; /* UINT64_MAX: empty */
	uint32_t tag; /* high half of the fingerprint */
	uint32_t unused;
};

struct pfs_index {
	struct pfs_index_entry *slots;
	uint64_t bucket_mask;
	size_t bytes;
};

/* bytes is rounded down to a power of two, within [BYTES_MIN, BYTES_MAX].
 * Returns 0, PFS_ERR_INVALID_ARG or PFS_ERR_NOMEM. */
int pfs_index_init(struct pfs_index *ix, uint64_t bytes);
void pfs_index_free(struct pfs_index *ix);
void pfs_index_clear(struct pfs_index *ix);

/* Index size for a log: two entries per average chunk the log can hold. */
uint64_t pfs_index_bytes_for(uint64_t log_capacity, uint32_t avg_chunk);

void pfs_index_insert(struct pfs_index *ix, uint64_t fp, uint64_t off);

/* Starts loading fp's bucket into the cache (a lookup soon after won't wait). */
static inline void pfs_index_prefetch(const struct pfs_index *ix, uint64_t fp)
{
	__builtin_prefetch(ix->slots + (fp & ix->bucket_mask) * PFS_INDEX_WAYS);
}

/* Writes up to PFS_INDEX_WAYS candidate offsets >= lower for fp into cand,
 * newest first; returns how many. */
int pfs_index_lookup(const struct pfs_index *ix, uint64_t fp, uint64_t lower,
		     uint64_t cand[PFS_INDEX_WAYS]);

#endif
