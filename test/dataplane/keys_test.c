/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the per-pair codec keys (DESIGN §3.6): derivation is a pure
 * function of the pair key, different pairs get unrelated gear tables and
 * fingerprint secrets, and a fingerprint depends on every byte it covers.
 */
#include <stdint.h>

#include "error.h"
#include "harness.h"
#include "keys.h"

static void pair_key(uint8_t k[PFS_PAIR_KEY_BYTES], uint8_t seed)
{
	for (int i = 0; i < PFS_PAIR_KEY_BYTES; i++)
		k[i] = (uint8_t)(seed * 31 + i * 7);
}

/* Gear entries that differ between two tables. */
static int gear_differences(const struct pfs_codec_keys *a, const struct pfs_codec_keys *b)
{
	int n = 0;

	for (int i = 0; i < 256; i++)
		n += a->gear[i] != b->gear[i];
	return n;
}

PFS_TEST(same_pair_key_derives_identical_tables)
{
	static struct pfs_codec_keys a, b;
	uint8_t k[PFS_PAIR_KEY_BYTES];

	pair_key(k, 1);
	memset(&a, 0x11, sizeof(a));
	memset(&b, 0xee, sizeof(b)); /* different garbage: every byte must be written */
	CHECK_EQ(pfs_keys_derive(&a, k), 0);
	CHECK_EQ(pfs_keys_derive(&b, k), 0);
	CHECK(memcmp(a.gear, b.gear, sizeof(a.gear)) == 0);
	CHECK(memcmp(a.fp_secret, b.fp_secret, sizeof(a.fp_secret)) == 0);
}

PFS_TEST(derivation_matches_pinned_values_so_both_ends_interoperate)
{
	/* Both peers must build the same tables from the same pair key, across
	 * versions and architectures. These values pin the derivation (libsodium
	 * KDF + ChaCha20 keystream, little-endian gear words); changing them is a
	 * wire-incompatible change. */
	static struct pfs_codec_keys k;
	uint8_t key[PFS_PAIR_KEY_BYTES];
	static const uint8_t data[32] = "PacketFS fingerprint test vector";

	memset(key, 0x5a, sizeof(key));
	CHECK_EQ(pfs_keys_derive(&k, key), 0);
	CHECK(k.gear[0] == UINT64_C(0xd3e1b4865a0417ec));
	CHECK(k.gear[255] == UINT64_C(0xd7e8220f50995699));
	CHECK_EQ(k.fp_secret[0], 0x93);
	CHECK_EQ(k.fp_secret[PFS_FP_SECRET_BYTES - 1], 0x25);
	CHECK(pfs_fingerprint(&k, data, sizeof(data)) == UINT64_C(0x3a62a0450e32f733));
}

PFS_TEST(gear_table_has_256_distinct_well_mixed_entries)
{
	static struct pfs_codec_keys k;
	uint8_t key[PFS_PAIR_KEY_BYTES];
	int ones = 0;

	pair_key(key, 2);
	CHECK_EQ(pfs_keys_derive(&k, key), 0);
	for (int i = 0; i < 256; i++) {
		ones += __builtin_popcountll(k.gear[i]);
		for (int j = 0; j < i; j++)
			CHECK(k.gear[i] != k.gear[j]);
	}
	/* 256 x 64 random bits: mean 8192, sd 64; 8 sd either way. */
	CHECK(ones > 8192 - 512 && ones < 8192 + 512);
}

PFS_TEST(different_pair_keys_give_different_tables_and_secrets)
{
	static struct pfs_codec_keys a, b;
	uint8_t k[PFS_PAIR_KEY_BYTES];
	int same_secret = 0;

	/* keys that differ in a single bit, at either end of the key */
	for (int bit = 0; bit < 2; bit++) {
		pair_key(k, 3);
		CHECK_EQ(pfs_keys_derive(&a, k), 0);
		k[bit ? PFS_PAIR_KEY_BYTES - 1 : 0] ^= (uint8_t)(bit ? 0x80 : 0x01);
		CHECK_EQ(pfs_keys_derive(&b, k), 0);
		CHECK(gear_differences(&a, &b) >= 250);
		same_secret = 0;
		for (int i = 0; i < PFS_FP_SECRET_BYTES; i++)
			same_secret += a.fp_secret[i] == b.fp_secret[i];
		CHECK(same_secret < 16); /* ~0.75 expected by chance */
	}
}

PFS_TEST(gear_table_and_secret_are_independent_subkeys)
{
	static struct pfs_codec_keys k;
	uint8_t key[PFS_PAIR_KEY_BYTES];

	/* the secret must not simply continue or repeat the gear keystream */
	pair_key(key, 4);
	CHECK_EQ(pfs_keys_derive(&k, key), 0);
	CHECK(memcmp(k.fp_secret, k.gear, sizeof(k.fp_secret)) != 0);
	CHECK(memcmp(k.fp_secret, (const uint8_t *)k.gear + sizeof(k.gear) - sizeof(k.fp_secret),
		     sizeof(k.fp_secret)) != 0);
}

PFS_TEST(different_pair_keys_fingerprint_the_same_bytes_differently)
{
	static struct pfs_codec_keys keys[8];
	uint8_t k[PFS_PAIR_KEY_BYTES], buf[32];
	uint64_t fp[8];

	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	for (int i = 0; i < 8; i++) {
		pair_key(k, (uint8_t)(10 + i));
		CHECK_EQ(pfs_keys_derive(&keys[i], k), 0);
		fp[i] = pfs_fingerprint(&keys[i], buf, sizeof(buf));
		for (int j = 0; j < i; j++)
			CHECK(fp[i] != fp[j]);
	}
	/* and the same key gives the same fingerprint every time */
	CHECK(pfs_fingerprint(&keys[3], buf, sizeof(buf)) == fp[3]);
}

PFS_TEST(fingerprint_depends_on_every_bit_of_its_window)
{
	static struct pfs_codec_keys k;
	uint8_t key[PFS_PAIR_KEY_BYTES], buf[64];
	static const size_t lens[] = { 1, 16, 32, 33, 64 };

	pair_key(key, 5);
	CHECK_EQ(pfs_keys_derive(&k, key), 0);
	for (int i = 0; i < 64; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		size_t len = lens[l];
		uint64_t base = pfs_fingerprint(&k, buf, len);

		for (size_t i = 0; i < len; i++) {
			for (int b = 0; b < 8; b++) {
				buf[i] ^= (uint8_t)(1u << b);
				uint64_t f = pfs_fingerprint(&k, buf, len);
				buf[i] ^= (uint8_t)(1u << b);
				CHECK(f != base);
				/* both halves change: the index uses the low bits
				 * for the bucket and the high half as the tag */
				CHECK((uint32_t)f != (uint32_t)base);
				CHECK((f >> 32) != (base >> 32));
			}
		}
	}
}

PFS_TEST(fingerprint_depends_on_length_and_not_on_bytes_outside_it)
{
	static struct pfs_codec_keys k;
	uint8_t key[PFS_PAIR_KEY_BYTES], buf[40];

	pair_key(key, 6);
	CHECK_EQ(pfs_keys_derive(&k, key), 0);
	memset(buf, 0, sizeof(buf));
	/* zero-filled windows of different lengths must not collide */
	for (size_t a = 1; a <= 32; a++)
		for (size_t b = 1; b < a; b++)
			CHECK(pfs_fingerprint(&k, buf, a) != pfs_fingerprint(&k, buf, b));
	uint64_t f = pfs_fingerprint(&k, buf, 32);
	buf[32] = 0xff; /* just past the window */
	CHECK(pfs_fingerprint(&k, buf, 32) == f);
	CHECK(pfs_fingerprint(&k, buf + 1, 32) != f);
}

PFS_TEST_MAIN()
