/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared fixture of the codec tests (block_test.c, codec_test.c): data
 * generators on test_rand.h's seeded PRNG, mutators (edits of a stream,
 * corruptions of a block), peers with both logs, an encoder and a decoder,
 * a stream sender that checks every block, log snapshots, and a reader of a
 * block's op section written from docs (block.h's layout), independent of
 * the decoder, to inspect where pointers point.
 */
#ifndef PFS_CODEC_FIXTURE_H
#define PFS_CODEC_FIXTURE_H

#include <inttypes.h>
#include <stdint.h>

#include <xxhash.h>
#include <zstd.h>

#include "codec.h"
#include "error.h"
#include "harness.h"
#include "test_rand.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* not every test file uses every helper */
#define FX static __attribute__((unused))

/* ---- seeded data (rng_seed, rnd, fill_random, fill_text: test_rand.h) ---------- */

/* Random runs, each either new bytes or a copy of earlier bytes from up to
 * max_dist back: redundancy at random distances. */
FX void fill_repeats(uint8_t *p, size_t n, size_t max_dist)
{
	size_t i = 0;

	while (i < n) {
		size_t run = 64 + rnd_below(16 * KIB);
		if (run > n - i)
			run = n - i;
		if (i > 4096 && rnd_below(3)) {
			size_t d = 1 + rnd_below(i < max_dist ? i : max_dist);
			for (size_t k = 0; k < run; k++) /* may overlap: byte by byte */
				p[i + k] = p[i + k - d];
		} else {
			fill_random(p + i, run);
		}
		i += run;
	}
}

/* ---- mutations ------------------------------------------------------------------ */

/* Applies n_edits random substitutions, insertions and deletions of up to
 * 64 bytes; returns the new length (dst holds up to n + 64 * n_edits). */
FX size_t edit(const uint8_t *src, size_t n, uint8_t *dst, int n_edits)
{
	size_t step = n / (size_t)n_edits, si = 0, di = 0;

	for (int e = 0; e < n_edits; e++) {
		size_t at = (size_t)e * step + rnd_below(step / 2), k = 1 + rnd_below(64);
		memcpy(dst + di, src + si, at - si);
		di += at - si;
		si = at;
		switch (rnd_below(3)) {
		case 0: /* substitute */
			fill_random(dst + di, k);
			di += k;
			si += k;
			break;
		case 1: /* insert */
			fill_random(dst + di, k);
			di += k;
			break;
		default: /* delete */
			si += k;
		}
	}
	memcpy(dst + di, src + si, n - si);
	return di + n - si;
}

/* A corrupted copy of blk (kind 0..4) in dst; 0 if it equals an input. */
FX size_t corrupt(int kind, const uint8_t *blk, size_t len, const uint8_t *other, size_t olen,
		  uint8_t *dst)
{
	size_t n = len, cut;

	memcpy(dst, blk, len);
	switch (kind) {
	case 0: /* a few random byte overwrites */
		for (uint64_t k = 1 + rnd_below(4); k > 0; k--)
			dst[rnd_below(len)] = (uint8_t)rnd();
		break;
	case 1: /* one or two bit flips */
		dst[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
		dst[rnd_below(len)] ^= (uint8_t)(rnd_below(2) << rnd_below(8));
		break;
	case 2: /* truncation */
		n = rnd_below(len);
		break;
	case 3: /* head of this block, tail of another */
		cut = 1 + rnd_below(len - 1);
		if (olen <= cut)
			return 0;
		memcpy(dst + cut, other + cut, olen - cut);
		n = olen;
		break;
	default: /* extra bytes */
		for (uint64_t k = 1 + rnd_below(8); k > 0; k--)
			dst[n++] = (uint8_t)rnd();
	}
	if ((n == len && memcmp(dst, blk, len) == 0) || (n == olen && memcmp(dst, other, n) == 0))
		return 0;
	return n;
}

/* ---- keys and peers -------------------------------------------------------- */

FX const struct pfs_codec_keys *test_keys(void)
{
	static struct pfs_codec_keys k;
	static int ready;
	uint8_t key[PFS_PAIR_KEY_BYTES];

	if (!ready) {
		memset(key, 0x7e, sizeof(key));
		if (pfs_keys_derive(&k, key) != 0)
			abort();
		ready = 1;
	}
	return &k;
}

FX struct pfs_codec_config small_config(void)
{
	struct pfs_codec_config cfg;

	pfs_codec_config_default(&cfg);
	cfg.block_max = 64 * KIB;
	cfg.lit_max = 16 * KIB;
	return cfg;
}

FX struct pfs_log *open_log(uint64_t cap)
{
	struct pfs_log_config lc = { .capacity = cap, .huge = PFS_HUGE_NEVER, .epoch = 5 };
	struct pfs_log *log = NULL;
	char err[256];

	if (pfs_log_open(&log, &lc, err, sizeof(err)) != 0) {
		fprintf(stderr, "log: %s\n", err);
		return NULL;
	}
	return log;
}

/* One end of a pair: its tx log to the peer, its rx log from it, an encoder
 * for what it sends and a decoder for what it receives. bidir: the encoder
 * may also point into the rx log, whose anchors the decoder indexes. */
struct peer {
	struct pfs_codec_config cfg;
	struct pfs_log *tx, *rx;
	struct pfs_index tx_ix, rx_ix;
	struct pfs_encoder *enc;
	struct pfs_decoder *dec;
	uint8_t *wire, *out;
	size_t wire_cap;
};

FX int peer_open(struct peer *p, const struct pfs_codec_config *cfg, uint64_t cap, int bidir)
{
	uint64_t ib = pfs_index_bytes_for(cap, cfg->avg_chunk);
	char err[256] = "";
	int rc;

	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	p->tx = open_log(cap);
	p->rx = open_log(cap);
	if (!p->tx || !p->rx || pfs_index_init(&p->tx_ix, ib) || pfs_index_init(&p->rx_ix, ib))
		return -1;
	rc = pfs_encoder_new(&p->enc, cfg, test_keys(), p->tx, &p->tx_ix, bidir ? p->rx : NULL,
			     bidir ? &p->rx_ix : NULL, err, sizeof(err));
	if (rc == 0)
		rc = pfs_decoder_new(&p->dec, cfg, p->rx, p->tx, bidir ? test_keys() : NULL,
				     bidir ? &p->rx_ix : NULL);
	if (rc) {
		fprintf(stderr, "peer: %s (%s)\n", pfs_errname(rc), err);
		return rc;
	}
	p->wire_cap = pfs_block_bound(cfg);
	p->wire = malloc(p->wire_cap);
	p->out = malloc(cfg->block_max);
	return p->wire && p->out ? 0 : -1;
}

FX void peer_close(struct peer *p)
{
	pfs_encoder_free(p->enc);
	pfs_decoder_free(p->dec);
	pfs_index_free(&p->tx_ix);
	pfs_index_free(&p->rx_ix);
	pfs_log_close(p->tx);
	pfs_log_close(p->rx);
	free(p->wire);
	free(p->out);
	memset(p, 0, sizeof(*p));
}

/* ---- sending ---------------------------------------------------------------- */

struct xfer {
	uint64_t in, wire, blocks, ptrs;
	uint32_t flags; /* every flag some block carried */
};

/*
 * Sends in[0, n) from `from` to `to` block by block: every block must decode
 * to exactly its input and fit pfs_block_bound. ack: the receiver
 * acknowledges each block (the sender's frontier follows the receiver's
 * contig). Returns 0, or the first error (printed with its position).
 */
FX int send_stream(struct peer *from, struct peer *to, uint64_t stream, const uint8_t *in, size_t n,
		   int ack, struct xfer *x)
{
	struct pfs_block_info ei, di;
	size_t pos = 0, used, wl;
	int rc;

	do {
		rc = pfs_encoder_encode(from->enc, stream, pos, in + pos, n - pos, &used,
					from->wire, from->wire_cap, &wl, &ei);
		if (rc == 0 && ((n > pos && used == 0) || used > n - pos || wl > from->wire_cap))
			rc = PFS_ERR_LIMIT;
		if (rc == 0)
			rc = pfs_decoder_decode(to->dec, from->wire, wl, to->out, to->cfg.block_max,
						&di);
		if (rc == 0 && (di.out_len != used || di.stream_off != pos ||
				di.stream_id != stream || memcmp(to->out, in + pos, used) != 0))
			rc = PFS_ERR_POINTER_CHECK;
		if (rc) {
			fprintf(stderr,
				"stream %" PRIu64 " at %zu of %zu: %s (seed %#" PRIx64 ")\n",
				stream, pos, n, pfs_errname(rc), rng_state);
			return rc;
		}
		if (ack && pfs_log_set_frontier(from->tx, to->rx->contig) != 0)
			return PFS_ERR_INVALID_ARG;
		if (x) {
			x->in += used;
			x->wire += wl;
			x->blocks++;
			x->ptrs += ei.n_ptrs;
			x->flags |= ei.flags;
		}
		pos += used;
	} while (pos < n);
	return 0;
}

/* The sender's tx log and the receiver's rx log hold the same bytes at the
 * same offsets over the same window. */
FX int logs_identical(const struct pfs_log *a, const struct pfs_log *b)
{
	static uint8_t ba[64 * KIB], bb[64 * KIB];
	uint64_t lo = pfs_log_lower(a);

	if (a->tail != b->tail || a->contig != b->contig || pfs_log_lower(b) != lo) {
		fprintf(stderr,
			"logs differ: tail %" PRIu64 "/%" PRIu64 " contig %" PRIu64 "/%" PRIu64
			"\n",
			a->tail, b->tail, a->contig, b->contig);
		return 0;
	}
	for (uint64_t off = lo; off < a->tail;) {
		size_t k = a->tail - off < sizeof(ba) ? (size_t)(a->tail - off) : sizeof(ba);
		pfs_log_read(a, off, ba, k);
		pfs_log_read(b, off, bb, k);
		if (memcmp(ba, bb, k) != 0) {
			fprintf(stderr, "logs differ in [%" PRIu64 ", +%zu)\n", off, k);
			return 0;
		}
		off += k;
	}
	return 1;
}

FX uint8_t *alloc_stream(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

/* A copy that lives until the next call. */
FX uint8_t *alloc_copy(const uint8_t *p, size_t n)
{
	static uint8_t *copy;

	free(copy);
	copy = alloc_stream(n);
	memcpy(copy, p, n);
	return copy;
}

FX void fill_kind(int kind, uint8_t *p, size_t n)
{
	if (kind == 0)
		fill_random(p, n);
	else if (kind == 1)
		fill_text(p, n);
	else
		fill_repeats(p, n, 100 * KIB);
}

/* Both directions of a pair hold identical logs. */
FX int pair_synced(const struct peer *a, const struct peer *b)
{
	return logs_identical(a->tx, b->rx) && logs_identical(b->tx, a->rx);
}

/* ---- snapshots: "changes nothing" ------------------------------------------------ */

struct log_snap {
	uint64_t start, tail, contig, frontier, digest;
	int npending;
	struct pfs_log_range pending[PFS_LOG_MAX_PENDING];
};

FX void log_snap(const struct pfs_log *log, struct log_snap *s)
{
	memset(s, 0, sizeof(*s));
	if (!log)
		return;
	s->start = log->start;
	s->tail = log->tail;
	s->contig = log->contig;
	s->frontier = log->frontier;
	s->npending = log->npending;
	memcpy(s->pending, log->pending, sizeof(s->pending));
	s->digest = XXH3_64bits(log->ring, log->capacity);
}

FX int log_unchanged(const struct pfs_log *log, const struct log_snap *before)
{
	struct log_snap now;

	log_snap(log, &now);
	return memcmp(&now, before, sizeof(now)) == 0;
}

/* ---- reading pointers back out of a block ----------------------------------------- */

struct ptr {
	uint64_t off;
	uint32_t len;
	int log;
};

FX uint64_t fx_varint(const uint8_t *p, size_t len, size_t *pos, int *bad)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	*bad = 1;
	return 0;
}

/* Lists the pointers of a valid block (op coding from block.h/encoder.c:
 * lit_len, match_len, zigzag(off - expected) << 1 | log, with the expected
 * offset continuing the previous pointer into the same log). Returns the
 * count, or -1 if the op section cannot be read. */
FX int block_pointers(const uint8_t *blk, size_t len, struct ptr *out, int max)
{
	static uint8_t raw[PFS_BLOCK_OPS_MAX * 30];
	struct pfs_block_info bi;
	const uint8_t *ops;
	size_t ops_len, pos = 0;
	uint64_t out_pos = 0, delta[2] = { 0, 0 };
	int n = 0, bad = 0;

	if (pfs_block_peek(blk, len, &bi) != 0)
		return -1;
	ops = blk + bi.header_len;
	ops_len = bi.ops_len;
	if (bi.flags & PFS_BLOCK_OPS_ZSTD) {
		size_t r = ZSTD_decompress(raw, sizeof(raw), ops, ops_len);
		if (ZSTD_isError(r))
			return -1;
		ops = raw;
		ops_len = r;
	}
	for (uint32_t i = 0; i < bi.n_ops && !bad; i++) {
		uint64_t lit = fx_varint(ops, ops_len, &pos, &bad);
		uint64_t mlen = fx_varint(ops, ops_len, &pos, &bad);

		out_pos += lit;
		if (mlen == 0)
			continue;
		uint64_t code = fx_varint(ops, ops_len, &pos, &bad);
		uint64_t z = code >> 1;
		int64_t d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
		int id = (int)(code & 1);
		uint64_t off = out_pos + delta[id] + (uint64_t)d;
		if (n < max)
			out[n] = (struct ptr){ .off = off, .len = (uint32_t)mlen, .log = id };
		n++;
		delta[id] = off - out_pos;
		out_pos += mlen;
	}
	return bad || pos != ops_len || out_pos != bi.out_len ? -1 : n;
}

/* Checks every pointer of a block against the sender's window as it was
 * when the block was encoded: at or above the lower bound, clear of what
 * `margin` more bytes of log writes would evict, below the frontier. `lower`
 * and `tail` are the tx log's before the block. */
FX int pointers_in_window(const uint8_t *blk, size_t len, const struct peer *from, uint64_t lower,
			  uint64_t tail, uint64_t frontier, uint64_t *count)
{
	uint64_t cap = from->tx->capacity, margin = from->cfg.margin;
	uint64_t evict = tail + margin > cap ? tail + margin - cap : 0;
	uint64_t floor = evict > lower ? evict : lower;
	static struct ptr p[PFS_BLOCK_OPS_MAX];
	int n = block_pointers(blk, len, p, PFS_BLOCK_OPS_MAX);

	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (p[i].log != PFS_LOG_SENDER_TX || p[i].off < floor ||
		    p[i].off + p[i].len > frontier) {
			fprintf(stderr, "pointer [%" PRIu64 ", +%u) outside [%" PRIu64 ", %" PRIu64 ")\n",
				p[i].off, p[i].len, floor, frontier);
			return 0;
		}
	}
	*count += (uint64_t)n;
	return 1;
}

#endif
