/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The AF_XDP backend (io_xdp) against the real kernel, in network namespaces
 * of the test's own (names unique to the process, removed at the end of each
 * case and at exit):
 *
 *   namespace A                                    namespace B
 *   pxPIDaS 198.18.N.1/24  -------- veth --------  pxPIDbS 198.18.N.2/24
 *   pfs_xdp_steer for UDP port 40444               pfs_xdp_steer for UDP port 40555
 *   io_xdp sockets bound to 198.18.N.1:40444       io_xdp sockets bound to 198.18.N.2:40555
 *
 * N is 200 + S, S the pair's number within the process (198.18.0.0/15 only).
 * Sockets keep the namespace they were made in, so the one test thread enters
 * A (setns) to attach A's program and open A's sockets, enters B to do the
 * same there, and then drives both; it re-enters a namespace only to detach
 * that namespace's program (libxdp finds the interface by index in the
 * calling thread's namespace).
 *
 * veth hands a frame sent on transmit queue q of one end to receive queue q of
 * the other, and an AF_XDP socket bound to queue q sends on transmit queue q:
 * that is how the handoff case makes its datagrams arrive on A's queue 1.
 * Copy mode (the only one veth has) delivers through the softirq, so every
 * receive is retried in a bounded loop.
 *
 * Datagram payloads: bytes 0..3 the sequence number (big-endian), bytes 4..7
 * the connection id's low half as the steering rule reads it (owner =
 * big-endian u32 % workers), then bytes derived from the sequence number, so
 * a receiver checks length and content of each datagram from its number
 * alone. The kernel's neighbour probes (1-byte datagrams to the PacketFS port,
 * see neigh.c) arrive too and are counted apart.
 *
 * Without root or `ip`, each case prints "skip: ..." and exits 77
 * (SKIP_RETURN_CODE of the io_xdp.* tests, CMakeLists.txt).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "harness.h"
#include "netns_util.h"
#include "io_xdp.h"

#define PORT_A 40444
#define PORT_B 40555
#define FRAMES 1024	  /* UMEM chunks per socket: 512 to receive, 512 to send */
#define FRAME_SIZE 2048	  /* enough for a 1500-byte MTU */
#define RING 512	  /* rx/tx ring entries (at most FRAMES / 2) */
#define HALF (FRAMES / 2) /* chunks in each half: the fill ring's size too */
#define PAYLOAD_MAX 1472  /* UDP payload of a 1500-byte IPv4 MTU */
#define WAIT_MS 2000	  /* the most a delivery, resolution or completion may take */
#define MAGIC 0xfffffff0u /* sequence number of warm-up datagrams */
#define MAX_SEQ 32768	  /* sequence numbers a tally tracks */

enum { A = 0, B = 1 };

struct side {
	char ns[32], ifname[16]; /* "" when not made */
	int fd;			 /* the namespace, for setns; -1 when not open */
	struct pfs_xdp_prog *prog, *prog2;
	struct pfs_io *io[2];
	struct pfs_addr addr; /* its first address, with its PacketFS port */
};

static struct topo {
	struct side s[2];
	int orig_ns; /* the namespace the test started in, -1 when not left */
	int net;     /* N of 198.18.N.0/24 */
} topo = { .s = { { .fd = -1 }, { .fd = -1 } }, .orig_ns = -1 };

static int topo_seq;

static int enter(int side)
{
	int fd = side < 0 ? topo.orig_ns : topo.s[side].fd;

	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		perror("setns");
		return -1;
	}
	return 0;
}

/* Undoes whatever part of the topology was made: sockets, programs (each
 * detached from inside its namespace), the data plane's lock files, the
 * namespaces (and with them the veth ends). Safe to call twice. */
static void topo_down(void)
{
	for (int k = A; k <= B; k++) {
		struct side *s = &topo.s[k];
		int in = s->fd >= 0 && enter(k) == 0;

		for (int q = 0; q < 2; q++) {
			pfs_io_close(s->io[q]);
			s->io[q] = NULL;
		}
		if (in) {
			pfs_xdp_prog_detach(s->prog);
			pfs_xdp_prog_detach(s->prog2);
		} /* else they stay attached until the namespace goes: leaked, not wrong */
		s->prog = s->prog2 = NULL;
	}
	if (topo.orig_ns >= 0)
		enter(-1);
	for (int k = A; k <= B; k++) {
		struct side *s = &topo.s[k];
		struct stat st;
		char path[64];

		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
		}
		if (!s->ns[0])
			continue;
		/* a program left attached (a detach that failed): unpin libxdp's
		 * dispatcher (dispatch-IFINDEX-PROGID, the id is global) */
		run("for id in $(ip -n %s -d link show dev %s 2>/dev/null | sed -n "
		    "'s/.*prog\\/xdp id \\([0-9]*\\).*/\\1/p'); do rm -rf /sys/fs/bpf/xdp/dispatch-*-$id; "
		    "done",
		    s->ns, s->ifname);
		/* the data plane's lock files are named for the namespace's inode */
		snprintf(path, sizeof(path), "/run/netns/%s", s->ns);
		if (stat(path, &st) == 0)
			run("rm -f /run/packetfs/xdp-%llu-*.lock", (unsigned long long)st.st_ino);
		run("ip netns del %s", s->ns);
		s->ns[0] = '\0';
	}
	if (topo.orig_ns >= 0) {
		close(topo.orig_ns);
		topo.orig_ns = -1;
	}
}

/* Waits (at most 2 s) until ifname in the current namespace is running: a
 * veth has carrier once both ends are up. */
static int wait_running(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok = 0;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	for (int i = 0; i < 200 && !ok; i++) {
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING))
			ok = 1;
		else
			usleep(10000);
	}
	close(fd);
	return ok ? 0 : -1;
}

static struct pfs_addr addr4(const char *text, uint16_t port)
{
	struct pfs_addr a = { .family = 4, .port = port };

	inet_pton(AF_INET, text, a.ip);
	return a;
}

/*
 * Builds the two namespaces joined by a veth pair with `queues` transmit and
 * receive queues per end, addresses on both, links up. Leaves the thread in
 * its original namespace. Skips (exit 77) without root, `ip`, namespaces or
 * veth; returns 0, or -1 with the case failed. topo_down() undoes any part.
 */
static int topo_up(int queues)
{
	static int registered;
	char ip[32], path[64];
	int seq = topo_seq++;

	if (geteuid() != 0)
		skip("network namespaces and XDP need root");
	if (system("ip -V >/dev/null 2>&1") != 0)
		skip("`ip` (iproute2) not found");
	if (!registered++)
		atexit(topo_down);
	topo.net = 200 + seq % 10;
	for (int k = A; k <= B; k++) {
		struct side *s = &topo.s[k];
		snprintf(s->ns, sizeof(s->ns), "pfsx%d%c%d", (int)getpid(), "ab"[k], seq);
		snprintf(s->ifname, sizeof(s->ifname), "px%d%c%d", (int)getpid(), "ab"[k], seq);
		if (run("ip netns add %s", s->ns)) {
			s->ns[0] = '\0';
			skip("cannot create a network namespace (ip netns add)");
		}
		snprintf(ip, sizeof(ip), "198.18.%d.%d", topo.net, k + 1);
		s->addr = addr4(ip, k == A ? PORT_A : PORT_B);
	}
	if (run("ip -n %s link set lo up", topo.s[A].ns) ||
	    run("ip -n %s link set lo up", topo.s[B].ns))
		goto fail;
	if (run("ip -n %s link add %s numtxqueues %d numrxqueues %d type veth peer name %s netns "
		"%s numtxqueues %d numrxqueues %d",
		topo.s[A].ns, topo.s[A].ifname, queues, queues, topo.s[B].ifname, topo.s[B].ns,
		queues, queues))
		skip("cannot create a veth pair (is the veth module available?)");
	for (int k = A; k <= B; k++) {
		struct side *s = &topo.s[k];
		if (run("ip -n %s addr add 198.18.%d.%d/24 dev %s", s->ns, topo.net, k + 1,
			s->ifname) ||
		    run("ip -n %s link set %s up", s->ns, s->ifname))
			goto fail;
	}
	topo.orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (topo.orig_ns < 0)
		goto fail;
	for (int k = A; k <= B; k++) {
		snprintf(path, sizeof(path), "/run/netns/%s", topo.s[k].ns);
		topo.s[k].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (topo.s[k].fd < 0 || enter(k) || wait_running(topo.s[k].ifname)) {
			fprintf(stderr, "%s did not come up within 2 s\n", topo.s[k].ifname);
			goto fail;
		}
	}
	return enter(-1) == 0 ? 0 : -1;
fail:
	pfs_test_failed = 1;
	return -1;
}

/* Attaches side's steering program (into prog, or prog2 when second). */
static int attach(int side, int second)
{
	struct side *s = &topo.s[side];
	struct pfs_xdp_prog **p = second ? &s->prog2 : &s->prog;
	char err[512];
	int rc;

	if (enter(side))
		return -1;
	rc = pfs_xdp_prog_attach(p, s->ifname, s->addr.port, PFS_XDP_MODE_AUTO, err, sizeof(err));
	if (rc)
		fprintf(stderr, "pfs_xdp_prog_attach(%s): %d: %s\n", s->ifname, rc, err);
	return rc;
}

static struct pfs_xdp_config sock_config(int side, uint32_t queue)
{
	return (struct pfs_xdp_config){ .prog = topo.s[side].prog,
					.queue = queue,
					.local = topo.s[side].addr,
					.frames = FRAMES,
					.frame_size = FRAME_SIZE,
					.ring_size = RING,
					.no_hugepages = 1 };
}

/* Opens side's socket on queue (its io[slot]). */
static int open_sock(int side, uint32_t queue, int slot)
{
	struct pfs_xdp_config cfg = sock_config(side, queue);
	char err[512];
	int rc;

	if (enter(side))
		return -1;
	rc = pfs_io_xdp_open(&topo.s[side].io[slot], &cfg, err, sizeof(err));
	if (rc)
		fprintf(stderr, "pfs_io_xdp_open(%s queue %u): %d: %s\n", topo.s[side].ifname,
			queue, rc, err);
	return rc;
}

/* Program and one socket on queue 0 on both sides. */
static int both_up(void)
{
	return attach(A, 0) || attach(B, 0) || open_sock(A, 0, 0) || open_sock(B, 0, 0) ? -1 : 0;
}

static struct pfs_xdp_info info(struct pfs_io *io)
{
	struct pfs_xdp_info i;

	memset(&i, 0, sizeof(i));
	pfs_io_xdp_info(io, &i);
	return i;
}

/* --- datagrams ----------------------------------------------------------------- */

static uint32_t size_of(uint32_t seq)
{
	if (seq % 50 == 0)
		return PAYLOAD_MAX;
	if (seq % 50 == 1)
		return 8;
	return 8 + (seq * 7919u) % (PAYLOAD_MAX - 8 + 1);
}

/* Connection ids: any, or one that the owner `owner` of a group of 2 owns. */
static uint32_t cid_any(uint32_t seq)
{
	return seq * 2654435761u;
}

static uint32_t cid_for(uint32_t seq, uint32_t owner)
{
	return (cid_any(seq) & ~1u) | owner;
}

/* Owner 0 for every third datagram, owner 1 for the others. */
static uint32_t owner_rule(uint32_t seq)
{
	return seq % 3 == 0 ? 0 : 1;
}

static uint32_t cid_split(uint32_t seq)
{
	return cid_for(seq, owner_rule(seq));
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t body_byte(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

static void fill(uint8_t *p, uint32_t seq, uint32_t len, uint32_t cid)
{
	put32(p, seq);
	put32(p + 4, cid);
	for (uint32_t i = 8; i < len; i++)
		p[i] = body_byte(seq, i);
}

static int same_addr(const struct pfs_addr *x, const struct pfs_addr *y)
{
	return x->family == 4 && y->family == 4 && x->port == y->port && !memcmp(x->ip, y->ip, 4);
}

/* Sends datagrams first .. first+n-1 (sizes from size_of, connection ids from
 * cid) from io to dst in bursts; returns how many tx_burst accepted, or -1
 * when the send half stayed empty for WAIT_MS. */
static long send_range(struct pfs_io *io, const struct pfs_addr *dst, uint32_t first, uint32_t n,
		       uint32_t (*cid)(uint32_t))
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	long accepted = 0;
	uint32_t done = 0;
	uint64_t stuck_since = 0;

	while (done < n) {
		int want = n - done < PFS_IO_BURST_MAX ? (int)(n - done) : PFS_IO_BURST_MAX;
		int got = pfs_io_alloc(io, f, want);

		if (got == 0) { /* completions still on their way back */
			if (!stuck_since)
				stuck_since = now_ns();
			else if (now_ns() - stuck_since > WAIT_MS * 1000000ull)
				return -1;
			usleep(100);
			continue;
		}
		stuck_since = 0;
		for (int i = 0; i < got; i++) {
			uint32_t seq = first + done + (uint32_t)i;
			f[i].len = size_of(seq);
			if (f[i].len > f[i].cap)
				return -1;
			fill(f[i].data, seq, f[i].len, cid(seq));
			f[i].peer = *dst;
		}
		accepted += pfs_io_tx(io, f, got, now_ns());
		done += (uint32_t)got;
	}
	return accepted;
}

/* Sends one warm-up datagram (8 bytes, sequence MAGIC, connection id 1) until
 * tx_burst takes it: the next hop is then resolved and cached. */
static int warm_up(struct pfs_io *io, const struct pfs_addr *dst)
{
	uint64_t end = now_ns() + WAIT_MS * 1000000ull;

	while (now_ns() < end) {
		struct pfs_iobuf f;
		if (pfs_io_alloc(io, &f, 1) == 1) {
			f.len = 8;
			fill(f.data, MAGIC, 8, 1);
			f.peer = *dst;
			if (pfs_io_tx(io, &f, 1, now_ns()) == 1)
				return 0;
		}
		usleep(1000);
	}
	fprintf(stderr, "the next hop did not resolve within %d ms\n", WAIT_MS);
	return -1;
}

/* What one receiving socket returned. */
struct tally {
	uint8_t *seen; /* MAX_SEQ flags, shared by the sockets of one exchange */
	struct pfs_addr from;
	uint32_t first, n; /* the sequence numbers expected */
	int owner;	   /* -1, or the owner every datagram here must have */
	uint32_t got, warm, probes, bad, dup, wrong_owner, wrong_peer, out_of_range;
};

/* Checks and releases one datagram. */
static void account(struct tally *t, const struct pfs_iobuf *f)
{
	uint32_t seq;

	if (f->len < 8) { /* the kernel's neighbour probe (1 byte) */
		t->probes++;
		return;
	}
	seq = get32(f->data);
	if (seq == MAGIC) {
		t->warm++;
		return;
	}
	if (seq < t->first || seq - t->first >= t->n || seq >= MAX_SEQ) {
		t->out_of_range++;
		return;
	}
	if (!same_addr(&f->peer, &t->from))
		t->wrong_peer++;
	if (t->owner >= 0 && (get32(f->data + 4) & 1u) != (uint32_t)t->owner)
		t->wrong_owner++;
	if (t->seen[seq]++) {
		t->dup++;
		return;
	}
	if (f->len != size_of(seq)) {
		t->bad++;
		return;
	}
	for (uint32_t i = 8; i < f->len; i++)
		if (f->data[i] != body_byte(seq, i)) {
			t->bad++;
			return;
		}
	t->got++;
}

/* One rx burst on io into t; returns the frames it gave. */
static int take(struct pfs_io *io, struct tally *t)
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int n = pfs_io_rx(io, f, PFS_IO_BURST_MAX, now_ns());

	for (int i = 0; i < n; i++)
		account(t, &f[i]);
	if (n > 0)
		pfs_io_release(io, f, n);
	return n;
}

/* Receives on ios[0..n) (in that order each round: a handoff ring's producer
 * before its consumer is fine either way) until the tallies' got add up to
 * want, or nothing came for idle_ms. Returns the sum of got. */
static uint32_t receive(struct pfs_io **ios, struct tally *t, int n, uint32_t want, int idle_ms)
{
	uint64_t idle_since = now_ns();
	uint32_t total = 0;

	for (;;) {
		int frames = 0;
		total = 0;
		for (int k = 0; k < n; k++)
			frames += take(ios[k], &t[k]);
		for (int k = 0; k < n; k++)
			total += t[k].got;
		if (total >= want)
			return total;
		if (frames) {
			idle_since = now_ns();
			continue;
		}
		if (now_ns() - idle_since > (uint64_t)idle_ms * 1000000ull)
			return total;
		struct pollfd p = { .fd = pfs_io_xdp_fd(ios[n - 1]), .events = POLLIN };
		poll(&p, 1, 1);
	}
}

static void tally_init(struct tally *t, uint8_t *seen, const struct pfs_addr *from, uint32_t first,
		       uint32_t n, int owner)
{
	*t = (struct tally){ .seen = seen, .from = *from, .first = first, .n = n, .owner = owner };
}

static void tally_print(const char *what, const struct tally *t)
{
	printf("  %s: got %u of %u, warm-up %u, probes %u, bad %u, dup %u, wrong owner %u, "
	       "wrong peer %u, unexpected %u\n",
	       what, t->got, t->n, t->warm, t->probes, t->bad, t->dup, t->wrong_owner,
	       t->wrong_peer, t->out_of_range);
}

static int tally_clean(const struct tally *t)
{
	return !t->bad && !t->dup && !t->wrong_owner && !t->wrong_peer && !t->out_of_range;
}

/* --- cases ------------------------------------------------------------------- */

static uint8_t seen[MAX_SEQ];

/* 200 datagrams from `from` to `to`, each checked at the receiver. */
static void one_way(int from, int to)
{
	struct pfs_io *rx = topo.s[to].io[0];
	struct tally t;
	uint64_t dropped;
	long sent;

	CHECK_EQ(warm_up(topo.s[from].io[0], &topo.s[to].addr), 0);
	dropped = topo.s[from].io[0]->stats.tx_dropped; /* warm-ups before the next hop was known */
	memset(seen, 0, sizeof(seen));
	tally_init(&t, seen, &topo.s[from].addr, 0, 200, -1);
	sent = send_range(topo.s[from].io[0], &topo.s[to].addr, 0, 200, cid_any);
	CHECK_EQ(sent, 200);
	receive(&rx, &t, 1, 200, WAIT_MS);
	tally_print(from == A ? "A -> B" : "B -> A", &t);
	CHECK(tally_clean(&t));
	CHECK_EQ(t.got, 200);
	CHECK(t.warm <= 1);
	CHECK_EQ(topo.s[from].io[0]->stats.tx_dropped, dropped);
	CHECK_EQ(info(rx).refused[PFS_ETH_WRONG_DEST], 0);
}

static void crossing(void)
{
	CHECK_EQ(both_up(), 0);
	printf("  XDP %s mode%s, UMEM %s\n", pfs_xdp_mode_name(pfs_xdp_prog_mode(topo.s[A].prog)),
	       pfs_xdp_prog_shared(topo.s[A].prog) ? " (libxdp dispatcher)" : "",
	       info(topo.s[A].io[0]).umem);
	CHECK(!info(topo.s[A].io[0]).zero_copy); /* veth has copy mode only */
	one_way(A, B);
	if (pfs_test_failed)
		return;
	one_way(B, A);
}

PFS_TEST(datagrams_cross_between_two_af_xdp_sockets_intact_with_the_sender_address)
{
	if (topo_up(1) == 0)
		crossing();
	topo_down();
}

#define SPLIT_N 300

static void handoff(void)
{
	struct pfs_io *ios[2];
	struct tally t[2];
	struct pfs_xdp_info i0, i1;
	uint32_t owned0 = 0;
	char err[256];

	CHECK_EQ(attach(A, 0), 0);
	CHECK_EQ(pfs_xdp_prog_queues(topo.s[A].prog), 2);
	CHECK_EQ(open_sock(A, 0, 0), 0);
	CHECK_EQ(open_sock(A, 1, 1), 0);
	ios[0] = topo.s[A].io[0];
	ios[1] = topo.s[A].io[1];
	CHECK_EQ(pfs_io_xdp_group(ios, 2, err, sizeof(err)), 0);
	CHECK_EQ(attach(B, 0), 0);
	CHECK_EQ(open_sock(B, 1, 0), 0); /* sends on tx queue 1: arrives on A's rx queue 1 */

	CHECK_EQ(warm_up(topo.s[B].io[0], &topo.s[A].addr), 0);
	memset(seen, 0, sizeof(seen));
	tally_init(&t[0], seen, &topo.s[B].addr, 0, SPLIT_N, 0);
	tally_init(&t[1], seen, &topo.s[B].addr, 0, SPLIT_N, 1);
	CHECK_EQ(send_range(topo.s[B].io[0], &topo.s[A].addr, 0, SPLIT_N, cid_split), SPLIT_N);
	receive(ios, t, 2, SPLIT_N, WAIT_MS);
	tally_print("A queue 0", &t[0]);
	tally_print("A queue 1", &t[1]);
	for (uint32_t s = 0; s < SPLIT_N; s++)
		owned0 += owner_rule(s) == 0;
	i0 = info(ios[0]);
	i1 = info(ios[1]);
	printf("  handed off: queue 1 -> 0: %llu (dropped %llu), queue 0 -> 1: %llu\n",
	       (unsigned long long)i1.handed_off, (unsigned long long)i1.handoff_dropped,
	       (unsigned long long)i0.handed_off);
	CHECK(tally_clean(&t[0]) && tally_clean(&t[1]));
	CHECK_EQ(t[0].got, owned0);
	CHECK_EQ(t[1].got, SPLIT_N - owned0);
	CHECK_EQ(t[0].warm, 0); /* connection id 1: queue 1's own */
	CHECK_EQ(t[1].warm, 1);
	CHECK_EQ(i1.handed_off, owned0);
	CHECK_EQ(i1.handoff_dropped, 0);
	CHECK_EQ(i0.handed_off, 0); /* nothing arrived on queue 0 */
	/* the handoffs came back to queue 0's send half: all of it allocatable */
	{
		struct pfs_iobuf f[PFS_IO_BURST_MAX];
		static struct pfs_iobuf all[HALF];
		uint32_t n = 0;
		int got;
		while (n < HALF && (got = pfs_io_alloc(ios[0], f, PFS_IO_BURST_MAX)) > 0)
			for (int i = 0; i < got && n < HALF; i++)
				all[n++] = f[i];
		pfs_io_release(ios[0], all, (int)n);
		CHECK_EQ(n, HALF);
	}
}

PFS_TEST(a_datagram_on_another_workers_queue_is_handed_to_its_owner)
{
	if (topo_up(2) == 0)
		handoff();
	topo_down();
}

#define REFUSE_N 100

static void refused(void)
{
	struct pfs_addr second;
	char ip[32];
	struct tally t;
	struct pfs_io *rx;
	uint64_t before;

	snprintf(ip, sizeof(ip), "198.18.%d.3", topo.net);
	second = addr4(ip, PORT_A);
	CHECK_EQ(run("ip -n %s addr add %s/24 dev %s", topo.s[A].ns, ip, topo.s[A].ifname), 0);
	CHECK_EQ(both_up(), 0); /* A's socket: local = 198.18.N.1 */
	rx = topo.s[A].io[0];

	/* Resolve both of A's addresses; the second warm-up arriving says that
	 * every frame sent before it (the first warm-up, the kernel's probes)
	 * has been through A's socket: single queue, first in first out. */
	CHECK_EQ(warm_up(topo.s[B].io[0], &second), 0);
	CHECK_EQ(warm_up(topo.s[B].io[0], &topo.s[A].addr), 0);
	memset(seen, 0, sizeof(seen));
	tally_init(&t, seen, &topo.s[B].addr, 0, 0, -1);
	for (int i = 0; i < WAIT_MS && !t.warm; i++) {
		take(rx, &t);
		if (!t.warm)
			usleep(1000);
	}
	CHECK_EQ(t.warm, 1);
	before = info(rx).refused[PFS_ETH_WRONG_DEST];
	CHECK(before >= 1); /* the first warm-up */

	/* REFUSE_N to the second address, then REFUSE_N to the first: once the
	 * latter are in, the former have all been seen. */
	CHECK_EQ(send_range(topo.s[B].io[0], &second, 0, REFUSE_N, cid_any), REFUSE_N);
	CHECK_EQ(send_range(topo.s[B].io[0], &topo.s[A].addr, REFUSE_N, REFUSE_N, cid_any),
		 REFUSE_N);
	tally_init(&t, seen, &topo.s[B].addr, REFUSE_N, REFUSE_N, -1);
	receive(&rx, &t, 1, REFUSE_N, WAIT_MS);
	tally_print("A, datagrams to its first address", &t);
	printf("  refused as wrong_dest: %llu before, %llu after\n", (unsigned long long)before,
	       (unsigned long long)info(rx).refused[PFS_ETH_WRONG_DEST]);
	CHECK(tally_clean(&t)); /* none of seq < REFUSE_N came out */
	CHECK_EQ(t.got, REFUSE_N);
	CHECK_EQ(info(rx).refused[PFS_ETH_WRONG_DEST] - before, REFUSE_N);
	for (int v = PFS_ETH_TRUNCATED; v < PFS_ETH_VERDICT_MAX; v++)
		if (v != PFS_ETH_WRONG_DEST)
			CHECK_EQ(info(rx).refused[v], 0);
}

PFS_TEST(frames_for_another_address_are_refused_and_counted)
{
	if (topo_up(1) == 0)
		refused();
	topo_down();
}

/* Allocates until the pool is empty (bounded by HALF + one burst, waiting up to
 * WAIT_MS for completions to come back when short of HALF), releases all;
 * returns how many it got. */
static uint32_t alloc_all(struct pfs_io *io)
{
	static struct pfs_iobuf all[HALF + PFS_IO_BURST_MAX];
	uint64_t end = now_ns() + WAIT_MS * 1000000ull;
	uint32_t n = 0;

	while (n < HALF + PFS_IO_BURST_MAX) {
		int got = pfs_io_alloc(io, all + n, PFS_IO_BURST_MAX);
		n += (uint32_t)got;
		if (got == 0) {
			if (n >= HALF || now_ns() > end)
				break;
			usleep(1000);
		}
	}
	pfs_io_release(io, all, (int)n);
	return n;
}

static void unresolvable(void)
{
	struct pfs_addr nobody;
	struct pfs_io *io;
	struct pfs_xdp_info i;
	char ip[32];
	long sent = 0;

	snprintf(ip, sizeof(ip), "198.18.%d.77", topo.net);
	nobody = addr4(ip, PORT_B);
	CHECK_EQ(both_up(), 0);
	io = topo.s[A].io[0];
	/* 10 bursts over some 50 ms: the first resolution starts, later ones
	 * find it pending */
	for (int k = 0; k < 10; k++) {
		long r = send_range(io, &nobody, (uint32_t)k * PFS_IO_BURST_MAX, PFS_IO_BURST_MAX,
				    cid_any);
		CHECK(r >= 0);
		sent += r;
		usleep(5000);
	}
	i = info(io);
	printf("  accepted %ld, no_neighbour %llu, tx_dropped %llu\n", sent,
	       (unsigned long long)i.no_neighbour, (unsigned long long)io->stats.tx_dropped);
	CHECK_EQ(sent, 0);
	CHECK_EQ(i.no_neighbour, 10 * PFS_IO_BURST_MAX);
	CHECK_EQ(io->stats.tx_dropped, 10 * PFS_IO_BURST_MAX);
	CHECK_EQ(io->stats.tx_frames, 0);
	CHECK_EQ(alloc_all(io), HALF);
}

PFS_TEST(sending_to_an_unresolvable_neighbour_drops_and_counts_and_returns_the_frames)
{
	if (topo_up(1) == 0)
		unresolvable();
	topo_down();
}

#define MANY 20000

/* Sends n from A to B, one burst at a time, receiving each on B before the
 * next (a lost frame costs a 20 ms wait); a final wait for stragglers. */
static long paced(struct tally *t, uint32_t first, uint32_t n)
{
	struct pfs_io *rx = topo.s[B].io[0];
	long accepted = 0;

	for (uint32_t done = 0; done < n; done += PFS_IO_BURST_MAX) {
		uint32_t k = n - done < PFS_IO_BURST_MAX ? n - done : PFS_IO_BURST_MAX;
		long r = send_range(topo.s[A].io[0], &topo.s[B].addr, first + done, k, cid_any);
		if (r < 0)
			return -1;
		accepted += r;
		receive(&rx, t, 1, (uint32_t)accepted, 20);
	}
	receive(&rx, t, 1, (uint32_t)accepted, WAIT_MS / 4);
	return accepted;
}

static void many(void)
{
	struct pfs_io *rx;
	struct tally t;
	long accepted;
	uint64_t t0;

	CHECK_EQ(both_up(), 0);
	rx = topo.s[B].io[0];
	CHECK_EQ(warm_up(topo.s[A].io[0], &topo.s[B].addr), 0);
	memset(seen, 0, sizeof(seen));
	tally_init(&t, seen, &topo.s[A].addr, 0, MANY, -1);
	t0 = now_ns();
	accepted = paced(&t, 0, MANY);
	tally_print("B", &t);
	printf("  %d datagrams in %.0f ms, accepted %ld, B rx_dropped %llu\n", MANY,
	       (now_ns() - t0) / 1e6, accepted, (unsigned long long)rx->stats.rx_dropped);
	CHECK(tally_clean(&t));
	CHECK(accepted >= MANY * 99 / 100);
	CHECK(t.got >= MANY * 99 / 100);

	/* Every send chunk came back through the completion ring. */
	CHECK_EQ(alloc_all(topo.s[A].io[0]), HALF);

	/* Every receive chunk went back to the fill ring: B takes 2 x HALF
	 * datagrams without reading in between (A's 64-frame bursts with a
	 * pause for veth's softirq), which needs every chunk at once, twice. */
	for (int round = 0; round < 2; round++) {
		uint32_t first = MANY + (uint32_t)round * HALF;
		tally_init(&t, seen, &topo.s[A].addr, first, HALF, -1);
		for (uint32_t done = 0; done < HALF; done += PFS_IO_BURST_MAX) {
			CHECK_EQ(send_range(topo.s[A].io[0], &topo.s[B].addr, first + done,
					    PFS_IO_BURST_MAX, cid_any),
				 PFS_IO_BURST_MAX);
			usleep(2000);
		}
		receive(&rx, &t, 1, HALF, WAIT_MS);
		tally_print("B, a whole fill ring's worth", &t);
		CHECK(tally_clean(&t));
		CHECK_EQ(t.got, HALF);
	}
}

PFS_TEST(send_buffers_all_come_back_after_many_bursts)
{
	if (topo_up(1) == 0)
		many();
	topo_down();
}

static void mtu_refused(void)
{
	struct pfs_xdp_config cfg;
	struct pfs_io *io = NULL;
	char err[512] = "";
	int rc;

	CHECK_EQ(attach(A, 0), 0);
	cfg = sock_config(A, 0);
	cfg.mtu = 1500;
	rc = pfs_io_xdp_open(&io, &cfg, err, sizeof(err));
	printf("  %s\n", err);
	CHECK(rc != 0);
	CHECK(io == NULL);
	CHECK(strstr(err, "--mtu") && strstr(err, topo.s[A].ifname));
	cfg.mtu = PAYLOAD_MAX + 1;
	CHECK(pfs_io_xdp_open(&io, &cfg, err, sizeof(err)) != 0);
	CHECK(strstr(err, "--mtu"));
	/* the largest that fits is fine */
	cfg.mtu = PAYLOAD_MAX;
	rc = pfs_io_xdp_open(&topo.s[A].io[0], &cfg, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(rc, 0);
}

PFS_TEST(mtu_larger_than_the_interface_carries_is_refused_with_a_clear_error)
{
	if (topo_up(1) == 0)
		mtu_refused();
	topo_down();
}

static void second_attach(void)
{
	struct side *s = &topo.s[A];
	char err[512] = "";
	int ifindex, rc;

	CHECK_EQ(attach(A, 0), 0);
	ifindex = pfs_xdp_prog_ifindex(s->prog);
	CHECK(ifindex > 0);
	CHECK_EQ(pfs_xdp_prog_attached(ifindex), 1);
	rc = pfs_xdp_prog_attach(&s->prog2, s->ifname, PORT_A, PFS_XDP_MODE_AUTO, err, sizeof(err));
	printf("  %s\n", err);
	CHECK_EQ(rc, -EBUSY);
	CHECK(s->prog2 == NULL);
	CHECK(strstr(err, "another PacketFS data plane") && strstr(err, s->ifname));
	CHECK_EQ(pfs_xdp_prog_attached(ifindex), 1); /* the first one's still there */

	pfs_xdp_prog_detach(s->prog);
	s->prog = NULL;
	CHECK_EQ(pfs_xdp_prog_attached(ifindex), 0);
	CHECK_EQ(attach(A, 1), 0);
	CHECK_EQ(pfs_xdp_prog_attached(ifindex), 1);
	pfs_xdp_prog_detach(s->prog2);
	s->prog2 = NULL;
	CHECK_EQ(pfs_xdp_prog_attached(ifindex), 0);
}

PFS_TEST(a_second_attach_on_the_same_interface_is_refused_while_the_first_holds_it)
{
	if (topo_up(1) == 0)
		second_attach();
	topo_down();
}

/* --- hugepages ------------------------------------------------------------------ */

static long read_long(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		if (!key || !strncmp(line, key, strlen(key)))
			v = strtol(key ? line + strlen(key) : line, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok = f && fprintf(f, "%ld\n", v) > 0;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static long hugepages_before = -1;

static void restore_hugepages(void)
{
	if (hugepages_before >= 0)
		write_long("/proc/sys/vm/nr_hugepages", hugepages_before);
	hugepages_before = -1;
}

static void umem_pages(void)
{
	const long need = (long)FRAMES * FRAME_SIZE / (2l << 20); /* 2 MiB pages */
	struct pfs_xdp_config cfg;
	char err[512];
	int rc;

	/* reserve the pages A's UMEM needs (restored afterwards) */
	hugepages_before = read_long("/proc/sys/vm/nr_hugepages", NULL);
	CHECK(hugepages_before >= 0);
	CHECK_EQ(write_long("/proc/sys/vm/nr_hugepages", hugepages_before + need), 0);
	if (read_long("/proc/meminfo", "HugePages_Free:") < need)
		skip("the kernel could not reserve 2 MiB hugepages for the UMEM");
	CHECK_EQ(attach(A, 0), 0);
	CHECK_EQ(attach(B, 0), 0);
	cfg = sock_config(A, 0);
	cfg.no_hugepages = 0;
	CHECK_EQ(enter(A), 0);
	rc = pfs_io_xdp_open(&topo.s[A].io[0], &cfg, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(rc, 0);
	CHECK_EQ(open_sock(B, 0, 0), 0); /* no_hugepages: normal pages */
	printf("  UMEM: A %s, B %s\n", info(topo.s[A].io[0]).umem, info(topo.s[B].io[0]).umem);
	CHECK(!strcmp(info(topo.s[A].io[0]).umem, "hugetlb"));
	CHECK(!strcmp(info(topo.s[B].io[0]).umem, "normal"));
	/* and traffic flows both ways through either */
	one_way(A, B);
	if (pfs_test_failed)
		return;
	one_way(B, A);
}

PFS_TEST(umem_is_in_hugepages_when_they_are_reserved_and_in_normal_pages_otherwise)
{
	atexit(restore_hugepages);
	if (topo_up(1) == 0)
		umem_pages();
	topo_down(); /* closes the sockets: the pages are free again */
	restore_hugepages();
}

PFS_TEST_MAIN()
