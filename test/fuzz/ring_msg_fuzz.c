/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the control-message decoder, as the data plane runs it on each
 * command it pops (and the controller's addon-side tests on each event). Any
 * input must give an error code or a message; a message must encode back to
 * exactly the input bytes (every field has one encoding), and what the
 * encoder writes the decoder must accept. Seeds: test/fuzz/corpus/ring_msg,
 * written by test/fuzz/make_ring_msg_corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ring_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[PFS_MSG_MAX];
	struct pfs_msg m;
	size_t n;
	int rc = pfs_msg_decode(data, size, &m);

	switch (rc) {
	case 0:
		break;
	case PFS_ERR_TRUNCATED:
	case PFS_ERR_LIMIT:
	case PFS_ERR_MALFORMED:
	case PFS_ERR_MSG_VERSION:
		return 0;
	default:
		abort(); /* a code the decoder does not document */
	}
	if (pfs_msg_encode(&m, again, sizeof(again), &n) != 0)
		abort();
	if (n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
