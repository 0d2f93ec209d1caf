/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "block.h"
#include "chunker.h"
#include "error.h"
#include "varint.h"

void pfs_codec_config_default(struct pfs_codec_config *cfg)
{
	*cfg = (struct pfs_codec_config){
		.block_max = 4u << 20,
		.lit_max = 128u << 10,
		.avg_chunk = 256,
		.chunk_level = 0,
		.min_match = 48,
		.level = 3,
		.sparse_level = 9,
		.prefix_max = 0,
		.margin = 0,
	};
}

int pfs_codec_config_check(const struct pfs_codec_config *cfg, uint64_t log_capacity, char *err,
			   size_t errlen)
{
	if (cfg->block_max < 1024 || cfg->block_max > PFS_BLOCK_OUT_MAX) {
		snprintf(err, errlen, "block size %u bytes is out of range (1 KiB .. %u bytes)",
			 cfg->block_max, PFS_BLOCK_OUT_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->lit_max < 1024 || cfg->lit_max > PFS_BLOCK_LIT_MAX ||
	    cfg->lit_max > cfg->block_max) {
		snprintf(err, errlen,
			 "literal bytes per block %u is out of range (1 KiB .. min(%u, block size))",
			 cfg->lit_max, PFS_BLOCK_LIT_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->avg_chunk < PFS_CHUNK_AVG_MIN || cfg->avg_chunk > PFS_CHUNK_AVG_MAX ||
	    (cfg->avg_chunk & (cfg->avg_chunk - 1))) {
		snprintf(err, errlen,
			 "average chunk size %u bytes must be a power of two in %u .. %u",
			 cfg->avg_chunk, PFS_CHUNK_AVG_MIN, PFS_CHUNK_AVG_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->chunk_level > PFS_CHUNK_LEVEL_MAX) {
		snprintf(err, errlen, "chunk normalization level %u is out of range (0 .. %u)",
			 cfg->chunk_level, PFS_CHUNK_LEVEL_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->min_match < PFS_MATCH_MIN_SPEC || cfg->min_match > 65536) {
		snprintf(err, errlen, "minimum match %u bytes is out of range (%u .. 65536)",
			 cfg->min_match, PFS_MATCH_MIN_SPEC);
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->level < 0 || cfg->level > ZSTD_maxCLevel()) {
		snprintf(err, errlen, "zstd level %d is out of range (0 = off, 1 .. %d)", cfg->level,
			 ZSTD_maxCLevel());
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->sparse_level < 0 || cfg->sparse_level > ZSTD_maxCLevel()) {
		snprintf(err, errlen, "sparse zstd level %d is out of range (0 .. %d)",
			 cfg->sparse_level, ZSTD_maxCLevel());
		return PFS_ERR_INVALID_ARG;
	}
	if (cfg->prefix_max > PFS_BLOCK_DICT_MAX) {
		snprintf(err, errlen, "compression prefix %u bytes exceeds %u", cfg->prefix_max,
			 PFS_BLOCK_DICT_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	/* A block's literals plus the margin must fit the log, or appending one
	 * block could evict bytes a pointer of the same block names. */
	if (cfg->margin >= log_capacity || log_capacity - cfg->margin < 2ull * cfg->block_max) {
		snprintf(err, errlen,
			 "log capacity %llu bytes is too small for blocks of %u bytes with a "
			 "pointer margin of %llu bytes (need capacity >= margin + 2 x block)",
			 (unsigned long long)log_capacity, cfg->block_max,
			 (unsigned long long)cfg->margin);
		return PFS_ERR_INVALID_ARG;
	}
	return 0;
}

size_t pfs_block_bound(const struct pfs_codec_config *cfg)
{
	/* header + every op at its longest + raw literals + checks; the encoder
	 * falls back to raw sections, so compression never makes it larger. */
	return PFS_BLOCK_HEADER_MAX + (size_t)pfs_block_max_ops(cfg->block_max) *
					      (PFS_OP_MAX_BYTES + PFS_CHECK_BYTES) +
	       cfg->lit_max;
}

static uint64_t checksum(const uint8_t *blk, size_t len)
{
	return XXH3_64bits_withSeed(blk + PFS_BLOCK_FIXED_BYTES, len - PFS_BLOCK_FIXED_BYTES,
				    pfs_get_le64(blk));
}

void pfs_block_seal(uint8_t *blk, uint32_t len, uint32_t flags)
{
	blk[0] = PFS_BLOCK_MAGIC;
	blk[1] = PFS_BLOCK_VERSION;
	blk[2] = (uint8_t)flags;
	blk[3] = 0;
	pfs_put_le32(blk + 4, len);
	pfs_put_le64(blk + 8, checksum(blk, len));
}

size_t pfs_block_put_header(uint8_t *p, const struct pfs_block_info *in, uint32_t ops_raw_len)
{
	size_t n = 0;

	n += pfs_varint_put(p + n, in->stream_id);
	n += pfs_varint_put(p + n, in->stream_off);
	n += pfs_varint_put(p + n, in->out_len);
	n += pfs_varint_put(p + n, in->log_off);
	n += pfs_varint_put(p + n, in->lit_len);
	n += pfs_varint_put(p + n, in->lit_enc_len);
	n += pfs_varint_put(p + n, in->n_ops);
	n += pfs_varint_put(p + n, in->ops_len);
	if (in->flags & PFS_BLOCK_OPS_ZSTD)
		n += pfs_varint_put(p + n, ops_raw_len);
	if (in->flags & PFS_BLOCK_PREFIX) {
		n += pfs_varint_put(p + n, in->prefix_off);
		n += pfs_varint_put(p + n, in->prefix_len);
	}
	if (in->flags & PFS_BLOCK_GAPDICT) {
		n += pfs_varint_put(p + n, in->log_off - in->dict_hi);
		n += pfs_varint_put(p + n, in->dict_hi - in->dict_lo);
	}
	return n;
}

/* Reads a varint that must not exceed max. */
static uint64_t read_bounded(struct pfs_reader *r, uint64_t max)
{
	uint64_t v = pfs_read_varint(r);

	if (v > max)
		r->bad = 1;
	return v;
}

int pfs_block_parse(const uint8_t *blk, size_t len, struct pfs_block_layout *lay)
{
	struct pfs_block_info *in = &lay->info;
	struct pfs_reader r;
	uint32_t blen, rest;

	memset(lay, 0, sizeof(*lay));
	if (len < PFS_BLOCK_FIXED_BYTES)
		return PFS_ERR_TRUNCATED;
	if (blk[0] != PFS_BLOCK_MAGIC || blk[1] != PFS_BLOCK_VERSION)
		return PFS_ERR_BAD_MAGIC;
	blen = pfs_get_le32(blk + 4);
	if (blen < PFS_BLOCK_FIXED_BYTES || blen > len)
		return PFS_ERR_TRUNCATED;
	if (blen != len)
		return PFS_ERR_MALFORMED;
	if (pfs_get_le64(blk + 8) != checksum(blk, blen))
		return PFS_ERR_CHECKSUM;
	in->flags = blk[2];
	if ((in->flags & ~PFS_BLOCK_FLAGS_ALL) || blk[3] != 0)
		return PFS_ERR_MALFORMED;

	r = (struct pfs_reader){ .p = blk, .len = blen, .pos = PFS_BLOCK_FIXED_BYTES };
	in->stream_id = pfs_read_varint(&r);
	in->stream_off = pfs_read_varint(&r);
	in->out_len = (uint32_t)read_bounded(&r, PFS_BLOCK_OUT_MAX);
	in->log_off = pfs_read_varint(&r);
	in->lit_len = (uint32_t)read_bounded(&r, in->out_len < PFS_BLOCK_LIT_MAX ? in->out_len
										 : PFS_BLOCK_LIT_MAX);
	in->lit_enc_len = (uint32_t)read_bounded(&r, blen);
	in->n_ops = (uint32_t)read_bounded(&r, pfs_block_max_ops(in->out_len));
	in->ops_len = (uint32_t)read_bounded(&r, blen);
	lay->ops_raw_len = in->ops_len;
	if (in->flags & PFS_BLOCK_OPS_ZSTD)
		lay->ops_raw_len = (uint32_t)read_bounded(&r, (uint64_t)in->n_ops * PFS_OP_MAX_BYTES);
	if (in->flags & PFS_BLOCK_PREFIX) {
		in->prefix_off = pfs_read_varint(&r);
		in->prefix_len = (uint32_t)read_bounded(&r, PFS_BLOCK_DICT_MAX);
		if (in->prefix_len == 0)
			r.bad = 1;
	}
	if (in->flags & PFS_BLOCK_GAPDICT) {
		uint64_t below = read_bounded(&r, in->log_off);
		in->dict_hi = in->log_off - below;
		in->dict_lo = in->dict_hi - read_bounded(&r, in->dict_hi);
	}
	if ((in->flags & (PFS_BLOCK_PREFIX | PFS_BLOCK_GAPDICT)) && !(in->flags & PFS_BLOCK_LIT_ZSTD))
		r.bad = 1;
	if (r.bad)
		return PFS_ERR_LIMIT;
	if (in->stream_off + in->out_len < in->stream_off || in->log_off + in->out_len < in->log_off)
		return PFS_ERR_LIMIT;
	/* a block that writes its output to the log must have something to say
	 * beyond one pointer; the sender never marks literal-only blocks */
	if ((in->flags & PFS_BLOCK_MATERIAL) && (in->out_len == 0 || in->lit_len == in->out_len))
		return PFS_ERR_MALFORMED;
	if ((in->flags & PFS_BLOCK_NOLOG) && (in->flags & PFS_BLOCK_MATERIAL))
		return PFS_ERR_MALFORMED;

	in->header_len = (uint32_t)r.pos;
	rest = blen - in->header_len;
	if ((uint64_t)in->ops_len + in->lit_enc_len > rest)
		return PFS_ERR_TRUNCATED;
	in->checks_len = rest - in->ops_len - in->lit_enc_len;
	if (in->checks_len % PFS_CHECK_BYTES)
		return PFS_ERR_MALFORMED;
	in->n_ptrs = in->checks_len / PFS_CHECK_BYTES;
	if (in->n_ptrs > in->n_ops)
		return PFS_ERR_MALFORMED;
	if (!(in->flags & PFS_BLOCK_LIT_ZSTD) && in->lit_enc_len != in->lit_len)
		return PFS_ERR_MALFORMED;
	if (!(in->flags & PFS_BLOCK_OPS_ZSTD) && lay->ops_raw_len != in->ops_len)
		return PFS_ERR_MALFORMED;
	in->block_len = blen;
	lay->ops = blk + in->header_len;
	lay->lit = lay->ops + in->ops_len;
	lay->checks = lay->lit + in->lit_enc_len;
	return 0;
}

/* Appends log[off, off + len) to the dictionary, within cap. */
static long dict_add(struct pfs_log *log, uint64_t off, uint64_t len, uint8_t *dict, size_t n,
		     size_t cap)
{
	if (len > cap - n)
		len = cap - n;
	if (!log || !pfs_log_readable(log, off, len))
		return PFS_ERR_POINTER_RANGE;
	pfs_log_read(log, off, dict + n, (size_t)len);
	return (long)(n + len);
}

struct dict_builder {
	const struct pfs_block_info *info;
	struct pfs_log *log;
	uint8_t *dict;
	size_t cap;
	long n;
	uint64_t last_lo, last_hi; /* the range added last, to skip overlaps */
};

static void dict_window(struct dict_builder *d, uint64_t lo, uint64_t hi)
{
	if (lo < d->info->dict_lo)
		lo = d->info->dict_lo;
	if (hi > d->info->dict_hi)
		hi = d->info->dict_hi;
	if (lo >= d->last_lo && lo < d->last_hi)
		lo = d->last_hi; /* runs close together: do not repeat bytes */
	if (lo >= hi || d->n < 0 || (size_t)d->n >= d->cap)
		return;
	d->n = dict_add(d->log, lo, hi - lo, d->dict, (size_t)d->n, d->cap);
	d->last_lo = lo;
	d->last_hi = hi;
}

long pfs_block_dict(const struct pfs_block_info *info, const struct pfs_op *ops, size_t nops,
		    struct pfs_log *const logs[2], uint8_t *dict, size_t cap)
{
	struct dict_builder d = { .info = info, .log = logs[0], .dict = dict, .cap = cap };

	if (info->flags & PFS_BLOCK_PREFIX)
		d.n = dict_add(logs[0], info->prefix_off, info->prefix_len, dict, 0, cap);
	if (!(info->flags & PFS_BLOCK_GAPDICT))
		return d.n;
	for (size_t i = 0; i < nops; i++) {
		const struct pfs_op *op = &ops[i];
		/* the bytes an edit replaced are as long as the edit, give or take */
		uint64_t w = 2 * (uint64_t)op->lit_len + 256;

		if (op->lit_len == 0)
			continue;
		if (i > 0 && ops[i - 1].log == PFS_LOG_SENDER_TX) {
			uint64_t end = ops[i - 1].off + ops[i - 1].match_len;
			dict_window(&d, end, end + w);
		}
		if (op->match_len && op->log == PFS_LOG_SENDER_TX)
			dict_window(&d, op->off > w ? op->off - w : 0, op->off);
	}
	return d.n;
}

void pfs_index_anchors(struct pfs_index *ix, const struct pfs_chunker *chunker,
		       const struct pfs_codec_keys *keys, const uint8_t *buf, size_t len,
		       uint64_t base)
{
	for (size_t a = 0; len - a >= PFS_ANCHOR_WINDOW;) {
		pfs_index_insert(ix, pfs_fingerprint(keys, buf + a, PFS_ANCHOR_WINDOW), base + a);
		a += pfs_chunker_next(chunker, buf + a, len - a);
	}
}

int pfs_block_peek(const uint8_t *blk, size_t len, struct pfs_block_info *info)
{
	struct pfs_block_layout lay;
	int rc = pfs_block_parse(blk, len, &lay);

	if (rc == 0 && info)
		*info = lay.info;
	return rc;
}
