/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker model (worker.h). A round: (1) every session with something to send
 * fills frames of one burst, round-robin, so a busy session cannot starve the
 * others; (2) a burst of received frames is dispatched by connection id; (3)
 * transfers queue their next files into their sessions while the sessions
 * take them; (4) counters and progress are published, at most every few
 * milliseconds. Files are mapped while their stream is in flight and unmapped
 * when the peer's verdict arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "files.h"
#include "packet.h"
#include "region.h"
#include "session.h"
#include "worker.h"

#define COUNTERS_EVERY_NS 10000000ull  /* 10 ms */
#define PROGRESS_EVERY_NS 250000000ull /* 250 ms */
#define ACK_DELAY_NS 1000000ull
#define SYNC_EVERY_NS 100000000ull /* 100 ms: many small files, one sync */

struct xfer;

/* A stream of ours in flight: which file of which transfer. */
struct inflight {
	struct xfer *x;
	size_t entry;
	struct pfs_file_map map;
};

struct dsess {
	uint64_t id, local_cid;
	struct pfs_addr peer;
	struct pfs_log *tx, *rx;
	struct pfs_index txi;
	struct pfs_codec_keys keys;
	struct pfs_session *s;
	struct pfs_files_rx *files;
	struct inflight fl[PFS_SESSION_STREAMS];
	uint64_t *ctr; /* the session's slot counters, or NULL */
	struct pfs_worker *w;
	int up, failed;
	uint64_t wake;
	/* logs to make durable (pfs_log_sync), at most every SYNC_EVERY_NS */
	int tx_dirty, rx_dirty;
	uint64_t synced_ns;
};

/* A transfer we send: a list of files queued into one session in order. */
struct xfer {
	uint64_t id;
	struct dsess *ds;
	struct pfs_file_list files;
	size_t next, done, failed;
	uint64_t bytes_done;
	int status, cancelled;
	char msg[300];
	struct pfs_session_stats base; /* the session's stats when it began */
	uint64_t progress_ns;
	struct xfer *nextx;
};

struct pfs_worker {
	struct pfs_worker_config cfg;
	struct dsess *ss[PFS_WORKER_SESSIONS];
	uint32_t nss, rr;
	struct xfer *xfers;
	uint32_t nxfers;
	uint64_t counters_ns;
	char err[512];
};

uint32_t pfs_worker_for_cid(uint64_t cid, uint32_t n)
{
	/* the steering program loads the 4 header bytes at payload offset 4
	 * (the connection id's low half, little-endian on the wire) as a
	 * big-endian word */
	uint32_t lo = (uint32_t)cid;

	return n ? __builtin_bswap32(lo) % n : 0;
}

/* --- events ------------------------------------------------------------------------ */

static void emit(struct pfs_worker *w, const struct pfs_msg *m)
{
	if (w->cfg.emit)
		w->cfg.emit(w->cfg.ctx, m);
}

static struct pfs_msg_str str(const char *s)
{
	size_t n = strlen(s);

	return (struct pfs_msg_str){ .p = (const uint8_t *)s,
				     .len = (uint16_t)(n > PFS_MSG_TEXT_MAX ? PFS_MSG_TEXT_MAX :
									      n) };
}

static void session_state(struct pfs_worker *w, uint64_t id, enum pfs_sstate st, int error,
			  const char *why)
{
	struct pfs_msg m = { .type = PFS_MSG_SESSION_STATE };

	m.u.session_state = (struct pfs_msg_session_state){
		.session_id = id, .state = (uint8_t)st, .error = error, .message = str(why)
	};
	emit(w, &m);
}

static void progress(struct pfs_worker *w, struct xfer *x)
{
	const struct pfs_session_stats *st = pfs_session_stats(x->ds->s);
	struct pfs_msg m = { .type = PFS_MSG_TRANSFER_PROGRESS };

	m.u.progress = (struct pfs_msg_transfer_progress){
		.transfer_id = x->id,
		.bytes_done = x->bytes_done,
		.bytes_total = x->files.bytes,
		.files_done = (uint32_t)(x->done + x->failed),
		.files_total = (uint32_t)x->files.n,
		.wire_bytes = st->bytes_sent - x->base.bytes_sent,
		.pointer_bytes = st->pointer_bytes - x->base.pointer_bytes,
		.retransmitted_bytes = st->retransmitted_bytes - x->base.retransmitted_bytes,
	};
	emit(w, &m);
}

static void transfer_done(struct pfs_worker *w, uint64_t id, int status, const char *why)
{
	struct pfs_msg m = { .type = PFS_MSG_TRANSFER_DONE };

	m.u.done = (struct pfs_msg_transfer_done){ .transfer_id = id,
						   .status = status,
						   .message = str(why) };
	emit(w, &m);
}

/* --- transfers ---------------------------------------------------------------------- */

static void xfer_free(struct pfs_worker *w, struct xfer *x)
{
	for (struct xfer **p = &w->xfers; *p; p = &(*p)->nextx) {
		if (*p == x) {
			*p = x->nextx;
			w->nxfers--;
			break;
		}
	}
	pfs_files_free(&x->files);
	free(x);
}

/* Reports and frees a transfer whose files are all settled. */
static void xfer_maybe_done(struct pfs_worker *w, struct xfer *x)
{
	char why[400];

	if (x->done + x->failed < x->next || (x->next < x->files.n && !x->cancelled))
		return;
	x->ds->tx_dirty = 1; /* what the peer now holds, durable on this side too */
	progress(w, x);
	if (x->cancelled)
		snprintf(why, sizeof(why), "cancelled after %zu of %zu files", x->done, x->files.n);
	else if (x->failed)
		snprintf(why, sizeof(why), "%zu of %zu files failed; first: %s", x->failed,
			 x->files.n, x->msg);
	else
		snprintf(why, sizeof(why), "%zu files, %llu bytes, committed by the peer",
			 x->files.n, (unsigned long long)x->bytes_done);
	transfer_done(w, x->id, x->cancelled ? PFS_ERR_CANCELLED : x->status, why);
	xfer_free(w, x);
}

/* The peer's verdict on one of our streams (session sink; ctx: the files). */
static void on_sent(void *ctx, uint64_t stream_id, int status)
{
	struct dsess *ds = ((struct pfs_files_rx *)ctx)->ctx;
	struct inflight *f = &ds->fl[stream_id % PFS_SESSION_STREAMS];
	struct xfer *x = f->x;

	pfs_file_unmap(&f->map);
	f->x = NULL;
	if (!x)
		return;
	if (status == 0) {
		x->done++;
		x->bytes_done += x->files.e[f->entry].size;
	} else {
		if (!x->failed) {
			x->status = status;
			snprintf(x->msg, sizeof(x->msg), "%s: %s", x->files.e[f->entry].rel,
				 pfs_strerror(status));
		}
		x->failed++;
	}
	xfer_maybe_done(ds->w, x);
}

/* Queues the next files of the transfers of ds while the session takes them. */
static void feed(struct pfs_worker *w, struct dsess *ds)
{
	for (struct xfer *x = w->xfers; x; x = x->nextx) {
		if (x->ds != ds || x->cancelled)
			continue;
		while (x->next < x->files.n) {
			const struct pfs_file_entry *e = &x->files.e[x->next];
			struct pfs_file_map map;
			uint64_t id;
			int rc = pfs_file_map(&map, e, w->err, sizeof(w->err));
			if (rc == 0) {
				rc = pfs_session_send_stream(ds->s, map.data, map.len, e->rel, &id);
				if (rc == PFS_ERR_LIMIT) {
					pfs_file_unmap(&map);
					return; /* the session is full: later */
				}
				if (rc)
					snprintf(w->err, sizeof(w->err), "%s: cannot be sent (%s)",
						 e->rel, pfs_strerror(rc));
			}
			x->next++;
			if (rc) {
				if (!x->failed) {
					x->status = rc;
					snprintf(x->msg, sizeof(x->msg), "%.290s", w->err);
				}
				x->failed++;
				pfs_file_unmap(&map);
				continue;
			}
			ds->fl[id % PFS_SESSION_STREAMS] =
				(struct inflight){ .x = x, .entry = x->next - 1, .map = map };
			ds->wake = 0; /* it has something to send now */
		}
		xfer_maybe_done(w, x);
		return; /* one transfer at a time per session keeps files in order */
	}
}

static struct dsess *find_session(struct pfs_worker *w, uint64_t id)
{
	for (uint32_t i = 0; i < w->nss; i++)
		if (w->ss[i]->id == id)
			return w->ss[i];
	return NULL;
}

static int start_transfer(struct pfs_worker *w, const struct pfs_msg_start_transfer *t)
{
	struct dsess *ds = find_session(w, t->session_id);
	char dest[PFS_MSG_PATH_MAX + 1], src[PFS_MSG_PATH_MAX + 1];
	struct xfer *x;
	int rc = 0;

	if (!ds)
		return PFS_ERR_INVALID_ARG;
	x = calloc(1, sizeof(*x));
	if (!x) {
		transfer_done(w, t->transfer_id, PFS_ERR_NOMEM, "out of memory");
		return 0;
	}
	x->id = t->transfer_id;
	x->ds = ds;
	memcpy(dest, t->dest.p, t->dest.len);
	dest[t->dest.len] = 0;
	for (uint16_t i = 0; i < t->nsources && !rc; i++) {
		memcpy(src, t->sources[i].p, t->sources[i].len);
		src[t->sources[i].len] = 0;
		rc = pfs_files_add(&x->files, src, dest, w->err, sizeof(w->err));
	}
	if (rc) {
		/* nothing is sent when any source is bad: say which and why */
		transfer_done(w, x->id, rc, w->err);
		pfs_files_free(&x->files);
		free(x);
		return 0;
	}
	x->base = *pfs_session_stats(ds->s);
	x->nextx = NULL;
	struct xfer **p = &w->xfers;
	while (*p)
		p = &(*p)->nextx;
	*p = x; /* in arrival order */
	w->nxfers++;
	feed(w, ds);
	return 0;
}

static int cancel_transfer(struct pfs_worker *w, uint64_t id)
{
	for (struct xfer *x = w->xfers; x; x = x->nextx) {
		if (x->id == id) {
			/* files already queued finish; no new ones start */
			x->cancelled = 1;
			xfer_maybe_done(w, x);
			return 0;
		}
	}
	return PFS_ERR_INVALID_ARG;
}

/* --- sessions ----------------------------------------------------------------------- */

static void on_file(void *ctx, uint64_t stream_id, const char *rel, uint64_t size, int status,
		    const char *why)
{
	struct dsess *ds = ctx;
	struct pfs_msg m = { .type = PFS_MSG_FILE_RECEIVED };

	if (status) {
		char text[PFS_MSG_TEXT_MAX];
		struct pfs_msg l = { .type = PFS_MSG_LOG };
		snprintf(text, sizeof(text), "session %llu: received file %s not kept: %s (%s)",
			 (unsigned long long)ds->id, rel, why, pfs_strerror(status));
		l.u.log = (struct pfs_msg_log){ .level = PFS_LEVEL_WARN, .message = str(text) };
		emit(ds->w, &l);
		if (ds->ctr && status == PFS_ERR_CHECKSUM)
			pfs_counter_add(ds->ctr, PFS_CTR_FILE_DIGEST_FAILURES, 1);
		return;
	}
	/* the log too, soon (sync_logs): a restart resumes from there */
	ds->rx_dirty = 1;
	if (ds->ctr)
		pfs_counter_add(ds->ctr, PFS_CTR_FILES_COMMITTED, 1);
	m.u.file = (struct pfs_msg_file_received){ .session_id = ds->id,
						   .size = size,
						   .path = str(rel) };
	memcpy(m.u.file.digest, ds->files->last_digest, sizeof(m.u.file.digest));
	emit(ds->w, &m);
}

static void dsess_free(struct dsess *ds)
{
	if (!ds)
		return;
	for (int i = 0; i < PFS_SESSION_STREAMS; i++)
		pfs_file_unmap(&ds->fl[i].map);
	pfs_session_free(ds->s);
	if (ds->files) {
		pfs_files_rx_close(ds->files);
		free(ds->files);
	}
	pfs_index_free(&ds->txi);
	pfs_log_close(ds->tx); /* persists their metadata */
	pfs_log_close(ds->rx);
	free(ds);
}

static int open_log(struct pfs_log **log, const struct pfs_msg_str *path, uint64_t capacity,
		    uint64_t epoch, uint64_t resume_at, int sender, char *err, size_t errlen)
{
	char p[PFS_MSG_PATH_MAX + 1];
	struct pfs_log_config lc = { .capacity = capacity, .path = p, .epoch = epoch };
	int rc;

	memcpy(p, path->p, path->len);
	p[path->len] = 0;
	rc = pfs_log_open(log, &lc, err, errlen);
	if (rc)
		return rc;
	if (resume_at != UINT64_MAX && (rc = pfs_log_resume(*log, resume_at, sender)) != 0)
		snprintf(
			err, errlen,
			"log %.300s holds [%llu, %llu): it cannot resume at %llu; start a new epoch",
			p, (unsigned long long)pfs_log_lower(*log),
			(unsigned long long)(*log)->contig, (unsigned long long)resume_at);
	return rc;
}

static int add_session(struct pfs_worker *w, const struct pfs_msg_add_session *a, uint64_t *ctr)
{
	struct pfs_session_config c = { 0 };
	struct dsess *ds;
	int rc;

	if (find_session(w, a->session_id) || w->nss == PFS_WORKER_SESSIONS) {
		session_state(w, a->session_id, PFS_SSTATE_FAILED, PFS_ERR_INVALID_ARG,
			      w->nss == PFS_WORKER_SESSIONS ? "this worker has no room for "
							      "another session" :
							      "a session with this id exists");
		return 0;
	}
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		goto err_nomem;
	ds->w = w;
	ds->id = a->session_id;
	ds->local_cid = a->local_conn_id;
	ds->ctr = ctr;
	ds->peer.family = a->family == PFS_FAMILY_IPV6 ? 6 : 4;
	ds->peer.port = a->port;
	memcpy(ds->peer.ip, a->addr, sizeof(ds->peer.ip));
	c.local_cid = a->local_conn_id;
	c.peer_cid = a->peer_conn_id;
	c.aead = (enum pfs_aead_alg)a->aead;
	memcpy(c.tx_key, a->tx_key, sizeof(c.tx_key));
	memcpy(c.tx_iv, a->tx_iv, sizeof(c.tx_iv));
	memcpy(c.rx_key, a->rx_key, sizeof(c.rx_key));
	memcpy(c.rx_iv, a->rx_iv, sizeof(c.rx_iv));
	c.cc = (enum pfs_cc_algo)a->policy.cc;
	c.fixed_rate = a->policy.fixed_rate;
	c.rate_cap = a->policy.rate_cap;
	c.mtu = w->cfg.mtu;
	c.window_blocks = a->policy.window_blocks;
	c.max_pto_backoff = a->policy.max_pto_backoff;
	c.max_retries = a->policy.max_retries;
	c.max_ack_delay_ns = ACK_DELAY_NS;
	pfs_codec_config_default(&c.codec);
	c.codec.block_max = 1u << 20;
	rc = pfs_keys_derive(&ds->keys, a->pair_key);
	if (!rc)
		rc = open_log(&ds->tx, &a->tx_log_path, a->tx_log_capacity, a->tx_epoch,
			      a->tx_resume_at, 1, w->err, sizeof(w->err));
	if (!rc)
		rc = open_log(&ds->rx, &a->rx_log_path, a->rx_log_capacity, a->rx_epoch,
			      a->rx_resume_at, 0, w->err, sizeof(w->err));
	if (rc)
		goto err_report;
	rc = pfs_codec_config_check(&c.codec, a->tx_log_capacity, w->err, sizeof(w->err));
	if (!rc && (rc = pfs_index_init(&ds->txi, pfs_index_bytes_for(a->tx_log_capacity,
								      c.codec.avg_chunk))) != 0)
		snprintf(w->err, sizeof(w->err), "out of memory for the log index");
	/* what the tx log already holds can be pointed at again */
	if (!rc)
		rc = pfs_codec_index_log(&ds->txi, &c.codec, &ds->keys, ds->tx);
	if (rc)
		goto err_report;
	ds->files = malloc(sizeof(*ds->files));
	if (!ds->files)
		goto err_nomem;
	rc = pfs_files_rx_init(ds->files, w->cfg.receive_root, w->err, sizeof(w->err));
	if (rc) {
		free(ds->files);
		ds->files = NULL;
		goto err_report;
	}
	ds->files->ctx = ds;
	ds->files->on_file = on_file;
	struct pfs_session_sink sink = pfs_files_rx_sink(ds->files);
	sink.sent = on_sent;
	struct pfs_session_logs logs = {
		.tx = ds->tx, .rx = ds->rx, .tx_index = &ds->txi, .keys = &ds->keys
	};
	rc = pfs_session_new(&ds->s, &c, &logs, &sink, w->err, sizeof(w->err));
	if (rc)
		goto err_report;
	w->ss[w->nss++] = ds;
	session_state(w, ds->id, PFS_SSTATE_STARTING, 0, "");
	return 0;

err_nomem:
	rc = PFS_ERR_NOMEM;
	snprintf(w->err, sizeof(w->err), "out of memory");
err_report:
	session_state(w, a->session_id, PFS_SSTATE_FAILED, rc, w->err);
	dsess_free(ds);
	return 0;
}

static void fail_transfers_of(struct pfs_worker *w, struct dsess *ds, int rc, const char *why)
{
	struct xfer *x = w->xfers, *next;

	for (; x; x = next) {
		next = x->nextx;
		if (x->ds == ds) {
			transfer_done(w, x->id, rc, why);
			xfer_free(w, x);
		}
	}
}

static void remove_session(struct pfs_worker *w, uint32_t i, enum pfs_sstate st, int rc,
			   const char *why)
{
	struct dsess *ds = w->ss[i];

	fail_transfers_of(w, ds, rc ? rc : PFS_ERR_CANCELLED,
			  rc ? why : "the session was removed before the transfer finished");
	session_state(w, ds->id, st, rc, why);
	w->ss[i] = w->ss[--w->nss];
	dsess_free(ds);
}

static int set_policy(struct pfs_worker *w, const struct pfs_msg_set_policy *p)
{
	struct dsess *ds = find_session(w, p->session_id);
	struct pfs_session_policy sp;
	int rc;

	if (!ds)
		return PFS_ERR_INVALID_ARG;
	sp = (struct pfs_session_policy){ .window_blocks = p->policy.window_blocks,
					  .cc = (enum pfs_cc_algo)p->policy.cc,
					  .fixed_rate = p->policy.fixed_rate,
					  .rate_cap = p->policy.rate_cap,
					  .max_pto_backoff = p->policy.max_pto_backoff,
					  .max_retries = p->policy.max_retries };
	rc = pfs_session_set_policy(ds->s, &sp, w->err, sizeof(w->err));
	ds->wake = 0;
	/* the session goes on either way: say what happened */
	session_state(w, ds->id, ds->up ? PFS_SSTATE_UP : PFS_SSTATE_STARTING, rc,
		      rc ? w->err : "policy applied");
	return 0;
}

/* Key rotation: answered like SET_POLICY, with a SESSION_STATE of the
 * unchanged state whose message begins "keys" (the controller waits for it
 * before the next step of its protocol). */
static int set_keys(struct pfs_worker *w, const struct pfs_msg_set_keys *k)
{
	struct dsess *ds = find_session(w, k->session_id);
	int rc;

	if (!ds)
		return PFS_ERR_INVALID_ARG;
	rc = pfs_session_update_keys(ds->s, k->tx_key, k->tx_iv, k->rx_key, k->rx_iv);
	if (rc)
		snprintf(w->err, sizeof(w->err), "keys not rotated: %s; the session keeps its keys",
			 pfs_strerror(rc));
	ds->wake = 0;
	session_state(w, ds->id, ds->up ? PFS_SSTATE_UP : PFS_SSTATE_STARTING, rc,
		      rc ? w->err : "keys rotated");
	return 0;
}

int pfs_worker_command(struct pfs_worker *w, const struct pfs_msg *m, uint64_t *counters,
		       uint64_t now)
{
	switch (m->type) {
	case PFS_MSG_ADD_SESSION:
		return add_session(w, &m->u.add_session, counters);
	case PFS_MSG_REMOVE_SESSION:
		for (uint32_t i = 0; i < w->nss; i++) {
			if (w->ss[i]->id == m->u.session_id) {
				remove_session(w, i, PFS_SSTATE_REMOVED, 0, "removed");
				return 0;
			}
		}
		return PFS_ERR_INVALID_ARG;
	case PFS_MSG_SET_POLICY:
		return set_policy(w, &m->u.set_policy);
	case PFS_MSG_SET_KEYS:
		return set_keys(w, &m->u.set_keys);
	case PFS_MSG_START_TRANSFER:
		return start_transfer(w, &m->u.start_transfer);
	case PFS_MSG_CANCEL_TRANSFER:
		return cancel_transfer(w, m->u.transfer_id);
	default:
		return PFS_ERR_INVALID_ARG;
	}
}

/* --- the round ---------------------------------------------------------------------- */

static struct dsess *session_by_cid(struct pfs_worker *w, uint64_t cid)
{
	for (uint32_t i = 0; i < w->nss; i++)
		if (w->ss[i]->local_cid == cid)
			return w->ss[i];
	return NULL;
}

static void publish(struct pfs_worker *w, struct dsess *ds, uint64_t *sum)
{
	const struct pfs_session_stats *st = pfs_session_stats(ds->s);
	uint64_t v[PFS_CTR_COUNT] = { 0 };

	v[PFS_CTR_PACKETS_SENT] = st->packets_sent;
	v[PFS_CTR_PACKETS_RECEIVED] = st->packets_received;
	v[PFS_CTR_WIRE_BYTES_SENT] = st->bytes_sent;
	v[PFS_CTR_WIRE_BYTES_RECEIVED] = st->bytes_received;
	v[PFS_CTR_PAYLOAD_BYTES_SENT] = st->input_bytes;
	v[PFS_CTR_POINTER_BYTES_SENT] = st->pointer_bytes;
	v[PFS_CTR_LITERAL_BYTES_SENT] = st->literal_bytes;
	v[PFS_CTR_RETRANSMIT_PACKETS] = st->pieces_retransmitted;
	v[PFS_CTR_RETRANSMIT_BYTES] = st->retransmitted_bytes;
	v[PFS_CTR_AUTH_FAILURES] = st->auth_failed;
	v[PFS_CTR_REPLAYED] = st->replayed;
	v[PFS_CTR_MALFORMED] = st->malformed;
	v[PFS_CTR_POINTER_CHECK_FAILURES] = st->repairs_requested;
	v[PFS_CTR_BLOCKS_APPLIED] = st->blocks_applied;
	v[PFS_CTR_BLOCK_REPAIRS] = st->repair_blocks_sent;
	v[PFS_CTR_SRTT_NS] = st->srtt_ns;
	v[PFS_CTR_MIN_RTT_NS] = st->min_rtt_ns == UINT64_MAX ? 0 : st->min_rtt_ns;
	v[PFS_CTR_CWND_BYTES] = st->cwnd;
	v[PFS_CTR_PACING_RATE] = st->pacing_rate;
	v[PFS_CTR_BYTES_IN_FLIGHT] = st->bytes_in_flight;
	v[PFS_CTR_BLOB_FILL_BYTES] =
		(ds->tx->contig - pfs_log_lower(ds->tx)) + (ds->rx->contig - pfs_log_lower(ds->rx));
	v[PFS_CTR_PAYLOAD_BYTES_RECEIVED] = st->payload_bytes_received;
	for (int c = 0; c < PFS_CTR_COUNT; c++) {
		/* files are counted where they settle (on_file) */
		if (c == PFS_CTR_FILES_COMMITTED || c == PFS_CTR_FILE_DIGEST_FAILURES)
			continue;
		if (ds->ctr)
			pfs_counter_set(ds->ctr, (enum pfs_counter)c, v[c]);
		sum[c] += v[c];
	}
	if (ds->ctr) {
		sum[PFS_CTR_FILES_COMMITTED] += ds->ctr[PFS_CTR_FILES_COMMITTED];
		sum[PFS_CTR_FILE_DIGEST_FAILURES] += ds->ctr[PFS_CTR_FILE_DIGEST_FAILURES];
	}
}

static void publish_all(struct pfs_worker *w, uint64_t now)
{
	uint64_t sum[PFS_CTR_COUNT] = { 0 };

	if (now - w->counters_ns < COUNTERS_EVERY_NS)
		return;
	w->counters_ns = now;
	for (uint32_t i = 0; i < w->nss; i++)
		publish(w, w->ss[i], sum);
	sum[PFS_CTR_SESSIONS] = w->nss;
	sum[PFS_CTR_TRANSFERS_ACTIVE] = w->nxfers;
	if (w->cfg.counters)
		for (int c = 0; c < PFS_CTR_COUNT; c++)
			pfs_counter_set(w->cfg.counters, (enum pfs_counter)c, sum[c]);
	for (struct xfer *x = w->xfers; x; x = x->nextx) {
		if (now - x->progress_ns >= PROGRESS_EVERY_NS) {
			x->progress_ns = now;
			progress(w, x);
		}
	}
}

/* A session that failed is reported and removed; its transfers fail. */
static void session_failed(struct pfs_worker *w, struct dsess *ds, int rc)
{
	char why[256];

	for (uint32_t i = 0; i < w->nss; i++) {
		if (w->ss[i] == ds) {
			snprintf(why, sizeof(why), "the session failed: %s", pfs_strerror(rc));
			remove_session(w, i, PFS_SSTATE_FAILED, rc, why);
			return;
		}
	}
}

static int send_round(struct pfs_worker *w, uint64_t now, uint64_t *wake)
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int n = pfs_io_alloc(w->cfg.io, f, PFS_IO_BURST_MAX), k = 0;

	for (uint32_t j = 0; j < w->nss && k < n; j++) {
		struct dsess *ds = w->ss[(w->rr + j) % w->nss];
		if (ds->wake > now)
			continue;
		while (k < n) {
			size_t len;
			uint64_t at;
			int rc =
				pfs_session_next_packet(ds->s, f[k].data, f[k].cap, &len, now, &at);
			if (rc) {
				pfs_io_release(w->cfg.io, f + k, n - k);
				pfs_io_tx(w->cfg.io, f, k, now);
				session_failed(w, ds, rc);
				return 1; /* the table changed: next round */
			}
			ds->wake = at;
			if (len == 0)
				break;
			f[k].len = (uint32_t)len;
			f[k].peer = ds->peer;
			k++;
		}
	}
	w->rr++;
	pfs_io_release(w->cfg.io, f + k, n - k);
	if (k)
		pfs_io_tx(w->cfg.io, f, k, now);
	for (uint32_t j = 0; j < w->nss; j++)
		if (w->ss[j]->wake < *wake)
			*wake = w->ss[j]->wake;
	return k == n && n > 0; /* a full burst: more may be ready */
}

static int receive_round(struct pfs_worker *w, uint64_t now)
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int n = pfs_io_rx(w->cfg.io, f, PFS_IO_BURST_MAX, now);

	for (int i = 0; i < n; i++) {
		struct pfs_packet_header h;
		struct dsess *ds;
		int rc;
		if (pfs_packet_peek(f[i].data, f[i].len, &h) != 0 ||
		    !(ds = session_by_cid(w, h.conn_id))) {
			if (w->cfg.counters)
				pfs_counter_add(w->cfg.counters, PFS_CTR_MALFORMED, 1);
			continue;
		}
		rc = pfs_session_on_packet(ds->s, f[i].data, f[i].len, now);
		ds->wake = now; /* it may have something to say now */
		if (rc) {
			session_failed(w, ds, rc);
			continue;
		}
		if (!ds->up && pfs_session_stats(ds->s)->packets_received) {
			ds->up = 1;
			session_state(w, ds->id, PFS_SSTATE_UP, 0, "");
		}
	}
	if (n > 0)
		pfs_io_release(w->cfg.io, f, n);
	return n;
}

/* Makes the logs durable that changed, each at most every SYNC_EVERY_NS:
 * the receiver's after committed files, the sender's after transfers, so that
 * the blob-state handshake after a restart sees what both really hold. */
static void sync_logs(struct pfs_worker *w, uint64_t now)
{
	for (uint32_t i = 0; i < w->nss; i++) {
		struct dsess *ds = w->ss[i];
		if ((!ds->rx_dirty && !ds->tx_dirty) || now - ds->synced_ns < SYNC_EVERY_NS)
			continue;
		if (ds->rx_dirty)
			pfs_log_sync(ds->rx);
		if (ds->tx_dirty)
			pfs_log_sync(ds->tx);
		ds->rx_dirty = ds->tx_dirty = 0;
		ds->synced_ns = now;
	}
}

uint64_t pfs_worker_poll(struct pfs_worker *w, uint64_t now)
{
	uint64_t wake = now + 1000000;
	int more;

	more = send_round(w, now, &wake);
	more |= receive_round(w, now) > 0;
	for (uint32_t i = 0; i < w->nss; i++)
		feed(w, w->ss[i]);
	publish_all(w, now);
	sync_logs(w, now);
	return more ? now : wake;
}

uint32_t pfs_worker_sessions(const struct pfs_worker *w)
{
	return w->nss;
}

uint32_t pfs_worker_transfers(const struct pfs_worker *w)
{
	return w->nxfers;
}

/* --- life ----------------------------------------------------------------------------- */

int pfs_worker_new(struct pfs_worker **out, const struct pfs_worker_config *cfg, char *err,
		   size_t errlen)
{
	struct pfs_worker *w = calloc(1, sizeof(*w));
	struct pfs_files_rx *probe = calloc(1, sizeof(*probe)); /* ~1 MB: not on the stack */
	int rc;

	if (!w || !probe) {
		free(w);
		free(probe);
		snprintf(err, errlen, "out of memory");
		return PFS_ERR_NOMEM;
	}
	/* a missing receive root is an error at start, not at the first file */
	rc = pfs_files_rx_init(probe, cfg->receive_root, err, errlen);
	if (rc) {
		free(w);
		free(probe);
		return rc;
	}
	pfs_files_rx_close(probe);
	free(probe);
	w->cfg = *cfg;
	*out = w;
	return 0;
}

void pfs_worker_free(struct pfs_worker *w)
{
	if (!w)
		return;
	while (w->nss)
		remove_session(w, w->nss - 1, PFS_SSTATE_REMOVED, 0, "the data plane stopped");
	pfs_io_close(w->cfg.io);
	free(w);
}
