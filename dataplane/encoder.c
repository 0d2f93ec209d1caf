/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encoder model. A block's input is cut into content-defined chunks; the start
 * of every chunk is an anchor. At each anchor the keyed fingerprint of the next
 * PFS_ANCHOR_WINDOW bytes is looked up in the index of each log, and the candidates
 * (plus the "repeat" candidate that continues the previous pointer's alignment)
 * are extended bytewise forwards and backwards; the longest extension of at
 * least min_match bytes becomes a pointer. Bytes between pointers are literals:
 * they are gathered in one buffer and compressed with zstd when that pays.
 * Unless the block is one pointer alone, the whole block is then appended to
 * the tx log — where the receiver will write it too — and the anchors met in
 * its literals are indexed at their new log offsets, so later traffic can point
 * at them. (Bytes a pointer covered are already indexed where it pointed;
 * indexing their new copy as well measured slower and, over version chains,
 * larger: the older copy's entries are the ones that keep long matches.)
 *
 * Because matches are extended bytewise past anchors and chunk boundaries, a
 * single anchor hit covers a whole redundant region at memcmp speed, and
 * redundancy shorter than a chunk is found too. After a pointer ends at a
 * difference, the repeat candidate is probed for a few bytes further on, which
 * resynchronizes after a small substitution without waiting for an anchor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "block.h"
#include "chunker.h"
#include "compiler.h"
#include "error.h"
#include "varint.h"

#define RESYNC_PROBE 16 /* bytes past a pointer's end probed at the repeat offset */

struct anchor {
	uint64_t fp;
	uint32_t pos;
};

struct match {
	size_t start, end; /* in[start, end) == log[off, off + end - start) */
	uint64_t off;
	int log;
};

struct pfs_encoder {
	struct pfs_codec_config cfg;
	const struct pfs_codec_keys *keys;
	struct pfs_chunker chunker;
	struct pfs_log *log[2];
	struct pfs_index *index[2];
	ZSTD_CCtx *zc;
	uint8_t *lit;	  /* literals of the block being encoded */
	uint8_t *lit_enc; /* compressed literals */
	uint8_t *ops_raw; /* serialized ops */
	uint8_t *ops_enc; /* compressed ops */
	uint8_t *dict;	  /* what the literals are compressed against, then a copy
			    * of the literals right behind it (see pack_literals) */
	struct pfs_op *ops;
	struct anchor *anchors; /* anchors met in literals, in input order */
	size_t nops, nanchors, lit_len;
	/* Repeat candidate: input position p continues at log offset p + rep_delta,
	 * positions counted over everything this encoder has consumed. */
	uint64_t consumed;
	uint64_t rep_delta;
	int rep_log; /* -1: none */
};

int pfs_encoder_new(struct pfs_encoder **out, const struct pfs_codec_config *cfg,
		    const struct pfs_codec_keys *keys, struct pfs_log *tx,
		    struct pfs_index *tx_index, struct pfs_log *rx, struct pfs_index *rx_index,
		    char *err, size_t errlen)
{
	struct pfs_encoder *enc;
	size_t max_ops;
	int rc;

	if (!tx || !tx_index || !keys || (!rx != !rx_index)) {
		snprintf(err, errlen,
			 "encoder needs a tx log and index (and rx log with rx index)");
		return PFS_ERR_INVALID_ARG;
	}
	rc = pfs_codec_config_check(cfg, tx->capacity, err, errlen);
	if (rc == 0 && rx)
		rc = pfs_codec_config_check(cfg, rx->capacity, err, errlen);
	if (rc)
		return rc;
	enc = calloc(1, sizeof(*enc));
	if (!enc)
		return PFS_ERR_NOMEM;
	enc->cfg = *cfg;
	enc->keys = keys;
	enc->log[0] = tx;
	enc->log[1] = rx;
	enc->index[0] = tx_index;
	enc->index[1] = rx_index;
	enc->rep_log = -1;
	pfs_chunker_init(&enc->chunker, keys->gear, cfg->avg_chunk, cfg->chunk_level);
	max_ops = pfs_block_max_ops(cfg->block_max);
	enc->zc = ZSTD_createCCtx();
	enc->lit = malloc(cfg->lit_max);
	enc->lit_enc = malloc(ZSTD_compressBound(cfg->lit_max));
	enc->ops_raw = malloc(max_ops * PFS_OP_MAX_BYTES);
	enc->ops_enc = malloc(ZSTD_compressBound(max_ops * PFS_OP_MAX_BYTES));
	enc->ops = malloc(max_ops * sizeof(*enc->ops));
	enc->dict = malloc(PFS_BLOCK_DICT_MAX + cfg->lit_max);
	/* anchors are chunk starts inside literals: one per minimum chunk length,
	 * plus one where each pointer ends */
	enc->anchors =
		malloc((cfg->lit_max / enc->chunker.min + max_ops + 2) * sizeof(*enc->anchors));
	if (!enc->zc || !enc->lit || !enc->lit_enc || !enc->ops_raw || !enc->ops_enc || !enc->ops ||
	    !enc->dict || !enc->anchors) {
		pfs_encoder_free(enc);
		snprintf(err, errlen, "out of memory for encoder buffers (block size %u)",
			 cfg->block_max);
		return PFS_ERR_NOMEM;
	}
	*out = enc;
	return 0;
}

void pfs_encoder_free(struct pfs_encoder *enc)
{
	if (!enc)
		return;
	ZSTD_freeCCtx(enc->zc);
	free(enc->lit);
	free(enc->lit_enc);
	free(enc->ops_raw);
	free(enc->ops_enc);
	free(enc->ops);
	free(enc->dict);
	free(enc->anchors);
	free(enc);
}

/*
 * Lowest offset of a log that a pointer may name: held now, and not evicted
 * by the `margin` bytes that blocks in flight may still add at the receiver
 * before this block is applied there.
 */
static uint64_t point_floor(const struct pfs_encoder *enc, const struct pfs_log *log)
{
	uint64_t lower = pfs_log_lower(log);
	uint64_t end = log->tail + enc->cfg.margin;
	uint64_t evict = end > log->capacity ? end - log->capacity : 0;

	return evict > lower ? evict : lower;
}

/*
 * Highest offset (exclusive) a pointer into log id may reach: in the tx log,
 * what the receiver has acknowledged; in the rx log, what this end has itself
 * received and written (DESIGN §3.2).
 */
static uint64_t point_ceiling(const struct pfs_encoder *enc, int id)
{
	return id == PFS_LOG_SENDER_TX ? enc->log[id]->frontier : enc->log[id]->contig;
}

/*
 * Extends a candidate: input position a corresponds to log offset cand. Only
 * bytes in [floor, ceiling) of the log may be named, and the match may reach
 * back no further than the pending literal run (lit_start).
 */
static size_t extend(const struct pfs_encoder *enc, int id, uint64_t cand, const uint8_t *in,
		     size_t a, size_t lit_start, size_t n, struct match *m)
{
	const struct pfs_log *log = enc->log[id];
	uint64_t lo = point_floor(enc, log), hi = point_ceiling(enc, id);
	size_t fwd, back;

	if (cand < lo || cand >= hi)
		return 0;
	fwd = pfs_log_match_forward(log, cand, in + a,
				    (size_t)(hi - cand < n - a ? hi - cand : n - a));
	if (fwd == 0)
		return 0;
	back = pfs_log_match_backward(
		log, cand, in + a, (size_t)(cand - lo < a - lit_start ? cand - lo : a - lit_start));
	m->start = a - back;
	m->end = a + fwd;
	m->off = cand - back;
	m->log = id;
	return back + fwd;
}

static size_t try_repeat(const struct pfs_encoder *enc, const uint8_t *in, size_t a,
			 size_t lit_start, size_t n, struct match *m)
{
	if (enc->rep_log < 0)
		return 0;
	return extend(enc, enc->rep_log, enc->consumed + a + enc->rep_delta, in, a, lit_start, n,
		      m);
}

/* Best match at anchor a, whose fingerprint is fp, or length 0. */
static size_t find_match(const struct pfs_encoder *enc, const uint8_t *in, size_t a,
			 size_t lit_start, size_t n, uint64_t fp, struct match *best)
{
	size_t blen = try_repeat(enc, in, a, lit_start, n, best);
	uint64_t cand[PFS_INDEX_WAYS];
	struct match m;

	if (n - a < PFS_ANCHOR_WINDOW)
		return blen;
	for (int id = 0; id < 2; id++) {
		if (!enc->index[id])
			continue;
		int k = pfs_index_lookup(enc->index[id], fp, point_floor(enc, enc->log[id]), cand);
		for (int i = 0; i < k; i++) {
			size_t len = extend(enc, id, cand[i], in, a, lit_start, n, &m);
			if (len > blen) {
				blen = len;
				*best = m;
			}
		}
	}
	return blen;
}

static void take_literals(struct pfs_encoder *enc, const uint8_t *in, size_t from, size_t to)
{
	memcpy(enc->lit + enc->lit_len, in + from, to - from);
	enc->lit_len += to - from;
}

/* Indexes the literal anchors of a block the log now holds at base (their
 * buckets were prefetched when they were looked up). */
static void index_block(struct pfs_encoder *enc, uint64_t base)
{
	for (size_t i = 0; i < enc->nanchors; i++)
		pfs_index_insert(enc->index[0], enc->anchors[i].fp, base + enc->anchors[i].pos);
}

static void emit(struct pfs_encoder *enc, const uint8_t *in, size_t lit_start,
		 const struct match *m)
{
	struct pfs_op *op = &enc->ops[enc->nops++];
	size_t len = m->end - m->start;

	take_literals(enc, in, lit_start, m->start);
	op->lit_len = (uint32_t)(m->start - lit_start);
	op->match_len = (uint32_t)len;
	op->off = m->off;
	op->log = (uint8_t)m->log;
	/* the bytes are identical to the log's, so hash the contiguous input */
	op->check = (uint32_t)XXH3_64bits(in + m->start, len);
	enc->rep_log = m->log;
	enc->rep_delta = m->off - (enc->consumed + m->start);
}

/* After a pointer ends at a difference, look a few bytes further on at the
 * same alignment: a substituted byte or two should not cost a whole chunk. */
static size_t probe_resync(const struct pfs_encoder *enc, const uint8_t *in, size_t a, size_t n,
			   struct match *m)
{
	for (size_t k = 1; k <= RESYNC_PROBE && a + k < n; k++) {
		size_t len = try_repeat(enc, in, a + k, a, n, m);
		if (len >= enc->cfg.min_match)
			return len;
	}
	return 0;
}

/*
 * Finds the ops of one block over in[0, n) and returns how much input the
 * block covers: all of it, or less where lit_max literal bytes or the op limit
 * are reached.
 */
static uint64_t anchor_fp(struct pfs_encoder *enc, const uint8_t *in, size_t a, size_t n)
{
	uint64_t fp;

	if (n - a < PFS_ANCHOR_WINDOW)
		return 0;
	fp = pfs_fingerprint(enc->keys, in + a, PFS_ANCHOR_WINDOW);
	for (int id = 0; id < 2; id++)
		if (enc->index[id])
			pfs_index_prefetch(enc->index[id], fp);
	return fp;
}

static size_t find_ops(struct pfs_encoder *enc, const uint8_t *in, size_t n)
{
	size_t a = 0, lit_start = 0, max_ops = pfs_block_max_ops(enc->cfg.block_max);
	size_t next_at = SIZE_MAX, chunk;
	uint64_t fp, next_fp = 0;
	struct match m;

	while (a < n) {
		/*
		 * Find the next anchor first and start loading its index bucket,
		 * so that the cache miss overlaps this anchor's work instead of
		 * stalling the next one (wasted when this anchor matches).
		 */
		fp = a == next_at ? next_fp : anchor_fp(enc, in, a, n);
		chunk = pfs_chunker_next(&enc->chunker, in + a, n - a);
		next_at = a + chunk;
		next_fp = next_at < n ? anchor_fp(enc, in, next_at, n) : 0;
		if (find_match(enc, in, a, lit_start, n, fp, &m) >= enc->cfg.min_match &&
		    m.start - lit_start <= enc->cfg.lit_max - enc->lit_len) {
			/* anchors the match swallowed backwards are not literals */
			while (enc->nanchors && enc->anchors[enc->nanchors - 1].pos >= m.start)
				enc->nanchors--;
			do {
				emit(enc, in, lit_start, &m);
				a = lit_start = m.end;
			} while (a < n && enc->nops + 1 < max_ops &&
				 probe_resync(enc, in, a, n, &m) &&
				 m.start - lit_start <= enc->cfg.lit_max - enc->lit_len);
			if (enc->nops + 1 >= max_ops)
				return a; /* the last op slot stays free for literals */
			continue;
		}
		if (n - a >= PFS_ANCHOR_WINDOW)
			enc->anchors[enc->nanchors++] = (struct anchor){ fp, (uint32_t)a };
		a = next_at;
		if (a - lit_start >= enc->cfg.lit_max - enc->lit_len) {
			a = lit_start + (enc->cfg.lit_max - enc->lit_len);
			break;
		}
	}
	if (a > n)
		a = n;
	if (lit_start < a) {
		take_literals(enc, in, lit_start, a);
		enc->ops[enc->nops++] = (struct pfs_op){ .lit_len = (uint32_t)(a - lit_start) };
	}
	return a;
}

static size_t serialize_ops(const struct pfs_encoder *enc, uint8_t *p)
{
	uint64_t out_pos = 0, delta[2] = { 0, 0 };
	size_t n = 0;

	for (size_t i = 0; i < enc->nops; i++) {
		const struct pfs_op *op = &enc->ops[i];

		n += pfs_varint_put(p + n, op->lit_len);
		n += pfs_varint_put(p + n, op->match_len);
		out_pos += op->lit_len;
		if (op->match_len) {
			/* offsets relative to the alignment of the previous pointer
			 * into the same log: 0 when an edit only replaced bytes */
			uint64_t expect = out_pos + delta[op->log];
			n += pfs_varint_put(p + n,
					    pfs_zigzag((int64_t)(op->off - expect)) << 1 | op->log);
			delta[op->log] = op->off - out_pos;
			out_pos += op->match_len;
		}
	}
	return n;
}

/* Compresses src into dst if that saves at least 1/32 of it; returns the
 * compressed size or 0 to send src raw. */
static size_t squeeze(struct pfs_encoder *enc, int level, uint8_t *dst, size_t cap,
		      const uint8_t *src, size_t len, const uint8_t *prefix, size_t prefix_len)
{
	size_t r;

	if (level == 0 || len < 64)
		return 0;
	ZSTD_CCtx_reset(enc->zc, ZSTD_reset_session_only);
	ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(enc->zc, ZSTD_c_contentSizeFlag, 0);
	if (prefix_len)
		ZSTD_CCtx_refPrefix(enc->zc, prefix, prefix_len);
	r = ZSTD_compress2(enc->zc, dst, cap, src, len);
	if (ZSTD_isError(r) || r >= len - len / 32)
		return 0;
	return r;
}

/* The acknowledged tx-log bytes just below the frontier: recent traffic. */
static size_t choose_prefix(const struct pfs_encoder *enc, uint64_t *off)
{
	const struct pfs_log *log = enc->log[0];
	uint64_t end = log->frontier, lo = point_floor(enc, log), len = enc->cfg.prefix_max;

	if (len == 0 || end <= lo)
		return 0;
	if (len > end - lo)
		len = end - lo;
	*off = end - len;
	return (size_t)len;
}

/*
 * Compresses the block's literals against a dictionary the receiver can
 * rebuild (pfs_block_dict): recent traffic if a prefix is configured, and the
 * log bytes each literal run replaced. Sets the flags and returns the section
 * size, or 0 to send the literals raw.
 */
static size_t pack_literals(struct pfs_encoder *enc, struct pfs_block_info *bi)
{
	uint64_t prefix_off = 0;
	size_t prefix_len, r;
	long dict_len;
	int level;

	if (enc->cfg.level == 0 || enc->lit_len < 64)
		return 0;
	prefix_len = choose_prefix(enc, &prefix_off);
	if (prefix_len) {
		bi->flags |= PFS_BLOCK_PREFIX;
		bi->prefix_off = prefix_off;
		bi->prefix_len = (uint32_t)prefix_len;
	}
	bi->flags |= PFS_BLOCK_GAPDICT;
	bi->dict_hi = enc->log[0]->frontier;
	bi->dict_lo = point_floor(enc, enc->log[0]);
	if (bi->dict_lo > bi->dict_hi)
		bi->dict_lo = bi->dict_hi;
	dict_len = pfs_block_dict(bi, enc->ops, enc->nops, enc->log, enc->dict, PFS_BLOCK_DICT_MAX);
	if (dict_len < 0)
		dict_len = 0; /* cannot happen: every range lies in the window we read */
	if ((size_t)dict_len <= prefix_len) {
		bi->flags &= ~PFS_BLOCK_GAPDICT; /* nothing around the pointers: say so */
		bi->dict_lo = bi->dict_hi = 0;
	}
	/* sparse literals: their cost is spread over four times the input */
	level = (uint64_t)enc->lit_len * 4 <= bi->out_len ? enc->cfg.sparse_level : enc->cfg.level;
	/* zstd takes its fast path only when the prefix ends where the input
	 * begins; otherwise every match into the dictionary goes through its
	 * slower two-segment code (measured: a third of the encode speed) */
	memcpy(enc->dict + dict_len, enc->lit, enc->lit_len);
	r = squeeze(enc, level, enc->lit_enc, ZSTD_compressBound(enc->cfg.lit_max),
		    enc->dict + dict_len, enc->lit_len, enc->dict, (size_t)dict_len);
	if (!r) {
		bi->flags &= ~(PFS_BLOCK_PREFIX | PFS_BLOCK_GAPDICT);
		bi->prefix_off = bi->prefix_len = 0;
		bi->dict_lo = bi->dict_hi = 0;
		return 0;
	}
	bi->flags |= PFS_BLOCK_LIT_ZSTD;
	return r;
}

int pfs_encoder_encode(struct pfs_encoder *enc, uint64_t stream_id, uint64_t stream_off,
		       const uint8_t *in, size_t in_len, size_t *consumed, uint8_t *out,
		       size_t out_cap, size_t *out_len, struct pfs_block_info *info)
{
	struct pfs_log *tx = enc->log[0];
	struct pfs_block_info bi = { .stream_id = stream_id, .stream_off = stream_off };
	size_t ops_raw_len, lit_sec, ops_sec, pos;
	const uint8_t *lit_src, *ops_src;
	uint64_t log_off;
	int rc;

	if (in_len && !in)
		return PFS_ERR_INVALID_ARG;
	if (out_cap < pfs_block_bound(&enc->cfg))
		return PFS_ERR_BUF_TOO_SMALL;
	if (tx->contig != tx->tail)
		return PFS_ERR_OUT_OF_ORDER;

	enc->nops = enc->nanchors = enc->lit_len = 0;
	if (in_len > enc->cfg.block_max)
		in_len = enc->cfg.block_max;
	in_len = find_ops(enc, in, in_len);

	bi.out_len = (uint32_t)in_len;
	bi.log_off = tx->tail;
	bi.lit_len = (uint32_t)enc->lit_len;
	bi.n_ops = (uint32_t)enc->nops;
	for (size_t i = 0; i < enc->nops; i++) {
		bi.n_ptrs += enc->ops[i].match_len != 0;
		bi.ptr_bytes += enc->ops[i].match_len;
	}
	if (bi.n_ptrs && (bi.n_ptrs > 1 || bi.lit_len))
		bi.flags |= PFS_BLOCK_MATERIAL;

	/* literals */
	lit_sec = pack_literals(enc, &bi);
	lit_src = lit_sec ? enc->lit_enc : enc->lit;
	if (!lit_sec)
		lit_sec = enc->lit_len;
	bi.lit_enc_len = (uint32_t)lit_sec;

	/* ops */
	ops_raw_len = serialize_ops(enc, enc->ops_raw);
	ops_sec = ops_raw_len >= 128 ? squeeze(enc, enc->cfg.level, enc->ops_enc,
					       ZSTD_compressBound(ops_raw_len), enc->ops_raw,
					       ops_raw_len, NULL, 0) :
				       0;
	ops_src = ops_sec ? enc->ops_enc : enc->ops_raw;
	if (ops_sec)
		bi.flags |= PFS_BLOCK_OPS_ZSTD;
	else
		ops_sec = ops_raw_len;
	bi.ops_len = (uint32_t)ops_sec;

	/* assemble: fixed header, variable header, ops, literals, checks */
	pos = PFS_BLOCK_FIXED_BYTES;
	pos += pfs_block_put_header(out + pos, &bi, (uint32_t)ops_raw_len);
	bi.header_len = (uint32_t)pos;
	memcpy(out + pos, ops_src, ops_sec);
	pos += ops_sec;
	memcpy(out + pos, lit_src, lit_sec);
	pos += lit_sec;
	for (size_t i = 0; i < enc->nops; i++) {
		if (enc->ops[i].match_len) {
			pfs_put_le32(out + pos, enc->ops[i].check);
			pos += PFS_CHECK_BYTES;
		}
	}
	bi.checks_len = bi.n_ptrs * PFS_CHECK_BYTES;
	bi.block_len = (uint32_t)pos;
	pfs_block_seal(out, (uint32_t)pos, bi.flags);

	if (bi.flags & PFS_BLOCK_MATERIAL)
		rc = pfs_log_append(tx, in, in_len, &log_off);
	else
		rc = pfs_log_append(tx, enc->lit, enc->lit_len, &log_off);
	if (rc)
		return rc;
	if (bi.log_off != tx->tail)
		index_block(enc, log_off);
	enc->consumed += in_len;
	*consumed = in_len;
	*out_len = pos;
	if (info)
		*info = bi;
	return 0;
}

int pfs_encoder_encode_literal(struct pfs_encoder *enc, uint64_t stream_id, uint64_t stream_off,
			       const uint8_t *in, size_t in_len, uint64_t log_off, int logged,
			       size_t *consumed, uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct pfs_block_info bi = { .stream_id = stream_id,
				     .stream_off = stream_off,
				     .log_off = log_off };
	size_t ops_raw_len = 0, lit_sec, pos;
	const uint8_t *lit_src = in;

	if (in_len && !in)
		return PFS_ERR_INVALID_ARG;
	if (out_cap < pfs_block_bound(&enc->cfg))
		return PFS_ERR_BUF_TOO_SMALL;
	if (in_len > enc->cfg.lit_max)
		in_len = enc->cfg.lit_max;
	if (log_off + in_len < log_off)
		return PFS_ERR_INVALID_ARG;
	bi.out_len = bi.lit_len = (uint32_t)in_len;
	if (!logged)
		bi.flags |= PFS_BLOCK_NOLOG;
	if (in_len) {
		bi.n_ops = 1;
		ops_raw_len = pfs_varint_put(enc->ops_raw, in_len);
		ops_raw_len += pfs_varint_put(enc->ops_raw + ops_raw_len, 0);
	}
	/* no dictionary: the log bytes around this block are what diverged */
	lit_sec = squeeze(enc, enc->cfg.level, enc->lit_enc, ZSTD_compressBound(enc->cfg.lit_max),
			  in, in_len, NULL, 0);
	if (lit_sec) {
		bi.flags |= PFS_BLOCK_LIT_ZSTD;
		lit_src = enc->lit_enc;
	} else {
		lit_sec = in_len;
	}
	bi.lit_enc_len = (uint32_t)lit_sec;
	bi.ops_len = (uint32_t)ops_raw_len;

	pos = PFS_BLOCK_FIXED_BYTES;
	pos += pfs_block_put_header(out + pos, &bi, (uint32_t)ops_raw_len);
	memcpy(out + pos, enc->ops_raw, ops_raw_len);
	pos += ops_raw_len;
	if (lit_sec)
		memcpy(out + pos, lit_src, lit_sec);
	pos += lit_sec;
	pfs_block_seal(out, (uint32_t)pos, bi.flags);
	*consumed = in_len;
	*out_len = pos;
	return 0;
}

int pfs_codec_index_log(struct pfs_index *ix, const struct pfs_codec_config *cfg,
			const struct pfs_codec_keys *keys, const struct pfs_log *log)
{
	struct pfs_chunker chunker;
	uint64_t off = pfs_log_lower(log);

	if (pfs_chunker_init(&chunker, keys->gear, cfg->avg_chunk, cfg->chunk_level))
		return PFS_ERR_INVALID_ARG;
	/* in runs that end at the ring's physical end; anchors that would span
	 * the wrap are not found, which costs a pointer at most */
	while (off < log->contig) {
		uint64_t n = pfs_log_span(log, off);
		if (n > log->contig - off)
			n = log->contig - off;
		pfs_index_anchors(ix, &chunker, keys, pfs_log_at(log, off), (size_t)n, off);
		off += n;
	}
	return 0;
}
