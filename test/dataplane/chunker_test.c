/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of content-defined chunking: the two-bytes-per-step chunker agrees
 * with the byte-at-a-time reference everywhere, chunk lengths respect the
 * limits, boundaries depend on content (and so resynchronize after an
 * insertion) and on the pair's gear table, and the average is near the
 * configured one. Data is seeded; a failure prints the seed.
 */
#include <inttypes.h>
#include <stdint.h>

#include "chunker.h"
#include "error.h"
#include "harness.h"
#include "keys.h"
#include "test_rand.h"

#define KIB 1024
#define MIB (1024 * 1024)

static void fill_pattern(uint8_t *p, size_t n, size_t period)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i % period) * 37 + 11);
}

static const struct pfs_codec_keys *test_keys(uint8_t which)
{
	static struct pfs_codec_keys k[2];
	static int ready[2];
	uint8_t key[PFS_PAIR_KEY_BYTES];

	if (!ready[which]) {
		memset(key, 0x40 + which, sizeof(key));
		if (pfs_keys_derive(&k[which], key) != 0)
			abort();
		ready[which] = 1;
	}
	return &k[which];
}

/* Cuts a whole buffer; cuts[i] is the end of chunk i. Returns the count. */
static size_t cut_all(const struct pfs_chunker *c, const uint8_t *p, size_t n, size_t *cuts,
		      size_t max_cuts)
{
	size_t pos = 0, k = 0;

	while (pos < n && k < max_cuts) {
		pos += pfs_chunker_next(c, p + pos, n - pos);
		cuts[k++] = pos;
	}
	return k;
}

static const uint32_t avgs[] = { PFS_CHUNK_AVG_MIN, 1024, 8192, 65536 };
#define NAVGS (sizeof(avgs) / sizeof(avgs[0]))

PFS_TEST(fast_chunker_equals_reference_on_random_and_low_entropy_data)
{
	const size_t n = 1 * MIB;
	uint8_t *buf = malloc(n);
	uint64_t s = 0x5eed0001;

	CHECK(buf != NULL);
	for (int kind = 0; kind < 5; kind++) {
		rng_seed(s + (uint64_t)kind);
		switch (kind) {
		case 0:
			fill_random(buf, n);
			break;
		case 1:
			memset(buf, 0, n);
			break;
		case 2:
			fill_pattern(buf, n, 7);
			break;
		case 3:
			fill_pattern(buf, n, 4096 + 3);
			break;
		case 4:
			fill_text(buf, n);
			break;
		}
		for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
			for (size_t a = 0; a < NAVGS; a++) {
				struct pfs_chunker c;

				CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, avgs[a], level),
					 0);
				for (size_t pos = 0; pos < n;) {
					size_t fast = pfs_chunker_next(&c, buf + pos, n - pos);
					size_t ref = pfs_chunker_next_ref(&c, buf + pos, n - pos);
					if (fast != ref) {
						fprintf(stderr,
							"seed %#" PRIx64 " kind %d level %u avg %u "
							"pos %zu: fast %zu ref %zu\n",
							s, kind, level, avgs[a], pos, fast, ref);
						free(buf);
						CHECK(fast == ref);
					}
					pos += fast;
				}
			}
		}
	}
	free(buf);
}

PFS_TEST(fast_chunker_equals_reference_for_every_length_near_the_limits)
{
	/* Short and odd lengths exercise the tail of the two-byte loop and the
	 * min/normal/max switches at each possible parity. */
	static uint8_t buf[16 * KIB];
	uint64_t s = 0x5eed0002;
	struct pfs_chunker c;

	rng_seed(s);
	fill_random(buf, sizeof(buf));
	for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
		CHECK_EQ(pfs_chunker_init(&c, test_keys(1)->gear, PFS_CHUNK_AVG_MIN, level), 0);
		for (size_t off = 0; off < 64; off++) {
			for (size_t n = 0; n <= c.max + 3; n++) {
				size_t fast = pfs_chunker_next(&c, buf + off, n);
				size_t ref = pfs_chunker_next_ref(&c, buf + off, n);
				if (fast != ref)
					fprintf(stderr,
						"level %u off %zu n %zu: fast %zu ref %zu\n", level,
						off, n, fast, ref);
				CHECK_EQ(fast, ref);
			}
		}
	}
	CHECK_EQ(pfs_chunker_next(&c, buf, 0), 0);
}

PFS_TEST(chunk_lengths_respect_min_and_max_except_the_last)
{
	const size_t n = 2 * MIB;
	uint8_t *buf = malloc(n);
	size_t *cuts = malloc(n / 16 * sizeof(*cuts));

	CHECK(buf && cuts);
	for (int kind = 0; kind < 3; kind++) {
		rng_seed(0x5eed0003 + (uint64_t)kind);
		if (kind == 0)
			fill_random(buf, n);
		else if (kind == 1)
			memset(buf, 0, n); /* every chunk starts alike: all the same */
		else
			fill_text(buf, n);
		for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
			for (size_t a = 0; a < NAVGS; a++) {
				struct pfs_chunker c;
				size_t k, prev = 0;

				CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, avgs[a], level),
					 0);
				CHECK_EQ(c.min, avgs[a] / 8);
				CHECK_EQ(c.max, avgs[a] * 8);
				k = cut_all(&c, buf, n, cuts, n / 16);
				CHECK_EQ(cuts[k - 1], n);
				for (size_t i = 0; i < k; i++) {
					size_t len = cuts[i] - prev;
					CHECK(len <= c.max);
					CHECK(len > c.min || i == k - 1);
					if (kind == 1 && i + 1 < k)
						CHECK_EQ(len, cuts[0]);
					prev = cuts[i];
				}
			}
		}
	}
	free(buf);
	free(cuts);
}

PFS_TEST(invalid_average_or_level_is_refused)
{
	static const uint32_t bad_avg[] = { 0,
					    1,
					    128,
					    PFS_CHUNK_AVG_MIN - 1,
					    PFS_CHUNK_AVG_MIN / 2,
					    PFS_CHUNK_AVG_MIN + 1,
					    1000,
					    3 * 1024,
					    65535,
					    PFS_CHUNK_AVG_MAX + 1,
					    PFS_CHUNK_AVG_MAX * 2,
					    UINT32_MAX,
					    1u << 31 };
	struct pfs_chunker c;

	for (size_t i = 0; i < sizeof(bad_avg) / sizeof(bad_avg[0]); i++)
		CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, bad_avg[i], 0),
			 PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, 1024, PFS_CHUNK_LEVEL_MAX + 1),
		 PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, 1024, 100), PFS_ERR_INVALID_ARG);
	/* the limits themselves are accepted, at every level */
	for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
		CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, PFS_CHUNK_AVG_MIN, level), 0);
		CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, PFS_CHUNK_AVG_MAX, level), 0);
	}
}

/* Counts cuts of a (shifted by `shift`) that are also cuts of b. */
static size_t common_cuts(const size_t *a, size_t na, size_t shift, const size_t *b, size_t nb)
{
	size_t i = 0, j = 0, n = 0;

	while (i < na && j < nb) {
		if (a[i] < shift || a[i] - shift < b[j])
			i++;
		else if (a[i] - shift > b[j])
			j++;
		else
			n++, i++, j++;
	}
	return n;
}

PFS_TEST(inserting_bytes_in_front_leaves_later_cuts_in_place_at_level_0)
{
	const size_t n = 1 * MIB;
	uint8_t *buf = malloc(n + 4096);
	size_t *ca = malloc(n / 16 * sizeof(size_t)), *cb = malloc(n / 16 * sizeof(size_t));
	static const size_t inserts[] = { 1, 2, 3, 17, 100, 1000, 4095 };
	uint64_t s = 0x5eed0004;
	struct pfs_chunker c;

	CHECK(buf && ca && cb);
	rng_seed(s);
	for (int kind = 0; kind < 2; kind++) {
		for (size_t t = 0; t < sizeof(inserts) / sizeof(inserts[0]); t++) {
			size_t ins = inserts[t], na, nb, i, j;

			/* buf = X (ins bytes) || B */
			if (kind == 0)
				fill_random(buf, n + ins);
			else
				fill_text(buf, n + ins);
			CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, 1024, 0), 0);
			na = cut_all(&c, buf + ins, n, ca, n / 16); /* B alone */
			nb = cut_all(&c, buf, n + ins, cb, n / 16); /* X || B */
			/* find the first common cut (shifted), then every later cut of
			 * B must be a cut of X || B and vice versa */
			for (i = 0, j = 0; i < na && j < nb && ca[i] + ins != cb[j];) {
				if (ca[i] + ins < cb[j])
					i++;
				else
					j++;
			}
			if (i == na || j == nb || ca[i] > 64 * KIB) {
				fprintf(stderr,
					"seed %#" PRIx64 " kind %d insert %zu: no resync "
					"within 64 KiB\n",
					s, kind, ins);
				CHECK(0);
			}
			CHECK_EQ(na - i, nb - j);
			for (; i < na; i++, j++)
				CHECK_EQ(ca[i] + ins, cb[j]);
		}
	}
	free(buf);
	free(ca);
	free(cb);
}

PFS_TEST(normalized_levels_also_resynchronize_after_an_insertion)
{
	/* Higher levels make a cut depend on where its chunk began, but two
	 * chunkings still meet, and once they share a cut they agree. */
	const size_t n = 1 * MIB;
	uint8_t *buf = malloc(n + 64);
	size_t *ca = malloc(n / 16 * sizeof(size_t)), *cb = malloc(n / 16 * sizeof(size_t));
	struct pfs_chunker c;

	CHECK(buf && ca && cb);
	rng_seed(0x5eed0005);
	fill_random(buf, n + 64);
	for (unsigned level = 1; level <= PFS_CHUNK_LEVEL_MAX; level++) {
		CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, 1024, level), 0);
		size_t na = cut_all(&c, buf + 37, n, ca, n / 16);
		size_t nb = cut_all(&c, buf, n + 37, cb, n / 16);
		size_t common = common_cuts(cb, nb, 37, ca, na);
		CHECK(common + 8 >= na); /* all but the first few */
	}
	free(buf);
	free(ca);
	free(cb);
}

PFS_TEST(different_gear_tables_give_different_cut_points)
{
	const size_t n = 1 * MIB;
	uint8_t *buf = malloc(n);
	size_t *ca = malloc(n / 16 * sizeof(size_t)), *cb = malloc(n / 16 * sizeof(size_t));
	struct pfs_chunker c0, c1;

	CHECK(buf && ca && cb);
	rng_seed(0x5eed0006);
	fill_random(buf, n);
	for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
		CHECK_EQ(pfs_chunker_init(&c0, test_keys(0)->gear, 1024, level), 0);
		CHECK_EQ(pfs_chunker_init(&c1, test_keys(1)->gear, 1024, level), 0);
		size_t na = cut_all(&c0, buf, n, ca, n / 16);
		size_t nb = cut_all(&c1, buf, n, cb, n / 16);
		size_t common = common_cuts(ca, na, 0, cb, nb);
		/* the last cut (end of buffer) is common by construction; by
		 * chance about one cut in ~1000 positions coincides */
		CHECK(na > 100 && nb > 100);
		CHECK(common < na / 10);
	}
	free(buf);
	free(ca);
	free(cb);
}

PFS_TEST(average_chunk_length_on_random_data_is_near_the_configured_average)
{
	const size_t n = 8 * MIB;
	uint8_t *buf = malloc(n);

	CHECK(buf != NULL);
	rng_seed(0x5eed0007);
	fill_random(buf, n);
	for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
		for (size_t a = 0; a < NAVGS; a++) {
			struct pfs_chunker c;
			size_t chunks = 0, pos = 0;

			CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, avgs[a], level), 0);
			while (pos < n) {
				pos += pfs_chunker_next(&c, buf + pos, n - pos);
				chunks++;
			}
			double mean = (double)n / (double)chunks;
			if (mean < 0.5 * avgs[a] || mean > 2.0 * avgs[a])
				fprintf(stderr, "level %u avg %u: mean %.0f over %zu chunks\n",
					level, avgs[a], mean, chunks);
			CHECK(mean >= 0.5 * avgs[a] && mean <= 2.0 * avgs[a]);
		}
	}
	free(buf);
}

PFS_TEST(higher_levels_concentrate_chunk_lengths_around_the_average)
{
	/* Normalization exists to narrow the distribution: the share of chunks
	 * within [avg/2, 2 avg] must grow with the level. */
	const size_t n = 4 * MIB;
	uint8_t *buf = malloc(n);
	double share[PFS_CHUNK_LEVEL_MAX + 1];

	CHECK(buf != NULL);
	rng_seed(0x5eed0008);
	fill_random(buf, n);
	for (unsigned level = 0; level <= PFS_CHUNK_LEVEL_MAX; level++) {
		struct pfs_chunker c;
		size_t chunks = 0, near = 0, pos = 0;

		CHECK_EQ(pfs_chunker_init(&c, test_keys(0)->gear, 4096, level), 0);
		while (pos < n) {
			size_t len = pfs_chunker_next(&c, buf + pos, n - pos);
			near += len >= 2048 && len <= 8192;
			chunks++;
			pos += len;
		}
		share[level] = (double)near / (double)chunks;
		if (level > 0)
			CHECK(share[level] > share[level - 1]);
	}
	free(buf);
}

PFS_TEST_MAIN()
