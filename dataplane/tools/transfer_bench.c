/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfs-transfer-bench: two session engines on this machine — in two processes
 * joined by UDP on loopback, or with --backend mem in one process joined by
 * the in-process backend (no kernel, no sleeping: the engine's own cost) —
 * or, with --netns, in two network namespaces joined by a link, each end on
 * the kernel UDP backend or AF_XDP (--backend xdp, or xdp,udp for a sender on
 * AF_XDP and a receiver on UDP) — moving --base
 * (if given) and then --target as files: the receiver writes them below a
 * receive root (default: a fresh directory in /dev/shm, removed afterwards),
 * checks their digests, syncs and renames them, exactly as the data plane
 * does; the benchmark then compares each file with its source byte for byte.
 * Reports the target's transfer. Faults (--loss, --reorder, --duplicate,
 * --corrupt) are applied by io_fault on the receiving side of each direction,
 * in real time. Prints one JSON object.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "files.h"
#include "io.h"
#include "io_xdp.h"
#include "session.h"
#include "tool.h"

#define MTU_DEFAULT 1472u /* fits a 1500-byte Ethernet MTU: 20 IP + 8 UDP */

struct opts {
	const char *target, *base, *root;
	double loss, reorder, duplicate, corrupt;
	uint64_t rate_cap; /* bytes per second */
	enum pfs_cc_algo cc;
	uint64_t log_size;
	double time_limit_s;
	uint32_t mtu;
	int mem;
	/* two-process mode: per side, [0] sender and [1] receiver */
	int xdp[2];		 /* 1: AF_XDP, 0: kernel UDP */
	const char *netns[2];	 /* network namespace names (/run/netns), or NULL */
	struct pfs_addr addr[2]; /* each end's address (port: --port, or any) */
	char iface[2][IF_NAMESIZE];
	enum pfs_xdp_mode xdp_mode;
	enum pfs_xdp_copy xdp_copy;
	uint16_t port;
	int no_offload; /* udp ends: no GSO/GRO (one system call per datagram batch
			 * slot, like AF_XDP's one frame per descriptor) */
};

/* What one side's process reports about its own end. */
struct side_report {
	char verdict;
	double cpu_s; /* user + system time of the process */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
	int xdp, zero_copy;
	char mode[8], umem[8];
};

/* What the sender hears back, per stream. */
struct tx_state {
	int status[2];
	int settled;
};

static void on_sent(void *ctx, uint64_t id, int status)
{
	struct tx_state *tx = ctx;

	if (id < 2)
		tx->status[id] = status;
	tx->settled++;
}

/* What the receiver committed. */
struct rx_state {
	struct pfs_files_rx files;
	int committed, failed;
};

static void on_file(void *ctx, uint64_t id, const char *rel, uint64_t size, int status,
		    const char *why)
{
	struct rx_state *rx = ctx;

	if (status) {
		fprintf(stderr, "receiver: %s: %s (%s)\n", rel, why, pfs_strerror(status));
		rx->failed++;
	} else {
		rx->committed++;
	}
}

/* The received copy of e below root equals its source, byte for byte. */
static int same_bytes(const char *root, const struct pfs_file_entry *e)
{
	char path[PFS_PATH_MAX * 2 + 2], err[256];
	struct pfs_file_entry got = { .src = path, .size = e->size };
	struct pfs_file_map a, b;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", root, e->rel);
	if (pfs_file_map(&a, e, err, sizeof(err)) || pfs_file_map(&b, &got, err, sizeof(err)))
		return 0;
	ok = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	pfs_file_unmap(&a);
	pfs_file_unmap(&b);
	return ok;
}

/* The receive root this run made (mkdtemp in /dev/shm), removed with
 * everything in it on every way out — normal end, die(), a dead receiver —
 * by whichever process leaves last; a root the user gave keeps what arrived. */
static char made_root[64];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(type == FTW_DP ? rmdir : unlink)(path);
	return 0;
}

static void remove_made_root(void)
{
	if (made_root[0])
		nftw(made_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct endpoint {
	struct pfs_log *tx, *rx;
	struct pfs_index txi;
	struct pfs_codec_keys keys;
	struct pfs_session *s;
	struct pfs_io *io;
	struct pfs_addr peer;
};

static void setup(struct endpoint *e, const struct opts *o, int side, struct pfs_io *io,
		  struct rx_state *rx, struct tx_state *tx)
{
	struct pfs_log_config lc = { .capacity = o->log_size, .huge = PFS_HUGE_AUTO };
	struct pfs_session_config c = { 0 };
	uint8_t pair[PFS_PAIR_KEY_BYTES];
	char err[256];
	int rc;

	memset(pair, 0x42, sizeof(pair));
	pfs_keys_derive(&e->keys, pair);
	c.local_cid = 1000 + side;
	c.peer_cid = 1000 + !side;
	c.aead = PFS_AEAD_AUTO;
	memset(c.tx_key, 0x30 + side, sizeof(c.tx_key));
	memset(c.rx_key, 0x30 + !side, sizeof(c.rx_key));
	memset(c.tx_iv, 0x40 + side, sizeof(c.tx_iv));
	memset(c.rx_iv, 0x40 + !side, sizeof(c.rx_iv));
	c.cc = o->cc;
	c.fixed_rate = o->rate_cap ? o->rate_cap : 125000000;
	c.rate_cap = o->rate_cap;
	c.mtu = o->mtu;
	c.window_blocks = 256; /* the daemon's default (ts/config/schema.ts) */
	c.max_ack_delay_ns = 1000000;
	pfs_codec_config_default(&c.codec);
	c.codec.block_max = 1u << 20;
	if ((rc = pfs_log_open(&e->tx, &lc, err, sizeof(err))) ||
	    (rc = pfs_log_open(&e->rx, &lc, err, sizeof(err))))
		die(rc, "%s", err);
	if ((rc = pfs_index_init(&e->txi, pfs_index_bytes_for(o->log_size, c.codec.avg_chunk))))
		die(rc, "index");
	struct pfs_session_logs logs = {
		.tx = e->tx, .rx = e->rx, .tx_index = &e->txi, .keys = &e->keys
	};
	struct pfs_session_sink sk = { .ctx = tx, .sent = on_sent };
	if (rx) {
		if ((rc = pfs_files_rx_init(&rx->files, o->root, err, sizeof(err))))
			die(rc, "%s", err);
		rx->files.ctx = rx;
		rx->files.on_file = on_file;
		sk = pfs_files_rx_sink(&rx->files);
	}
	if ((rc = pfs_session_new(&e->s, &c, &logs, &sk, err, sizeof(err))))
		die(rc, "%s", err);
	e->io = io;
}

/* One step of the event loop: send what may go, receive what came, then wait
 * for the socket or the session's next timer (at most 1 ms). */
static int step(struct endpoint *e, int fd)
{
	uint64_t now = now_ns(), wake = now + 1000000;
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int n, rc, out;

	/* a burst of packets written straight into the backend's buffers, sent
	 * with one system call */
	out = pfs_io_alloc(e->io, f, PFS_IO_BURST_MAX);
	for (n = 0; n < out; n++) {
		size_t len;
		uint64_t w;
		rc = pfs_session_next_packet(e->s, f[n].data, f[n].cap, &len, now, &w);
		if (rc)
			return rc;
		if (len == 0) {
			if (w < wake)
				wake = w;
			break;
		}
		f[n].len = (uint32_t)len;
		f[n].peer = e->peer;
		wake = now;
	}
	pfs_io_release(e->io, f + n, out - n);
	if (n)
		pfs_io_tx(e->io, f, n, now);
	while ((n = pfs_io_rx(e->io, f, PFS_IO_BURST_MAX, now_ns())) > 0) {
		for (int i = 0; i < n; i++) {
			rc = pfs_session_on_packet(e->s, f[i].data, f[i].len, now_ns());
			if (rc)
				return rc;
		}
		pfs_io_release(e->io, f, n);
		wake = now;
	}
	now = now_ns();
	if (wake > now && fd >= 0) {
		/* sleep until the session's next timer (the pacer's included, often
		 * microseconds away: a nanosecond timeout, not a busy loop) or a
		 * packet, at most 1 ms; with faults (fd < 0) frames wait inside
		 * io_fault, so the loop goes round */
		uint64_t dt = wake - now < 1000000 ? wake - now : 1000000;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)dt };
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ppoll(&p, 1, &ts, NULL);
	}
	return 0;
}

static struct pfs_io *wrap_faults(const struct opts *o, uint32_t seed, struct pfs_io *io);

/* The XDP program this process attached (detached on every way out). */
static struct pfs_xdp_prog *xdp_prog;

static void detach_xdp(void)
{
	pfs_xdp_prog_detach(xdp_prog);
	xdp_prog = NULL;
}

static void on_stop_signal(int sig)
{
	detach_xdp();
	_exit(128 + sig);
}

/* Enters the network namespace /run/netns/name (this process only). */
static void enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!name)
		return;
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
		die(-errno,
		    "cannot enter network namespace %s (%s): it must exist (ip netns add) "
		    "and entering it needs root",
		    name, strerror(errno));
	close(fd);
}

/* The interface holding addr in this namespace. */
static void iface_of(const struct pfs_addr *addr, char *name)
{
	struct ifaddrs *ifa, *i;

	if (name[0])
		return;
	if (getifaddrs(&ifa) != 0)
		die(-errno, "cannot list interfaces: %s", strerror(errno));
	for (i = ifa; i && !name[0]; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if ((addr->family == 4 && i->ifa_addr->sa_family == AF_INET &&
		     !memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr->ip, 4)) ||
		    (addr->family == 6 && i->ifa_addr->sa_family == AF_INET6 &&
		     !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr->ip, 16)))
			snprintf(name, IF_NAMESIZE, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	if (!name[0])
		die(PFS_ERR_INVALID_ARG, "no interface in this namespace has the address given "
					 "to --addr (give --iface)");
}

/* This process's backend below any fault wrapper (what fill_report asks). */
static struct pfs_io *raw_io;

/* Opens side's backend (0 sender, 1 receiver); *fd is what to poll. */
static struct pfs_io *open_io(const struct opts *o, int side, struct pfs_addr *local, int *fd)
{
	struct pfs_io *io;
	char err[1024];
	int rc;

	if (o->xdp[side]) {
		struct pfs_xdp_config xc = { .local = o->addr[side],
					     .mtu = o->mtu,
					     .copy = o->xdp_copy };
		char name[IF_NAMESIZE];
		memcpy(name, o->iface[side], sizeof(name));
		iface_of(&o->addr[side], name);
		if ((rc = pfs_xdp_prog_attach(&xdp_prog, name, o->port, o->xdp_mode, err,
					      sizeof(err))))
			die(rc, "%s", err);
		atexit(detach_xdp);
		signal(SIGINT, on_stop_signal);
		signal(SIGTERM, on_stop_signal);
		xc.prog = xdp_prog;
		xc.local.port = o->port;
		if ((rc = pfs_io_xdp_open(&io, &xc, err, sizeof(err))))
			die(rc, "%s", err);
		*local = xc.local;
		*fd = pfs_io_xdp_fd(io);
	} else {
		struct pfs_udp_config uc = { .bind = o->addr[side],
					     .frames = 8192,
					     .frame_size = o->mtu,
					     .sockbuf = 8u << 20,
					     .no_offload = o->no_offload };
		if (o->netns[side])
			uc.bind.port = o->port;
		if ((rc = pfs_io_udp_open(&io, &uc, err, sizeof(err))))
			die(rc, "%s", err);
		pfs_io_udp_local(io, local);
		*fd = pfs_io_udp_fd(io);
	}
	raw_io = io;
	struct pfs_io *w = wrap_faults(o, (uint32_t)side + 1, io);
	if (w != io)
		*fd = -1; /* frames wait inside io_fault: poll in short steps */
	return w;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* CPU time when the side was set up (logs mapped, index allocated): what
 * fill_report counts from. */
static double cpu_at_start;

/* What this process saw of its own end. */
static void fill_report(struct side_report *r, const struct pfs_io *io, int xdp)
{
	struct pfs_xdp_info xi;

	r->cpu_s = cpu_seconds() - cpu_at_start;
	r->rx_frames = io->stats.rx_frames;
	r->tx_frames = io->stats.tx_frames;
	r->rx_dropped = io->stats.rx_dropped;
	r->tx_dropped = io->stats.tx_dropped;
	r->xdp = xdp;
	if (xdp && pfs_io_xdp_info(raw_io, &xi) == 0) {
		r->zero_copy = xi.zero_copy;
		snprintf(r->mode, sizeof(r->mode), "%s",
			 pfs_xdp_mode_name(pfs_xdp_prog_mode(xdp_prog)));
		snprintf(r->umem, sizeof(r->umem), "%s", xi.umem);
	}
}

static const char *backend_name(const struct opts *o)
{
	static const char *names[2][2] = { { "udp", "udp,xdp" }, { "xdp,udp", "xdp" } };

	return o->mem ? "mem" : names[o->xdp[0]][o->xdp[1]];
}

/* One side's end over the whole run (every file, acknowledgements included),
 * as a JSON member; nothing in mem mode. */
static void report_side(const char *who, const struct side_report *r)
{
	if (!r)
		return;
	printf(",\n  \"%s\": {\"cpu_s\": %.3f, \"tx_frames\": %llu, \"rx_frames\": %llu, "
	       "\"tx_dropped\": %llu, \"rx_dropped\": %llu, \"frames_per_cpu_s\": %.0f",
	       who, r->cpu_s, (unsigned long long)r->tx_frames, (unsigned long long)r->rx_frames,
	       (unsigned long long)r->tx_dropped, (unsigned long long)r->rx_dropped,
	       r->cpu_s > 0 ? (double)(r->tx_frames + r->rx_frames) / r->cpu_s : 0);
	if (r->xdp)
		printf(", \"xdp_mode\": \"%s\", \"zero_copy\": %s, \"umem\": \"%s\"", r->mode,
		       r->zero_copy ? "true" : "false", r->umem);
	printf("}");
}

static void report(const struct opts *o, const struct pfs_file_entry *target,
		   const struct pfs_session_stats *st, const struct pfs_session_stats *before,
		   uint64_t ns, int completed, int verified, const struct side_report *sender,
		   const struct side_report *receiver)
{
	double secs = (double)ns / 1e9;

	printf("{\n  \"input_bytes\": %llu,\n  \"seconds\": %.4f,\n  \"goodput_MBps\": %.1f,\n"
	       "  \"wire_bytes\": %llu,\n  \"retransmitted_bytes\": %llu,\n"
	       "  \"packets_sent\": %llu,\n  \"completed\": %s,\n  \"verified\": %s,\n"
	       "  \"backend\": \"%s\",\n  \"cc\": \"%s\",\n  \"loss\": %g,\n"
	       "  \"reorder\": %g,\n  \"rate_cap_MBps\": %.1f,\n  \"mtu\": %u,\n"
	       "  \"pointer_bytes\": %llu,\n  \"repairs\": %llu,\n"
	       "  \"end_cwnd\": %llu,\n  \"end_pacing_MBps\": %.1f,\n  \"end_srtt_us\": %.1f,\n"
	       "  \"end_min_rtt_us\": %.1f",
	       (unsigned long long)target->size, secs,
	       secs > 0 ? (double)target->size / secs / 1e6 : 0,
	       (unsigned long long)(st->bytes_sent - before->bytes_sent),
	       (unsigned long long)(st->retransmitted_bytes - before->retransmitted_bytes),
	       (unsigned long long)(st->packets_sent - before->packets_sent),
	       completed ? "true" : "false", verified ? "true" : "false", backend_name(o),
	       pfs_cc_name(o->cc), o->loss, o->reorder, (double)o->rate_cap / 1e6, o->mtu,
	       (unsigned long long)(st->pointer_bytes - before->pointer_bytes),
	       (unsigned long long)(st->repair_blocks_sent - before->repair_blocks_sent),
	       (unsigned long long)st->cwnd, (double)st->pacing_rate / 1e6,
	       (double)st->srtt_ns / 1e3,
	       st->min_rtt_ns == UINT64_MAX ? 0.0 : (double)st->min_rtt_ns / 1e3);
	/* the whole run's frames per side (both files, acknowledgements too) */
	printf(",\n  \"packets_per_s\": %.0f",
	       secs > 0 ? (double)(st->packets_sent - before->packets_sent) / secs : 0);
	if (!o->mem && (!o->xdp[0] || !o->xdp[1])) /* an end on kernel UDP */
		printf(",\n  \"udp_offload\": %s", o->no_offload ? "false" : "true");
	report_side("sender", sender);
	report_side("receiver", receiver);
	printf("\n}\n");
}

static struct pfs_io *wrap_faults(const struct opts *o, uint32_t seed, struct pfs_io *io)
{
	struct pfs_fault_config fc = { .seed = seed,
				       .loss_ppm = (uint32_t)(o->loss * 1e6),
				       .reorder_ppm = (uint32_t)(o->reorder * 1e6),
				       .reorder_depth = o->reorder > 0 ? 3 : 0,
				       .duplicate_ppm = (uint32_t)(o->duplicate * 1e6),
				       .corrupt_ppm = (uint32_t)(o->corrupt * 1e6) };
	struct pfs_io *wrapped;
	int rc;

	if (o->loss == 0 && o->reorder == 0 && o->duplicate == 0 && o->corrupt == 0)
		return io;
	if ((rc = pfs_io_fault_wrap(&wrapped, io, &fc)))
		die(rc, "bad fault settings");
	return wrapped;
}

/* The receiver process (two-process mode): if it dies, say so at once rather
 * than wait for the time limit. */
static pid_t receiver_pid;

static void check_receiver(void)
{
	int status;

	if (receiver_pid > 0 && waitpid(receiver_pid, &status, WNOHANG) == receiver_pid)
		die(PFS_ERR_IO, "the receiver process ended before the transfer did (%s %d)",
		    WIFSIGNALED(status) ? "signal" : "exit status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/*
 * Sends entry i and runs the loop until the peer settled it (or the limit).
 * rcv: the receiving engine when both run in this process (mem), else NULL.
 */
static int send_file(struct endpoint *snd, struct endpoint *rcv, struct tx_state *tx,
		     const struct pfs_file_entry *e, uint64_t limit, int fd)
{
	struct pfs_file_map m;
	uint64_t id;
	char err[512];
	int rc, want = tx->settled + 1;

	if ((rc = pfs_file_map(&m, e, err, sizeof(err))))
		die(rc, "%s", err);
	if ((rc = pfs_session_send_stream(snd->s, m.data, m.len, e->rel, &id)))
		die(rc, "cannot queue %s", e->rel);
	for (uint32_t k = 0; tx->settled < want && now_ns() < limit && !rc; k++) {
		rc = step(snd, fd) ? -1 : rcv ? step(rcv, -1) : 0;
		if (!(k & 255))
			check_receiver();
	}
	/* the receiver's last acknowledgements */
	for (int k = 0; k < 100 && !rc && !pfs_session_sent_all(snd->s) && now_ns() < limit; k++)
		rc = step(snd, fd) ? -1 : rcv ? step(rcv, -1) : 0;
	pfs_file_unmap(&m);
	return rc;
}

/* Both engines in this process over io_mem, stepped in turn. */
static int run_mem(const struct opts *o, const struct pfs_file_list *l)
{
	struct rx_state rx = { 0 };
	struct tx_state tx = { 0 };
	struct endpoint snd = { 0 }, rcv = { 0 };
	struct pfs_session_stats before = { 0 };
	struct pfs_io *ia, *ib;
	uint64_t limit, t0 = 0, t1 = 0;
	int rc = 0, ok = 1;

	if ((rc = pfs_io_mem_pair(&ia, &ib, 8192, o->mtu > 2048 ? o->mtu : 2048, 0)))
		die(rc, "cannot create the mem backend");
	setup(&snd, o, 0, wrap_faults(o, 1, ia), NULL, &tx);
	setup(&rcv, o, 1, wrap_faults(o, 2, ib), &rx, NULL);
	limit = now_ns() + (uint64_t)(o->time_limit_s * 1e9);
	for (size_t i = 0; i < l->n && !rc; i++) {
		before = *pfs_session_stats(snd.s);
		t0 = now_ns();
		rc = send_file(&snd, &rcv, &tx, &l->e[i], limit, -1);
		t1 = now_ns();
	}
	if (rc)
		die(PFS_ERR_MALFORMED, "a session failed during the transfer");
	for (size_t i = 0; i < l->n; i++)
		ok &= tx.status[i] == 0 && same_bytes(o->root, &l->e[i]);
	ok &= tx.settled == (int)l->n && rx.committed == (int)l->n;
	report(o, &l->e[l->n - 1], pfs_session_stats(snd.s), &before, t1 - t0,
	       tx.settled == (int)l->n, ok, NULL, NULL);
	pfs_session_free(snd.s);
	pfs_session_free(rcv.s);
	pfs_files_rx_close(&rx.files);
	return ok ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pfs-transfer-bench --target FILE [--base FILE] [--loss P] "
		"[--reorder P] [--duplicate P] [--corrupt P] [--rate MBIT] "
		"[--cc bbr|cubic|fixed] [--log-size BYTES] [--time-limit S] [--mtu BYTES] "
		"[--backend udp|mem|xdp|xdp,udp|udp,xdp] [--receive-root DIR] [--json]\n"
		"       [--netns SENDER_NS,RECEIVER_NS --addr SENDER_IP,RECEIVER_IP] "
		"[--iface SENDER_IF,RECEIVER_IF] [--port PORT]\n"
		"       [--xdp-mode auto|native|generic] [--xdp-copy auto|zerocopy|copy] "
		"[--no-offload]\n"
		"  --netns runs each end in its own network namespace (root); xdp needs it\n"
		"  --no-offload: udp ends send and receive without UDP GSO/GRO\n");
}

/* "a,b" into two parts (or "a" into both); returns how many were given. */
static int split2(const char *arg, char out[2][64])
{
	const char *comma = strchr(arg, ',');

	if (!comma) {
		snprintf(out[0], 64, "%s", arg);
		snprintf(out[1], 64, "%s", arg);
		return 1;
	}
	snprintf(out[0], 64, "%.*s", (int)(comma - arg), arg);
	snprintf(out[1], 64, "%s", comma + 1);
	return 2;
}

static void parse_ip(const char *s, struct pfs_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->ip) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, s, a->ip) == 1)
		a->family = 6;
	else
		die(PFS_ERR_INVALID_ARG, "--addr %s: not an IPv4 or IPv6 address", s);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", 1, 0, 't' },
		{ "base", 1, 0, 'b' },
		{ "loss", 1, 0, 'l' },
		{ "reorder", 1, 0, 'r' },
		{ "rate", 1, 0, 'R' },
		{ "cc", 1, 0, 'c' },
		{ "log-size", 1, 0, 'L' },
		{ "time-limit", 1, 0, 'T' },
		{ "json", 0, 0, 'j' },
		{ "mtu", 1, 0, 'm' },
		{ "backend", 1, 0, 'B' },
		{ "duplicate", 1, 0, 'd' },
		{ "corrupt", 1, 0, 'C' },
		{ "receive-root", 1, 0, 'o' },
		{ "netns", 1, 0, 'N' },
		{ "addr", 1, 0, 'A' },
		{ "iface", 1, 0, 'I' },
		{ "port", 1, 0, 'P' },
		{ "xdp-mode", 1, 0, 'X' },
		{ "xdp-copy", 1, 0, 'Z' },
		{ "no-offload", 0, 0, 'G' },
		{ "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	static char netns[2][64];
	char two[2][64];
	struct opts o = {
		.cc = PFS_CC_BBR, .log_size = 1ull << 30, .time_limit_s = 300, .mtu = MTU_DEFAULT
	};
	int c, to_parent[2], to_child[2];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.target = optarg;
			break;
		case 'b':
			o.base = optarg;
			break;
		case 'l':
			o.loss = atof(optarg);
			break;
		case 'r':
			o.reorder = atof(optarg);
			break;
		case 'd':
			o.duplicate = atof(optarg);
			break;
		case 'C':
			o.corrupt = atof(optarg);
			break;
		case 'o':
			o.root = optarg;
			break;
		case 'R':
			o.rate_cap = (uint64_t)(atof(optarg) * 1e6 / 8);
			break;
		case 'c':
			o.cc = !strcmp(optarg, "cubic") ?
				       PFS_CC_CUBIC :
			       !strcmp(optarg, "fixed") ?
				       PFS_CC_FIXED :
			       !strcmp(optarg, "bbr") ?
				       PFS_CC_BBR :
				       (die(PFS_ERR_INVALID_ARG, "--cc: bbr, cubic or fixed"),
					PFS_CC_BBR);
			break;
		case 'L':
			o.log_size = strtoull(optarg, NULL, 0);
			break;
		case 'T':
			o.time_limit_s = atof(optarg);
			break;
		case 'm':
			o.mtu = (uint32_t)atoi(optarg);
			break;
		case 'B':
			o.mem = !strcmp(optarg, "mem");
			if (o.mem)
				break;
			split2(optarg, two);
			for (int k = 0; k < 2; k++) {
				if (strcmp(two[k], "udp") && strcmp(two[k], "xdp"))
					die(PFS_ERR_INVALID_ARG,
					    "--backend: udp, mem, xdp, or SENDER,RECEIVER of udp/xdp");
				o.xdp[k] = !strcmp(two[k], "xdp");
			}
			break;
		case 'N':
			if (split2(optarg, netns) != 2)
				die(PFS_ERR_INVALID_ARG, "--netns: SENDER_NS,RECEIVER_NS");
			o.netns[0] = netns[0];
			o.netns[1] = netns[1];
			break;
		case 'A':
			split2(optarg, two);
			parse_ip(two[0], &o.addr[0]);
			parse_ip(two[1], &o.addr[1]);
			if (o.addr[0].family != o.addr[1].family)
				die(PFS_ERR_INVALID_ARG, "--addr: both IPv4 or both IPv6");
			break;
		case 'I':
			split2(optarg, two);
			for (int k = 0; k < 2; k++) {
				if (strlen(two[k]) >= IF_NAMESIZE)
					die(PFS_ERR_INVALID_ARG, "--iface %s: name too long",
					    two[k]);
				snprintf(o.iface[k], IF_NAMESIZE, "%s", two[k]);
			}
			break;
		case 'G':
			o.no_offload = 1;
			break;
		case 'P':
			o.port = (uint16_t)atoi(optarg);
			if (o.port == 0)
				die(PFS_ERR_INVALID_ARG, "--port: 1..65535");
			break;
		case 'X':
			if (pfs_xdp_mode_parse(optarg, &o.xdp_mode))
				die(PFS_ERR_INVALID_ARG, "--xdp-mode: auto, native or generic");
			break;
		case 'Z':
			if (pfs_xdp_copy_parse(optarg, &o.xdp_copy))
				die(PFS_ERR_INVALID_ARG, "--xdp-copy: auto, zerocopy or copy");
			break;
		case 'j':
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			die(PFS_ERR_INVALID_ARG, "unknown option");
		}
	}
	if (!o.target)
		die(PFS_ERR_INVALID_ARG, "--target is required");
	if (o.mtu < 576 || o.mtu > PFS_PACKET_MAX)
		die(PFS_ERR_INVALID_ARG, "--mtu must be 576..%u bytes (UDP payload)",
		    PFS_PACKET_MAX);
	if (o.loss < 0 || o.loss >= 1 || o.reorder < 0 || o.reorder >= 1 || o.duplicate < 0 ||
	    o.duplicate >= 1 || o.corrupt < 0 || o.corrupt >= 1)
		die(PFS_ERR_INVALID_ARG,
		    "--loss, --reorder, --duplicate and --corrupt are fractions in [0, 1)");
	if (o.cc == PFS_CC_FIXED && !o.rate_cap)
		die(PFS_ERR_INVALID_ARG, "--cc fixed needs --rate");
	if ((o.xdp[0] || o.xdp[1]) && !o.netns[0])
		die(PFS_ERR_INVALID_ARG,
		    "--backend xdp needs --netns and --addr: AF_XDP runs on an Ethernet link "
		    "between two namespaces, not on loopback");
	if (o.netns[0] && !o.addr[0].family)
		die(PFS_ERR_INVALID_ARG, "--netns needs --addr SENDER_IP,RECEIVER_IP");
	if (o.mem && o.netns[0])
		die(PFS_ERR_INVALID_ARG, "--backend mem runs in one process: no --netns");
	if (!o.addr[0].family) /* both ends on loopback */
		for (int k = 0; k < 2; k++)
			o.addr[k] = (struct pfs_addr){ .family = 4, .ip = { 127, 0, 0, 1 } };
	if (o.netns[0] && !o.port)
		o.port = 4433;
	if (o.xdp[0] || o.xdp[1]) {
		char why[256];
		if (!pfs_xdp_available(why, sizeof(why)))
			die(-EOPNOTSUPP, "%s", why);
	}
	struct pfs_file_list l = { 0 };
	char err[512], tmp[] = "/dev/shm/pfs-bench-XXXXXX";
	int rc;
	if (o.base && (rc = pfs_files_add(&l, o.base, "base", err, sizeof(err))))
		die(rc, "--base: %s", err);
	if ((rc = pfs_files_add(&l, o.target, "target", err, sizeof(err))))
		die(rc, "--target: %s", err);
	if (l.n != (o.base ? 2u : 1u))
		die(PFS_ERR_INVALID_ARG, "--base and --target must be files, not directories");
	if (!o.root) {
		if (!mkdtemp(tmp))
			die(-errno, "cannot create a receive root in /dev/shm: %s",
			    strerror(errno));
		o.root = tmp;
		snprintf(made_root, sizeof(made_root), "%s", tmp);
		atexit(remove_made_root);
	}
	if (o.mem) {
		rc = run_mem(&o, &l);
		pfs_files_free(&l);
		return rc;
	}
	if (pipe(to_parent) || pipe(to_child))
		die(-errno, "pipe");

	/* addresses are exchanged over the pipes before any packet moves */
	struct endpoint snd = { 0 }, rcv = { 0 };
	struct tx_state tx = { 0 };
	struct pfs_addr a_local, b_local;
	pid_t pid = fork();
	if (pid < 0)
		die(-errno, "fork");
	if (pid == 0) {
		struct rx_state rx = { 0 };
		struct side_report me = { 0 };
		int fd;
		close(to_parent[0]);
		close(to_child[1]);
		enter_netns(o.netns[1]);
		struct pfs_io *io = open_io(&o, 1, &b_local, &fd);
		setup(&rcv, &o, 1, io, &rx, NULL);
		cpu_at_start = cpu_seconds();
		if (write(to_parent[1], &b_local, sizeof(b_local)) != sizeof(b_local) ||
		    read(to_child[0], &rcv.peer, sizeof(rcv.peer)) != sizeof(rcv.peer))
			exit(2);
		uint64_t deadline = now_ns() + (uint64_t)(o.time_limit_s * 1e9) + 5000000000ull;
		while (rx.committed + rx.failed < (int)l.n && now_ns() < deadline) {
			int src = step(&rcv, fd);
			if (src)
				die(src, "the receiver's session failed: %s", pfs_strerror(src));
		}
		/* until the sender has our verdicts (they are resent until
		 * acknowledged), then a moment more for its last acknowledgements */
		while (!pfs_session_idle(rcv.s) && now_ns() < deadline)
			step(&rcv, fd);
		for (uint64_t end = now_ns() + 200000000ull; now_ns() < end;)
			step(&rcv, fd);
		int ok = rx.committed == (int)l.n;
		for (size_t i = 0; i < l.n; i++)
			ok &= same_bytes(o.root, &l.e[i]);
		me.verdict = ok ? 1 : 0;
		fill_report(&me, io, o.xdp[1]);
		if (write(to_parent[1], &me, sizeof(me)) != sizeof(me))
			exit(2);
		exit(0); /* atexit detaches the XDP program */
	}
	receiver_pid = pid;
	/* only the child writes to_parent: a dead child reads as end of file */
	close(to_parent[1]);
	close(to_child[0]);
	enter_netns(o.netns[0]);
	int fd;
	struct pfs_io *io = open_io(&o, 0, &a_local, &fd);
	setup(&snd, &o, 0, io, NULL, &tx);
	cpu_at_start = cpu_seconds();
	if (read(to_parent[0], &snd.peer, sizeof(snd.peer)) != sizeof(snd.peer) ||
	    write(to_child[1], &a_local, sizeof(a_local)) != sizeof(a_local))
		die(PFS_ERR_IO, "receiver did not start");
	uint64_t limit = now_ns() + (uint64_t)(o.time_limit_s * 1e9), t0 = 0, t1 = 0;
	struct pfs_session_stats before = { 0 };
	rc = 0;
	for (size_t i = 0; i < l.n && !rc; i++) {
		before = *pfs_session_stats(snd.s);
		t0 = now_ns();
		rc = send_file(&snd, NULL, &tx, &l.e[i], limit, fd);
		t1 = now_ns();
	}
	if (rc)
		die(rc, "sender failed: %s", pfs_strerror(rc));
	/* keep answering (the receiver waits for acknowledgements of its
	 * verdicts) until it reports what it found */
	struct side_report me = { 0 }, peer = { 0 };
	struct pollfd pp = { .fd = to_parent[0], .events = POLLIN };
	uint64_t wait_end = now_ns() + 10000000000ull;
	while (now_ns() < wait_end && poll(&pp, 1, 0) == 0)
		step(&snd, fd);
	if (read(to_parent[0], &peer, sizeof(peer)) != sizeof(peer))
		peer.verdict = 0;
	int status;
	waitpid(pid, &status, 0);
	char verdict = peer.verdict;
	for (size_t i = 0; i < l.n; i++)
		verdict &= tx.status[i] == 0;
	fill_report(&me, io, o.xdp[0]);
	report(&o, &l.e[l.n - 1], pfs_session_stats(snd.s), &before, t1 - t0,
	       tx.settled == (int)l.n, verdict, &me, &peer);
	pfs_files_free(&l);
	return verdict ? 0 : 1;
}
