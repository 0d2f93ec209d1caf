/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeded randomness of the C tests: xorshift64*, reproducible on every
 * machine and independent of libc's rand(). One state per test binary
 * (rng_state, starting at TEST_RAND_DEFAULT_SEED; tests that want their own
 * data call rng_seed()), and rnd_next() for a stream with its own state, such
 * as the fuzz world's fixed data.
 */
#ifndef PFS_TEST_RAND_H
#define PFS_TEST_RAND_H

#include <stddef.h>
#include <stdint.h>

/* log_test.c draws from it unseeded: a new value changes its data. */
#define TEST_RAND_DEFAULT_SEED UINT64_C(0x9e3779b97f4a7c15)

static uint64_t rng_state = TEST_RAND_DEFAULT_SEED;

static inline void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1; /* 0 is the one state xorshift never leaves */
}

/* One step of the stream whose state is *s. */
static inline uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1d;
}

static inline uint64_t rnd(void)
{
	return rnd_next(&rng_state);
}

/* Uniform enough in [0, n); 0 for n == 0. */
static inline uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static inline void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* Words drawn from words[0, nwords) with the stream *s until p[0, n) is full
 * (the last word cut short). */
static inline void fill_words(uint64_t *s, const char *const *words, size_t nwords, uint8_t *p,
			      size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *w = words[rnd_next(s) % nwords];
		while (*w && i < n)
			p[i++] = (uint8_t)*w++;
	}
}

/* Text-like bytes: low entropy, irregular, like source code or logs, and
 * compressible by zstd. */
static inline void fill_text(uint8_t *p, size_t n)
{
	static const char *const w[] = { "the ",      "packet ", "log ",   "offset ",	"pointer ",
					 "block ",    "= ",	 "0;\n",   "if (",	") {\n",
					 "\treturn ", "struct ", "}\n",	   "uint64_t ", "chunk ",
					 "error: ",   "ok\n",	 "frame ", "ack " };

	fill_words(&rng_state, w, sizeof(w) / sizeof(w[0]), p, n);
}

#endif
