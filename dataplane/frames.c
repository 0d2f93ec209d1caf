/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "codec.h"
#include "error.h"
#include "frames.h"
#include "varint.h"

/*
 * ACK layout (as QUIC's): largest, delay, additional range count, first range
 * length (largest - lo), then per additional range: gap (previous lo - hi - 2)
 * and length (hi - lo).
 */
static int parse_ack(struct pfs_reader *r, struct pfs_fr_ack *a)
{
	uint64_t largest = pfs_read_varint(r), more, first, lo;

	a->delay_us = pfs_read_varint(r);
	more = pfs_read_varint(r);
	first = pfs_read_varint(r);
	if (r->bad)
		return PFS_ERR_TRUNCATED;
	if (more >= PFS_ACK_RANGES_MAX)
		return PFS_ERR_LIMIT;
	if (first > largest)
		return PFS_ERR_MALFORMED;
	a->n = 1;
	a->r[0] = (struct pfs_ack_range){ .lo = largest - first, .hi = largest };
	lo = a->r[0].lo;
	for (uint64_t i = 0; i < more; i++) {
		uint64_t gap = pfs_read_varint(r), length = pfs_read_varint(r), hi;
		if (r->bad)
			return PFS_ERR_TRUNCATED;
		if (gap > UINT64_MAX - 2 || lo < gap + 2)
			return PFS_ERR_MALFORMED;
		hi = lo - gap - 2;
		if (length > hi)
			return PFS_ERR_MALFORMED;
		a->r[a->n++] = (struct pfs_ack_range){ .lo = hi - length, .hi = hi };
		lo = hi - length;
	}
	return 0;
}

int pfs_frame_parse(const uint8_t *p, size_t len, size_t *used, struct pfs_wire_frame *f)
{
	struct pfs_reader r = { .p = p, .len = len, .pos = 1 };
	int rc = 0;

	if (len == 0)
		return PFS_ERR_TRUNCATED;
	memset(f, 0, sizeof(*f));
	f->type = p[0];
	switch (f->type) {
	case PFS_FR_PADDING:
	case PFS_FR_PING:
		break;
	case PFS_FR_ACK:
		rc = parse_ack(&r, &f->u.ack);
		break;
	case PFS_FR_BLOCK: {
		struct pfs_fr_block *b = &f->u.block;
		uint64_t id = pfs_read_varint(&r), blen = pfs_read_varint(&r),
			 off = pfs_read_varint(&r), n = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		if (blen == 0 || blen > PFS_FR_BLOCK_LEN_MAX || off >= blen || n == 0 ||
		    n > blen - off)
			return PFS_ERR_MALFORMED;
		if (n > r.len - r.pos)
			return PFS_ERR_TRUNCATED;
		*b = (struct pfs_fr_block){ .block_id = id,
					    .block_len = (uint32_t)blen,
					    .offset = (uint32_t)off,
					    .len = (uint32_t)n,
					    .data = p + r.pos };
		r.pos += n;
		break;
	}
	case PFS_FR_LOG_ACK: {
		uint64_t log = pfs_read_varint(&r);
		f->u.log_ack.contig = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		if (log > 1)
			return PFS_ERR_MALFORMED;
		f->u.log_ack.log = (uint8_t)log;
		break;
	}
	case PFS_FR_CLOSE: {
		uint64_t code = pfs_read_varint(&r), n = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		if (code > UINT32_MAX || n > PFS_CLOSE_REASON_MAX)
			return PFS_ERR_LIMIT;
		if (n > r.len - r.pos)
			return PFS_ERR_TRUNCATED;
		f->u.close = (struct pfs_fr_close){ .code = (uint32_t)code,
						    .reason_len = (uint32_t)n,
						    .reason = p + r.pos };
		r.pos += n;
		break;
	}
	case PFS_FR_STREAM_OPEN: {
		struct pfs_fr_stream_open *o = &f->u.open;
		o->stream_id = pfs_read_varint(&r);
		o->size = pfs_read_varint(&r);
		uint64_t n = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		if (n == 0 || n > PFS_FR_PATH_MAX)
			return PFS_ERR_LIMIT;
		if (n > r.len - r.pos)
			return PFS_ERR_TRUNCATED;
		if (memchr(p + r.pos, 0, n))
			return PFS_ERR_MALFORMED; /* paths are C strings on the far side */
		o->path_len = (uint32_t)n;
		o->path = p + r.pos;
		r.pos += n;
		break;
	}
	case PFS_FR_STREAM_FIN:
		f->u.fin.stream_id = pfs_read_varint(&r);
		if (r.bad || PFS_FR_DIGEST_BYTES > r.len - r.pos)
			return PFS_ERR_TRUNCATED;
		f->u.fin.digest = p + r.pos;
		r.pos += PFS_FR_DIGEST_BYTES;
		break;
	case PFS_FR_STREAM_DONE: {
		uint64_t code;
		f->u.done.stream_id = pfs_read_varint(&r);
		code = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		if (code > UINT32_MAX)
			return PFS_ERR_LIMIT;
		f->u.done.code = (uint32_t)code;
		break;
	}
	case PFS_FR_MAX_BLOCKS:
		f->u.max_blocks.max_block = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		break;
	case PFS_FR_REPAIR: {
		struct pfs_fr_repair *rp = &f->u.repair;
		uint64_t out_len, logged;
		rp->block_id = pfs_read_varint(&r);
		rp->stream_id = pfs_read_varint(&r);
		rp->stream_off = pfs_read_varint(&r);
		out_len = pfs_read_varint(&r);
		rp->log_off = pfs_read_varint(&r);
		logged = pfs_read_varint(&r);
		if (r.bad)
			return PFS_ERR_TRUNCATED;
		if (out_len > PFS_BLOCK_OUT_MAX || logged > 1)
			return PFS_ERR_LIMIT;
		if (rp->stream_off + out_len < rp->stream_off ||
		    rp->log_off + out_len < rp->log_off)
			return PFS_ERR_MALFORMED;
		rp->out_len = (uint32_t)out_len;
		rp->logged = (uint8_t)logged;
		break;
	}
	default:
		return PFS_ERR_MALFORMED;
	}
	if (rc)
		return rc;
	*used = r.pos;
	return 0;
}

/* A writer over a bounded buffer: every put checks the room first. */
struct writer {
	uint8_t *p;
	size_t cap, pos;
	int full;
};

static void put_var(struct writer *w, uint64_t v)
{
	uint8_t tmp[PFS_VARINT_MAX];
	size_t n = pfs_varint_put(tmp, v);

	if (w->full || n > w->cap - w->pos) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->pos, tmp, n);
	w->pos += n;
}

static void put_bytes(struct writer *w, const uint8_t *b, size_t n)
{
	if (w->full || n > w->cap - w->pos) {
		w->full = 1;
		return;
	}
	memcpy(w->p + w->pos, b, n);
	w->pos += n;
}

static size_t done(const struct writer *w)
{
	return w->full ? 0 : w->pos;
}

size_t pfs_frame_put_simple(uint8_t *p, size_t cap, uint8_t type)
{
	if (cap < 1 || (type != PFS_FR_PADDING && type != PFS_FR_PING))
		return 0;
	p[0] = type;
	return 1;
}

size_t pfs_frame_put_ack(uint8_t *p, size_t cap, const struct pfs_fr_ack *a)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_ACK;

	if (a->n == 0 || a->n > PFS_ACK_RANGES_MAX || a->r[0].lo > a->r[0].hi)
		return 0;
	put_bytes(&w, &type, 1);
	put_var(&w, a->r[0].hi);
	put_var(&w, a->delay_us);
	put_var(&w, a->n - 1);
	put_var(&w, a->r[0].hi - a->r[0].lo);
	for (uint32_t i = 1; i < a->n; i++) {
		/* descending, with at least one missing number in between */
		if (a->r[i].lo > a->r[i].hi || a->r[i - 1].lo < 2 ||
		    a->r[i].hi > a->r[i - 1].lo - 2)
			return 0;
		put_var(&w, a->r[i - 1].lo - a->r[i].hi - 2);
		put_var(&w, a->r[i].hi - a->r[i].lo);
	}
	return done(&w);
}

size_t pfs_frame_put_block(uint8_t *p, size_t cap, const struct pfs_fr_block *b)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_BLOCK;

	if (b->block_len == 0 || b->block_len > PFS_FR_BLOCK_LEN_MAX || b->len == 0 ||
	    b->offset >= b->block_len || b->len > b->block_len - b->offset)
		return 0;
	put_bytes(&w, &type, 1);
	put_var(&w, b->block_id);
	put_var(&w, b->block_len);
	put_var(&w, b->offset);
	put_var(&w, b->len);
	put_bytes(&w, b->data, b->len);
	return done(&w);
}

size_t pfs_frame_put_log_ack(uint8_t *p, size_t cap, const struct pfs_fr_log_ack *l)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_LOG_ACK;

	if (l->log > 1)
		return 0;
	put_bytes(&w, &type, 1);
	put_var(&w, l->log);
	put_var(&w, l->contig);
	return done(&w);
}

size_t pfs_frame_put_close(uint8_t *p, size_t cap, const struct pfs_fr_close *c)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_CLOSE;

	if (c->reason_len > PFS_CLOSE_REASON_MAX)
		return 0;
	put_bytes(&w, &type, 1);
	put_var(&w, c->code);
	put_var(&w, c->reason_len);
	put_bytes(&w, c->reason, c->reason_len);
	return done(&w);
}

size_t pfs_frame_put_stream_open(uint8_t *p, size_t cap, const struct pfs_fr_stream_open *o)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_STREAM_OPEN;

	if (o->path_len == 0 || o->path_len > PFS_FR_PATH_MAX || memchr(o->path, 0, o->path_len))
		return 0;
	put_bytes(&w, &type, 1);
	put_var(&w, o->stream_id);
	put_var(&w, o->size);
	put_var(&w, o->path_len);
	put_bytes(&w, o->path, o->path_len);
	return done(&w);
}

size_t pfs_frame_put_stream_fin(uint8_t *p, size_t cap, const struct pfs_fr_stream_fin *f)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_STREAM_FIN;

	put_bytes(&w, &type, 1);
	put_var(&w, f->stream_id);
	put_bytes(&w, f->digest, PFS_FR_DIGEST_BYTES);
	return done(&w);
}

size_t pfs_frame_put_stream_done(uint8_t *p, size_t cap, const struct pfs_fr_stream_done *d)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_STREAM_DONE;

	put_bytes(&w, &type, 1);
	put_var(&w, d->stream_id);
	put_var(&w, d->code);
	return done(&w);
}

size_t pfs_frame_put_max_blocks(uint8_t *p, size_t cap, const struct pfs_fr_max_blocks *m)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_MAX_BLOCKS;

	put_bytes(&w, &type, 1);
	put_var(&w, m->max_block);
	return done(&w);
}

size_t pfs_frame_put_repair(uint8_t *p, size_t cap, const struct pfs_fr_repair *r)
{
	struct writer w = { .p = p, .cap = cap };
	uint8_t type = PFS_FR_REPAIR;

	if (r->out_len > PFS_BLOCK_OUT_MAX || r->logged > 1)
		return 0;
	put_bytes(&w, &type, 1);
	put_var(&w, r->block_id);
	put_var(&w, r->stream_id);
	put_var(&w, r->stream_off);
	put_var(&w, r->out_len);
	put_var(&w, r->log_off);
	put_var(&w, r->logged);
	return done(&w);
}
