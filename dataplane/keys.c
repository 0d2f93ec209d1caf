/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include "error.h"
#include "keys.h"

/* KDF contexts are exactly crypto_kdf_CONTEXTBYTES (8) characters. */
static const char kdf_ctx_gear[crypto_kdf_CONTEXTBYTES] = { 'p', 'f', 's', 'g', 'e', 'a', 'r', '1' };
static const char kdf_ctx_fp[crypto_kdf_CONTEXTBYTES] = { 'p', 'f', 's', 'f', 'p', 's', 'e', '1' };

int pfs_keys_derive(struct pfs_codec_keys *keys, const uint8_t pair_key[PFS_PAIR_KEY_BYTES])
{
	uint8_t seed[randombytes_SEEDBYTES];
	uint8_t table[sizeof(keys->gear)];

	if (sodium_init() < 0)
		return PFS_ERR_CRYPTO;

	/* Expand each 32-byte subkey into a keystream (ChaCha20 inside
	 * randombytes_buf_deterministic) of the size the table needs. */
	if (crypto_kdf_derive_from_key(seed, sizeof(seed), 1, kdf_ctx_gear, pair_key) != 0)
		return PFS_ERR_CRYPTO;
	randombytes_buf_deterministic(table, sizeof(table), seed);
	/* Explicit byte order so both ends (any architecture) build the same table. */
	for (int i = 0; i < 256; i++) {
		uint64_t v = 0;
		for (int b = 7; b >= 0; b--)
			v = (v << 8) | table[i * 8 + b];
		keys->gear[i] = v;
	}

	if (crypto_kdf_derive_from_key(seed, sizeof(seed), 2, kdf_ctx_fp, pair_key) != 0)
		return PFS_ERR_CRYPTO;
	randombytes_buf_deterministic(keys->fp_secret, sizeof(keys->fp_secret), seed);

	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(table, sizeof(table));
	return 0;
}

uint64_t pfs_fingerprint(const struct pfs_codec_keys *keys, const void *p, size_t len)
{
	return XXH3_64bits_withSecret(p, len, keys->fp_secret, sizeof(keys->fp_secret));
}
