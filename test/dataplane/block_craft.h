/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hand-made blocks for block_test.c: a receiver in a known state (rx log of
 * 64 KiB holding 96 KiB of known bytes, so lower = 32 KiB and contig =
 * 96 KiB; optionally a tx log of 4 KiB), a builder that writes header
 * fields, ops, literals and checks by the layout in block.h and docs/codec.md
 * - independently of block.c - and reseals the result with a correct length
 * and checksum, and a decode on a fresh receiver that also checks that a
 * refused block changed neither log.
 */
#ifndef PFS_BLOCK_CRAFT_H
#define PFS_BLOCK_CRAFT_H

#include "block.h"
#include "codec_fixture.h"
#include "varint.h"

/* ---- a receiver in a known state ------------------------------------------------- */

#define RX_CAP (64 * KIB)
#define RX_FILL (96 * KIB) /* so lower = 32 KiB, contig = 96 KiB */

struct rx {
	struct pfs_log *rx, *tx;
	struct pfs_decoder *dec;
	uint8_t out[80 * KIB];
};

FX uint8_t rx_byte(uint64_t off)
{
	return (uint8_t)(off * 2654435761u >> 13);
}

FX int rx_open(struct rx *r, int with_tx, uint32_t block_max)
{
	struct pfs_codec_config cfg = small_config();
	static uint8_t fill[RX_FILL];

	cfg.block_max = block_max;
	memset(r, 0, offsetof(struct rx, out));
	for (uint64_t i = 0; i < RX_FILL; i++)
		fill[i] = rx_byte(i);
	if (!(r->rx = open_log(RX_CAP)) || pfs_log_write_at(r->rx, 0, fill, 64 * KIB) ||
	    pfs_log_write_at(r->rx, 64 * KIB, fill + 64 * KIB, RX_FILL - 64 * KIB))
		return -1;
	if (with_tx && (!(r->tx = open_log(RX_CAP)) || pfs_log_append(r->tx, fill, 4096, NULL)))
		return -1;
	return pfs_decoder_new(&r->dec, &cfg, r->rx, r->tx, NULL, NULL);
}

FX void rx_close(struct rx *r)
{
	pfs_decoder_free(r->dec);
	pfs_log_close(r->rx);
	pfs_log_close(r->tx);
}

/* ---- hand-made blocks ---------------------------------------------------------- */

enum {
	F_STREAM_ID,
	F_STREAM_OFF,
	F_OUT_LEN,
	F_LOG_OFF,
	F_LIT_LEN,
	F_LIT_ENC_LEN,
	F_N_OPS,
	F_OPS_LEN,
	F_OPS_RAW_LEN,
	F_PREFIX_OFF,
	F_PREFIX_LEN,
	F_DICT_BELOW,
	F_DICT_SPAN,
	F_COUNT
};

struct craft {
	uint8_t flags;
	uint64_t f[F_COUNT];
	int overlong; /* header field written in an overlong form, or -1 */
	uint8_t ops[512], lit[8 * KIB], checks[256];
	size_t ops_n, lit_n, checks_n;
	uint64_t out_pos, delta[2];
	uint32_t n_ops;
};

/* The same value with one redundant zero group: must be refused. */
FX size_t put_var_overlong(uint8_t *p, uint64_t v)
{
	size_t n = pfs_varint_put(p, v);

	p[n - 1] |= 0x80;
	p[n++] = 0;
	return n;
}

/*
 * Writes length and checksum as block.h specifies; bytes 0..3 as they are.
 * Deliberately not pfs_block_seal(): craft_emit() builds blocks from the
 * documented layout independently of block.c (the handmade-valid-block test
 * checks that rule itself against the decoder), and tests of a wrong magic,
 * version or reserved byte need those bytes kept, which pfs_block_seal()
 * overwrites. Where a test only needs a correctly sealed block it calls
 * pfs_block_seal().
 */
FX void reseal(uint8_t *blk, size_t len)
{
	pfs_put_le32(blk + 4, (uint32_t)len);
	pfs_put_le64(blk + 8, XXH3_64bits_withSeed(blk + 16, len - 16, pfs_get_le64(blk)));
}

FX void craft_init(struct craft *c, uint64_t log_off)
{
	memset(c, 0, sizeof(*c));
	c->f[F_LOG_OFF] = log_off;
	c->f[F_STREAM_ID] = 3;
	c->f[F_STREAM_OFF] = 1000;
	c->overlong = -1;
}

FX void craft_lits(struct craft *c, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		c->lit[c->lit_n++] = (uint8_t)(seed + i * 7);
	c->out_pos += n;
}

/* An op: n literal bytes, then (len > 0) a pointer into log `log` at off. */
FX void craft_op(struct craft *c, size_t n, uint8_t seed, int log, uint64_t off, uint32_t len,
		 uint32_t check)
{
	c->ops_n += pfs_varint_put(c->ops + c->ops_n, n);
	c->ops_n += pfs_varint_put(c->ops + c->ops_n, len);
	craft_lits(c, n, seed);
	c->n_ops++;
	if (len == 0)
		return;
	int64_t d = (int64_t)(off - (c->out_pos + c->delta[log]));
	c->ops_n += pfs_varint_put(c->ops + c->ops_n, pfs_zigzag(d) << 1 | (uint64_t)log);
	c->delta[log] = off - c->out_pos;
	c->out_pos += len;
	pfs_put_le32(c->checks + c->checks_n, check);
	c->checks_n += 4;
}

/* Check of the known bytes [off, off + len) (rx_byte; the tx log holds the
 * first 4 KiB of the same bytes). */
FX uint32_t rx_check(uint64_t off, uint32_t len)
{
	static uint8_t tmp[RX_CAP];

	for (uint32_t i = 0; i < len; i++)
		tmp[i] = rx_byte(off + i);
	return (uint32_t)XXH3_64bits(tmp, len);
}

/* Sets the header fields that follow from the sections built so far. */
FX void craft_finish(struct craft *c)
{
	c->f[F_OUT_LEN] = c->out_pos;
	c->f[F_LIT_LEN] = c->f[F_LIT_ENC_LEN] = c->lit_n;
	c->f[F_N_OPS] = c->n_ops;
	c->f[F_OPS_LEN] = c->f[F_OPS_RAW_LEN] = c->ops_n;
}

FX size_t craft_emit(const struct craft *c, uint8_t *blk)
{
	size_t n = 16;

	for (int i = 0; i < F_COUNT; i++) {
		if (i == F_OPS_RAW_LEN && !(c->flags & PFS_BLOCK_OPS_ZSTD))
			continue;
		if ((i == F_PREFIX_OFF || i == F_PREFIX_LEN) && !(c->flags & PFS_BLOCK_PREFIX))
			continue;
		if (i >= F_DICT_BELOW && !(c->flags & PFS_BLOCK_GAPDICT))
			continue;
		n += (i == c->overlong ? put_var_overlong : pfs_varint_put)(blk + n, c->f[i]);
	}
	memcpy(blk + n, c->ops, c->ops_n);
	n += c->ops_n;
	memcpy(blk + n, c->lit, c->lit_n);
	n += c->lit_n;
	memcpy(blk + n, c->checks, c->checks_n);
	n += c->checks_n;
	blk[0] = PFS_BLOCK_MAGIC;
	blk[1] = PFS_BLOCK_VERSION;
	blk[2] = c->flags;
	blk[3] = 0;
	reseal(blk, n);
	return n;
}

/* A valid block for struct rx: 100 literal bytes, a 200-byte pointer into
 * the rx log's readable window, 50 literal bytes. */
FX void craft_valid(struct craft *c)
{
	craft_init(c, RX_FILL);
	craft_op(c, 100, 1, 0, 40 * KIB, 200, rx_check(40 * KIB, 200));
	craft_op(c, 50, 2, 0, 0, 0, 0);
	craft_finish(c);
}

static uint8_t blk_buf[160 * KIB], blk_copy[160 * KIB];

/* Decodes blk on a fresh receiver: the result must be `want`, and on error
 * neither log may change. */
FX int decode_on_fresh(const uint8_t *blk, size_t len, int with_tx, uint32_t block_max,
		       size_t out_cap)
{
	struct rx r;
	struct log_snap srx, stx;
	int rc;

	if (rx_open(&r, with_tx, block_max) != 0)
		return 1;
	log_snap(r.rx, &srx);
	log_snap(r.tx, &stx);
	rc = pfs_decoder_decode(r.dec, blk, len, r.out, out_cap, NULL);
	if (rc != 0 && (!log_unchanged(r.rx, &srx) || !log_unchanged(r.tx, &stx))) {
		fprintf(stderr, "%s changed the log\n", pfs_errname(rc));
		rc = 1;
	}
	rx_close(&r);
	return rc;
}

FX int decode_craft(const struct craft *c)
{
	size_t len = craft_emit(c, blk_buf);

	return decode_on_fresh(blk_buf, len, 0, 64 * KIB, 80 * KIB);
}

#endif
