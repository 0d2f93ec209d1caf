/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decoder: applies one block on its own (DESIGN §3.3). Everything is checked
 * before it is used: framing and checksum (block.c), then every op against the
 * bytes present and the receiver's valid window, every pointer against its
 * check. Only when the whole block has decoded is the rx log written (its
 * literals, or its whole output for MATERIAL blocks), so a bad block changes
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "block.h"
#include "chunker.h"
#include "compiler.h"
#include "error.h"
#include "varint.h"

struct pfs_decoder {
	uint32_t block_max;
	struct pfs_log *log[2];
	const struct pfs_codec_keys *keys;
	struct pfs_index *rx_index;
	struct pfs_chunker chunker;
	ZSTD_DCtx *zd;
	uint8_t *ops;  /* decompressed op section */
	uint8_t *dict; /* dictionary for the literals, literals decompressed behind it */
	struct pfs_op *op; /* parsed ops */
};

int pfs_decoder_new(struct pfs_decoder **out, const struct pfs_codec_config *cfg,
		    struct pfs_log *rx, struct pfs_log *tx, const struct pfs_codec_keys *keys,
		    struct pfs_index *rx_index)
{
	uint32_t block_max = cfg->block_max;
	struct pfs_decoder *dec;

	if (!rx || block_max == 0 || block_max > PFS_BLOCK_OUT_MAX || (!keys != !rx_index))
		return PFS_ERR_INVALID_ARG;
	dec = calloc(1, sizeof(*dec));
	if (!dec)
		return PFS_ERR_NOMEM;
	dec->block_max = block_max;
	dec->log[0] = rx;
	dec->log[1] = tx;
	dec->keys = keys;
	dec->rx_index = rx_index;
	if (keys && pfs_chunker_init(&dec->chunker, keys->gear, cfg->avg_chunk, cfg->chunk_level)) {
		free(dec);
		return PFS_ERR_INVALID_ARG;
	}
	dec->zd = ZSTD_createDCtx();
	dec->ops = malloc((size_t)pfs_block_max_ops(block_max) * PFS_OP_MAX_BYTES);
	dec->op = malloc((size_t)pfs_block_max_ops(block_max) * sizeof(*dec->op));
	dec->dict = malloc(PFS_BLOCK_DICT_MAX + PFS_BLOCK_LIT_MAX);
	if (!dec->zd || !dec->ops || !dec->op || !dec->dict) {
		pfs_decoder_free(dec);
		return PFS_ERR_NOMEM;
	}
	*out = dec;
	return 0;
}

void pfs_decoder_free(struct pfs_decoder *dec)
{
	if (!dec)
		return;
	ZSTD_freeDCtx(dec->zd);
	free(dec->ops);
	free(dec->op);
	free(dec->dict);
	free(dec);
}

/* Decompresses exactly want bytes into dst; 0 or PFS_ERR_DECOMPRESS. */
static int inflate(struct pfs_decoder *dec, uint8_t *dst, size_t want, const uint8_t *src,
		   size_t len, const uint8_t *prefix, size_t prefix_len)
{
	size_t r;

	ZSTD_DCtx_reset(dec->zd, ZSTD_reset_session_only);
	if (prefix_len && ZSTD_isError(ZSTD_DCtx_refPrefix(dec->zd, prefix, prefix_len)))
		return PFS_ERR_DECOMPRESS;
	r = ZSTD_decompressDCtx(dec->zd, dst, want, src, len);
	if (ZSTD_isError(r) || r != want)
		return PFS_ERR_DECOMPRESS;
	return 0;
}

/*
 * Parses the op section into dec->op: lengths against the block's totals,
 * pointer offsets from their delta coding. Pointers are checked against the
 * logs later, in apply_ops.
 */
static int parse_ops(struct pfs_decoder *dec, const struct pfs_block_layout *lay,
		     const uint8_t *ops)
{
	const struct pfs_block_info *in = &lay->info;
	struct pfs_reader r = { .p = ops, .len = lay->ops_raw_len };
	uint64_t out_pos = 0, lit_pos = 0, delta[2] = { 0, 0 };
	uint32_t ptr = 0;

	for (uint32_t i = 0; i < in->n_ops; i++) {
		struct pfs_op *op = &dec->op[i];
		uint64_t lit_len = pfs_read_varint(&r), match_len = pfs_read_varint(&r);

		if (unlikely(r.bad) || lit_len > in->lit_len - lit_pos ||
		    lit_len > in->out_len - out_pos)
			return PFS_ERR_MALFORMED;
		out_pos += lit_len;
		lit_pos += lit_len;
		*op = (struct pfs_op){ .lit_len = (uint32_t)lit_len };
		if (match_len == 0) {
			/* only the final op may be literals alone */
			if (i + 1 != in->n_ops || lit_len == 0)
				return PFS_ERR_MALFORMED;
			continue;
		}
		uint64_t code = pfs_read_varint(&r);
		if (unlikely(r.bad) || match_len < PFS_MATCH_MIN_SPEC ||
		    match_len > in->out_len - out_pos || ptr >= in->n_ptrs)
			return PFS_ERR_MALFORMED;
		op->log = code & 1;
		op->off = out_pos + delta[op->log] + (uint64_t)pfs_unzigzag(code >> 1);
		op->match_len = (uint32_t)match_len;
		op->check = pfs_get_le32(lay->checks + (size_t)ptr * PFS_CHECK_BYTES);
		ptr++;
		delta[op->log] = op->off - out_pos;
		out_pos += match_len;
	}
	if (r.pos != r.len || ptr != in->n_ptrs || lit_pos != in->lit_len || out_pos != in->out_len)
		return PFS_ERR_MALFORMED;
	return 0;
}

static int unpack_literals(struct pfs_decoder *dec, const struct pfs_block_layout *lay,
			   const uint8_t **lit)
{
	const struct pfs_block_info *in = &lay->info;
	long dict_len;

	if (!(in->flags & PFS_BLOCK_LIT_ZSTD)) {
		*lit = lay->lit; /* raw: use in place */
		return 0;
	}
	dict_len = pfs_block_dict(in, dec->op, in->n_ops, dec->log, dec->dict, PFS_BLOCK_DICT_MAX);
	if (dict_len < 0)
		return (int)dict_len;
	/* right behind the dictionary: zstd's fast path for a contiguous prefix */
	*lit = dec->dict + dict_len;
	return inflate(dec, dec->dict + dict_len, in->lit_len, lay->lit, in->lit_enc_len, dec->dict,
		       (size_t)dict_len);
}

/* Produces the block's output: literals and pointed-to bytes, each pointer
 * checked against the receiver's window and against its check. */
static int apply_ops(struct pfs_decoder *dec, const struct pfs_block_info *in, const uint8_t *lit,
		     uint8_t *out)
{
	uint64_t out_pos = 0;

	for (uint32_t i = 0; i < in->n_ops; i++) {
		const struct pfs_op *op = &dec->op[i];
		const struct pfs_log *log = dec->log[op->log];

		memcpy(out + out_pos, lit, op->lit_len);
		lit += op->lit_len;
		out_pos += op->lit_len;
		if (op->match_len == 0)
			continue;
		if (!log || !pfs_log_readable(log, op->off, op->match_len))
			return PFS_ERR_POINTER_RANGE;
		pfs_log_read(log, op->off, out + out_pos, op->match_len);
		if ((uint32_t)XXH3_64bits(out + out_pos, op->match_len) != op->check)
			return PFS_ERR_POINTER_CHECK;
		out_pos += op->match_len;
	}
	return 0;
}

int pfs_decoder_decode(struct pfs_decoder *dec, const uint8_t *blk, size_t len, uint8_t *out,
		       size_t out_cap, struct pfs_block_info *info)
{
	struct pfs_block_layout lay;
	const uint8_t *lit = NULL, *ops;
	int rc;

	rc = pfs_block_parse(blk, len, &lay);
	if (rc)
		return rc;
	if (lay.info.out_len > dec->block_max)
		return PFS_ERR_LIMIT;
	if (out_cap < lay.info.out_len)
		return PFS_ERR_BUF_TOO_SMALL;
	/* implied by parse's bound and out_len <= block_max, but it is what keeps
	 * dec->op and dec->ops in bounds, so it stays beside them */
	if (lay.info.n_ops > pfs_block_max_ops(dec->block_max))
		return PFS_ERR_LIMIT;
	ops = lay.ops;
	if (lay.info.flags & PFS_BLOCK_OPS_ZSTD) {
		rc = inflate(dec, dec->ops, lay.ops_raw_len, lay.ops, lay.info.ops_len, NULL, 0);
		if (rc)
			return rc;
		ops = dec->ops;
	}
	rc = parse_ops(dec, &lay, ops);
	if (!rc)
		rc = unpack_literals(dec, &lay, &lit);
	if (!rc)
		rc = apply_ops(dec, &lay.info, lit, out);
	if (rc)
		return rc;
	/* the same bytes at the same offset as the sender's tx log */
	const uint8_t *logged = lay.info.flags & PFS_BLOCK_MATERIAL ? out : lit;
	uint32_t logged_len = lay.info.flags & PFS_BLOCK_MATERIAL ? lay.info.out_len
								  : lay.info.lit_len;
	if (lay.info.flags & PFS_BLOCK_NOLOG)
		logged_len = 0;
	if (logged_len) {
		rc = pfs_log_write_at(dec->log[0], lay.info.log_off, logged, logged_len);
		if (rc)
			return rc;
		if (dec->rx_index)
			/* so the reverse direction can point at them (DESIGN §3.1) */
			pfs_index_anchors(dec->rx_index, &dec->chunker, dec->keys, logged,
					  logged_len, lay.info.log_off);
	}
	lay.info.ptr_bytes = lay.info.out_len - lay.info.lit_len;
	if (info)
		*info = lay.info;
	return 0;
}
