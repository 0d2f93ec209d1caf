/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the fingerprint index: what goes in comes out, nothing below the
 * caller's lower bound is ever offered, a full bucket forgets its oldest
 * entry, and sizes are validated. Fingerprints are built by hand as
 * (tag << 32 | bucket) so tests choose which bucket and tag they hit.
 */
#include <inttypes.h>
#include <stdint.h>

#include "error.h"
#include "harness.h"
#include "index.h"
#include "test_rand.h"

static uint64_t fp_of(uint32_t tag, uint64_t bucket)
{
	return (uint64_t)tag << 32 | bucket;
}

/* Lookup that must return exactly one candidate; returns it or UINT64_MAX. */
static uint64_t lookup1(const struct pfs_index *ix, uint64_t fp, uint64_t lower)
{
	uint64_t cand[PFS_INDEX_WAYS];

	return pfs_index_lookup(ix, fp, lower, cand) == 1 ? cand[0] : UINT64_MAX;
}

PFS_TEST(inserted_fingerprints_are_found_at_their_offsets)
{
	struct pfs_index ix;
	enum { N = 4000 };
	static uint64_t fps[N];
	uint64_t cand[PFS_INDEX_WAYS];

	/* 1 MiB = 16384 buckets of 4: N random fingerprints overflow none
	 * (the chance that 5 land in one bucket is ~1e-6), drawn from the seed
	 * this test has always used */
	rng_seed(0x1dec5eed);
	CHECK_EQ(pfs_index_init(&ix, 1 << 20), 0);
	for (int i = 0; i < N; i++) {
		fps[i] = rnd();
		pfs_index_insert(&ix, fps[i], 1000 + (uint64_t)i * 64);
	}
	for (int i = 0; i < N; i++) {
		CHECK_EQ(pfs_index_lookup(&ix, fps[i], 0, cand), 1);
		CHECK_EQ(cand[0], 1000 + (uint64_t)i * 64);
	}
	/* fingerprints never inserted are not found */
	for (int i = 0; i < N; i++)
		CHECK_EQ(pfs_index_lookup(&ix, rnd(), 0, cand), 0);
	pfs_index_free(&ix);
}

PFS_TEST(same_bucket_different_tag_is_not_a_hit)
{
	struct pfs_index ix;
	uint64_t cand[PFS_INDEX_WAYS];

	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	pfs_index_insert(&ix, fp_of(0xaaaa, 5), 77);
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(0xaaab, 5), 0, cand), 0);
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(0xaaaa, 6), 0, cand), 0);
	CHECK_EQ(lookup1(&ix, fp_of(0xaaaa, 5), 0), 77);
	/* the tag is the high half; bits above the bucket mask in the low
	 * half do not take part in the match */
	CHECK_EQ(lookup1(&ix, fp_of(0xaaaa, 5 + (ix.bucket_mask + 1)), 0), 77);
	pfs_index_free(&ix);
}

PFS_TEST(lookup_never_returns_offsets_below_lower)
{
	struct pfs_index ix;
	uint64_t cand[PFS_INDEX_WAYS];

	CHECK_EQ(pfs_index_init(&ix, 1 << 16), 0);
	for (uint64_t i = 0; i < 2000; i++)
		pfs_index_insert(&ix, fp_of((uint32_t)(i * 2654435761u), i), i * 100);
	for (uint64_t lower = 0; lower <= 200000; lower += 12345) {
		for (uint64_t i = 0; i < 2000; i++) {
			int n = pfs_index_lookup(&ix, fp_of((uint32_t)(i * 2654435761u), i), lower,
						 cand);
			for (int k = 0; k < n; k++)
				CHECK(cand[k] >= lower);
			/* and an entry at or above lower is still offered (no
			 * bucket holds more than two of these entries) */
			CHECK_EQ(n, i * 100 >= lower ? 1 : 0);
		}
	}
	/* the boundary itself: an entry at exactly lower is valid */
	pfs_index_insert(&ix, fp_of(7, 3), 5000);
	CHECK_EQ(lookup1(&ix, fp_of(7, 3), 5000), 5000);
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(7, 3), 5001, cand), 0);
	pfs_index_free(&ix);
}

PFS_TEST(reinserting_a_fingerprint_keeps_the_newer_offset)
{
	struct pfs_index ix;

	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	pfs_index_insert(&ix, fp_of(1, 9), 100);
	pfs_index_insert(&ix, fp_of(1, 9), 50); /* older copy: ignored */
	CHECK_EQ(lookup1(&ix, fp_of(1, 9), 0), 100);
	pfs_index_insert(&ix, fp_of(1, 9), 300);
	CHECK_EQ(lookup1(&ix, fp_of(1, 9), 0), 300);
	/* one entry per fingerprint: re-inserting does not fill the bucket,
	 * so three other fingerprints still fit beside it */
	for (uint32_t t = 2; t <= 4; t++)
		pfs_index_insert(&ix, fp_of(t, 9), 10 * t);
	pfs_index_insert(&ix, fp_of(1, 9), 400);
	CHECK_EQ(lookup1(&ix, fp_of(1, 9), 0), 400);
	for (uint32_t t = 2; t <= 4; t++)
		CHECK_EQ(lookup1(&ix, fp_of(t, 9), 0), 10 * t);
	pfs_index_free(&ix);
}

PFS_TEST(full_bucket_evicts_its_oldest_entry)
{
	struct pfs_index ix;
	/* offsets inserted out of order: the victim is the lowest offset, not
	 * the first inserted */
	static const uint64_t offs[PFS_INDEX_WAYS] = { 400, 100, 300, 200 };

	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	for (int w = 0; w < PFS_INDEX_WAYS; w++)
		pfs_index_insert(&ix, fp_of(10 + (uint32_t)w, 33), offs[w]);
	for (int w = 0; w < PFS_INDEX_WAYS; w++)
		CHECK_EQ(lookup1(&ix, fp_of(10 + (uint32_t)w, 33), 0), offs[w]);
	pfs_index_insert(&ix, fp_of(99, 33), 500);
	CHECK_EQ(lookup1(&ix, fp_of(99, 33), 0), 500);
	CHECK_EQ(lookup1(&ix, fp_of(11, 33), 0), UINT64_MAX); /* offset 100: gone */
	CHECK_EQ(lookup1(&ix, fp_of(10, 33), 0), 400);
	CHECK_EQ(lookup1(&ix, fp_of(12, 33), 0), 300);
	CHECK_EQ(lookup1(&ix, fp_of(13, 33), 0), 200);
	pfs_index_insert(&ix, fp_of(98, 33), 600);
	CHECK_EQ(lookup1(&ix, fp_of(13, 33), 0), UINT64_MAX); /* then 200 */
	CHECK_EQ(lookup1(&ix, fp_of(98, 33), 0), 600);
	/* neighbouring buckets are untouched */
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(99, 32), 0, (uint64_t[PFS_INDEX_WAYS]){ 0 }), 0);
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(99, 34), 0, (uint64_t[PFS_INDEX_WAYS]){ 0 }), 0);
	pfs_index_free(&ix);
}

PFS_TEST(lookup_orders_several_candidates_newest_first)
{
	/* insert() keeps one entry per (bucket, tag), so several candidates
	 * for one fingerprint only appear in a table filled otherwise (e.g. a
	 * future bulk load): build one by hand and check the ordering and the
	 * lower bound on it. */
	static const uint64_t offs[PFS_INDEX_WAYS] = { 300, 900, 100, 600 };
	struct pfs_index ix;
	uint64_t cand[PFS_INDEX_WAYS];
	struct pfs_index_entry *b;

	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	b = ix.slots + 7 * PFS_INDEX_WAYS;
	for (int w = 0; w < PFS_INDEX_WAYS; w++)
		b[w] = (struct pfs_index_entry){ .off = offs[w], .tag = 0x1234 };
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(0x1234, 7), 0, cand), 4);
	CHECK_EQ(cand[0], 900);
	CHECK_EQ(cand[1], 600);
	CHECK_EQ(cand[2], 300);
	CHECK_EQ(cand[3], 100);
	CHECK_EQ(pfs_index_lookup(&ix, fp_of(0x1234, 7), 301, cand), 2);
	CHECK_EQ(cand[0], 900);
	CHECK_EQ(cand[1], 600);
	pfs_index_free(&ix);
}

PFS_TEST(size_is_validated_and_rounded_down_to_a_power_of_two)
{
	struct pfs_index ix = { 0 };

	CHECK_EQ(pfs_index_init(&ix, 0), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN - 1), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN / 2), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MAX + 1), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_index_init(&ix, UINT64_MAX), PFS_ERR_INVALID_ARG);
	CHECK(ix.slots == NULL);

	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	CHECK_EQ(ix.bytes, PFS_INDEX_BYTES_MIN);
	CHECK_EQ(ix.bucket_mask, PFS_INDEX_BYTES_MIN / (PFS_INDEX_WAYS * 16) - 1);
	pfs_index_free(&ix);
	CHECK_EQ(pfs_index_init(&ix, 12345), 0);
	CHECK_EQ(ix.bytes, 8192);
	CHECK_EQ(ix.bucket_mask, 8192 / 64 - 1);
	pfs_index_free(&ix);
	CHECK_EQ(pfs_index_init(&ix, (1 << 20) - 1), 0);
	CHECK_EQ(ix.bytes, 1 << 19);
	pfs_index_free(&ix);
	CHECK(ix.slots == NULL);
	pfs_index_free(&ix); /* twice is harmless */
	pfs_index_free(NULL);
}

PFS_TEST(every_bucket_of_a_rounded_index_is_usable)
{
	/* after rounding 12345 -> 8192 bytes there are 128 buckets: fill each
	 * with four entries and read them all back (nothing past the end) */
	struct pfs_index ix;

	CHECK_EQ(pfs_index_init(&ix, 12345), 0);
	for (uint64_t bkt = 0; bkt <= ix.bucket_mask; bkt++)
		for (uint32_t t = 1; t <= PFS_INDEX_WAYS; t++)
			pfs_index_insert(&ix, fp_of(t, bkt), bkt * 10 + t);
	for (uint64_t bkt = 0; bkt <= ix.bucket_mask; bkt++)
		for (uint32_t t = 1; t <= PFS_INDEX_WAYS; t++)
			CHECK_EQ(lookup1(&ix, fp_of(t, bkt), 0), bkt * 10 + t);
	pfs_index_free(&ix);
}

PFS_TEST(bytes_for_a_log_is_two_entries_per_chunk_within_bounds)
{
	const uint64_t entry = sizeof(struct pfs_index_entry);

	CHECK_EQ(entry, 16);
	/* 1 GiB log, 1 KiB chunks: 1 Mi chunks x 2 entries x 16 bytes */
	CHECK_EQ(pfs_index_bytes_for(UINT64_C(1) << 30, 1024), UINT64_C(32) << 20);
	CHECK_EQ(pfs_index_bytes_for(UINT64_C(1) << 30, 4096), UINT64_C(8) << 20);
	/* small logs get the minimum, huge logs the maximum */
	CHECK_EQ(pfs_index_bytes_for(1 << 16, 1 << 20), PFS_INDEX_BYTES_MIN);
	CHECK_EQ(pfs_index_bytes_for(0, 1024), PFS_INDEX_BYTES_MIN);
	CHECK_EQ(pfs_index_bytes_for(UINT64_C(1) << 40, 256), PFS_INDEX_BYTES_MAX);
	/* avg 0 must not divide by zero */
	CHECK(pfs_index_bytes_for(1 << 20, 0) >= PFS_INDEX_BYTES_MIN);
	/* whatever it returns is accepted by init */
	for (int s = 16; s <= 30; s += 2) {
		struct pfs_index ix;
		uint64_t b = pfs_index_bytes_for(UINT64_C(1) << s, 1024);

		CHECK(b >= PFS_INDEX_BYTES_MIN && b <= PFS_INDEX_BYTES_MAX);
		CHECK_EQ(pfs_index_init(&ix, b), 0);
		pfs_index_free(&ix);
	}
}

PFS_TEST(clear_forgets_everything)
{
	struct pfs_index ix;
	uint64_t cand[PFS_INDEX_WAYS];

	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	for (uint64_t i = 0; i < 200; i++)
		pfs_index_insert(&ix, fp_of((uint32_t)i, i), i);
	CHECK_EQ(lookup1(&ix, fp_of(5, 5), 0), 5);
	pfs_index_clear(&ix);
	for (uint64_t i = 0; i < 200; i++)
		CHECK_EQ(pfs_index_lookup(&ix, fp_of((uint32_t)i, i), 0, cand), 0);
	/* an all-zero fingerprint with tag 0 at offset 0 is a real entry, not
	 * "empty" */
	pfs_index_insert(&ix, 0, 0);
	CHECK_EQ(lookup1(&ix, 0, 0), 0);
	/* and still usable after clearing */
	pfs_index_insert(&ix, fp_of(5, 5), 55);
	CHECK_EQ(lookup1(&ix, fp_of(5, 5), 0), 55);
	pfs_index_free(&ix);
}

PFS_TEST_MAIN()
