/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfs-ring-peer: plays the data plane's side of a control region, so the
 * controller (ts/dataplane/control.ts) can be tested against real C: it
 * creates the region, beats, sends READY, and answers every command with a
 * LOG event holding the command as it decoded it (JSON) followed by the
 * events a data plane would send. Modes simulate the failures the controller
 * must report:
 *
 *   serve   answer commands until SHUTDOWN (the default)
 *   stall   after READY, neither beat nor drain: a hung data plane
 *   exit    after READY, exit at once with the state left RUNNING: a crash
 *   mute    beat but never drain commands: the command ring fills
 *
 * Usage: pfs-ring-peer --region PATH [--mode MODE] [--workers N]
 *            [--cmd-ring BYTES] [--layout-version N] [--beat-ms N] [--max-ms N]
 *
 * Prints "ready PID" on stdout once the region is in place. Whatever happens,
 * it exits after --max-ms (default 20000), so a test that forgets it does not
 * leave it behind. Answers (deterministic, for the tests):
 *   ADD_SESSION      claims a session slot (worker = id % workers, counter
 *                    WIRE_BYTES_SENT = 1000 + id), SESSION_STATE UP "up"
 *   REMOVE_SESSION   frees the slot, SESSION_STATE REMOVED "removed"
 *   SET_KEYS         SESSION_STATE UP "keys rotated"
 *   START_TRANSFER   TRANSFER_PROGRESS, FILE_RECEIVED per source (DEST/name,
 *                    size 1000 * (i + 1), digest bytes i), TRANSFER_DONE 0 "done"
 *   CANCEL_TRANSFER  TRANSFER_DONE -ECANCELED "cancelled"
 *   SHUTDOWN         state STOPPING, LOG "shutting down", state STOPPED, exit 0
 *   undecodable      LOG ERROR "command refused: PFS_ERR_…"
 * Worker w's counter c reads (w + 1) * 1000 + c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "region.h"
#include "ring_msg.h"
#include "tool.h"

enum mode { SERVE, STALL, EXIT, MUTE };

struct peer {
	struct pfs_region *r;
	uint32_t workers;
	uint64_t deadline_ns;
	int slots_of[256]; /* session id (mod 256) -> slot, -1 = none */
};

static uint8_t out_buf[PFS_MSG_MAX];

/* Sends an event, waiting while the controller has not drained the ring. */
static void send_msg(struct peer *p, const struct pfs_msg *m)
{
	size_t n;
	int rc = pfs_msg_encode(m, out_buf, sizeof(out_buf), &n);

	if (rc)
		die(rc, "encode %s event", pfs_msg_name(m->type));
	while ((rc = pfs_region_send(p->r, out_buf, n)) == PFS_ERR_RING_FULL) {
		if (now_ns() > p->deadline_ns)
			die(rc,
			    "event ring full until the deadline: the controller is not draining");
		usleep(1000);
	}
	if (rc)
		die(rc, "send %s event", pfs_msg_name(m->type));
}

static struct pfs_msg_str str_of(const char *s)
{
	size_t n = strlen(s);

	return (struct pfs_msg_str){ .p = (const uint8_t *)s,
				     .len = (uint16_t)(n > PFS_MSG_TEXT_MAX ? PFS_MSG_TEXT_MAX :
									      n) };
}

static void send_log(struct peer *p, uint8_t level, const char *text)
{
	struct pfs_msg m = { .type = PFS_MSG_LOG };

	m.u.log.level = level;
	m.u.log.message = str_of(text);
	send_msg(p, &m);
}

/* --- the JSON echo of a command --------------------------------------------- */

struct jbuf {
	char s[8192];
	size_t n;
};

static void jf(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jf(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (j->n >= sizeof(j->s))
		return;
	va_start(ap, fmt);
	k = vsnprintf(j->s + j->n, sizeof(j->s) - j->n, fmt, ap);
	va_end(ap);
	j->n += k > 0 ? (size_t)k : 0;
}

/* A JSON string of the bytes (the tests send UTF-8). */
static void jraw(struct jbuf *j, struct pfs_msg_str s)
{
	jf(j, "\"");
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.p[i];

		if (c == '"' || c == '\\')
			jf(j, "\\%c", c);
		else if (c < 0x20)
			jf(j, "\\u%04x", c);
		else
			jf(j, "%c", c);
	}
	jf(j, "\"");
}

static void jstr(struct jbuf *j, const char *key, struct pfs_msg_str s)
{
	jf(j, ",\"%s\":", key);
	jraw(j, s);
}

static void jhex(struct jbuf *j, const char *key, const uint8_t *p, size_t n)
{
	jf(j, ",\"%s\":\"", key);
	for (size_t i = 0; i < n; i++)
		jf(j, "%02x", p[i]);
	jf(j, "\"");
}

static void jpolicy(struct jbuf *j, const struct pfs_msg_policy *p)
{
	jf(j,
	   ",\"policy\":{\"windowBlocks\":%u,\"cc\":%u,\"rateCap\":%llu,\"fixedRate\":%llu,\"maxPtoBackoff\":%u,\"maxRetries\":%u}",
	   p->window_blocks, p->cc, (unsigned long long)p->rate_cap,
	   (unsigned long long)p->fixed_rate, p->max_pto_backoff, p->max_retries);
}

/* 64-bit ids as decimal strings: JSON numbers lose precision past 2^53. */
static void echo(struct peer *p, const struct pfs_msg *m)
{
	struct jbuf j = { .n = 0 };
	char addr[INET6_ADDRSTRLEN] = "";

	jf(&j, "{\"type\":\"%s\"", pfs_msg_name(m->type));
	switch (m->type) {
	case PFS_MSG_ADD_SESSION: {
		const struct pfs_msg_add_session *a = &m->u.add_session;

		inet_ntop(a->family == PFS_FAMILY_IPV4 ? AF_INET : AF_INET6, a->addr, addr,
			  sizeof(addr));
		jf(&j,
		   ",\"sessionId\":\"%llu\",\"localConnId\":\"%llu\",\"peerConnId\":\"%llu\",\"family\":%u,\"address\":\"%s\",\"port\":%u,\"aead\":%u",
		   (unsigned long long)a->session_id, (unsigned long long)a->local_conn_id,
		   (unsigned long long)a->peer_conn_id, a->family, addr, a->port, a->aead);
		jhex(&j, "txKey", a->tx_key, sizeof(a->tx_key));
		jhex(&j, "txIv", a->tx_iv, sizeof(a->tx_iv));
		jhex(&j, "rxKey", a->rx_key, sizeof(a->rx_key));
		jhex(&j, "rxIv", a->rx_iv, sizeof(a->rx_iv));
		jf(&j, ",\"txLogId\":\"%llu\",\"txLogCapacity\":\"%llu\"",
		   (unsigned long long)a->tx_log_id, (unsigned long long)a->tx_log_capacity);
		jstr(&j, "txLogPath", a->tx_log_path);
		jf(&j, ",\"rxLogId\":\"%llu\",\"rxLogCapacity\":\"%llu\"",
		   (unsigned long long)a->rx_log_id, (unsigned long long)a->rx_log_capacity);
		jstr(&j, "rxLogPath", a->rx_log_path);
		jpolicy(&j, &a->policy);
		break;
	}
	case PFS_MSG_REMOVE_SESSION:
		jf(&j, ",\"sessionId\":\"%llu\"", (unsigned long long)m->u.session_id);
		break;
	case PFS_MSG_SET_POLICY:
		jf(&j, ",\"sessionId\":\"%llu\"", (unsigned long long)m->u.set_policy.session_id);
		jpolicy(&j, &m->u.set_policy.policy);
		break;
	case PFS_MSG_START_TRANSFER:
		jf(&j, ",\"transferId\":\"%llu\",\"sessionId\":\"%llu\"",
		   (unsigned long long)m->u.start_transfer.transfer_id,
		   (unsigned long long)m->u.start_transfer.session_id);
		jstr(&j, "dest", m->u.start_transfer.dest);
		jf(&j, ",\"sources\":[");
		for (uint16_t i = 0; i < m->u.start_transfer.nsources; i++) {
			jf(&j, i ? "," : "");
			jraw(&j, m->u.start_transfer.sources[i]);
		}
		jf(&j, "]");
		break;
	case PFS_MSG_CANCEL_TRANSFER:
		jf(&j, ",\"transferId\":\"%llu\"", (unsigned long long)m->u.transfer_id);
		break;
	case PFS_MSG_SHUTDOWN:
		jf(&j, ",\"mode\":%u", m->u.shutdown);
		break;
	case PFS_MSG_SET_KEYS:
		jf(&j, ",\"sessionId\":\"%llu\"", (unsigned long long)m->u.set_keys.session_id);
		jhex(&j, "txKey", m->u.set_keys.tx_key, sizeof(m->u.set_keys.tx_key));
		jhex(&j, "txIv", m->u.set_keys.tx_iv, sizeof(m->u.set_keys.tx_iv));
		jhex(&j, "rxKey", m->u.set_keys.rx_key, sizeof(m->u.set_keys.rx_key));
		jhex(&j, "rxIv", m->u.set_keys.rx_iv, sizeof(m->u.set_keys.rx_iv));
		break;
	}
	jf(&j, "}");
	if (j.n >= PFS_MSG_TEXT_MAX)
		die(PFS_ERR_LIMIT, "echo of %s is %zu bytes, over a LOG's %u",
		    pfs_msg_name(m->type), j.n, PFS_MSG_TEXT_MAX);
	send_log(p, PFS_LEVEL_DEBUG, j.s);
}

/* --- answers ----------------------------------------------------------------- */

static void session_state(struct peer *p, uint64_t id, uint8_t state, const char *text)
{
	struct pfs_msg m = { .type = PFS_MSG_SESSION_STATE };

	m.u.session_state.session_id = id;
	m.u.session_state.state = state;
	m.u.session_state.message = str_of(text);
	send_msg(p, &m);
}

static void transfer(struct peer *p, const struct pfs_msg_start_transfer *t)
{
	struct pfs_msg m = { .type = PFS_MSG_TRANSFER_PROGRESS };
	char path[2 * PFS_MSG_PATH_MAX + 2];

	m.u.progress = (struct pfs_msg_transfer_progress){
		.transfer_id = t->transfer_id,
		.bytes_done = 500,
		.bytes_total = 1000,
		.files_done = 0,
		.files_total = t->nsources,
		.wire_bytes = 300,
		.pointer_bytes = 200,
		.retransmitted_bytes = 7,
	};
	send_msg(p, &m);
	for (uint16_t i = 0; i < t->nsources; i++) {
		const struct pfs_msg_str *s = &t->sources[i];
		size_t base = s->len;

		while (base > 0 && s->p[base - 1] != '/')
			base--;
		snprintf(path, sizeof(path), "%.*s%s%.*s", (int)t->dest.len, t->dest.p,
			 t->dest.len ? "/" : "", (int)(s->len - base), s->p + base);
		memset(&m, 0, sizeof(m));
		m.type = PFS_MSG_FILE_RECEIVED;
		m.u.file.session_id = t->session_id;
		m.u.file.size = 1000ull * (i + 1);
		memset(m.u.file.digest, i, sizeof(m.u.file.digest));
		m.u.file.path = (struct pfs_msg_str){ .p = (const uint8_t *)path,
						      .len = (uint16_t)strlen(path) };
		if (m.u.file.path.len > PFS_MSG_PATH_MAX)
			m.u.file.path.len = PFS_MSG_PATH_MAX;
		send_msg(p, &m);
	}
	memset(&m, 0, sizeof(m));
	m.type = PFS_MSG_TRANSFER_DONE;
	m.u.done.transfer_id = t->transfer_id;
	m.u.done.message = str_of("done");
	send_msg(p, &m);
}

/* Answers one command; returns 1 after SHUTDOWN. */
static int answer(struct peer *p, const uint8_t *buf, size_t n)
{
	struct pfs_msg m;
	char text[128];
	int rc = pfs_msg_decode(buf, n, &m), *slot;

	if (rc || !pfs_msg_is_command(m.type)) {
		snprintf(text, sizeof(text), "command refused: %s",
			 rc ? pfs_errname(rc) : "an event on the command ring");
		send_log(p, PFS_LEVEL_ERROR, text);
		return 0;
	}
	echo(p, &m);
	switch (m.type) {
	case PFS_MSG_ADD_SESSION: {
		uint64_t id = m.u.add_session.session_id, *ctr;

		slot = &p->slots_of[id % 256];
		*slot = pfs_region_session_claim(p->r, id, (uint32_t)(id % p->workers), &ctr);
		if (*slot < 0) {
			session_state(p, id, PFS_SSTATE_FAILED, pfs_strerror(*slot));
			*slot = -1;
			break;
		}
		pfs_counter_set(ctr, PFS_CTR_WIRE_BYTES_SENT, 1000 + id);
		pfs_region_session_set_state(p->r, *slot, PFS_SSTATE_UP);
		session_state(p, id, PFS_SSTATE_UP, "up");
		break;
	}
	case PFS_MSG_REMOVE_SESSION:
		slot = &p->slots_of[m.u.session_id % 256];
		pfs_region_session_release(p->r, *slot);
		*slot = -1;
		session_state(p, m.u.session_id, PFS_SSTATE_REMOVED, "removed");
		break;
	case PFS_MSG_SET_KEYS:
		session_state(p, m.u.set_keys.session_id, PFS_SSTATE_UP, "keys rotated");
		break;
	case PFS_MSG_START_TRANSFER:
		transfer(p, &m.u.start_transfer);
		break;
	case PFS_MSG_CANCEL_TRANSFER: {
		uint64_t id = m.u.transfer_id;

		memset(&m.u, 0, sizeof(m.u));
		m.type = PFS_MSG_TRANSFER_DONE;
		m.u.done.transfer_id = id;
		m.u.done.status = -ECANCELED;
		m.u.done.message = str_of("cancelled");
		send_msg(p, &m);
		break;
	}
	case PFS_MSG_SHUTDOWN:
		pfs_region_set_state(p->r, PFS_DP_STOPPING);
		send_log(p, PFS_LEVEL_INFO, "shutting down");
		return 1;
	}
	return 0;
}

static enum mode parse_mode(const char *v)
{
	static const char *const names[] = {
		[SERVE] = "serve", [STALL] = "stall", [EXIT] = "exit", [MUTE] = "mute"
	};

	for (int m = SERVE; m <= MUTE; m++)
		if (!strcmp(v, names[m]))
			return (enum mode)m;
	die(PFS_ERR_INVALID_ARG, "--mode %s: one of serve, stall, exit, mute", v);
}

static uint64_t num(const char *flag, const char *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || end == v)
		die(PFS_ERR_INVALID_ARG, "%s: not a number: %s", flag, v);
	return n;
}

int main(int argc, char **argv)
{
	struct pfs_region_config cfg = { 0 };
	const char *path = NULL;
	enum mode mode = SERVE;
	uint64_t beat_ns = 20000000, max_ns = 20000000000ull, last_beat;
	struct peer p = { .workers = 4 };
	static uint8_t in[PFS_MSG_MAX];
	char err[512];
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			die(PFS_ERR_INVALID_ARG, "%s needs a value (see the usage in ring_peer.c)",
			    a);
		i++;
		if (!strcmp(a, "--region"))
			path = v;
		else if (!strcmp(a, "--workers"))
			p.workers = (uint32_t)num(a, v);
		else if (!strcmp(a, "--cmd-ring"))
			cfg.cmd_ring_bytes = num(a, v);
		else if (!strcmp(a, "--layout-version"))
			cfg.layout_version = (uint32_t)num(a, v);
		else if (!strcmp(a, "--beat-ms"))
			beat_ns = num(a, v) * 1000000;
		else if (!strcmp(a, "--max-ms"))
			max_ns = num(a, v) * 1000000;
		else if (!strcmp(a, "--mode"))
			mode = parse_mode(v);
		else
			die(PFS_ERR_INVALID_ARG, "unknown option %s", a);
	}
	if (!path)
		die(PFS_ERR_INVALID_ARG, "--region PATH is required");
	if (p.workers == 0 || p.workers > PFS_REGION_WORKERS_MAX)
		die(PFS_ERR_INVALID_ARG, "--workers %u: from 1 to %u", p.workers,
		    PFS_REGION_WORKERS_MAX);
	for (int i = 0; i < 256; i++)
		p.slots_of[i] = -1;
	p.deadline_ns = now_ns() + max_ns;

	rc = pfs_region_create(&p.r, path, &cfg, now_ns(), err, sizeof(err));
	if (rc)
		die(rc, "%s", err);
	for (uint32_t w = 0; w < p.workers; w++)
		for (unsigned c = 0; c < PFS_CTR_COUNT; c++)
			pfs_counter_set(pfs_region_worker_counters(p.r, w), c,
					(w + 1) * 1000ull + c);
	pfs_region_set_workers(p.r, p.workers);
	pfs_region_set_state(p.r, PFS_DP_RUNNING);
	{
		struct pfs_msg m = { .type = PFS_MSG_READY };

		m.u.ready = (struct pfs_msg_ready){ .layout_version = PFS_REGION_VERSION,
						    .worker_count = p.workers,
						    .pid = (uint32_t)getpid() };
		send_msg(&p, &m);
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (mode == EXIT)
		_exit(0); /* no STOPPED, no close: as a crash leaves it */

	last_beat = now_ns();
	while (now_ns() < p.deadline_ns) {
		uint64_t t = now_ns();
		size_t n;

		if (mode != STALL && t - last_beat >= beat_ns) {
			pfs_region_heartbeat(p.r, t);
			last_beat = t;
		}
		if (mode == SERVE && (rc = pfs_region_recv(p.r, in, sizeof(in), &n)) != 0) {
			if (rc < 0)
				die(rc, "command ring of %s", path);
			if (answer(&p, in, n))
				break;
			continue;
		}
		usleep(1000);
	}
	pfs_region_set_state(p.r, PFS_DP_STOPPED);
	pfs_region_close(p.r);
	return 0;
}
