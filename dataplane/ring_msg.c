/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encoding and decoding of control messages (ring_msg.h).
 *
 * Each message type's fields are listed once, in fields(), and that one list
 * both writes and reads them: the encoder and the decoder cannot disagree on
 * order or width. The rules on values are checked once too, in check(), by the
 * encoder before it writes and by the decoder after it reads.
 */
#include <string.h>

#include "cc.h"
#include "error.h"
#include "filesink.h"
#include "packet.h"
#include "ring_msg.h"
#include "varint.h"

_Static_assert(PFS_MSG_AEAD_AUTO == (int)PFS_AEAD_AUTO &&
		       PFS_MSG_AEAD_AES256GCM == (int)PFS_AEAD_AES256GCM &&
		       PFS_MSG_AEAD_CHACHA20POLY1305 == (int)PFS_AEAD_CHACHA20POLY1305,
	       "control.h: enum pfs_msg_aead must equal enum pfs_aead_alg");
_Static_assert(PFS_MSG_CC_FIXED == (int)PFS_CC_FIXED && PFS_MSG_CC_CUBIC == (int)PFS_CC_CUBIC &&
		       PFS_MSG_CC_BBR == (int)PFS_CC_BBR,
	       "control.h: enum pfs_msg_cc must equal enum pfs_cc_algo");
_Static_assert(PFS_MSG_KEY_BYTES == PFS_AEAD_KEY_BYTES && PFS_MSG_IV_BYTES == PFS_AEAD_IV_BYTES,
	       "control.h: key and IV sizes must equal packet.h's");
_Static_assert(PFS_MSG_DIGEST_BYTES == PFS_FILE_DIGEST_BYTES,
	       "control.h: digest size must equal filesink.h's");

/* A cursor that either writes fields into buf or reads them from it. */
struct cur {
	uint8_t *w;	  /* writing: the output; NULL when reading */
	const uint8_t *r; /* reading: the input */
	size_t len, pos;
	int short_; /* ran out of bytes (reading) or room (writing) */
	int limit;  /* a count read is over its limit: stop reading */
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *p;

	if (c->short_ || c->limit || n > c->len - c->pos) {
		c->short_ = 1;
		return NULL;
	}
	p = (c->w ? c->w : c->r) + c->pos;
	c->pos += n;
	return p;
}

static void f_bytes(struct cur *c, uint8_t *v, size_t n)
{
	uint8_t *p = (uint8_t *)take(c, n);

	if (!p)
		return;
	if (c->w)
		memcpy(p, v, n);
	else
		memcpy(v, p, n);
}

static void f_u8(struct cur *c, uint8_t *v)
{
	f_bytes(c, v, 1);
}

static void f_u16(struct cur *c, uint16_t *v)
{
	uint8_t *p = (uint8_t *)take(c, 2);

	if (!p)
		return;
	if (c->w) {
		p[0] = (uint8_t)*v;
		p[1] = (uint8_t)(*v >> 8);
	} else {
		*v = (uint16_t)(p[0] | p[1] << 8);
	}
}

static void f_u32(struct cur *c, uint32_t *v)
{
	uint8_t *p = (uint8_t *)take(c, 4);

	if (!p)
		return;
	if (c->w)
		pfs_put_le32(p, *v);
	else
		*v = pfs_get_le32(p);
}

static void f_i32(struct cur *c, int32_t *v)
{
	uint32_t u = (uint32_t)*v;

	f_u32(c, &u);
	*v = (int32_t)u;
}

static void f_u64(struct cur *c, uint64_t *v)
{
	uint8_t *p = (uint8_t *)take(c, 8);

	if (!p)
		return;
	if (c->w)
		pfs_put_le64(p, *v);
	else
		*v = pfs_get_le64(p);
}

static void f_str(struct cur *c, struct pfs_msg_str *s)
{
	const uint8_t *p;

	f_u16(c, &s->len);
	if (c->w) {
		if ((p = take(c, s->len)) != NULL && s->len)
			memcpy((uint8_t *)p, s->p, s->len);
	} else {
		p = take(c, s->len);
		s->p = p;
	}
}

static void f_policy(struct cur *c, struct pfs_msg_policy *p)
{
	f_u32(c, &p->window_blocks);
	f_u8(c, &p->cc);
	f_u64(c, &p->rate_cap);
	f_u64(c, &p->fixed_rate);
	f_u32(c, &p->max_pto_backoff);
	f_u32(c, &p->max_retries);
}

static void f_add_session(struct cur *c, struct pfs_msg_add_session *a)
{
	f_u64(c, &a->session_id);
	f_u64(c, &a->local_conn_id);
	f_u64(c, &a->peer_conn_id);
	f_u8(c, &a->family);
	f_bytes(c, a->addr, sizeof(a->addr));
	f_u16(c, &a->port);
	f_u8(c, &a->aead);
	f_bytes(c, a->tx_key, sizeof(a->tx_key));
	f_bytes(c, a->tx_iv, sizeof(a->tx_iv));
	f_bytes(c, a->rx_key, sizeof(a->rx_key));
	f_bytes(c, a->rx_iv, sizeof(a->rx_iv));
	f_bytes(c, a->pair_key, sizeof(a->pair_key));
	f_u64(c, &a->tx_log_id);
	f_u64(c, &a->tx_log_capacity);
	f_u64(c, &a->tx_epoch);
	f_u64(c, &a->tx_resume_at);
	f_str(c, &a->tx_log_path);
	f_u64(c, &a->rx_log_id);
	f_u64(c, &a->rx_log_capacity);
	f_u64(c, &a->rx_epoch);
	f_u64(c, &a->rx_resume_at);
	f_str(c, &a->rx_log_path);
	f_policy(c, &a->policy);
}

/* A u8 count and that many u64s (at most PFS_MSG_COUNTS_MAX). */
static void f_counts(struct cur *c, uint8_t *n, uint64_t *v)
{
	f_u8(c, n);
	if (*n > PFS_MSG_COUNTS_MAX) {
		c->limit = 1;
		return;
	}
	for (uint8_t i = 0; i < *n; i++)
		f_u64(c, &v[i]);
}

static void f_backend(struct cur *c, struct pfs_msg_backend *b)
{
	f_u8(c, &b->kind);
	f_u8(c, &b->xdp_mode);
	f_u8(c, &b->zero_copy);
	f_u8(c, &b->hugepages);
	f_u32(c, &b->queues);
	f_str(c, &b->ifname);
	f_u64(c, &b->wakeups);
	f_u64(c, &b->no_neighbour);
	f_u64(c, &b->handed_off);
	f_u64(c, &b->handoff_dropped);
	f_counts(c, &b->nreasons, b->reasons);
	f_counts(c, &b->nrefused, b->refused);
}

static void f_start_transfer(struct cur *c, struct pfs_msg_start_transfer *t)
{
	f_u64(c, &t->transfer_id);
	f_u64(c, &t->session_id);
	f_str(c, &t->dest);
	f_u16(c, &t->nsources);
	if (t->nsources > PFS_MSG_SOURCES_MAX) {
		c->limit = 1; /* more than we have room for: read no further */
		return;
	}
	for (uint16_t i = 0; i < t->nsources; i++)
		f_str(c, &t->sources[i]);
}

static void fields(struct cur *c, struct pfs_msg *m)
{
	switch (m->type) {
	case PFS_MSG_ADD_SESSION:
		f_add_session(c, &m->u.add_session);
		break;
	case PFS_MSG_REMOVE_SESSION:
		f_u64(c, &m->u.session_id);
		break;
	case PFS_MSG_SET_POLICY:
		f_u64(c, &m->u.set_policy.session_id);
		f_policy(c, &m->u.set_policy.policy);
		break;
	case PFS_MSG_START_TRANSFER:
		f_start_transfer(c, &m->u.start_transfer);
		break;
	case PFS_MSG_CANCEL_TRANSFER:
		f_u64(c, &m->u.transfer_id);
		break;
	case PFS_MSG_SHUTDOWN:
		f_u8(c, &m->u.shutdown);
		break;
	case PFS_MSG_SET_KEYS:
		f_u64(c, &m->u.set_keys.session_id);
		f_bytes(c, m->u.set_keys.tx_key, sizeof(m->u.set_keys.tx_key));
		f_bytes(c, m->u.set_keys.tx_iv, sizeof(m->u.set_keys.tx_iv));
		f_bytes(c, m->u.set_keys.rx_key, sizeof(m->u.set_keys.rx_key));
		f_bytes(c, m->u.set_keys.rx_iv, sizeof(m->u.set_keys.rx_iv));
		break;
	case PFS_MSG_READY:
		f_u32(c, &m->u.ready.layout_version);
		f_u32(c, &m->u.ready.worker_count);
		f_u32(c, &m->u.ready.pid);
		break;
	case PFS_MSG_SESSION_STATE:
		f_u64(c, &m->u.session_state.session_id);
		f_u8(c, &m->u.session_state.state);
		f_i32(c, &m->u.session_state.error);
		f_str(c, &m->u.session_state.message);
		break;
	case PFS_MSG_TRANSFER_PROGRESS:
		f_u64(c, &m->u.progress.transfer_id);
		f_u64(c, &m->u.progress.bytes_done);
		f_u64(c, &m->u.progress.bytes_total);
		f_u32(c, &m->u.progress.files_done);
		f_u32(c, &m->u.progress.files_total);
		f_u64(c, &m->u.progress.wire_bytes);
		f_u64(c, &m->u.progress.pointer_bytes);
		f_u64(c, &m->u.progress.retransmitted_bytes);
		break;
	case PFS_MSG_TRANSFER_DONE:
		f_u64(c, &m->u.done.transfer_id);
		f_i32(c, &m->u.done.status);
		f_str(c, &m->u.done.message);
		break;
	case PFS_MSG_FILE_RECEIVED:
		f_u64(c, &m->u.file.session_id);
		f_u64(c, &m->u.file.size);
		f_bytes(c, m->u.file.digest, sizeof(m->u.file.digest));
		f_str(c, &m->u.file.path);
		break;
	case PFS_MSG_LOG:
		f_u8(c, &m->u.log.level);
		f_str(c, &m->u.log.message);
		break;
	case PFS_MSG_BACKEND:
		f_backend(c, &m->u.backend);
		break;
	}
}

/* --- rules on values ------------------------------------------------------ */

enum str_kind {
	STR_PATH,	/* non-empty path */
	STR_PATH_EMPTY, /* path that may be empty */
	STR_TEXT,	/* human-readable text, may be empty */
};

static int check_str(const struct pfs_msg_str *s, enum str_kind kind)
{
	size_t max = kind == STR_TEXT ? PFS_MSG_TEXT_MAX : PFS_MSG_PATH_MAX;

	if (s->len > max)
		return PFS_ERR_LIMIT;
	if (s->len == 0)
		return kind == STR_PATH ? PFS_ERR_MALFORMED : 0;
	if (!s->p || memchr(s->p, 0, s->len))
		return PFS_ERR_MALFORMED;
	return 0;
}

static int check_policy(const struct pfs_msg_policy *p)
{
	if (p->max_pto_backoff > PFS_MSG_PTO_BACKOFF_MAX)
		return PFS_ERR_LIMIT;
	if (p->window_blocks == 0 || p->cc > PFS_MSG_CC_BBR ||
	    (p->cc == PFS_MSG_CC_FIXED && p->fixed_rate == 0))
		return PFS_ERR_MALFORMED;
	return 0;
}

static int pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static int check_add_session(const struct pfs_msg_add_session *a)
{
	int rc;

	if (a->family != PFS_FAMILY_IPV4 && a->family != PFS_FAMILY_IPV6)
		return PFS_ERR_MALFORMED;
	if (a->family == PFS_FAMILY_IPV4)
		for (size_t i = 4; i < sizeof(a->addr); i++)
			if (a->addr[i])
				return PFS_ERR_MALFORMED;
	if (a->port == 0 || a->aead > PFS_MSG_AEAD_CHACHA20POLY1305 || !pow2(a->tx_log_capacity) ||
	    !pow2(a->rx_log_capacity))
		return PFS_ERR_MALFORMED;
	if ((rc = check_str(&a->tx_log_path, STR_PATH)) ||
	    (rc = check_str(&a->rx_log_path, STR_PATH)))
		return rc;
	return check_policy(&a->policy);
}

static int check_start_transfer(const struct pfs_msg_start_transfer *t)
{
	int rc;

	if (t->nsources > PFS_MSG_SOURCES_MAX)
		return PFS_ERR_LIMIT;
	if (t->nsources == 0)
		return PFS_ERR_MALFORMED;
	if ((rc = check_str(&t->dest, STR_PATH_EMPTY)))
		return rc;
	for (uint16_t i = 0; i < t->nsources; i++)
		if ((rc = check_str(&t->sources[i], STR_PATH)))
			return rc;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t any = 0;

	for (size_t i = 0; i < n; i++)
		any |= p[i];
	return any == 0;
}

/* A key of zeros is one nobody set: a controller bug, never a key. */
static int check_set_keys(const struct pfs_msg_set_keys *k)
{
	if (all_zero(k->tx_key, sizeof(k->tx_key)) || all_zero(k->rx_key, sizeof(k->rx_key)))
		return PFS_ERR_MALFORMED;
	return 0;
}

static int check(const struct pfs_msg *m)
{
	switch (m->type) {
	case PFS_MSG_ADD_SESSION:
		return check_add_session(&m->u.add_session);
	case PFS_MSG_REMOVE_SESSION:
	case PFS_MSG_CANCEL_TRANSFER:
	case PFS_MSG_TRANSFER_PROGRESS:
		return 0;
	case PFS_MSG_SET_POLICY:
		return check_policy(&m->u.set_policy.policy);
	case PFS_MSG_START_TRANSFER:
		return check_start_transfer(&m->u.start_transfer);
	case PFS_MSG_SHUTDOWN:
		return m->u.shutdown > PFS_SHUTDOWN_DRAIN ? PFS_ERR_MALFORMED : 0;
	case PFS_MSG_SET_KEYS:
		return check_set_keys(&m->u.set_keys);
	case PFS_MSG_READY:
		if (m->u.ready.worker_count > PFS_REGION_WORKERS_MAX)
			return PFS_ERR_LIMIT;
		return m->u.ready.layout_version == 0 ? PFS_ERR_MALFORMED : 0;
	case PFS_MSG_SESSION_STATE:
		if (m->u.session_state.state < PFS_SSTATE_STARTING ||
		    m->u.session_state.state > PFS_SSTATE_REMOVED || m->u.session_state.error > 0)
			return PFS_ERR_MALFORMED;
		return check_str(&m->u.session_state.message, STR_TEXT);
	case PFS_MSG_TRANSFER_DONE:
		if (m->u.done.status > 0)
			return PFS_ERR_MALFORMED;
		return check_str(&m->u.done.message, STR_TEXT);
	case PFS_MSG_FILE_RECEIVED:
		return check_str(&m->u.file.path, STR_PATH);
	case PFS_MSG_LOG:
		if (m->u.log.level > PFS_LEVEL_ERROR)
			return PFS_ERR_MALFORMED;
		return check_str(&m->u.log.message, STR_TEXT);
	case PFS_MSG_BACKEND: {
		const struct pfs_msg_backend *b = &m->u.backend;
		if ((b->kind != PFS_BACKEND_UDP && b->kind != PFS_BACKEND_XDP) ||
		    b->xdp_mode > PFS_MSG_XDP_GENERIC || b->zero_copy > 1 || b->hugepages > 1 ||
		    (b->kind == PFS_BACKEND_UDP) != (b->xdp_mode == PFS_MSG_XDP_NONE) ||
		    (b->kind == PFS_BACKEND_UDP && (b->ifname.len || b->zero_copy || b->hugepages)))
			return PFS_ERR_MALFORMED;
		if (b->kind == PFS_BACKEND_XDP && (b->ifname.len == 0 || b->queues == 0))
			return PFS_ERR_MALFORMED;
		if (b->ifname.len > PFS_MSG_IFNAME_MAX)
			return PFS_ERR_LIMIT;
		return check_str(&b->ifname, STR_TEXT);
	}
	}
	return PFS_ERR_MALFORMED; /* unknown type */
}

/* --- entry points --------------------------------------------------------- */

int pfs_msg_encode(const struct pfs_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct pfs_msg copy = *m; /* fields() takes writable pointers for both ways */
	uint16_t version = PFS_MSG_VERSION;
	struct cur c = { .w = buf, .len = cap };
	int rc = check(m);

	if (rc)
		return rc;
	f_u16(&c, &copy.type);
	f_u16(&c, &version);
	fields(&c, &copy);
	if (c.short_)
		return cap >= PFS_MSG_MAX ? PFS_ERR_LIMIT : PFS_ERR_BUF_TOO_SMALL;
	if (c.pos > PFS_MSG_MAX)
		return PFS_ERR_LIMIT;
	*len = c.pos;
	return 0;
}

int pfs_msg_decode(const uint8_t *buf, size_t len, struct pfs_msg *m)
{
	struct cur c = { .r = buf, .len = len };
	uint16_t version = 0;

	memset(m, 0, sizeof(*m));
	if (len > PFS_MSG_MAX)
		return PFS_ERR_LIMIT;
	f_u16(&c, &m->type);
	f_u16(&c, &version);
	if (c.short_)
		return PFS_ERR_TRUNCATED;
	if (!pfs_msg_is_command(m->type) && !(m->type >= PFS_MSG_READY && m->type <= PFS_MSG_BACKEND))
		return PFS_ERR_MALFORMED;
	if (version != PFS_MSG_VERSION)
		return PFS_ERR_MSG_VERSION;
	fields(&c, m);
	if (c.limit)
		return PFS_ERR_LIMIT;
	if (c.short_)
		return PFS_ERR_TRUNCATED;
	if (c.pos != len)
		return PFS_ERR_MALFORMED;
	return check(m);
}

const char *pfs_msg_name(uint16_t type)
{
	switch (type) {
	case PFS_MSG_ADD_SESSION:
		return "ADD_SESSION";
	case PFS_MSG_REMOVE_SESSION:
		return "REMOVE_SESSION";
	case PFS_MSG_SET_POLICY:
		return "SET_POLICY";
	case PFS_MSG_START_TRANSFER:
		return "START_TRANSFER";
	case PFS_MSG_CANCEL_TRANSFER:
		return "CANCEL_TRANSFER";
	case PFS_MSG_SHUTDOWN:
		return "SHUTDOWN";
	case PFS_MSG_SET_KEYS:
		return "SET_KEYS";
	case PFS_MSG_READY:
		return "READY";
	case PFS_MSG_SESSION_STATE:
		return "SESSION_STATE";
	case PFS_MSG_TRANSFER_PROGRESS:
		return "TRANSFER_PROGRESS";
	case PFS_MSG_TRANSFER_DONE:
		return "TRANSFER_DONE";
	case PFS_MSG_FILE_RECEIVED:
		return "FILE_RECEIVED";
	case PFS_MSG_LOG:
		return "LOG";
	case PFS_MSG_BACKEND:
		return "BACKEND";
	}
	return "UNKNOWN";
}

int pfs_msg_is_command(uint16_t type)
{
	return type >= PFS_MSG_ADD_SESSION && type <= PFS_MSG_SET_KEYS;
}
