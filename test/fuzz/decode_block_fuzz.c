/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the block decoder (pfs_decoder_decode), the parser of
 * everything a peer sends. The receiver is the fixed world of fuzz_setup.h.
 * Each input is decoded twice: as it is, and with its length and checksum
 * fixed up (resealed), since a mutated block almost never carries a valid
 * checksum and the fuzzer would otherwise stop at the first check.
 *
 * Properties checked beyond "no crash, no out-of-bounds access, no leak":
 * an error is one of the codec's own codes and leaves the logs, their
 * metadata and the index exactly as they were; a success decodes at most
 * block_max bytes and describes the block it was given. A successful decode
 * changes the rx log and index legitimately; both are then restored from a
 * snapshot so that every input meets the same state.
 */
#include "fuzz_setup.h"

static struct fz_receiver R;
static struct pfs_log rx_meta, tx_meta; /* metadata snapshots */
static uint8_t *rx_ring, *tx_ring, *ix_slots, *out;

static void setup(void)
{
	if (fz_receiver_open(&R) != 0) {
		fprintf(stderr, "decode_block fuzz: setup failed\n");
		abort();
	}
	rx_ring = malloc(FZ_LOG_CAP);
	tx_ring = malloc(FZ_LOG_CAP);
	ix_slots = malloc(R.rx_index.bytes);
	out = malloc(R.cfg.block_max); /* exactly out_cap: overruns hit ASan */
	if (!rx_ring || !tx_ring || !ix_slots || !out)
		abort();
	memcpy(rx_ring, R.rx->ring, FZ_LOG_CAP);
	memcpy(tx_ring, R.tx->ring, FZ_LOG_CAP);
	memcpy(ix_slots, R.rx_index.slots, R.rx_index.bytes);
	rx_meta = *R.rx;
	tx_meta = *R.tx;
}

/* The log's state fields equal the snapshot's. */
static int meta_same(const struct pfs_log *log, const struct pfs_log *snap)
{
	return log->start == snap->start && log->tail == snap->tail &&
	       log->contig == snap->contig && log->frontier == snap->frontier &&
	       log->npending == snap->npending &&
	       memcmp(log->pending, snap->pending, sizeof(log->pending)) == 0;
}

static void restore(void)
{
	memcpy(R.rx->ring, rx_ring, FZ_LOG_CAP);
	memcpy(R.rx_index.slots, ix_slots, R.rx_index.bytes);
	R.rx->tail = rx_meta.tail;
	R.rx->contig = rx_meta.contig;
	R.rx->npending = rx_meta.npending;
	memcpy(R.rx->pending, rx_meta.pending, sizeof(rx_meta.pending));
}

static void fail(const char *what, int rc)
{
	fprintf(stderr, "decode_block fuzz: %s (%s)\n", what, pfs_errname(rc));
	abort();
}

static void decode(const uint8_t *blk, size_t len)
{
	struct pfs_block_info info;
	int rc = pfs_decoder_decode(R.dec, blk, len, out, R.cfg.block_max, &info);

	if (rc == 0) {
		if (info.out_len > R.cfg.block_max || info.block_len != len ||
		    info.lit_len > info.out_len || info.n_ptrs > info.n_ops)
			fail("success with an impossible description", rc);
		if (!meta_same(R.tx, &tx_meta) || memcmp(R.tx->ring, tx_ring, FZ_LOG_CAP) != 0)
			fail("decoding changed the tx log", rc);
		restore();
		return;
	}
	if (rc <= PFS_ERR_LAST || rc >= PFS_ERR_BASE)
		fail("unknown error code", rc);
	if (!meta_same(R.rx, &rx_meta) || !meta_same(R.tx, &tx_meta))
		fail("an error changed log metadata", rc);
	/* the ring bytes themselves: only past the framing checks, where a
	 * decoder could have started to act on the block */
	if (rc != PFS_ERR_TRUNCATED && rc != PFS_ERR_BAD_MAGIC && rc != PFS_ERR_CHECKSUM &&
	    (memcmp(R.rx->ring, rx_ring, FZ_LOG_CAP) != 0 ||
	     memcmp(R.rx_index.slots, ix_slots, R.rx_index.bytes) != 0))
		fail("an error changed the rx log or its index", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t *copy;

	if (!ready) {
		setup();
		ready = 1;
	}
	decode(data, size);
	if (size < PFS_BLOCK_FIXED_BYTES || size > UINT32_MAX)
		return 0;
	copy = malloc(size); /* exact size: reads past the block hit ASan */
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fz_reseal(copy, size);
	if (memcmp(copy, data, size) != 0)
		decode(copy, size);
	free(copy);
	return 0;
}
