/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfs-dataplane: the data-plane process (DESIGN §2).
 *
 *   controller ──commands──▶ region ──▶ control thread ──per-worker queue──▶ worker k
 *   controller ◀──events──── region ◀── control thread ◀──per-worker queue── worker k
 *
 * The control thread (this main thread) owns the shared-memory region: it
 * beats the heartbeat, routes each command to the worker that owns its
 * session (sessions live on the worker chosen by their connection id, which is
 * also the socket the kernel steers their packets to), claims and frees
 * counter slots, and forwards the workers' events. Workers run pinned,
 * run-to-completion, each over its own socket of one SO_REUSEPORT group; they
 * share nothing and take no locks: their queues are ring.h SPSC rings in
 * ordinary memory.
 *
 * Packet I/O is the kernel UDP backend (any user, any interface) or, with
 * --backend xdp, AF_XDP on one interface: the steering program attached
 * through libxdp, one socket per receive queue and one worker per socket
 * (io_xdp.h). The control thread reports which, with its counters, in a
 * BACKEND event after READY and then every second.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "error.h"
#include "io_xdp.h"
#include "pfs_xdp.h" /* bpf/: the XDP program's reason codes */
#include "region.h"
#include "ring.h"
#include "session.h" /* PFS_SESSION_STREAMS */
#include "ring_msg.h"
#include "worker.h"

#define QUEUE_BYTES (4u << 20)
#define MAP_MAX 4096 /* sessions and transfers the control thread routes */

struct wthread {
	uint32_t index;
	int cpu; /* -1: not pinned */
	pthread_t tid;
	struct pfs_worker *w;
	struct pfs_io *io;
	int fd;
	void *cmd_mem, *evt_mem;
	struct pfs_ring cmd_in, cmd_out; /* control -> worker */
	struct pfs_ring evt_in, evt_out; /* worker -> control */
	uint64_t events_dropped;
	int started;
	/* the io's counters as the worker last copied them (atomic words: the
	 * control thread reads them) */
	struct {
		uint64_t wakeups, no_neighbour, handed_off, handoff_dropped;
		uint64_t refused[PFS_ETH_VERDICT_MAX];
	} snap;
};

struct route {
	uint64_t id;
	uint32_t worker;
	int slot; /* sessions: their counter slot; -1 for transfers */
	int used;
};

static volatile sig_atomic_t stop_signal;
static int stop_workers;

static struct {
	const char *region, *listen, *cores, *root, *iface;
	uint32_t mtu;
	int xdp;
	enum pfs_xdp_mode xdp_mode;
	enum pfs_xdp_copy xdp_copy;
} opt = { .mtu = 1472 };

/* Attached when --backend xdp; detached on every way out (exit included). */
static struct pfs_xdp_prog *xdp_prog;
/* What the sockets got when opened (before the workers started, so the
 * control thread never reads a socket's live state). */
static struct {
	int zero_copy, hugepages;
} xdp_got;

static void detach_xdp(void)
{
	pfs_xdp_prog_detach(xdp_prog);
	xdp_prog = NULL;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void fatal(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(int rc, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pfs-dataplane: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [%s]\n", pfs_errname(rc));
	exit(1);
}

/* --- worker threads ------------------------------------------------------------------ */

/* A worker's event: into its queue. The control thread drains it every
 * millisecond; if it is full for long the event is dropped and counted
 * rather than stall the worker. */
static void worker_emit(void *ctx, const struct pfs_msg *m)
{
	struct wthread *t = ctx;
	uint8_t buf[PFS_MSG_MAX];
	size_t len;

	if (pfs_msg_encode(m, buf, sizeof(buf), &len) != 0)
		return;
	for (int tries = 0; tries < 1000; tries++) {
		if (pfs_ring_push(&t->evt_in, buf, len) != PFS_ERR_RING_FULL)
			return;
		usleep(100);
	}
	t->events_dropped++;
}

/* Copies the worker's io counters where the control thread reads them. */
static void snapshot_io(struct wthread *t)
{
	struct pfs_xdp_info xi;

	if (pfs_io_xdp_info(t->io, &xi) != 0)
		return;
	__atomic_store_n(&t->snap.wakeups, xi.wakeups, __ATOMIC_RELAXED);
	__atomic_store_n(&t->snap.no_neighbour, xi.no_neighbour, __ATOMIC_RELAXED);
	__atomic_store_n(&t->snap.handed_off, xi.handed_off, __ATOMIC_RELAXED);
	__atomic_store_n(&t->snap.handoff_dropped, xi.handoff_dropped, __ATOMIC_RELAXED);
	for (int v = 0; v < PFS_ETH_VERDICT_MAX; v++)
		__atomic_store_n(&t->snap.refused[v], xi.refused[v], __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct wthread *t = arg;
	uint8_t buf[PFS_MSG_MAX + 8];
	uint64_t snapped = 0;
	size_t len;

	if (t->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	while (!__atomic_load_n(&stop_workers, __ATOMIC_ACQUIRE)) {
		uint64_t now = pfs_region_now_ns(), wake;
		/* commands between rounds: [u64 counters pointer][message] */
		while (pfs_ring_pop(&t->cmd_out, buf, sizeof(buf), &len) == 1 && len > 8) {
			struct pfs_msg m;
			uint64_t *ctr;
			memcpy(&ctr, buf, sizeof(ctr));
			if (pfs_msg_decode(buf + 8, len - 8, &m) == 0)
				pfs_worker_command(t->w, &m, ctr, now);
		}
		wake = pfs_worker_poll(t->w, now);
		if (opt.xdp && now - snapped > 100000000ull) {
			snapshot_io(t);
			snapped = now;
		}
		now = pfs_region_now_ns();
		if (wake > now) {
			/* nothing to do before wake: sleep in the socket until then
			 * (often microseconds, for the pacer: a nanosecond timeout
			 * rather than a busy loop), 1 ms at most so commands are
			 * picked up promptly */
			uint64_t dt = wake - now < 1000000 ? wake - now : 1000000;
			struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)dt };
			struct pollfd p = { .fd = t->fd, .events = POLLIN };
			ppoll(&p, 1, &ts, NULL);
		}
	}
	return NULL;
}

static void parse_cores(const char *s, int *cpus, uint32_t *n)
{
	*n = 0;
	while (s && *s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s || a < 0 || a >= CPU_SETSIZE)
			fatal(PFS_ERR_INVALID_ARG, "--cores %s: expected CPU numbers like 0,2-3",
			      s);
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b >= CPU_SETSIZE)
				fatal(PFS_ERR_INVALID_ARG, "--cores: bad range ending at %s", s);
		}
		for (long c = a; c <= b; c++) {
			if (*n == PFS_REGION_WORKERS_MAX)
				fatal(PFS_ERR_LIMIT, "--cores: at most %u workers",
				      PFS_REGION_WORKERS_MAX);
			cpus[(*n)++] = (int)c;
		}
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			fatal(PFS_ERR_INVALID_ARG, "--cores: unexpected '%c'", *end);
	}
}

static void parse_listen(const char *s, struct pfs_addr *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	memset(a, 0, sizeof(*a));
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		fatal(PFS_ERR_INVALID_ARG, "--listen %s: expected ADDR:PORT, e.g. 0.0.0.0:4433", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535)
		fatal(PFS_ERR_INVALID_ARG, "--listen %s: port must be 0..65535", s);
	a->port = (uint16_t)port;
	if (host[0] == '[') { /* [v6]:port */
		size_t n = strlen(host);
		if (host[n - 1] != ']')
			fatal(PFS_ERR_INVALID_ARG, "--listen %s: unbalanced '['", s);
		host[n - 1] = 0;
		memmove(host, host + 1, n);
		a->family = 6;
		if (inet_pton(AF_INET6, host, a->ip) != 1)
			fatal(PFS_ERR_INVALID_ARG, "--listen %s: not an IPv6 address", s);
	} else {
		a->family = 4;
		if (inet_pton(AF_INET, host, a->ip) != 1)
			fatal(PFS_ERR_INVALID_ARG, "--listen %s: not an IPv4 address", s);
	}
}

/* --- the control thread --------------------------------------------------------------- */

static struct route routes[MAP_MAX];

static struct route *route_find(uint64_t id, int session)
{
	for (int i = 0; i < MAP_MAX; i++)
		if (routes[i].used && routes[i].id == id && (routes[i].slot >= 0) == session)
			return &routes[i];
	return NULL;
}

static struct route *route_add(uint64_t id, uint32_t worker, int slot)
{
	for (int i = 0; i < MAP_MAX; i++) {
		if (!routes[i].used) {
			routes[i] = (struct route){
				.id = id, .worker = worker, .slot = slot, .used = 1
			};
			return &routes[i];
		}
	}
	return NULL;
}

static void send_event(struct pfs_region *r, const struct pfs_msg *m)
{
	uint8_t buf[PFS_MSG_MAX];
	size_t len;

	if (pfs_msg_encode(m, buf, sizeof(buf), &len) == 0)
		pfs_region_send(r, buf, len); /* full: the controller is not reading */
}

/* What the packet I/O is, with its counters summed over workers. */
static void send_backend(struct pfs_region *r, struct wthread *wt, uint32_t nw)
{
	struct pfs_msg m = { .type = PFS_MSG_BACKEND };
	struct pfs_msg_backend *b = &m.u.backend;
	uint64_t reasons[PFS_XDP_REASON_MAX];

	_Static_assert(PFS_XDP_REASON_MAX <= PFS_MSG_COUNTS_MAX &&
			       PFS_ETH_VERDICT_MAX <= PFS_MSG_COUNTS_MAX,
		       "BACKEND's count arrays must hold every reason code");
	b->queues = nw;
	if (!opt.xdp) {
		b->kind = PFS_BACKEND_UDP;
		send_event(r, &m);
		return;
	}
	b->kind = PFS_BACKEND_XDP;
	b->xdp_mode = pfs_xdp_prog_mode(xdp_prog) == PFS_XDP_MODE_NATIVE ? PFS_MSG_XDP_NATIVE :
									   PFS_MSG_XDP_GENERIC;
	b->zero_copy = (uint8_t)xdp_got.zero_copy;
	b->hugepages = (uint8_t)xdp_got.hugepages;
	b->ifname = (struct pfs_msg_str){ .p = (const uint8_t *)opt.iface,
					  .len = (uint16_t)strlen(opt.iface) };
	for (uint32_t k = 0; k < nw; k++) {
		b->wakeups += __atomic_load_n(&wt[k].snap.wakeups, __ATOMIC_RELAXED);
		b->no_neighbour += __atomic_load_n(&wt[k].snap.no_neighbour, __ATOMIC_RELAXED);
		b->handed_off += __atomic_load_n(&wt[k].snap.handed_off, __ATOMIC_RELAXED);
		b->handoff_dropped +=
			__atomic_load_n(&wt[k].snap.handoff_dropped, __ATOMIC_RELAXED);
		for (int v = 0; v < PFS_ETH_VERDICT_MAX; v++)
			b->refused[v] += __atomic_load_n(&wt[k].snap.refused[v], __ATOMIC_RELAXED);
	}
	b->nrefused = PFS_ETH_VERDICT_MAX;
	if (pfs_xdp_prog_counts(xdp_prog, reasons) == 0) {
		b->nreasons = PFS_XDP_REASON_MAX;
		memcpy(b->reasons, reasons, sizeof(reasons));
	}
	send_event(r, &m);
}

static void refuse(struct pfs_region *r, const struct pfs_msg *cmd, int rc, const char *why)
{
	struct pfs_msg m = { 0 };
	struct pfs_msg_str s = { .p = (const uint8_t *)why, .len = (uint16_t)strlen(why) };

	if (cmd->type == PFS_MSG_START_TRANSFER || cmd->type == PFS_MSG_CANCEL_TRANSFER) {
		m.type = PFS_MSG_TRANSFER_DONE;
		m.u.done = (struct pfs_msg_transfer_done){
			.transfer_id = cmd->type == PFS_MSG_START_TRANSFER ?
					       cmd->u.start_transfer.transfer_id :
					       cmd->u.transfer_id,
			.status = rc,
			.message = s
		};
	} else {
		m.type = PFS_MSG_LOG;
		m.u.log = (struct pfs_msg_log){ .level = PFS_LEVEL_ERROR, .message = s };
	}
	send_event(r, &m);
}

static int to_worker(struct wthread *t, const uint8_t *msg, size_t len, uint64_t *ctr)
{
	uint8_t buf[PFS_MSG_MAX + 8];

	memcpy(buf, &ctr, sizeof(ctr));
	memcpy(buf + 8, msg, len);
	return pfs_ring_push(&t->cmd_in, buf, len + 8);
}

/* Routes one command; returns 1 on SHUTDOWN. */
static int route_command(struct pfs_region *r, struct wthread *wt, uint32_t nw, const uint8_t *buf,
			 size_t len, int *drain)
{
	struct pfs_msg m;
	struct route *rt = NULL;
	uint64_t *ctr = NULL;
	char why[256];
	int rc = pfs_msg_decode(buf, len, &m), slot;

	if (rc) {
		snprintf(why, sizeof(why),
			 "a command could not be decoded: %s (is the "
			 "controller the same version?)",
			 pfs_strerror(rc));
		m.type = 0;
		refuse(r, &m, rc, why);
		return 0;
	}
	switch (m.type) {
	case PFS_MSG_SHUTDOWN:
		*drain = m.u.shutdown == PFS_SHUTDOWN_DRAIN;
		return 1;
	case PFS_MSG_ADD_SESSION: {
		uint32_t k = pfs_worker_for_cid(m.u.add_session.local_conn_id, nw);
		if (route_find(m.u.add_session.session_id, 1)) {
			refuse(r, &m, PFS_ERR_INVALID_ARG, "ADD_SESSION: that session id exists");
			return 0;
		}
		slot = pfs_region_session_claim(r, m.u.add_session.session_id, k, &ctr);
		if (slot < 0 || !(rt = route_add(m.u.add_session.session_id, k, slot))) {
			if (slot >= 0)
				pfs_region_session_release(r, slot);
			refuse(r, &m, PFS_ERR_LIMIT, "ADD_SESSION: no free session slot");
			return 0;
		}
		break;
	}
	case PFS_MSG_REMOVE_SESSION:
		rt = route_find(m.u.session_id, 1);
		break;
	case PFS_MSG_SET_POLICY:
		rt = route_find(m.u.set_policy.session_id, 1);
		break;
	case PFS_MSG_SET_KEYS:
		rt = route_find(m.u.set_keys.session_id, 1);
		break;
	case PFS_MSG_START_TRANSFER: {
		struct route *s = route_find(m.u.start_transfer.session_id, 1);
		if (s && !route_find(m.u.start_transfer.transfer_id, 0))
			rt = route_add(m.u.start_transfer.transfer_id, s->worker, -1);
		if (!rt) {
			refuse(r, &m, PFS_ERR_INVALID_ARG,
			       s ? "START_TRANSFER: that transfer id is in use, or too many "
				   "transfers" :
				   "START_TRANSFER: no such session (add it first)");
			return 0;
		}
		break;
	}
	case PFS_MSG_CANCEL_TRANSFER:
		rt = route_find(m.u.transfer_id, 0);
		break;
	default:
		refuse(r, &m, PFS_ERR_INVALID_ARG, "an event type was sent as a command");
		return 0;
	}
	if (!rt) {
		snprintf(why, sizeof(why), "%s: no such session or transfer", pfs_msg_name(m.type));
		refuse(r, &m, PFS_ERR_INVALID_ARG, why);
		return 0;
	}
	if (to_worker(&wt[rt->worker], buf, len, ctr) != 0)
		refuse(r, &m, PFS_ERR_RING_FULL, "the worker's command queue is full; retry");
	return 0;
}

/* Notes what an event ends (a session's slot, a transfer's route). */
static void observe(struct pfs_region *r, const uint8_t *buf, size_t len)
{
	struct pfs_msg m;
	struct route *rt;

	if (pfs_msg_decode(buf, len, &m) != 0)
		return;
	if (m.type == PFS_MSG_SESSION_STATE && (m.u.session_state.state == PFS_SSTATE_REMOVED ||
						m.u.session_state.state == PFS_SSTATE_FAILED)) {
		if ((rt = route_find(m.u.session_state.session_id, 1))) {
			pfs_region_session_release(r, rt->slot);
			rt->used = 0;
		}
	} else if (m.type == PFS_MSG_SESSION_STATE) {
		if ((rt = route_find(m.u.session_state.session_id, 1)))
			pfs_region_session_set_state(r, rt->slot,
						     (enum pfs_sstate)m.u.session_state.state);
	} else if (m.type == PFS_MSG_TRANSFER_DONE) {
		if ((rt = route_find(m.u.done.transfer_id, 0)))
			rt->used = 0;
	}
}

/* Forwards workers' events; an event the region has no room for waits in
 * pending and stops the forwarding until it fits (nothing is reordered). */
static void forward_events(struct pfs_region *r, struct wthread *wt, uint32_t nw, uint8_t *pending,
			   size_t *plen)
{
	if (*plen) {
		if (pfs_region_send(r, pending, *plen) != 0)
			return;
		*plen = 0;
	}
	for (uint32_t k = 0; k < nw; k++) {
		size_t len;
		while (pfs_ring_pop(&wt[k].evt_out, pending, PFS_MSG_MAX, &len) == 1) {
			observe(r, pending, len);
			if (pfs_region_send(r, pending, len) != 0) {
				*plen = len;
				return;
			}
		}
	}
}

static void *queue_mem(struct pfs_ring *in, struct pfs_ring *out, int in_side)
{
	void *mem = NULL;

	if (posix_memalign(&mem, 64, pfs_ring_mem_bytes(QUEUE_BYTES)) != 0 ||
	    pfs_ring_format(mem, QUEUE_BYTES) != 0)
		fatal(PFS_ERR_NOMEM, "out of memory for worker queues");
	pfs_ring_attach(in, mem, QUEUE_BYTES, in_side ? PFS_RING_PRODUCER : PFS_RING_CONSUMER);
	pfs_ring_attach(out, mem, QUEUE_BYTES, in_side ? PFS_RING_CONSUMER : PFS_RING_PRODUCER);
	return mem;
}

static struct wthread *new_workers(uint32_t nw)
{
	struct wthread *wt = calloc(nw, sizeof(*wt));

	if (!wt)
		fatal(PFS_ERR_NOMEM, "out of memory");
	return wt;
}

/* Kernel UDP: one socket per worker in a SO_REUSEPORT group, steered by
 * connection id. Returns the number of workers. */
static uint32_t open_udp(struct wthread **out, struct pfs_addr *bind_addr, int *cpus, uint32_t nw)
{
	struct wthread *wt;
	char err[512];
	int rc;

	if (nw == 0) {
		nw = 1;
		cpus[0] = -1;
	}
	wt = *out = new_workers(nw);
	/* sockets first, in worker order: the steering program indexes them so */
	for (uint32_t k = 0; k < nw; k++) {
		struct pfs_udp_config uc = { .bind = *bind_addr,
					     .frames = 8192,
					     .frame_size = opt.mtu,
					     .sockbuf = 8u << 20,
					     .reuseport = nw > 1 };
		if ((rc = pfs_io_udp_open(&wt[k].io, &uc, err, sizeof(err))))
			fatal(rc, "%s", err);
		if (k == 0 && bind_addr->port == 0) /* the others join the port it got */
			pfs_io_udp_local(wt[0].io, bind_addr);
		wt[k].fd = pfs_io_udp_fd(wt[k].io);
	}
	if (nw > 1 && (rc = pfs_io_udp_steer(wt[0].io, nw, err, sizeof(err))))
		fatal(rc, "%s", err);
	return nw;
}

/* AF_XDP on --iface: the steering program, then one socket per receive queue,
 * each served by its own worker. Returns the number of workers. */
static uint32_t open_xdp(struct wthread **out, struct pfs_addr *bind_addr, int *cpus, uint32_t nw)
{
	struct wthread *wt;
	uint32_t queues;
	char err[1024];
	int rc;

	if (!opt.iface)
		fatal(PFS_ERR_INVALID_ARG,
		      "--backend xdp needs --iface: the interface whose packets AF_XDP takes");
	if (bind_addr->port == 0)
		fatal(PFS_ERR_INVALID_ARG,
		      "--backend xdp needs a fixed port in --listen (the XDP program filters "
		      "on it)");
	if (!pfs_xdp_available(err, sizeof(err)))
		fatal(-EOPNOTSUPP, "%s", err);
	if ((rc = pfs_xdp_prog_attach(&xdp_prog, opt.iface, bind_addr->port, opt.xdp_mode, err,
				      sizeof(err))))
		fatal(rc, "%s", err);
	atexit(detach_xdp); /* fatal() below and every exit detach it */
	queues = pfs_xdp_prog_queues(xdp_prog);
	if (queues > PFS_REGION_WORKERS_MAX)
		fatal(PFS_ERR_LIMIT,
		      "%s has %u receive queues; at most %u workers: reduce the queues (ethtool -L "
		      "%s combined %u)",
		      opt.iface, queues, PFS_REGION_WORKERS_MAX, opt.iface, PFS_REGION_WORKERS_MAX);
	if (nw == 0) {
		for (uint32_t k = 0; k < queues; k++)
			cpus[k] = -1;
	} else if (nw != queues) {
		fatal(PFS_ERR_INVALID_ARG,
		      "%s has %u receive queue%s and --cores names %u CPU%s: AF_XDP serves every "
		      "queue with its own worker, so name %u CPU%s (or change the queues with "
		      "ethtool -L %s)",
		      opt.iface, queues, queues == 1 ? "" : "s", nw, nw == 1 ? "" : "s", queues,
		      queues == 1 ? "" : "s", opt.iface);
	}
	nw = queues;
	wt = *out = new_workers(nw);
	for (uint32_t k = 0; k < nw; k++) {
		struct pfs_xdp_config xc = { .prog = xdp_prog,
					     .queue = k,
					     .local = *bind_addr,
					     .mtu = opt.mtu,
					     .copy = opt.xdp_copy };
		if ((rc = pfs_io_xdp_open(&wt[k].io, &xc, err, sizeof(err))))
			fatal(rc, "%s", err);
		wt[k].fd = pfs_io_xdp_fd(wt[k].io);
	}
	if (nw > 1) {
		struct pfs_io *ios[PFS_REGION_WORKERS_MAX];
		for (uint32_t k = 0; k < nw; k++)
			ios[k] = wt[k].io;
		if ((rc = pfs_io_xdp_group(ios, nw, err, sizeof(err))))
			fatal(rc, "%s", err);
	}
	{
		struct pfs_xdp_info xi;
		pfs_io_xdp_info(wt[0].io, &xi);
		xdp_got.zero_copy = xi.zero_copy;
		xdp_got.hugepages = !strcmp(xi.umem, "hugetlb");
		fprintf(stderr,
			"pfs-dataplane: AF_XDP on %s: %s mode, %s, %u queue%s, UMEM %s pages "
			"(%llu MiB per queue), program attached %s\n",
			opt.iface, pfs_xdp_mode_name(pfs_xdp_prog_mode(xdp_prog)),
			xi.zero_copy ? "zero-copy" : "copy mode", nw, nw == 1 ? "" : "s",
			!strcmp(xi.umem, "hugetlb") ? "in huge" : "in normal",
			(unsigned long long)(xi.umem_bytes >> 20),
			pfs_xdp_prog_shared(xdp_prog) ?
				"through libxdp's dispatcher (other XDP programs may share the "
				"interface)" :
				"alone (this kernel cannot run libxdp's dispatcher: another XDP "
				"program on the interface would be refused)");
	}
	return nw;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pfs-dataplane --region PATH --receive-root DIR [--listen ADDR:PORT]\n"
		"                     [--cores LIST] [--mtu BYTES]\n"
		"                     [--backend udp|xdp --iface NAME [--xdp-mode auto|native|generic]\n"
		"                      [--xdp-copy auto|zerocopy|copy]]\n"
		"  --region PATH        shared-memory control region to create (e.g.\n"
		"                       /dev/shm/pfs-dp); the controller attaches to it\n"
		"  --receive-root DIR   received files are written only below DIR (must exist)\n"
		"  --listen ADDR:PORT   UDP address for peers (default 0.0.0.0:4433; port 0: any)\n"
		"  --cores LIST         one worker pinned to each CPU, e.g. 2,3 or 2-5\n"
		"                       (default: one worker, not pinned)\n"
		"  --mtu BYTES          UDP payload per packet (default 1472: a 1500-byte MTU)\n"
		"  --backend udp|xdp    packet I/O: kernel UDP sockets (default; any user) or\n"
		"                       AF_XDP on --iface (root): one socket and one worker per\n"
		"                       receive queue (--cores then names one CPU per queue)\n"
		"  --iface NAME         the interface for --backend xdp\n"
		"  --xdp-mode MODE      auto (native, else generic), native or generic\n"
		"  --xdp-copy MODE      auto (zero-copy, else copy), zerocopy or copy\n"
		"Stops on SIGTERM/SIGINT or a SHUTDOWN command; logs are persisted.\n");
}

/*
 * Every file being received holds two descriptors (the file and its
 * directory) until it commits, and a session may receive PFS_SESSION_STREAMS
 * at once: raise the soft limit to the hard one (often 1024 → far more), and
 * say so when even that is short of one session's worth.
 */
static void raise_file_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2u * PFS_SESSION_STREAMS + 64)
		fprintf(stderr,
			"pfs-dataplane: warning: at most %lu open files (ulimit -n): a session "
			"receiving %u files at once needs about %u; files beyond that fail with "
			"EMFILE — raise LimitNOFILE in the unit or ulimit -Hn\n",
			(unsigned long)rl.rlim_cur, PFS_SESSION_STREAMS,
			2u * PFS_SESSION_STREAMS + 64);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "region", 1, 0, 'r' },       { "listen", 1, 0, 'l' }, { "cores", 1, 0, 'c' },
		{ "receive-root", 1, 0, 'o' }, { "mtu", 1, 0, 'm' },	{ "help", 0, 0, 'h' },
		{ "backend", 1, 0, 'B' },      { "iface", 1, 0, 'I' },	{ "xdp-mode", 1, 0, 'X' },
		{ "xdp-copy", 1, 0, 'Z' },     { 0, 0, 0, 0 },
	};
	int cpus[PFS_REGION_WORKERS_MAX], c, rc, drain = 0, stopping = 0;
	uint32_t nw = 0;
	struct pfs_addr bind_addr;
	struct pfs_region *r;
	struct pfs_region_config rcfg = { 0 };
	struct wthread *wt;
	char err[512];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			opt.region = optarg;
			break;
		case 'l':
			opt.listen = optarg;
			break;
		case 'c':
			opt.cores = optarg;
			break;
		case 'o':
			opt.root = optarg;
			break;
		case 'm':
			opt.mtu = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'B':
			if (strcmp(optarg, "udp") && strcmp(optarg, "xdp"))
				fatal(PFS_ERR_INVALID_ARG, "--backend %s: udp or xdp", optarg);
			opt.xdp = !strcmp(optarg, "xdp");
			break;
		case 'I':
			opt.iface = optarg;
			break;
		case 'X':
			if (pfs_xdp_mode_parse(optarg, &opt.xdp_mode))
				fatal(PFS_ERR_INVALID_ARG, "--xdp-mode %s: auto, native or generic",
				      optarg);
			break;
		case 'Z':
			if (pfs_xdp_copy_parse(optarg, &opt.xdp_copy))
				fatal(PFS_ERR_INVALID_ARG, "--xdp-copy %s: auto, zerocopy or copy",
				      optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!opt.region || !opt.root) {
		usage(stderr);
		fatal(PFS_ERR_INVALID_ARG, "--region and --receive-root are required");
	}
	if (opt.mtu < 576 || opt.mtu > 65507)
		fatal(PFS_ERR_INVALID_ARG, "--mtu %u: must be 576..65507 bytes", opt.mtu);
	parse_listen(opt.listen ? opt.listen : "0.0.0.0:4433", &bind_addr);
	parse_cores(opt.cores, cpus, &nw);
	raise_file_limit();
	if (opt.xdp)
		nw = open_xdp(&wt, &bind_addr, cpus, nw);
	else
		nw = open_udp(&wt, &bind_addr, cpus, nw);
	if ((rc = pfs_region_create(&r, opt.region, &rcfg, pfs_region_now_ns(), err, sizeof(err))))
		fatal(rc, "%s", err);
	for (uint32_t k = 0; k < nw; k++) {
		struct pfs_worker_config wc = { .index = k,
						.io = wt[k].io,
						.receive_root = opt.root,
						.mtu = opt.mtu,
						.counters = pfs_region_worker_counters(r, k),
						.ctx = &wt[k],
						.emit = worker_emit };
		wt[k].index = k;
		wt[k].cpu = cpus[k];
		wt[k].cmd_mem = queue_mem(&wt[k].cmd_in, &wt[k].cmd_out, 1);
		wt[k].evt_mem = queue_mem(&wt[k].evt_in, &wt[k].evt_out, 1);
		if ((rc = pfs_worker_new(&wt[k].w, &wc, err, sizeof(err)))) {
			unlink(opt.region);
			fatal(rc, "%s", err);
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	for (uint32_t k = 0; k < nw; k++) {
		if ((rc = pthread_create(&wt[k].tid, NULL, worker_main, &wt[k])) != 0) {
			unlink(opt.region);
			fatal(-rc, "cannot start worker %u", k);
		}
		wt[k].started = 1;
	}
	pfs_region_set_workers(r, nw);
	pfs_region_set_state(r, PFS_DP_RUNNING);
	{
		struct pfs_msg m = { .type = PFS_MSG_READY };
		m.u.ready = (struct pfs_msg_ready){ .layout_version = PFS_REGION_VERSION,
						    .worker_count = nw,
						    .pid = (uint32_t)getpid() };
		send_event(r, &m);
	}
	send_backend(r, wt, nw);
	uint64_t backend_sent = pfs_region_now_ns();

	uint8_t *buf = malloc(PFS_MSG_MAX), *pending = malloc(PFS_MSG_MAX);
	size_t plen = 0, len;
	if (!buf || !pending)
		fatal(PFS_ERR_NOMEM, "out of memory");
	for (;;) {
		uint64_t now = pfs_region_now_ns();
		pfs_region_heartbeat(r, now);
		while (!stopping && pfs_region_recv(r, buf, PFS_MSG_MAX, &len) == 1)
			stopping = route_command(r, wt, nw, buf, len, &drain);
		forward_events(r, wt, nw, pending, &plen);
		if (now - backend_sent >= 1000000000ull) {
			send_backend(r, wt, nw);
			backend_sent = now;
		}
		if (stop_signal && !stopping) {
			stopping = 1;
			drain = 0;
		}
		if (stopping) {
			int busy = 0;
			for (uint32_t k = 0; k < MAP_MAX; k++)
				busy |= routes[k].used && routes[k].slot < 0;
			if (!drain || !busy)
				break;
		}
		usleep(1000);
	}
	pfs_region_set_state(r, PFS_DP_STOPPING);
	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELEASE);
	for (uint32_t k = 0; k < nw; k++)
		if (wt[k].started)
			pthread_join(wt[k].tid, NULL);
	/* the workers end their sessions (logs persisted) and say so */
	for (uint32_t k = 0; k < nw; k++)
		pfs_worker_free(wt[k].w);
	detach_xdp(); /* its sockets are closed: the interface is the kernel's again */
	forward_events(r, wt, nw, pending, &plen);
	for (uint32_t k = 0; k < nw; k++) {
		if (wt[k].events_dropped)
			fprintf(stderr,
				"pfs-dataplane: worker %u dropped %llu events (the "
				"controller did not read them)\n",
				k, (unsigned long long)wt[k].events_dropped);
		free(wt[k].cmd_mem);
		free(wt[k].evt_mem);
	}
	pfs_region_set_state(r, PFS_DP_STOPPED);
	pfs_region_close(r);
	unlink(opt.region);
	free(buf);
	free(pending);
	free(wt);
	return stop_signal && stop_signal != SIGTERM && stop_signal != SIGINT ? 1 : 0;
}
