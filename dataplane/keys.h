/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-pair codec keys (DESIGN §3.6). Everything that could let one peer learn
 * what another peer sent — where chunk boundaries fall, which fingerprints
 * collide — is derived from a secret that belongs to one peer pair: the gear
 * table of the chunker and the secret of the keyed fingerprint.
 */
#ifndef PFS_KEYS_H
#define PFS_KEYS_H

#include <stdint.h>

#define PFS_PAIR_KEY_BYTES 32
#define PFS_FP_SECRET_BYTES 192 /* XXH3 secret; >= XXH3_SECRET_SIZE_MIN (136) */

struct pfs_codec_keys {
	uint64_t gear[256];
	uint8_t fp_secret[PFS_FP_SECRET_BYTES];
};

/*
 * Derives the codec keys from a pair secret with libsodium's KDF (BLAKE2b).
 * Deterministic: the same pair key always gives the same tables.
 * Returns 0 or PFS_ERR_CRYPTO.
 */
int pfs_keys_derive(struct pfs_codec_keys *keys, const uint8_t pair_key[PFS_PAIR_KEY_BYTES]);

/* Keyed fingerprint of len bytes (XXH3-64 with the pair's secret). */
uint64_t pfs_fingerprint(const struct pfs_codec_keys *keys, const void *p, size_t len);

#endif
