/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session engine model (docs/transport.md). Sending: streams are encoded into
 * blocks lazily, at most window_blocks unacknowledged at a time and only below
 * the receiver's block credit (MAX_BLOCKS); each block is cut into pieces that
 * fit one packet, and a piece declared lost is sent again in a new packet.
 * Control frames (STREAM_OPEN, STREAM_FIN, STREAM_DONE, REPAIR) are reliable
 * too: each sits in a queue until a packet that carried it is acknowledged,
 * and goes back into the queue when that packet is lost.
 *
 * Receiving: pieces are gathered per block and a complete block is decoded at
 * once and handed to the sink — unless its stream's STREAM_OPEN has not
 * arrived yet, in which case the assembled block waits for it. A block that
 * does not decode although its packets authenticated means the logs diverged:
 * the receiver asks for its bytes again (REPAIR) and the sender answers with
 * literal blocks for the same log range. Packet acknowledgements drive loss
 * recovery and congestion control; LOG_ACK frames carry the receiver's
 * contiguous rx-log end, which is the only thing that moves the sender's
 * tx-log frontier (DESIGN §3.2).
 *
 * Keys: one tx key; up to three rx keys (current, next, retired) tried in
 * that order, so a rotation (pfs_session_update_keys) needs no pause and
 * costs no packet however the two ends' switches and the path interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "block.h"
#include "compiler.h"
#include "error.h"
#include "frames.h"
#include "session.h"

#define MAX_STREAMS PFS_SESSION_STREAMS
#define RX_RANGES 32  /* packet-number ranges remembered for ACK frames */
#define ASM_RANGES 64 /* received byte ranges per block being assembled */
#define PIECE_BITS 24 /* cookie = block id << PIECE_BITS | piece */
#define NO_COOKIE UINT64_MAX
#define CTRL_COOKIE (UINT64_C(1) << 63) /* cookie = CTRL_COOKIE | packet record */
#define FRAME_ROOM \
	64		  /* plaintext kept free for ACK and LOG_ACK frames; a
			   * longer ACK goes alone and the piece follows */
#define PKT_CTRL_MAX 1024 /* packets in flight that carry control frames */
#define CTRL_PER_PKT 8
#define REPAIRED_MEMORY 256 /* block ids whose repair was already sent */

enum { PIECE_UNSENT, PIECE_INFLIGHT, PIECE_ACKED, PIECE_RESEND };
enum { RB_FREE, RB_ASSEMBLING, RB_WAITING, RB_APPLIED };
/* stream_id of an RB_WAITING block that waits for room in the rx log: its
 * range would be one out-of-order range too many (PFS_LOG_MAX_PENDING) */
#define WAITS_FOR_LOG UINT64_MAX
enum { TS_FREE, TS_QUEUED, TS_ENCODING, TS_ENCODED, TS_DONE };
enum { RS_NONE, RS_OPEN, RS_DONE };
enum { C_FREE, C_QUEUED, C_INFLIGHT };

/* A stream being sent. */
struct stream {
	uint64_t id, len, off; /* off: bytes the encoder has consumed */
	const uint8_t *data;
	char *path;
	int state;
	uint8_t digest[PFS_STREAM_DIGEST_BYTES];
	XXH3_state_t *hash;
};

/* A stream being received. */
struct rstream {
	uint64_t id, size, written;
	int state, fin;
	uint8_t digest[PFS_STREAM_DIGEST_BYTES];
};

/* A control frame that must arrive. */
struct ctrl {
	uint8_t type, state;
	uint32_t gen;  /* bumped on every reuse: stale acks and losses miss */
	uint64_t id;   /* stream id (OPEN, FIN, DONE) */
	uint32_t code; /* DONE */
	struct pfs_fr_repair rp;
};

/* What a packet that carried control frames carried. */
struct pkt_ctrl {
	uint64_t seq, piece_cookie;
	uint32_t n, slot[CTRL_PER_PKT], gen[CTRL_PER_PKT];
	int in_use;
};

/* Bytes to resend as literal blocks for the peer (a REPAIR frame). */
struct repair_job {
	struct pfs_fr_repair rp;
	uint32_t done;
};

struct sblock {
	uint64_t id;	 /* UINT64_MAX: slot free */
	uint64_t logged; /* bytes the block appended to the tx log (and will to the peer's rx log) */
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
	uint64_t stream_id; /* RB_WAITING: the stream it waits for */
	struct range32 r[ASM_RANGES];
};

/* A receive key: its AEAD state, and the key as given, to know it again. */
struct rx_key {
	struct pfs_aead aead;
	uint8_t key[PFS_AEAD_KEY_BYTES], iv[PFS_AEAD_IV_BYTES];
	int live;
};

struct pfs_session {
	struct pfs_session_config cfg; /* its keys are wiped once installed */
	struct pfs_session_logs logs;
	struct pfs_session_sink sink;
	struct pfs_session_stats st;
	struct pfs_aead tx_aead;
	/* receive keys (session.h, pfs_session_update_keys): current, next
	 * (installed, no packet seen under it yet), retired (kept until
	 * prev_until_pn or prev_until_ns, whichever comes first) */
	struct rx_key rx_cur, rx_next, rx_prev;
	uint64_t prev_until_pn, prev_until_ns;
	uint64_t now_ns; /* the time the last call was given */
	struct pfs_replay replay;
	struct pfs_recovery rec;
	struct pfs_cc cc;
	struct pfs_pacer pacer;
	struct pfs_encoder *enc;
	struct pfs_decoder *dec;
	uint8_t *enc_buf, *dec_out, *plain, *frame_tmp, *repair_buf;
	size_t enc_cap;
	uint32_t piece_max;
	/* sending */
	struct stream streams[MAX_STREAMS];
	uint64_t next_stream, stream_low, stream_cur; /* ids: next new, lowest not
						       * done, being encoded */
	struct sblock *sb;
	uint32_t sb_slots, window, blocks_in_flight; /* slots: the window at creation */
	/* tx-log bytes appended by blocks not yet fully acknowledged; kept at or
	 * below margin - block_max before a block is encoded (see encode_next) */
	uint64_t logged_in_flight, margin;
	uint64_t next_block_id, tx_pn, peer_max_block;
	uint32_t probes;	     /* ack-eliciting packets owed to a probe timeout */
	uint64_t resend[RESEND_MAX]; /* cookies of lost pieces, oldest first */
	uint32_t resend_head, resend_count;
	uint64_t oldest_block; /* no block below is still being sent */
	struct repair_job *jobs;
	uint32_t jobs_head, jobs_count, jobs_max;
	uint64_t repaired[REPAIRED_MEMORY];
	uint32_t nrepaired;
	/* control frames */
	struct ctrl *ctrl;
	uint32_t *ctrl_fifo, ctrl_max, fifo_head, fifo_count, ctrl_used;
	struct pkt_ctrl pkt_ctrl[PKT_CTRL_MAX];
	uint64_t pkt_ctrl_next;
	/* receiving */
	struct rstream rstreams[MAX_STREAMS];
	uint64_t rstream_floor; /* every stream id below is done here */
	struct rblock *rb;
	uint32_t nrb;
	uint64_t rx_floor;    /* every block id below is applied */
	uint32_t log_waiting; /* RB_WAITING blocks that wait for the log */
	int retry_log;	      /* a block applied since: they may fit now */
	uint64_t max_blocks_sent;
	struct pfs_ack_range rx[RX_RANGES];
	uint32_t nrx, eliciting_unacked;
	uint64_t ack_due_ns, log_ack_sent;
	int failed;
	char path_tmp[PFS_FR_PATH_MAX + 1];
};

/* --- control frames -------------------------------------------------------------- */

/* Queues a control frame; its fields are filled in by the caller through the
 * returned entry. NULL only if the queue is full, which its sizing rules out
 * (every entry belongs to a live stream or an outstanding block). */
static struct ctrl *ctrl_push(struct pfs_session *s, uint8_t type, uint64_t id)
{
	for (uint32_t k = 0; k < s->ctrl_max; k++) {
		uint32_t i = (s->ctrl_used + k) % s->ctrl_max;
		struct ctrl *c = &s->ctrl[i];
		if (c->state != C_FREE)
			continue;
		c->type = type;
		c->id = id;
		c->code = 0;
		c->gen++;
		c->state = C_QUEUED;
		s->ctrl_fifo[(s->fifo_head + s->fifo_count++) % s->ctrl_max] = i;
		s->ctrl_used = i + 1;
		return c;
	}
	return NULL;
}

static void ctrl_requeue(struct pfs_session *s, uint32_t i)
{
	s->ctrl[i].state = C_QUEUED;
	s->ctrl_fifo[(s->fifo_head + s->fifo_count++) % s->ctrl_max] = i;
}

/* Writes one control frame; 0 if it does not fit. */
static size_t ctrl_put(struct pfs_session *s, const struct ctrl *c, uint8_t *p, size_t cap)
{
	const struct stream *st = &s->streams[c->id % MAX_STREAMS];

	switch (c->type) {
	case PFS_FR_STREAM_OPEN: {
		struct pfs_fr_stream_open o = { .stream_id = c->id,
						.size = st->len,
						.path_len = (uint32_t)strlen(st->path),
						.path = (const uint8_t *)st->path };
		return pfs_frame_put_stream_open(p, cap, &o);
	}
	case PFS_FR_STREAM_FIN: {
		struct pfs_fr_stream_fin f = { .stream_id = c->id, .digest = st->digest };
		return pfs_frame_put_stream_fin(p, cap, &f);
	}
	case PFS_FR_STREAM_DONE: {
		struct pfs_fr_stream_done d = { .stream_id = c->id, .code = c->code };
		return pfs_frame_put_stream_done(p, cap, &d);
	}
	default:
		return pfs_frame_put_repair(p, cap, &c->rp);
	}
}

/*
 * Fills p with queued control frames that fit, records them in a packet
 * record, and returns the bytes written; *cookie becomes the record's cookie.
 * A frame whose stream was given up in the meantime is dropped here.
 */
static size_t put_ctrl(struct pfs_session *s, uint8_t *p, size_t cap, uint64_t *cookie)
{
	struct pkt_ctrl *pk = &s->pkt_ctrl[s->pkt_ctrl_next % PKT_CTRL_MAX];
	size_t n = 0;

	if (!s->fifo_count || pk->in_use)
		return 0;
	pk->n = 0;
	while (s->fifo_count && pk->n < CTRL_PER_PKT) {
		uint32_t i = s->ctrl_fifo[s->fifo_head];
		struct ctrl *c = &s->ctrl[i];
		size_t m;
		if (c->type == PFS_FR_STREAM_OPEN || c->type == PFS_FR_STREAM_FIN) {
			const struct stream *st = &s->streams[c->id % MAX_STREAMS];
			if (st->id != c->id || st->state == TS_DONE) {
				c->state = C_FREE; /* the peer has given up on it */
				goto pop;
			}
		}
		m = ctrl_put(s, c, p + n, cap - n);
		if (!m)
			break;
		n += m;
		c->state = C_INFLIGHT;
		pk->slot[pk->n] = i;
		pk->gen[pk->n++] = c->gen;
		s->st.ctrl_frames_sent++;
pop:
		s->fifo_head = (s->fifo_head + 1) % s->ctrl_max;
		s->fifo_count--;
	}
	if (pk->n) {
		pk->in_use = 1;
		pk->seq = s->pkt_ctrl_next++;
		pk->piece_cookie = NO_COOKIE;
		*cookie = CTRL_COOKIE | pk->seq;
	}
	return n;
}

/* --- recovery and congestion events ------------------------------------------ */

static struct sblock *sblock_of(struct pfs_session *s, uint64_t id)
{
	struct sblock *b = &s->sb[id % s->sb_slots];

	return b->id == id ? b : NULL;
}

static void piece_acked(struct pfs_session *s, uint64_t cookie)
{
	struct sblock *b = sblock_of(s, cookie >> PIECE_BITS);
	uint32_t piece = (uint32_t)(cookie & ((1u << PIECE_BITS) - 1));

	if (!b || piece >= b->npieces || b->state[piece] == PIECE_ACKED)
		return;
	b->state[piece] = PIECE_ACKED;
	if (++b->acked == b->npieces) {
		s->logged_in_flight -= b->logged;
		free(b->wire);
		free(b->state);
		*b = (struct sblock){ .id = UINT64_MAX };
		s->blocks_in_flight--;
	}
}

static void piece_lost(struct pfs_session *s, uint64_t cookie)
{
	struct sblock *b = sblock_of(s, cookie >> PIECE_BITS);
	uint32_t piece = (uint32_t)(cookie & ((1u << PIECE_BITS) - 1));

	if (b && piece < b->npieces && b->state[piece] == PIECE_INFLIGHT) {
		b->state[piece] = PIECE_RESEND;
		s->st.pieces_lost++;
		if (s->resend_count < RESEND_MAX)
			s->resend[(s->resend_head + s->resend_count++) % RESEND_MAX] = cookie;
		else
			b->first_unsent = 0; /* queue full: rescan this block */
	}
}

/* Settles the control frames of a packet record: acknowledged ones are done,
 * lost ones go back into the queue. Returns the record's piece cookie. */
static uint64_t ctrl_settle(struct pfs_session *s, uint64_t cookie, int acked)
{
	uint64_t seq = cookie & ~CTRL_COOKIE;
	struct pkt_ctrl *pk = &s->pkt_ctrl[seq % PKT_CTRL_MAX];
	uint64_t piece = pk->piece_cookie;

	if (!pk->in_use || pk->seq != seq)
		return NO_COOKIE; /* settled already: a late copy of the news */
	for (uint32_t k = 0; k < pk->n; k++) {
		struct ctrl *c = &s->ctrl[pk->slot[k]];
		if (c->gen != pk->gen[k] || c->state != C_INFLIGHT)
			continue; /* resent since, or settled by an earlier copy */
		if (acked) {
			c->state = C_FREE;
		} else {
			s->st.ctrl_frames_lost++;
			ctrl_requeue(s, pk->slot[k]);
		}
	}
	pk->in_use = 0;
	return piece;
}

static void on_acked(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns, uint64_t now)
{
	struct pfs_session *s = ctx;

	pfs_cc_on_acked(&s->cc, bytes, sent_ns, now, s->rec.srtt_ns, s->rec.min_rtt_ns,
			s->rec.bytes_in_flight);
	if (cookie != NO_COOKIE && (cookie & CTRL_COOKIE))
		cookie = ctrl_settle(s, cookie, 1);
	if (cookie != NO_COOKIE)
		piece_acked(s, cookie);
}

static void on_lost(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns, uint64_t now)
{
	struct pfs_session *s = ctx;

	pfs_cc_on_lost(&s->cc, bytes, sent_ns, now);
	if (cookie != NO_COOKIE && (cookie & CTRL_COOKIE))
		cookie = ctrl_settle(s, cookie, 0);
	if (cookie != NO_COOKIE)
		piece_lost(s, cookie);
}

static struct pfs_rec_events events(struct pfs_session *s)
{
	return (struct pfs_rec_events){ .ctx = s, .acked = on_acked, .lost = on_lost };
}

/* --- keys ---------------------------------------------------------------------------- */

static int rx_key_set(struct rx_key *k, enum pfs_aead_alg alg,
		      const uint8_t key[PFS_AEAD_KEY_BYTES], const uint8_t iv[PFS_AEAD_IV_BYTES])
{
	int rc = pfs_aead_init(&k->aead, alg, key, iv);

	if (rc)
		return rc;
	memcpy(k->key, key, sizeof(k->key));
	memcpy(k->iv, iv, sizeof(k->iv));
	k->live = 1;
	return 0;
}

static void rx_key_wipe(struct rx_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

static int rx_key_is(const struct rx_key *k, const uint8_t key[PFS_AEAD_KEY_BYTES],
		     const uint8_t iv[PFS_AEAD_IV_BYTES])
{
	return k->live && sodium_memcmp(k->key, key, sizeof(k->key)) == 0 &&
	       sodium_memcmp(k->iv, iv, sizeof(k->iv)) == 0;
}

/* The next key becomes current; first_pn is the first packet number it
 * opened (stragglers under the old key have lower ones). */
static void promote(struct pfs_session *s, uint64_t first_pn)
{
	uint64_t grace = PFS_SESSION_KEY_GRACE_PTOS * pfs_rec_pto_ns(&s->rec);

	rx_key_wipe(&s->rx_prev);
	s->rx_prev = s->rx_cur;
	s->rx_cur = s->rx_next;
	rx_key_wipe(&s->rx_next);
	s->prev_until_pn = first_pn + PFS_REPLAY_WINDOW;
	s->prev_until_ns =
		s->now_ns +
		(grace < PFS_SESSION_KEY_GRACE_MAX_NS ? grace : PFS_SESSION_KEY_GRACE_MAX_NS);
}

/* Wipes the retired key once no straggler can need it. */
static void expire_prev(struct pfs_session *s)
{
	if (unlikely(s->rx_prev.live) &&
	    (s->now_ns >= s->prev_until_ns || s->replay.top >= s->prev_until_pn))
		rx_key_wipe(&s->rx_prev);
}

int pfs_session_update_keys(struct pfs_session *s, const uint8_t tx_key[PFS_AEAD_KEY_BYTES],
			    const uint8_t tx_iv[PFS_AEAD_IV_BYTES],
			    const uint8_t rx_key[PFS_AEAD_KEY_BYTES],
			    const uint8_t rx_iv[PFS_AEAD_IV_BYTES])
{
	struct pfs_aead tx;
	struct rx_key next = { 0 };
	int new_rx, rc;

	if (!s || !tx_key || !tx_iv || !rx_key || !rx_iv)
		return PFS_ERR_INVALID_ARG;
	new_rx = !rx_key_is(&s->rx_cur, rx_key, rx_iv) && !rx_key_is(&s->rx_next, rx_key, rx_iv);
	/* both are set up before anything changes: on an error the session
	 * keeps the keys it had */
	rc = pfs_aead_init(&tx, s->tx_aead.alg, tx_key, tx_iv);
	if (!rc && new_rx)
		rc = rx_key_set(&next, s->rx_cur.aead.alg, rx_key, rx_iv);
	if (rc) {
		pfs_aead_wipe(&tx);
		rx_key_wipe(&next);
		return rc;
	}
	s->tx_aead = tx;
	pfs_aead_wipe(&tx);
	if (new_rx) {
		/* the update before was never used by a packet: it completes now
		 * (session.h); its first packet would have come after this one's */
		if (s->rx_next.live)
			promote(s, s->replay.top);
		s->rx_next = next;
		rx_key_wipe(&next);
	}
	s->st.key_updates++;
	return 0;
}

/*
 * Authenticates and decrypts a packet under the current key, else the next,
 * else the retired one. Returns which opened it (0 current, 1 next, 2
 * retired) or -1.
 */
static int open_packet(struct pfs_session *s, const uint8_t *pkt, size_t len,
		       struct pfs_packet_header *h, size_t *n)
{
	if (pfs_packet_open(&s->rx_cur.aead, pkt, len, h, s->frame_tmp, s->cfg.mtu, n) == 0)
		return 0;
	if (unlikely(s->rx_next.live) &&
	    pfs_packet_open(&s->rx_next.aead, pkt, len, h, s->frame_tmp, s->cfg.mtu, n) == 0)
		return 1;
	if (unlikely(s->rx_prev.live) &&
	    pfs_packet_open(&s->rx_prev.aead, pkt, len, h, s->frame_tmp, s->cfg.mtu, n) == 0)
		return 2;
	return -1;
}

/* --- set-up ---------------------------------------------------------------------- */

int pfs_session_new(struct pfs_session **out, const struct pfs_session_config *cfg,
		    const struct pfs_session_logs *logs, const struct pfs_session_sink *sink,
		    char *err, size_t errlen)
{
	struct pfs_session *s;
	struct pfs_codec_config codec;
	uint32_t margin_blocks;
	int rc;

	if (cfg->mtu < 576 || cfg->mtu > PFS_PACKET_MAX || cfg->window_blocks == 0 ||
	    cfg->window_blocks > 4096 || !logs->tx || !logs->rx || !logs->tx_index || !logs->keys) {
		snprintf(err, errlen,
			 "session: mtu must be 576..%u bytes, window 1..4096 "
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
	/* Pointers stay clear of what the blocks in flight may still evict: at
	 * most margin_blocks full blocks' worth of log bytes, however many
	 * (small) blocks the window lets fly — encode_next holds to that. */
	codec = cfg->codec;
	margin_blocks = cfg->margin_blocks;
	if (!margin_blocks)
		margin_blocks = cfg->window_blocks < PFS_SESSION_MARGIN_BLOCKS ?
					cfg->window_blocks :
					PFS_SESSION_MARGIN_BLOCKS;
	codec.margin = (uint64_t)margin_blocks * codec.block_max;
	rc = pfs_encoder_new(&s->enc, &codec, logs->keys, logs->tx, logs->tx_index, NULL, NULL, err,
			     errlen);
	if (rc)
		goto err_free;
	rc = pfs_decoder_new(&s->dec, &codec, logs->rx, logs->tx, NULL, NULL);
	if (rc) {
		snprintf(err, errlen, "session: cannot create the decoder");
		goto err_free;
	}
	rc = pfs_aead_init(&s->tx_aead, cfg->aead, cfg->tx_key, cfg->tx_iv);
	if (!rc)
		rc = rx_key_set(&s->rx_cur, cfg->aead, cfg->rx_key, cfg->rx_iv);
	/* the keys live on in the AEAD states only, so a rotation wipes them */
	sodium_memzero(s->cfg.tx_key, sizeof(s->cfg.tx_key));
	sodium_memzero(s->cfg.tx_iv, sizeof(s->cfg.tx_iv));
	sodium_memzero(s->cfg.rx_key, sizeof(s->cfg.rx_key));
	sodium_memzero(s->cfg.rx_iv, sizeof(s->cfg.rx_iv));
	if (!rc)
		rc = pfs_cc_init(&s->cc, cfg->cc, cfg->mtu, cfg->fixed_rate, cfg->rate_cap);
	if (rc) {
		snprintf(err, errlen, "session: bad crypto or congestion-control settings");
		goto err_free;
	}
	pfs_rec_init(&s->rec, cfg->max_ack_delay_ns);
	if (cfg->max_pto_backoff)
		s->rec.pto_backoff_max = cfg->max_pto_backoff;
	pfs_pacer_init(&s->pacer, 10ull * cfg->mtu, (uint64_t)PFS_CC_BURST_PACKETS * cfg->mtu);
	s->enc_cap = pfs_block_bound(&codec);
	s->piece_max = cfg->mtu - PFS_PACKET_OVERHEAD - PFS_FR_BLOCK_OVERHEAD - FRAME_ROOM;
	s->nrb = 4 * cfg->window_blocks;
	/* until the peer's first MAX_BLOCKS: what any receiver has room for
	 * (its window is at least one block, its assembly room four times that) */
	s->peer_max_block = 4;
	/* every control frame belongs to a live stream (OPEN, FIN, DONE) or to
	 * a block within the peer's credit (REPAIR): this many always suffice */
	s->ctrl_max = 3 * MAX_STREAMS + s->nrb;
	s->jobs_max = s->nrb;
	s->enc_buf = malloc(s->enc_cap);
	s->dec_out = malloc(codec.block_max);
	s->repair_buf = malloc(codec.block_max);
	s->plain = malloc(cfg->mtu);
	s->frame_tmp = malloc(cfg->mtu);
	s->sb_slots = s->window = cfg->window_blocks;
	s->margin = codec.margin;
	/* a first ack-eliciting packet, resent on probe timeouts until it is
	 * acknowledged: both ends hear from each other even when neither has
	 * data yet, and even if the peer added its session a moment later */
	s->probes = 1;
	s->sb = calloc(cfg->window_blocks, sizeof(*s->sb));
	s->rb = calloc(s->nrb, sizeof(*s->rb));
	s->ctrl = calloc(s->ctrl_max, sizeof(*s->ctrl));
	s->ctrl_fifo = calloc(s->ctrl_max, sizeof(*s->ctrl_fifo));
	s->jobs = calloc(s->jobs_max, sizeof(*s->jobs));
	if (!s->enc_buf || !s->dec_out || !s->repair_buf || !s->plain || !s->frame_tmp || !s->sb ||
	    !s->rb || !s->ctrl || !s->ctrl_fifo || !s->jobs) {
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
	for (uint32_t i = 0; s->sb && i < s->sb_slots; i++) {
		free(s->sb[i].wire);
		free(s->sb[i].state);
	}
	for (uint32_t i = 0; s->rb && i < s->nrb; i++)
		free(s->rb[i].buf);
	for (uint32_t i = 0; i < MAX_STREAMS; i++) {
		const struct rstream *r = &s->rstreams[i];
		if (r->state == RS_OPEN && s->sink.abort)
			s->sink.abort(s->sink.ctx, r->id);
		free(s->streams[i].path);
		XXH3_freeState(s->streams[i].hash);
	}
	pfs_encoder_free(s->enc);
	pfs_decoder_free(s->dec);
	pfs_aead_wipe(&s->tx_aead);
	rx_key_wipe(&s->rx_cur);
	rx_key_wipe(&s->rx_next);
	rx_key_wipe(&s->rx_prev);
	free(s->enc_buf);
	free(s->dec_out);
	free(s->repair_buf);
	free(s->ctrl);
	free(s->ctrl_fifo);
	free(s->jobs);
	free(s->plain);
	free(s->frame_tmp);
	free(s->sb);
	free(s->rb);
	free(s);
}

int pfs_session_send_stream(struct pfs_session *s, const uint8_t *data, uint64_t len,
			    const char *path, uint64_t *stream_id)
{
	size_t plen = path ? strnlen(path, PFS_FR_PATH_MAX + 1) : 0;
	struct stream *st;

	/* STREAM_OPEN travels in one packet, beside an ACK */
	if (plen == 0 || plen > PFS_FR_PATH_MAX ||
	    plen + 32 > s->cfg.mtu - PFS_PACKET_OVERHEAD - FRAME_ROOM || (len && !data))
		return PFS_ERR_INVALID_ARG;
	if (s->next_stream - s->stream_low == MAX_STREAMS)
		return PFS_ERR_LIMIT;
	st = &s->streams[s->next_stream % MAX_STREAMS];
	free(st->path);
	XXH3_freeState(st->hash);
	*st = (struct stream){ .id = s->next_stream,
			       .len = len,
			       .data = data,
			       .state = TS_QUEUED,
			       .path = strdup(path) };
	if (!st->path) {
		st->state = TS_FREE;
		return PFS_ERR_NOMEM;
	}
	st->hash = XXH3_createState();
	if (!st->hash) {
		free(st->path);
		st->path = NULL;
		st->state = TS_FREE;
		return PFS_ERR_NOMEM;
	}
	XXH3_128bits_reset(st->hash);
	*stream_id = s->next_stream++;
	return 0;
}

int pfs_session_sent_all(const struct pfs_session *s)
{
	if (s->stream_low < s->next_stream || s->jobs_count)
		return 0;
	return s->blocks_in_flight == 0;
}

int pfs_session_idle(const struct pfs_session *s)
{
	for (uint32_t i = 0; i < s->ctrl_max; i++)
		if (s->ctrl[i].state != C_FREE)
			return 0;
	return pfs_session_sent_all(s);
}

int pfs_session_set_policy(struct pfs_session *s, const struct pfs_session_policy *p, char *err,
			   size_t errlen)
{
	struct pfs_cc cc;

	if (p->window_blocks == 0 || p->window_blocks > s->sb_slots) {
		snprintf(err, errlen,
			 "window %u blocks: must be 1..%u, the window this session started with "
			 "(its buffers were sized for it); add the session again for more",
			 p->window_blocks, s->sb_slots);
		return PFS_ERR_INVALID_ARG;
	}
	if (p->cc != s->cfg.cc || p->fixed_rate != s->cfg.fixed_rate ||
	    p->rate_cap != s->cfg.rate_cap) {
		if (pfs_cc_init(&cc, p->cc, s->cfg.mtu, p->fixed_rate, p->rate_cap) != 0) {
			snprintf(err, errlen,
				 "congestion control: unknown algorithm or a fixed "
				 "rate of 0 bytes/s");
			return PFS_ERR_INVALID_ARG;
		}
		s->cc = cc;
		s->cfg.cc = p->cc;
		s->cfg.fixed_rate = p->fixed_rate;
		s->cfg.rate_cap = p->rate_cap;
	}
	s->window = p->window_blocks;
	s->cfg.max_retries = p->max_retries;
	s->rec.pto_backoff_max = p->max_pto_backoff ? p->max_pto_backoff : 16;
	return 0;
}

const struct pfs_session_stats *pfs_session_stats(struct pfs_session *s)
{
	s->st.srtt_ns = s->rec.srtt_ns;
	s->st.min_rtt_ns = s->rec.min_rtt_ns;
	s->st.cwnd = s->cc.cwnd;
	s->st.pacing_rate = s->cc.pacing_rate;
	s->st.bytes_in_flight = s->rec.bytes_in_flight;
	s->st.blocks_in_flight = s->blocks_in_flight;
	s->st.log_bytes_in_flight = s->logged_in_flight;
	return &s->st;
}

/* --- sending ------------------------------------------------------------------------ */

static struct stream *stream_of(struct pfs_session *s, uint64_t id)
{
	struct stream *st = &s->streams[id % MAX_STREAMS];

	return st->id == id && st->state != TS_FREE && id < s->next_stream ? st : NULL;
}

/* The peer's verdict on a stream we sent. */
static void stream_settle(struct pfs_session *s, struct stream *st, int status)
{
	st->state = TS_DONE;
	XXH3_freeState(st->hash); /* given up before the end: never finished */
	st->hash = NULL;
	if (status)
		s->st.streams_failed++;
	else
		s->st.streams_committed++;
	if (s->sink.sent)
		s->sink.sent(s->sink.ctx, st->id, status);
	while (s->stream_low < s->next_stream &&
	       s->streams[s->stream_low % MAX_STREAMS].state == TS_DONE)
		s->stream_low++;
}

/* Makes the block in enc_buf the next block in flight, in slot b. */
static int take_block(struct pfs_session *s, struct sblock *b, size_t wl, uint64_t logged)
{
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
	b->logged = logged;
	b->id = s->next_block_id++;
	s->blocks_in_flight++;
	s->logged_in_flight += logged;
	s->st.blocks_sent++;
	return 0;
}

/* The next literal block of the oldest repair the peer asked for. */
static int encode_repair(struct pfs_session *s, struct sblock *b)
{
	struct repair_job *job = &s->jobs[s->jobs_head];
	const struct pfs_fr_repair *rp = &job->rp;
	uint32_t left = rp->out_len - job->done;
	const uint8_t *src;
	size_t used, wl;
	int rc;

	if (rp->logged) {
		/* the bytes are in our tx log where the failed block put them */
		uint32_t n = left < s->cfg.codec.lit_max ? left : s->cfg.codec.lit_max;
		if (!pfs_log_readable(s->logs.tx, rp->log_off + job->done, n))
			return PFS_ERR_LITERAL_RANGE; /* evicted before it could be repaired */
		pfs_log_read(s->logs.tx, rp->log_off + job->done, s->repair_buf, n);
		src = s->repair_buf;
		left = n;
	} else {
		const struct stream *st = stream_of(s, rp->stream_id);
		if (!st || st->state == TS_DONE) {
			left = 0; /* nothing to write anywhere any more */
			src = NULL;
		} else {
			src = st->data + rp->stream_off + job->done;
		}
	}
	if (left) {
		uint64_t tail0 = s->logs.tx->tail;

		rc = pfs_encoder_encode_literal(s->enc, rp->stream_id, rp->stream_off + job->done,
						src, left, rp->log_off + job->done, rp->logged,
						&used, s->enc_buf, s->enc_cap, &wl);
		if (rc)
			return rc;
		rc = take_block(s, b, wl, s->logs.tx->tail - tail0);
		if (rc)
			return rc;
		s->st.repair_blocks_sent++;
		job->done += (uint32_t)used;
	}
	if (!left || job->done == rp->out_len) {
		s->jobs_head = (s->jobs_head + 1) % s->jobs_max;
		s->jobs_count--;
	}
	return 0;
}

/* Every byte of the stream is encoded: its digest goes to the peer. */
static int stream_encoded(struct pfs_session *s, struct stream *st)
{
	XXH128_canonicalFromHash((XXH128_canonical_t *)st->digest, XXH3_128bits_digest(st->hash));
	XXH3_freeState(st->hash);
	st->hash = NULL;
	st->state = TS_ENCODED;
	s->stream_cur = st->id + 1;
	return ctrl_push(s, PFS_FR_STREAM_FIN, st->id) ? 0 : PFS_ERR_LIMIT;
}

/* Encodes the next block into a free slot, if there is one and the peer's
 * credit allows: a repair first, else the next bytes of the oldest stream. */
static int encode_next(struct pfs_session *s)
{
	struct sblock *b = &s->sb[s->next_block_id % s->sb_slots];
	struct pfs_block_info info;
	struct stream *st;
	size_t used, wl;
	uint64_t tail0;
	int rc;

	/* the next block may append up to block_max bytes to the log: it may fly
	 * only if, with it, the blocks in flight stay within the pointer margin */
	if (b->id != UINT64_MAX || s->blocks_in_flight >= s->window ||
	    s->next_block_id >= s->peer_max_block ||
	    s->logged_in_flight + s->cfg.codec.block_max > s->margin)
		return 0;
	if (s->jobs_count)
		return encode_repair(s, b);
	for (;;) {
		while (s->stream_cur < s->next_stream &&
		       s->streams[s->stream_cur % MAX_STREAMS].state > TS_ENCODING)
			s->stream_cur++;
		if (s->stream_cur == s->next_stream)
			return 0;
		st = &s->streams[s->stream_cur % MAX_STREAMS];
		if (st->state == TS_QUEUED) {
			/* queued before the first piece: it leaves in the same
			 * packet or an earlier one */
			if (!ctrl_push(s, PFS_FR_STREAM_OPEN, st->id))
				return PFS_ERR_LIMIT;
			st->state = TS_ENCODING;
		}
		if (st->off < st->len)
			break;
		rc = stream_encoded(s, st); /* empty: no block at all */
		if (rc)
			return rc;
	}
	tail0 = s->logs.tx->tail;
	rc = pfs_encoder_encode(s->enc, st->id, st->off, st->data + st->off, st->len - st->off,
				&used, s->enc_buf, s->enc_cap, &wl, &info);
	if (rc)
		return rc;
	XXH3_128bits_update(st->hash, st->data + st->off, used);
	st->off += used;
	s->st.input_bytes += used;
	s->st.pointer_bytes += info.ptr_bytes;
	s->st.literal_bytes += info.lit_len;
	rc = take_block(s, b, wl, s->logs.tx->tail - tail0);
	if (!rc && st->off == st->len)
		rc = stream_encoded(s, st);
	return rc;
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
				memmove(&s->rx[i + 1], &s->rx[i + 2],
					(s->nrx - i - 2) * sizeof(*r));
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
	uint64_t credit = s->rx_floor + s->nrb; /* blocks we have room to assemble */
	struct pfs_fr_max_blocks mb = { .max_block = credit };
	size_t n = 0;

	if (s->nrx && s->eliciting_unacked) {
		memcpy(ack.r, s->rx, s->nrx * sizeof(ack.r[0]));
		n = pfs_frame_put_ack(p, cap, &ack);
		if (n) {
			s->eliciting_unacked = 0;
			s->ack_due_ns = 0;
		}
	}
	/* the frontier and the block credit ride with every ACK, and go alone
	 * when they moved: a lost copy is repaired by the next ACK */
	if (n || la.contig != s->log_ack_sent || credit != s->max_blocks_sent) {
		size_t m = pfs_frame_put_log_ack(p + n, cap - n, &la);
		if (m)
			s->log_ack_sent = la.contig;
		n += m;
		m = pfs_frame_put_max_blocks(p + n, cap - n, &mb);
		if (m)
			s->max_blocks_sent = credit;
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
	s->now_ns = now;
	expire_prev(s);
	if (now >= deadline) {
		s->probes += (uint32_t)pfs_rec_on_timeout(&s->rec, now, &ev);
		/* the retransmit policy: so many probe timeouts in a row and the
		 * peer is gone (an acknowledgement resets the count) */
		if (s->cfg.max_retries && s->rec.pto_count > s->cfg.max_retries)
			return s->failed = PFS_ERR_PEER_SILENT;
	}
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

	n = ack_now || s->logs.rx->contig != s->log_ack_sent ||
			    s->rx_floor + s->nrb != s->max_blocks_sent ?
		    put_acks(s, s->plain, room) :
		    0;
	if (s->fifo_count && (can_send || s->probes > 0)) {
		/* control frames first, beside the piece if both fit */
		size_t need = have ? PFS_FR_BLOCK_OVERHEAD + s->piece_max : 0, c;
		c = put_ctrl(s, s->plain + n, room - n > need ? room - n - need : 0, &cookie);
		if (!c)
			c = put_ctrl(s, s->plain + n, room - n, &cookie);
		if (c) {
			n += c;
			eliciting = 1;
		}
	}
	if (have && can_send) {
		uint32_t off = piece * s->piece_max;
		struct pfs_fr_block fr = { .block_id = b->id,
					   .block_len = b->len,
					   .offset = off,
					   .len = b->len - off < s->piece_max ? b->len - off :
										s->piece_max,
					   .data = b->wire + off };
		size_t m = pfs_frame_put_block(s->plain + n, room - n, &fr);
		if (m) {
			uint64_t pc = b->id << PIECE_BITS | piece;
			if (cookie == NO_COOKIE)
				cookie = pc;
			else
				s->pkt_ctrl[(cookie & ~CTRL_COOKIE) % PKT_CTRL_MAX].piece_cookie =
					pc;
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
	} else if (s->probes > 0 && !eliciting) {
		n += pfs_frame_put_simple(s->plain + n, room - n, PFS_FR_PING);
		eliciting = 1;
	}
	if (n == 0) {
		/* nothing now: wake for the first timer that can change that */
		uint64_t w = deadline;
		if (s->ack_due_ns && s->ack_due_ns < w)
			w = s->ack_due_ns;
		if ((have || s->fifo_count) && s->rec.bytes_in_flight + s->cfg.mtu <= s->cc.cwnd &&
		    when < w)
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
		pfs_rec_make_room(&s->rec, h.pn, now, &ev);
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

/* --- receiving streams --------------------------------------------------------- */

/* The receive slot of stream id, or NULL when id is outside the window of
 * streams the peer may have open (below: done; beyond: a protocol error). */
static struct rstream *rstream_of(struct pfs_session *s, uint64_t id)
{
	struct rstream *r;

	if (id < s->rstream_floor || id - s->rstream_floor >= MAX_STREAMS)
		return NULL;
	r = &s->rstreams[id % MAX_STREAMS];
	if (r->id != id) /* the slot's previous stream is below the floor */
		*r = (struct rstream){ .id = id, .state = RS_NONE };
	return r;
}

/* The stream is over here: tell the peer (code 0: committed). */
static int rstream_done(struct pfs_session *s, struct rstream *r, int rc)
{
	struct ctrl *c;

	r->state = RS_DONE;
	if (rc)
		s->st.streams_refused++;
	else
		s->st.streams_received++;
	c = ctrl_push(s, PFS_FR_STREAM_DONE, r->id);
	if (!c)
		return PFS_ERR_LIMIT;
	c->code = rc < 0 ? (uint32_t)-rc : (uint32_t)rc;
	while (s->rstreams[s->rstream_floor % MAX_STREAMS].state == RS_DONE &&
	       s->rstreams[s->rstream_floor % MAX_STREAMS].id == s->rstream_floor)
		s->rstream_floor++;
	return 0;
}

/* Finishes the stream if every byte and its digest are in. */
static int rstream_check(struct pfs_session *s, struct rstream *r)
{
	int rc = 0;

	if (r->state != RS_OPEN || !r->fin || r->written != r->size)
		return 0;
	if (s->sink.finish)
		rc = s->sink.finish(s->sink.ctx, r->id, r->digest);
	return rstream_done(s, r, rc);
}

/* Decoded bytes for stream id: to the sink if the stream is open, nowhere
 * if it is over (refused, failed) — the log took them either way. */
static int rstream_write(struct pfs_session *s, const struct pfs_block_info *info)
{
	struct rstream *r = rstream_of(s, info->stream_id);
	int rc = 0;

	if (!r || r->state != RS_OPEN)
		return 0;
	if (info->stream_off > r->size || info->out_len > r->size - info->stream_off ||
	    info->out_len > r->size - r->written)
		rc = PFS_ERR_LIMIT; /* more bytes than the stream said it has */
	else if (s->sink.write && info->out_len)
		rc = s->sink.write(s->sink.ctx, r->id, info->stream_off, s->dec_out, info->out_len);
	if (rc) {
		if (s->sink.abort)
			s->sink.abort(s->sink.ctx, r->id);
		return rstream_done(s, r, rc);
	}
	r->written += info->out_len;
	return rstream_check(s, r);
}

/* --- receiving blocks ---------------------------------------------------------- */

static void rb_applied(struct pfs_session *s, struct rblock *rb)
{
	free(rb->buf);
	rb->buf = NULL;
	rb->state = RB_APPLIED;
	while (s->rb[s->rx_floor % s->nrb].state == RB_APPLIED &&
	       s->rb[s->rx_floor % s->nrb].id == s->rx_floor) {
		s->rb[s->rx_floor % s->nrb].state = RB_FREE;
		s->rx_floor++;
	}
}

/* Errors that say this end's log differs from the sender's: the block is
 * fine, what it points at is not. */
static int diverged(int rc)
{
	return rc == PFS_ERR_POINTER_CHECK || rc == PFS_ERR_POINTER_RANGE ||
	       rc == PFS_ERR_DECOMPRESS;
}

static int apply_waiting(struct pfs_session *s, uint64_t stream_id);

static int apply_block(struct pfs_session *s, struct rblock *rb)
{
	struct pfs_block_info info;
	struct pfs_fr_repair *rp;
	struct rstream *r;
	struct ctrl *c;
	int rc = pfs_block_peek(rb->buf, rb->len, &info);

	if (rc) {
		/* an authenticated peer sent a broken block: a bug, not the path */
		s->st.block_errors++;
		return rc;
	}
	r = rstream_of(s, info.stream_id);
	if (!r && info.stream_id >= s->rstream_floor) {
		s->st.block_errors++;
		return PFS_ERR_MALFORMED; /* beyond the streams the peer may open */
	}
	if (r && r->state == RS_NONE) {
		rb->state = RB_WAITING; /* its STREAM_OPEN is on the way */
		rb->stream_id = info.stream_id;
		return 0;
	}
	rc = pfs_decoder_decode(s->dec, rb->buf, rb->len, s->dec_out, s->cfg.codec.block_max,
				&info);
	if (rc == 0) {
		s->st.blocks_applied++;
		rb_applied(s, rb);
		/* a block that filled a gap may have made room for the waiting
		 * (drain_log_waiting retries them, without recursion) */
		if (s->log_waiting)
			s->retry_log = 1;
		return rstream_write(s, &info);
	}
	if (rc == PFS_ERR_OUT_OF_ORDER) {
		/* Too many blocks above a hole in the log (heavy loss, a deep
		 * window): keep this one assembled until the hole fills. The
		 * block that fills it extends the contiguous end and needs no
		 * range, so this always drains. */
		if (!(rb->state == RB_WAITING && rb->stream_id == WAITS_FOR_LOG))
			s->log_waiting++;
		s->st.blocks_waited_for_log++;
		rb->state = RB_WAITING;
		rb->stream_id = WAITS_FOR_LOG;
		return 0;
	}
	s->st.block_errors++;
	if (!diverged(rc))
		return rc;
	/* the logs diverged under this block: ask for its bytes as literals,
	 * for the same log range (DESIGN §3.4) */
	c = ctrl_push(s, PFS_FR_REPAIR, info.stream_id);
	if (!c)
		return PFS_ERR_LIMIT;
	rp = &c->rp;
	*rp = (struct pfs_fr_repair){ .block_id = rb->id,
				      .stream_id = info.stream_id,
				      .stream_off = info.stream_off,
				      .out_len = info.out_len,
				      .log_off = info.log_off };
	rp->logged = !(info.flags & PFS_BLOCK_NOLOG) &&
		     ((info.flags & PFS_BLOCK_MATERIAL) || info.lit_len > 0);
	s->st.repairs_requested++;
	rb_applied(s, rb);
	return 0;
}

/* A stream opened: blocks that waited for it apply now. */
static int apply_waiting(struct pfs_session *s, uint64_t stream_id)
{
	for (uint32_t i = 0; i < s->nrb; i++) {
		struct rblock *rb = &s->rb[i];
		if (rb->state == RB_WAITING && rb->stream_id == stream_id) {
			int rc;
			if (stream_id == WAITS_FOR_LOG)
				s->log_waiting--; /* apply_block counts it again if it must */
			rb->state = RB_ASSEMBLING;
			rc = apply_block(s, rb);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Retries the blocks that wait for room in the log while applying them makes
 * more room. */
static int drain_log_waiting(struct pfs_session *s)
{
	int rc = 0;

	while (!rc && s->retry_log && s->log_waiting) {
		s->retry_log = 0;
		rc = apply_waiting(s, WAITS_FOR_LOG);
	}
	s->retry_log = 0;
	return rc;
}

static int on_stream_open(struct pfs_session *s, const struct pfs_fr_stream_open *o)
{
	struct rstream *r = rstream_of(s, o->stream_id);
	int rc = 0;

	if (!r) {
		if (o->stream_id >= s->rstream_floor)
			s->st.malformed++; /* beyond the window: resent later */
		return 0;
	}
	if (r->state != RS_NONE)
		return 0; /* a copy */
	memcpy(s->path_tmp, o->path, o->path_len);
	s->path_tmp[o->path_len] = 0;
	r->size = o->size;
	if (s->sink.open)
		rc = s->sink.open(s->sink.ctx, r->id, s->path_tmp, o->size);
	if (rc)
		return rstream_done(s, r, rc);
	r->state = RS_OPEN;
	rc = apply_waiting(s, r->id);
	if (!rc)
		rc = drain_log_waiting(s);
	return rc ? rc : rstream_check(s, r);
}

static int on_stream_fin(struct pfs_session *s, const struct pfs_fr_stream_fin *f)
{
	struct rstream *r = rstream_of(s, f->stream_id);

	if (!r || r->fin || r->state == RS_DONE)
		return 0;
	r->fin = 1;
	memcpy(r->digest, f->digest, sizeof(r->digest));
	return rstream_check(s, r);
}

/* The peer's verdict on one of our streams. */
static void on_stream_done(struct pfs_session *s, const struct pfs_fr_stream_done *d)
{
	struct stream *st = stream_of(s, d->stream_id);

	if (!st || st->state == TS_DONE)
		return;
	if (d->code == 0 && st->state != TS_ENCODED) {
		s->st.malformed++; /* committed before we sent it all: refuse to believe */
		return;
	}
	stream_settle(s, st, d->code ? -(int)d->code : 0);
}

/* The peer could not apply one of our blocks: queue its bytes as literals. */
static int on_repair(struct pfs_session *s, const struct pfs_fr_repair *rp)
{
	const struct stream *st = stream_of(s, rp->stream_id);
	struct pfs_log *tx = s->logs.tx;

	for (uint32_t i = 0; i < s->nrepaired && i < REPAIRED_MEMORY; i++)
		if (s->repaired[i] == rp->block_id)
			return 0; /* a copy of a request already served */
	if (rp->out_len == 0 || rp->block_id >= s->next_block_id)
		return 0;
	/* the request must describe bytes we sent: in our log where it says
	 * (and the stream's bytes, while we hold them), or — nothing logged —
	 * in a stream we still hold */
	int live = st && st->state != TS_DONE && rp->stream_off <= st->off &&
		   rp->out_len <= st->off - rp->stream_off;
	int ok = rp->logged ? pfs_log_readable(tx, rp->log_off, rp->out_len) &&
				      (!live || pfs_log_match_forward(tx, rp->log_off,
								      st->data + rp->stream_off,
								      rp->out_len) == rp->out_len) :
			      live;
	if (!ok) {
		s->st.malformed++;
		return 0;
	}
	if (s->jobs_count == s->jobs_max)
		return PFS_ERR_LIMIT;
	s->repaired[s->nrepaired++ % REPAIRED_MEMORY] = rp->block_id;
	s->jobs[(s->jobs_head + s->jobs_count++) % s->jobs_max] = (struct repair_job){ .rp = *rp };
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
	if (rb->state == RB_APPLIED || rb->state == RB_WAITING)
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
	if (rb->nranges == 1 && rb->r[0].lo == 0 && rb->r[0].hi == rb->len) {
		int rc = apply_block(s, rb);
		return rc ? rc : drain_log_waiting(s);
	}
	return 0;
}

int pfs_session_on_packet(struct pfs_session *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct pfs_rec_events ev = events(s);
	struct pfs_packet_header h;
	struct pfs_wire_frame f;
	size_t n, pos = 0, used;
	int eliciting = 0, rc, key;

	if (s->failed)
		return s->failed;
	s->now_ns = now;
	expire_prev(s);
	if (pfs_packet_peek(pkt, len, &h) != 0 || h.conn_id != s->cfg.local_cid) {
		s->st.foreign_cid++;
		return 0;
	}
	key = open_packet(s, pkt, len, &h, &n);
	if (key < 0) {
		s->st.auth_failed++;
		return 0;
	}
	if (pfs_replay_check(&s->replay, h.pn) != 0) {
		s->st.replayed++;
		return 0;
	}
	pfs_replay_commit(&s->replay, h.pn);
	if (unlikely(key == 1)) {
		s->st.next_key_auth++;
		promote(s, h.pn);
	} else if (unlikely(key == 2)) {
		s->st.prev_key_auth++;
	}
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
		case PFS_FR_STREAM_OPEN:
			eliciting = 1;
			rc = on_stream_open(s, &f.u.open);
			if (rc)
				return s->failed = rc;
			break;
		case PFS_FR_STREAM_FIN:
			eliciting = 1;
			rc = on_stream_fin(s, &f.u.fin);
			if (rc)
				return s->failed = rc;
			break;
		case PFS_FR_STREAM_DONE:
			eliciting = 1;
			on_stream_done(s, &f.u.done);
			break;
		case PFS_FR_REPAIR:
			eliciting = 1;
			rc = on_repair(s, &f.u.repair);
			if (rc)
				return s->failed = rc;
			break;
		case PFS_FR_MAX_BLOCKS:
			if (f.u.max_blocks.max_block > s->peer_max_block)
				s->peer_max_block = f.u.max_blocks.max_block;
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
