/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session engine model (docs/transport.md). Sending: streams are encoded into
 * blocks lazily, at most window_blocks unacknowledged at a time; each block is
 * cut into pieces that fit one packet, and a piece declared lost is sent again
 * in a new packet. Receiving: pieces are gathered per block and a complete
 * block is decoded at once and handed to the sink. Packet acknowledgements
 * drive loss recovery and congestion control; LOG_ACK frames carry the
 * receiver's contiguous rx-log end, which is the only thing that moves the
 * sender's tx-log frontier (DESIGN §3.2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "error.h"
#include "frames.h"
#include "session.h"

#define MAX_STREAMS 64
#define RX_RANGES 32      /* packet-number ranges remembered for ACK frames */
#define ASM_RANGES 64     /* received byte ranges per block being assembled */
#define PIECE_BITS 24     /* cookie = block id << PIECE_BITS | piece */
#define NO_COOKIE UINT64_MAX
#define FRAME_ROOM 64     /* plaintext kept free for ACK and LOG_ACK frames; a
			   * longer ACK goes alone and the piece follows */

enum { PIECE_UNSENT, PIECE_INFLIGHT, PIECE_ACKED, PIECE_RESEND };
enum { RB_FREE, RB_ASSEMBLING, RB_APPLIED };

struct stream {
	uint64_t id, len, off;
	const uint8_t *data;
	int started;
};

struct sblock {
	uint64_t id; /* UINT64_MAX: slot free */
	uint8_t *wire, *state;
	uint32_t len, npieces, acked;
	uint32_t first_unsent; /* pieces below were all sent at least once */
};

#define RESEND_MAX 4096 /* lost pieces waiting to be sent again */

struct range32 {
	uint32_t lo, hi; /* [lo, hi) */
};

struct rblock {
	uint64_t id;
	int state;
	uint8_t *buf;
	uint32_t len, nranges;
	struct range32 r[ASM_RANGES];
};

struct pfs_session {
	struct pfs_session_config cfg;
	struct pfs_session_logs logs;
	struct pfs_session_sink sink;
	struct pfs_session_stats st;
	struct pfs_aead tx_aead, rx_aead;
	struct pfs_replay replay;
	struct pfs_recovery rec;
	struct pfs_cc cc;
	struct pfs_pacer pacer;
	struct pfs_encoder *enc;
	struct pfs_decoder *dec;
	uint8_t *enc_buf, *dec_out, *plain, *frame_tmp;
	size_t enc_cap;
	uint32_t piece_max;
	/* sending */
	struct stream streams[MAX_STREAMS];
	uint32_t nstreams, cur;
	struct sblock *sb;
	uint64_t next_block_id, tx_pn;
	uint32_t probes; /* ack-eliciting packets owed to a probe timeout */
	uint64_t resend[RESEND_MAX]; /* cookies of lost pieces, oldest first */
	uint32_t resend_head, resend_count;
	uint64_t oldest_block; /* no block below is still being sent */
	/* receiving */
	struct rblock *rb;
	uint32_t nrb;
	uint64_t rx_floor; /* every block id below is applied */
	struct pfs_ack_range rx[RX_RANGES];
	uint32_t nrx, eliciting_unacked;
	uint64_t ack_due_ns, log_ack_sent;
	int failed;
};

/* --- recovery and congestion events ------------------------------------------ */

static struct sblock *sblock_of(struct pfs_session *s, uint64_t id)
{
	struct sblock *b = &s->sb[id % s->cfg.window_blocks];

	return b->id == id ? b : NULL;
}

static void on_acked(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns, uint64_t now)
{
	struct pfs_session *s = ctx;
	struct sblock *b;
	uint32_t piece;

	pfs_cc_on_acked(&s->cc, bytes, sent_ns, now, s->rec.srtt_ns, s->rec.min_rtt_ns,
			s->rec.bytes_in_flight);
	if (cookie == NO_COOKIE)
		return;
	b = sblock_of(s, cookie >> PIECE_BITS);
	piece = (uint32_t)(cookie & ((1u << PIECE_BITS) - 1));
	if (!b || piece >= b->npieces || b->state[piece] == PIECE_ACKED)
		return;
	b->state[piece] = PIECE_ACKED;
	if (++b->acked == b->npieces) {
		free(b->wire);
		free(b->state);
		*b = (struct sblock){ .id = UINT64_MAX };
	}
}

static void on_lost(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns, uint64_t now)
{
	struct pfs_session *s = ctx;
	struct sblock *b;
	uint32_t piece;

	pfs_cc_on_lost(&s->cc, bytes, sent_ns, now);
	if (cookie == NO_COOKIE)
		return;
	b = sblock_of(s, cookie >> PIECE_BITS);
	piece = (uint32_t)(cookie & ((1u << PIECE_BITS) - 1));
	if (b && piece < b->npieces && b->state[piece] == PIECE_INFLIGHT) {
		b->state[piece] = PIECE_RESEND;
		s->st.pieces_lost++;
		if (s->resend_count < RESEND_MAX)
			s->resend[(s->resend_head + s->resend_count++) % RESEND_MAX] = cookie;
		else
			b->first_unsent = 0; /* queue full: rescan this block */
	}
}

static struct pfs_rec_events events(struct pfs_session *s)
{
	return (struct pfs_rec_events){ .ctx = s, .acked = on_acked, .lost = on_lost };
}

/* --- set-up ---------------------------------------------------------------------- */

int pfs_session_new(struct pfs_session **out, const struct pfs_session_config *cfg,
		    const struct pfs_session_logs *logs, const struct pfs_session_sink *sink,
		    char *err, size_t errlen)
{
	struct pfs_session *s;
	struct pfs_codec_config codec;
	int rc;

	if (cfg->mtu < 576 || cfg->mtu > PFS_PACKET_MAX || cfg->window_blocks == 0 ||
	    cfg->window_blocks > 4096 || !logs->tx || !logs->rx || !logs->tx_index ||
	    !logs->keys) {
		snprintf(err, errlen, "session: mtu must be 576..%u bytes, window 1..4096 "
				      "blocks, and the logs, index and keys given",
			 PFS_PACKET_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return PFS_ERR_NOMEM;
	s->cfg = *cfg;
	s->logs = *logs;
	if (sink)
		s->sink = *sink;
	/* Pointers stay clear of what the blocks in flight may still evict. */
	codec = cfg->codec;
	codec.margin = (uint64_t)cfg->window_blocks * codec.block_max;
	rc = pfs_encoder_new(&s->enc, &codec, logs->keys, logs->tx, logs->tx_index, NULL, NULL,
			     err, errlen);
	if (rc)
		goto err_free;
	rc = pfs_decoder_new(&s->dec, &codec, logs->rx, logs->tx, NULL, NULL);
	if (rc) {
		snprintf(err, errlen, "session: cannot create the decoder");
		goto err_free;
	}
	rc = pfs_aead_init(&s->tx_aead, cfg->aead, cfg->tx_key, cfg->tx_iv);
	if (!rc)
		rc = pfs_aead_init(&s->rx_aead, cfg->aead, cfg->rx_key, cfg->rx_iv);
	if (!rc)
		rc = pfs_cc_init(&s->cc, cfg->cc, cfg->mtu, cfg->fixed_rate, cfg->rate_cap);
	if (rc) {
		snprintf(err, errlen, "session: bad crypto or congestion-control settings");
		goto err_free;
	}
	pfs_rec_init(&s->rec, cfg->max_ack_delay_ns);
	pfs_pacer_init(&s->pacer, 10ull * cfg->mtu);
	s->enc_cap = pfs_block_bound(&codec);
	s->piece_max = cfg->mtu - PFS_PACKET_OVERHEAD - PFS_FR_BLOCK_OVERHEAD - FRAME_ROOM;
	s->nrb = 4 * cfg->window_blocks;
	s->enc_buf = malloc(s->enc_cap);
	s->dec_out = malloc(codec.block_max);
	s->plain = malloc(cfg->mtu);
	s->frame_tmp = malloc(cfg->mtu);
	s->sb = calloc(cfg->window_blocks, sizeof(*s->sb));
	s->rb = calloc(s->nrb, sizeof(*s->rb));
	if (!s->enc_buf || !s->dec_out || !s->plain || !s->frame_tmp || !s->sb || !s->rb) {
		rc = PFS_ERR_NOMEM;
		snprintf(err, errlen, "session: out of memory");
		goto err_free;
	}
	for (uint32_t i = 0; i < cfg->window_blocks; i++)
		s->sb[i].id = UINT64_MAX;
	*out = s;
	return 0;

err_free:
	pfs_session_free(s);
	return rc;
}

void pfs_session_free(struct pfs_session *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->sb && i < s->cfg.window_blocks; i++) {
		free(s->sb[i].wire);
		free(s->sb[i].state);
	}
	for (uint32_t i = 0; s->rb && i < s->nrb; i++)
		free(s->rb[i].buf);
	pfs_encoder_free(s->enc);
	pfs_decoder_free(s->dec);
	pfs_aead_wipe(&s->tx_aead);
	pfs_aead_wipe(&s->rx_aead);
	free(s->enc_buf);
	free(s->dec_out);
	free(s->plain);
	free(s->frame_tmp);
	free(s->sb);
	free(s->rb);
	free(s);
}

int pfs_session_send_stream(struct pfs_session *s, uint64_t stream_id, const uint8_t *data,
			    uint64_t len)
{
	if (s->nstreams == MAX_STREAMS)
		return PFS_ERR_LIMIT;
	s->streams[s->nstreams++] = (struct stream){ .id = stream_id, .len = len, .data = data };
	return 0;
}

int pfs_session_sent_all(const struct pfs_session *s)
{
	if (s->cur < s->nstreams)
		return 0;
	for (uint32_t i = 0; i < s->cfg.window_blocks; i++)
		if (s->sb[i].id != UINT64_MAX)
			return 0;
	return 1;
}

const struct pfs_session_stats *pfs_session_stats(const struct pfs_session *s)
{
	return &s->st;
}

/* --- sending ------------------------------------------------------------------------ */

/* Encodes the next block of the current stream into a free slot, if any. */
static int encode_next(struct pfs_session *s)
{
	struct sblock *b = &s->sb[s->next_block_id % s->cfg.window_blocks];
	struct stream *st;
	struct pfs_block_info info;
	size_t used, wl;
	int rc;

	while (s->cur < s->nstreams && s->streams[s->cur].started &&
	       s->streams[s->cur].off == s->streams[s->cur].len)
		s->cur++;
	if (s->cur == s->nstreams || b->id != UINT64_MAX)
		return 0;
	st = &s->streams[s->cur];
	rc = pfs_encoder_encode(s->enc, st->id, st->off, st->data + st->off, st->len - st->off,
				&used, s->enc_buf, s->enc_cap, &wl, &info);
	if (rc)
		return rc;
	st->started = 1;
	st->off += used;
	b->wire = malloc(wl);
	b->npieces = (uint32_t)((wl + s->piece_max - 1) / s->piece_max);
	b->state = calloc(b->npieces, 1);
	if (!b->wire || !b->state) {
		free(b->wire);
		free(b->state);
		*b = (struct sblock){ .id = UINT64_MAX };
		return PFS_ERR_NOMEM;
	}
	memcpy(b->wire, s->enc_buf, wl);
	b->len = (uint32_t)wl;
	b->acked = 0;
	b->first_unsent = 0;
	b->id = s->next_block_id++;
	s->st.blocks_sent++;
	return 0;
}

/* The next piece to send: a lost one first (oldest loss first), else the
 * first never-sent piece of the oldest block that has one, encoding a new
 * block when none has. Constant work per packet in the common case. */
static int next_piece(struct pfs_session *s, struct sblock **pb, uint32_t *piece)
{
	while (s->resend_count) {
		uint64_t cookie = s->resend[s->resend_head];
		struct sblock *b = sblock_of(s, cookie >> PIECE_BITS);
		uint32_t p = (uint32_t)(cookie & ((1u << PIECE_BITS) - 1));

		if (b && p < b->npieces && b->state[p] == PIECE_RESEND) {
			*pb = b;
			*piece = p;
			return 1; /* popped when sent */
		}
		s->resend_head = (s->resend_head + 1) % RESEND_MAX;
		s->resend_count--;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t id = s->oldest_block; id < s->next_block_id; id++) {
			struct sblock *b = sblock_of(s, id);
			if (!b) {
				if (id == s->oldest_block)
					s->oldest_block++;
				continue;
			}
			while (b->first_unsent < b->npieces &&
			       b->state[b->first_unsent] != PIECE_UNSENT &&
			       b->state[b->first_unsent] != PIECE_RESEND)
				b->first_unsent++;
			if (b->first_unsent < b->npieces) {
				*pb = b;
				*piece = b->first_unsent;
				return 1;
			}
		}
		if (pass == 0 && encode_next(s) != 0)
			return -1;
	}
	return 0;
}

/* Adds the packet number to the ranges the next ACK reports. */
static void note_received(struct pfs_session *s, uint64_t pn)
{
	uint32_t i;

	for (i = 0; i < s->nrx; i++) {
		struct pfs_ack_range *r = &s->rx[i];
		if (pn >= r->lo && pn <= r->hi)
			return;
		if (pn == r->hi + 1) {
			r->hi = pn;
			if (i > 0 && s->rx[i - 1].lo == pn + 1) { /* closes a gap */
				s->rx[i - 1].lo = r->lo;
				memmove(r, r + 1, (s->nrx - i - 1) * sizeof(*r));
				s->nrx--;
			}
			return;
		}
		if (pn + 1 == r->lo) {
			r->lo = pn;
			if (i + 1 < s->nrx && s->rx[i + 1].hi + 1 == pn) { /* closes a gap */
				r->lo = s->rx[i + 1].lo;
				memmove(&s->rx[i + 1], &s->rx[i + 2], (s->nrx - i - 2) * sizeof(*r));
				s->nrx--;
			}
			return;
		}
		if (pn > r->hi)
			break;
	}
	/* a new range at position i (descending order); the oldest falls off */
	if (s->nrx == RX_RANGES) {
		if (i == RX_RANGES)
			return;
		s->nrx--;
	}
	memmove(&s->rx[i + 1], &s->rx[i], (s->nrx - i) * sizeof(s->rx[0]));
	s->rx[i] = (struct pfs_ack_range){ .lo = pn, .hi = pn };
	s->nrx++;
}

static size_t put_acks(struct pfs_session *s, uint8_t *p, size_t cap)
{
	struct pfs_fr_ack ack = { .n = s->nrx };
	struct pfs_fr_log_ack la = { .log = PFS_LOG_SENDER_TX, .contig = s->logs.rx->contig };
	size_t n = 0;

	if (s->nrx && s->eliciting_unacked) {
		memcpy(ack.r, s->rx, s->nrx * sizeof(ack.r[0]));
		n = pfs_frame_put_ack(p, cap, &ack);
		if (n) {
			s->eliciting_unacked = 0;
			s->ack_due_ns = 0;
		}
	}
	/* the frontier rides with every ACK, and alone when it moved */
	if (n || la.contig != s->log_ack_sent) {
		size_t m = pfs_frame_put_log_ack(p + n, cap - n, &la);
		if (m)
			s->log_ack_sent = la.contig;
		n += m;
	}
	return n;
}

int pfs_session_next_packet(struct pfs_session *s, uint8_t *out, size_t cap, size_t *len,
			    uint64_t now, uint64_t *wake_ns)
{
	struct pfs_rec_events ev = events(s);
	struct pfs_packet_header h = { .type = PFS_PACKET_DATA, .conn_id = s->cfg.peer_cid };
	uint64_t deadline = pfs_rec_deadline(&s->rec), cookie = NO_COOKIE, when;
	size_t room = s->cfg.mtu - PFS_PACKET_OVERHEAD, n = 0;
	struct sblock *b = NULL;
	uint32_t piece = 0;
	int have, can_send, ack_now, eliciting = 0, rc;

	*len = 0;
	if (s->failed)
		return s->failed;
	if (cap < s->cfg.mtu)
		return PFS_ERR_BUF_TOO_SMALL;
	if (now >= deadline)
		s->probes += (uint32_t)pfs_rec_on_timeout(&s->rec, now, &ev);
	have = next_piece(s, &b, &piece);
	if (have < 0)
		return s->failed = PFS_ERR_NOMEM;
	when = pfs_pacer_when(&s->pacer, now, s->cc.pacing_rate, s->cfg.mtu);
	/* the window, the pacer, and room in recovery's record of packets */
	can_send = s->probes > 0 ||
		   (s->rec.bytes_in_flight + s->cfg.mtu <= s->cc.cwnd && when <= now &&
		    (s->rec.bytes_in_flight == 0 || s->tx_pn - s->rec.oldest < PFS_REC_WINDOW));
	ack_now = s->eliciting_unacked >= 2 || (s->ack_due_ns && now >= s->ack_due_ns) ||
		  (s->eliciting_unacked && have && can_send);

	n = ack_now || s->logs.rx->contig != s->log_ack_sent ? put_acks(s, s->plain, room) : 0;
	if (have && can_send) {
		uint32_t off = piece * s->piece_max;
		struct pfs_fr_block fr = { .block_id = b->id, .block_len = b->len, .offset = off,
					   .len = b->len - off < s->piece_max ? b->len - off
									    : s->piece_max,
					   .data = b->wire + off };
		size_t m = pfs_frame_put_block(s->plain + n, room - n, &fr);
		if (m) {
			cookie = b->id << PIECE_BITS | piece;
			if (b->state[piece] == PIECE_RESEND) {
				s->st.pieces_retransmitted++;
				s->st.retransmitted_bytes += fr.len;
				/* next_piece left it at the head of the queue */
				if (s->resend_count && s->resend[s->resend_head] == cookie) {
					s->resend_head = (s->resend_head + 1) % RESEND_MAX;
					s->resend_count--;
				}
			}
			s->st.pieces_sent++;
			s->st.payload_bytes_sent += fr.len;
			b->state[piece] = PIECE_INFLIGHT;
			n += m;
			eliciting = 1;
		}
	} else if (s->probes > 0) {
		n += pfs_frame_put_simple(s->plain + n, room - n, PFS_FR_PING);
		eliciting = 1;
	}
	if (n == 0) {
		/* nothing now: wake for the first timer that can change that */
		uint64_t w = deadline;
		if (s->ack_due_ns && s->ack_due_ns < w)
			w = s->ack_due_ns;
		if (have && s->rec.bytes_in_flight + s->cfg.mtu <= s->cc.cwnd && when < w)
			w = when;
		*wake_ns = w;
		return 0;
	}
	if (s->probes > 0 && eliciting)
		s->probes--;
	h.pn = s->tx_pn++;
	rc = pfs_packet_seal(&s->tx_aead, &h, s->plain, n, out, cap, len);
	if (rc)
		return s->failed = rc;
	/* only ack-eliciting packets are tracked: nobody acknowledges the rest */
	if (eliciting) {
		rc = pfs_rec_on_sent(&s->rec, h.pn, now, (uint32_t)*len, 1, cookie);
		if (rc)
			return s->failed = rc;
		pfs_pacer_sent(&s->pacer, now, s->cc.pacing_rate, (uint32_t)*len);
	}
	s->st.packets_sent++;
	s->st.bytes_sent += *len;
	*wake_ns = now; /* there may be more to send right away */
	return 0;
}

/* --- receiving ---------------------------------------------------------------------- */

/* Adds [lo, hi) to a block's received ranges; 0, or -1 if it would need more
 * than ASM_RANGES ranges (the piece is dropped; the sender resends it). */
static int add_range(struct rblock *rb, uint32_t lo, uint32_t hi)
{
	uint32_t i = 0, j;

	while (i < rb->nranges && rb->r[i].hi < lo)
		i++;
	j = i;
	while (j < rb->nranges && rb->r[j].lo <= hi) {
		if (rb->r[j].lo < lo)
			lo = rb->r[j].lo;
		if (rb->r[j].hi > hi)
			hi = rb->r[j].hi;
		j++;
	}
	/* ranges i..j-1 merge into one */
	if (i == j) {
		if (rb->nranges == ASM_RANGES)
			return -1;
		memmove(&rb->r[i + 1], &rb->r[i], (rb->nranges - i) * sizeof(rb->r[0]));
		rb->nranges++;
	} else if (j - i > 1) {
		memmove(&rb->r[i + 1], &rb->r[j], (rb->nranges - j) * sizeof(rb->r[0]));
		rb->nranges -= j - i - 1;
	}
	rb->r[i] = (struct range32){ lo, hi };
	return 0;
}

static int apply_block(struct pfs_session *s, struct rblock *rb)
{
	struct pfs_block_info info;
	int rc = pfs_decoder_decode(s->dec, rb->buf, rb->len, s->dec_out, s->cfg.codec.block_max,
				    &info);

	if (rc) {
		/* the peer authenticated, so this is a bug or diverged logs: stop
		 * rather than write wrong bytes (repair comes with REPAIR frames) */
		s->st.block_errors++;
		return rc;
	}
	if (s->sink.write && info.out_len) {
		rc = s->sink.write(s->sink.ctx, info.stream_id, info.stream_off, s->dec_out,
				   info.out_len);
		if (rc)
			return rc;
	}
	s->st.blocks_applied++;
	free(rb->buf);
	rb->buf = NULL;
	rb->state = RB_APPLIED;
	while (s->rb[s->rx_floor % s->nrb].state == RB_APPLIED &&
	       s->rb[s->rx_floor % s->nrb].id == s->rx_floor) {
		s->rb[s->rx_floor % s->nrb].state = RB_FREE;
		s->rx_floor++;
	}
	return 0;
}

static int on_block(struct pfs_session *s, const struct pfs_fr_block *fr)
{
	struct rblock *rb;

	if (fr->block_id < s->rx_floor)
		return 0; /* applied already: a retransmission that crossed an ack */
	if (fr->block_id - s->rx_floor >= s->nrb || fr->block_len > s->enc_cap) {
		s->st.malformed++;
		return 0;
	}
	rb = &s->rb[fr->block_id % s->nrb];
	if (rb->state == RB_APPLIED)
		return 0;
	if (rb->state == RB_FREE) {
		rb->buf = malloc(fr->block_len);
		if (!rb->buf)
			return PFS_ERR_NOMEM;
		rb->id = fr->block_id;
		rb->len = fr->block_len;
		rb->nranges = 0;
		rb->state = RB_ASSEMBLING;
	} else if (rb->id != fr->block_id || rb->len != fr->block_len) {
		s->st.malformed++;
		return 0;
	}
	if (add_range(rb, fr->offset, fr->offset + fr->len) != 0)
		return 0;
	memcpy(rb->buf + fr->offset, fr->data, fr->len);
	s->st.payload_bytes_received += fr->len;
	if (rb->nranges == 1 && rb->r[0].lo == 0 && rb->r[0].hi == rb->len)
		return apply_block(s, rb);
	return 0;
}

int pfs_session_on_packet(struct pfs_session *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct pfs_rec_events ev = events(s);
	struct pfs_packet_header h;
	struct pfs_wire_frame f;
	size_t n, pos = 0, used;
	int eliciting = 0, rc;

	if (s->failed)
		return s->failed;
	if (pfs_packet_peek(pkt, len, &h) != 0 || h.conn_id != s->cfg.local_cid) {
		s->st.foreign_cid++;
		return 0;
	}
	if (pfs_packet_open(&s->rx_aead, pkt, len, &h, s->frame_tmp, s->cfg.mtu, &n) != 0) {
		s->st.auth_failed++;
		return 0;
	}
	if (pfs_replay_check(&s->replay, h.pn) != 0) {
		s->st.replayed++;
		return 0;
	}
	pfs_replay_commit(&s->replay, h.pn);
	s->st.packets_received++;
	s->st.bytes_received += len;
	while (pos < n) {
		if (pfs_frame_parse(s->frame_tmp + pos, n - pos, &used, &f) != 0) {
			s->st.malformed++;
			break;
		}
		pos += used;
		switch (f.type) {
		case PFS_FR_ACK:
			if (pfs_rec_on_ack(&s->rec, &f.u.ack, now, &ev) != 0)
				s->st.malformed++;
			break;
		case PFS_FR_LOG_ACK:
			/* the peer holds our tx log up to contig: point below it */
			if (f.u.log_ack.log == PFS_LOG_SENDER_TX &&
			    f.u.log_ack.contig > s->logs.tx->frontier &&
			    f.u.log_ack.contig <= s->logs.tx->contig)
				pfs_log_set_frontier(s->logs.tx, f.u.log_ack.contig);
			break;
		case PFS_FR_BLOCK:
			eliciting = 1;
			rc = on_block(s, &f.u.block);
			if (rc)
				return s->failed = rc;
			break;
		case PFS_FR_PING:
			eliciting = 1;
			break;
		default:
			break;
		}
	}
	note_received(s, h.pn);
	if (eliciting) {
		s->eliciting_unacked++;
		if (!s->ack_due_ns)
			s->ack_due_ns = now + s->cfg.max_ack_delay_ns;
	}
	return 0;
}
