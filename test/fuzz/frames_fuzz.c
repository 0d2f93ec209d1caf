/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the frame parser over a whole decrypted payload, as the
 * transport will walk it. Every parse either fails or consumes at least one
 * byte within the buffer, and what a successful parse returns can be written
 * back to the same bytes (for the frames whose encoding is unique).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[1 << 16];
	size_t pos = 0, used, n;
	struct pfs_wire_frame f;

	while (pos < size && pfs_frame_parse(data + pos, size - pos, &used, &f) == 0) {
		if (used == 0 || used > size - pos)
			abort();
		switch (f.type) {
		case PFS_FR_ACK:
			n = pfs_frame_put_ack(again, sizeof(again), &f.u.ack);
			break;
		case PFS_FR_BLOCK:
			n = pfs_frame_put_block(again, sizeof(again), &f.u.block);
			break;
		case PFS_FR_LOG_ACK:
			n = pfs_frame_put_log_ack(again, sizeof(again), &f.u.log_ack);
			break;
		case PFS_FR_CLOSE:
			n = pfs_frame_put_close(again, sizeof(again), &f.u.close);
			break;
		default:
			n = pfs_frame_put_simple(again, sizeof(again), f.type);
		}
		/* varints are canonical, so a parsed frame re-encodes to its bytes */
		if (n != used || memcmp(again, data + pos, used) != 0)
			abort();
		pos += used;
	}
	return 0;
}
