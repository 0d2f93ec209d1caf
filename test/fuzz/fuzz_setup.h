/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixed world of the decode_block fuzz target, shared with the corpus
 * generator (make_corpus.c) so that the committed seeds are valid blocks for
 * exactly this state: a receiver whose rx log holds FZ_HISTORY_LEN bytes of
 * deterministic history (more than its capacity, so the lower bound is above
 * 0) and whose tx log holds FZ_REVERSE_LEN bytes it sent back. Everything is
 * derived from fixed seeds; nothing here depends on time or the machine.
 */
#ifndef PFS_FUZZ_SETUP_H
#define PFS_FUZZ_SETUP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "codec.h"
#include "error.h"
#include "../dataplane/test_rand.h"

#define FZ_LOG_CAP (UINT64_C(1) << 20)
#define FZ_HISTORY_LEN (1280u * 1024) /* rx log: lower = 256 KiB, contig = 1.25 MiB */
#define FZ_REVERSE_LEN (128u * 1024)  /* tx log: [0, 128 KiB) */

static void fz_config(struct pfs_codec_config *cfg)
{
	pfs_codec_config_default(cfg);
	cfg->block_max = 256 * 1024;
	cfg->lit_max = 64 * 1024;
}

static int fz_keys(struct pfs_codec_keys *keys)
{
	uint8_t pair_key[PFS_PAIR_KEY_BYTES];

	for (int i = 0; i < PFS_PAIR_KEY_BYTES; i++)
		pair_key[i] = (uint8_t)(0xf0 ^ i);
	return pfs_keys_derive(keys, pair_key);
}

/* Text-like bytes from the fuzz world's own small vocabulary (the committed
 * corpus points into history made of it), drawn with the stream *s. */
static void fz_text(uint64_t *s, uint8_t *p, size_t n)
{
	static const char *const w[] = { "block ",  "pointer ", "offset ", "the ",  "log ",
					 "ack ",    "frame ",	"if (",	   ") {\n", "}\n",
					 "return ", "= ",	"0;\n" };

	fill_words(s, w, sizeof(w) / sizeof(w[0]), p, n);
}

/* Segments of 64 KiB in turn: a short pattern, text, random bytes, and
 * random bytes with copies of earlier segments. */
static void fz_fill(uint64_t seed, uint8_t *p, size_t n)
{
	uint64_t s = seed;

	for (size_t seg = 0; seg * 65536 < n; seg++) {
		size_t at = seg * 65536, len = n - at < 65536 ? n - at : 65536;
		switch (seg % 4) {
		case 0:
			for (size_t i = 0; i < len; i++)
				p[at + i] = (uint8_t)("PacketFS pattern "[(at + i) % 17]);
			break;
		case 1:
			fz_text(&s, p + at, len);
			break;
		default:
			for (size_t i = 0; i < len; i++)
				p[at + i] = (uint8_t)rnd_next(&s);
			if (seg % 4 == 3 && at >= 4 * 65536 && len >= 4096)
				memcpy(p + at + 1000, p + at - 3 * 65536, len / 2);
		}
	}
}

static void fz_history(uint8_t *p)
{
	fz_fill(0x4849535430524e47, p, FZ_HISTORY_LEN);
}

static void fz_reverse(uint8_t *p)
{
	fz_fill(0x5245564552534531, p, FZ_REVERSE_LEN);
}

static struct pfs_log *fz_log(void)
{
	struct pfs_log_config lc = { .capacity = FZ_LOG_CAP, .huge = PFS_HUGE_NEVER, .epoch = 1 };
	struct pfs_log *log = NULL;
	char err[256];

	if (pfs_log_open(&log, &lc, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz setup: %s\n", err);
		return NULL;
	}
	return log;
}

/* Writes p[0, n) at offset 0 of an empty log, in pieces no larger than it. */
static int fz_write(struct pfs_log *log, const uint8_t *p, size_t n)
{
	for (size_t at = 0; at < n; at += FZ_LOG_CAP) {
		size_t k = n - at < FZ_LOG_CAP ? n - at : FZ_LOG_CAP;
		int rc = pfs_log_write_at(log, at, p + at, k);
		if (rc)
			return rc;
	}
	return 0;
}

struct fz_receiver {
	struct pfs_codec_config cfg;
	struct pfs_codec_keys keys;
	struct pfs_log *rx, *tx;
	struct pfs_index rx_index;
	struct pfs_decoder *dec;
};

/* The receiver the fuzz target decodes into (rx indexing on). */
static int fz_receiver_open(struct fz_receiver *r)
{
	uint8_t *buf = malloc(FZ_HISTORY_LEN);
	int rc = -1;

	memset(r, 0, sizeof(*r));
	fz_config(&r->cfg);
	if (!buf || fz_keys(&r->keys) || !(r->rx = fz_log()) || !(r->tx = fz_log()))
		goto out;
	fz_history(buf);
	if (fz_write(r->rx, buf, FZ_HISTORY_LEN))
		goto out;
	fz_reverse(buf);
	if (pfs_log_append(r->tx, buf, FZ_REVERSE_LEN, NULL))
		goto out;
	if (pfs_index_init(&r->rx_index, pfs_index_bytes_for(FZ_LOG_CAP, r->cfg.avg_chunk)))
		goto out;
	rc = pfs_decoder_new(&r->dec, &r->cfg, r->rx, r->tx, &r->keys, &r->rx_index);
out:
	free(buf);
	return rc;
}

/* Sets the length field to len and recomputes the checksum (block.h):
 * XXH3-64 of bytes [16, len) seeded with bytes [0, 8) as a LE u64. */
static void fz_reseal(uint8_t *blk, size_t len)
{
	uint64_t seed = 0, sum;

	for (int i = 0; i < 4; i++)
		blk[4 + i] = (uint8_t)(len >> (8 * i));
	for (int i = 7; i >= 0; i--)
		seed = seed << 8 | blk[i];
	sum = XXH3_64bits_withSeed(blk + 16, len - 16, seed);
	for (int i = 0; i < 8; i++)
		blk[8 + i] = (uint8_t)(sum >> (8 * i));
}

#endif
