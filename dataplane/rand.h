/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeded randomness for the fault models (io_fault.c, linkem.c): xorshift64*
 * (cheap, the same sequence on every machine for a seed, never cryptographic)
 * and the two-state Gilbert–Elliott chain of burst loss. test_rand.h is the
 * tests' own copy of the generator.
 */
#ifndef PFS_RAND_H
#define PFS_RAND_H

#include <stdint.h>

#define PFS_RAND_PPM 1000000u /* probabilities are in parts per million */

/* The next number of the sequence *state (never 0 once seeded non-zero). */
static inline uint64_t pfs_rand_next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

/* 1 with probability ppm / 10^6 (0 never draws). */
static inline int pfs_rand_chance(uint64_t *state, uint32_t ppm)
{
	return ppm && pfs_rand_next(state) % PFS_RAND_PPM < ppm;
}

/* One step of a Gilbert–Elliott chain per frame: from good to bad with
 * enter_ppm, back with exit_ppm. Returns the state after the step (1: bad,
 * where every frame is lost). */
static inline int pfs_rand_burst_step(uint64_t *state, int *bad, uint32_t enter_ppm,
				      uint32_t exit_ppm)
{
	if (pfs_rand_chance(state, *bad ? exit_ppm : enter_ppm))
		*bad = !*bad;
	return *bad;
}

#endif
