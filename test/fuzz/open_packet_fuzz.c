/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the receive path of the packet envelope — peek, authenticate
 * and decrypt under both AEADs, replay window. Any input must give an error
 * code or authenticated frames, never a crash or an out-of-bounds access.
 * Seeds (test/fuzz/corpus/open_packet) include packets sealed with the fixed
 * key below, so the success path is reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "packet.h"

/* Fixed test key and IV: bytes 0, 1, 2, ... (the corpus is sealed with them). */
void pfs_fuzz_packet_key(uint8_t key[PFS_AEAD_KEY_BYTES], uint8_t iv[PFS_AEAD_IV_BYTES]);
void pfs_fuzz_packet_key(uint8_t key[PFS_AEAD_KEY_BYTES], uint8_t iv[PFS_AEAD_IV_BYTES])
{
	for (unsigned i = 0; i < PFS_AEAD_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	for (unsigned i = 0; i < PFS_AEAD_IV_BYTES; i++)
		iv[i] = (uint8_t)(0xa0 + i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pfs_aead aead[2];
	static struct pfs_replay replay;
	static uint8_t out[PFS_PACKET_MAX];
	static int ready;
	struct pfs_packet_header h;
	size_t n;

	if (!ready) {
		uint8_t key[PFS_AEAD_KEY_BYTES], iv[PFS_AEAD_IV_BYTES];
		pfs_fuzz_packet_key(key, iv);
		if (pfs_aead_init(&aead[0], PFS_AEAD_CHACHA20POLY1305, key, iv) ||
		    pfs_aead_init(&aead[1], PFS_AEAD_AUTO, key, iv))
			abort();
		ready = 1;
	}
	for (int k = 0; k < 2; k++) {
		int rc = pfs_packet_open(&aead[k], data, size, &h, out, sizeof(out), &n);
		if (rc == 0) {
			if (n + PFS_PACKET_OVERHEAD != size)
				abort(); /* authenticated length must match what was sent */
			if (pfs_replay_check(&replay, h.pn) == 0)
				pfs_replay_commit(&replay, h.pn);
			if (pfs_replay_check(&replay, h.pn) != PFS_ERR_REPLAY)
				abort(); /* a committed number is never accepted again */
		} else if (rc != PFS_ERR_AUTH && rc != PFS_ERR_TRUNCATED && rc != PFS_ERR_BAD_MAGIC &&
			   rc != PFS_ERR_MALFORMED) {
			abort();
		}
	}
	return 0;
}
