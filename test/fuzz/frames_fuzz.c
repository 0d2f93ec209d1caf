/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the frame parser over a whole decrypted payload, as the
 * transport will walk it. Every parse either fails or consumes at least one
 * byte within the buffer, and what a successful parse returns can be written
 * back to the same bytes (every frame's encoding is unique: canonical
 * varints, one layout per type).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a frame re-encodes to its own length, so the input's size is room
	 * enough (a BLOCK frame may carry up to 8 MiB) */
	uint8_t *again = malloc(size ? size : 1);
	size_t pos = 0, used, n;
	struct pfs_wire_frame f;

	if (!again)
		abort();
	while (pos < size && pfs_frame_parse(data + pos, size - pos, &used, &f) == 0) {
		if (used == 0 || used > size - pos)
			abort();
		switch (f.type) {
		case PFS_FR_ACK:
			n = pfs_frame_put_ack(again, size, &f.u.ack);
			break;
		case PFS_FR_BLOCK:
			n = pfs_frame_put_block(again, size, &f.u.block);
			break;
		case PFS_FR_LOG_ACK:
			n = pfs_frame_put_log_ack(again, size, &f.u.log_ack);
			break;
		case PFS_FR_CLOSE:
			n = pfs_frame_put_close(again, size, &f.u.close);
			break;
		case PFS_FR_STREAM_OPEN:
			n = pfs_frame_put_stream_open(again, size, &f.u.open);
			break;
		case PFS_FR_STREAM_FIN:
			n = pfs_frame_put_stream_fin(again, size, &f.u.fin);
			break;
		case PFS_FR_STREAM_DONE:
			n = pfs_frame_put_stream_done(again, size, &f.u.done);
			break;
		case PFS_FR_MAX_BLOCKS:
			n = pfs_frame_put_max_blocks(again, size, &f.u.max_blocks);
			break;
		case PFS_FR_REPAIR:
			n = pfs_frame_put_repair(again, size, &f.u.repair);
			break;
		default:
			n = pfs_frame_put_simple(again, size, f.type);
		}
		/* varints are canonical, so a parsed frame re-encodes to its bytes */
		if (n != used || memcmp(again, data + pos, used) != 0)
			abort();
		pos += used;
	}
	free(again);
	return 0;
}
