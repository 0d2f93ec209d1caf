/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_xdp: AF_XDP sockets and the steering program (see io_xdp.h).
 *
 * Per socket, the UMEM's chunks are split in two halves that never mix:
 *
 *   receive half  fill ring → (kernel) → rx ring → engine → rx_free → fill ring
 *   send half     tx_free → alloc → engine → tx ring → (kernel) → completion ring → tx_free
 *
 * The fill ring is as large as the receive half and the completion ring as
 * large as the send half, so neither can overflow. A chunk's half is told by
 * its address, which is how release() knows where a frame goes back to.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "error.h"
#include "io_xdp.h"

const char *pfs_xdp_mode_name(enum pfs_xdp_mode m)
{
	return m == PFS_XDP_MODE_NATIVE ? "native" : m == PFS_XDP_MODE_GENERIC ? "generic" : "auto";
}

int pfs_xdp_mode_parse(const char *s, enum pfs_xdp_mode *m)
{
	if (!strcmp(s, "auto"))
		*m = PFS_XDP_MODE_AUTO;
	else if (!strcmp(s, "native"))
		*m = PFS_XDP_MODE_NATIVE;
	else if (!strcmp(s, "generic"))
		*m = PFS_XDP_MODE_GENERIC;
	else
		return PFS_ERR_INVALID_ARG;
	return 0;
}

int pfs_xdp_copy_parse(const char *s, enum pfs_xdp_copy *c)
{
	if (!strcmp(s, "auto"))
		*c = PFS_XDP_COPY_AUTO;
	else if (!strcmp(s, "zerocopy"))
		*c = PFS_XDP_COPY_ZEROCOPY;
	else if (!strcmp(s, "copy"))
		*c = PFS_XDP_COPY_COPY;
	else
		return PFS_ERR_INVALID_ARG;
	return 0;
}

#ifndef PFS_HAVE_XDP

#define NOT_BUILT                                                                               \
	"this build has no AF_XDP backend (clang, bpftool, libbpf or libxdp were missing when " \
	"it was built): run deploy/install-deps.sh, rebuild (npm run build:c), or use "         \
	"--backend udp"

int pfs_xdp_available(char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", NOT_BUILT);
	return 0;
}

int pfs_xdp_prog_attach(struct pfs_xdp_prog **out, const char *ifname, uint16_t port,
			enum pfs_xdp_mode mode, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "%s", NOT_BUILT);
	return -EOPNOTSUPP;
}

void pfs_xdp_prog_detach(struct pfs_xdp_prog *p)
{
}

enum pfs_xdp_mode pfs_xdp_prog_mode(const struct pfs_xdp_prog *p)
{
	return PFS_XDP_MODE_AUTO;
}

int pfs_xdp_prog_ifindex(const struct pfs_xdp_prog *p)
{
	return 0;
}

uint32_t pfs_xdp_prog_queues(const struct pfs_xdp_prog *p)
{
	return 0;
}

int pfs_xdp_prog_counts(const struct pfs_xdp_prog *p, uint64_t *counts)
{
	return -EOPNOTSUPP;
}

int pfs_xdp_prog_shared(const struct pfs_xdp_prog *p)
{
	return 0;
}

int pfs_xdp_prog_remove_stale(const char *ifname, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", NOT_BUILT);
	return -EOPNOTSUPP;
}

int pfs_xdp_prog_attached(int ifindex)
{
	return -EOPNOTSUPP;
}

int pfs_io_xdp_open(struct pfs_io **out, const struct pfs_xdp_config *cfg, char *err, size_t errlen)
{
	*out = NULL;
	snprintf(err, errlen, "%s", NOT_BUILT);
	return -EOPNOTSUPP;
}

int pfs_io_xdp_fd(const struct pfs_io *io)
{
	return -1;
}

int pfs_io_xdp_info(const struct pfs_io *io, struct pfs_xdp_info *info)
{
	return PFS_ERR_INVALID_ARG;
}

int pfs_io_xdp_group(struct pfs_io **ios, uint32_t n, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", NOT_BUILT);
	return PFS_ERR_INVALID_ARG;
}

#else /* PFS_HAVE_XDP */

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "neigh.h"
#include "pfs_xdp.h"
#include "pfs_xdp.skel.h"
#include "ring.h"

#define PROG_NAME "pfs_xdp_steer" /* the SEC("xdp") function of bpf/pfs_xdp.bpf.c */
#define BPFFS "/sys/fs/bpf"
#define BPFFS_MAGIC 0xcafe4a11
#define LOCK_DIR "/run/packetfs"
#define TX_HEADROOM 128u /* ≥ PFS_ETH_HDR_MAX, cache-line aligned payloads */
#define PATHS_MAX 64	 /* peers whose next hop a socket remembers */
#define PATH_REFRESH_NS 1000000000ull
#define HANDOFF_BYTES (4u << 20)
#define XDP_RX_RESERVE 256u /* XDP_PACKET_HEADROOM the kernel keeps in each rx chunk */

int pfs_xdp_available(char *why, size_t whylen)
{
	if (whylen)
		why[0] = 0;
	return 1;
}

/* --- library messages ---------------------------------------------------------------- */

/* libxdp and libbpf explain failures on their print callback: keep the last
 * line so our error can quote it instead of it going to stderr. */
static __thread char lib_msg[256];

static void keep_msg(const char *fmt, va_list ap)
{
	size_t n;

	vsnprintf(lib_msg, sizeof(lib_msg), fmt, ap);
	n = strlen(lib_msg);
	while (n && (lib_msg[n - 1] == '\n' || lib_msg[n - 1] == ' '))
		lib_msg[--n] = 0;
}

static int on_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBXDP_DEBUG)
		keep_msg(fmt, ap);
	return 0;
}

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG)
		keep_msg(fmt, ap);
	return 0;
}

static void quiet_libraries(void)
{
	libxdp_set_print(on_libxdp_print);
	libbpf_set_print(on_libbpf_print);
	lib_msg[0] = 0;
}

/* What to do about a failed bpf/xdp call, by errno. */
static const char *advice(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return "loading XDP programs and AF_XDP sockets needs root (CAP_BPF, CAP_NET_ADMIN "
		       "and CAP_NET_RAW): run with sudo, or use --backend udp";
	case ENOMEM:
		return "the kernel could not pin the memory: raise the locked-memory limit "
		       "(ulimit -l unlimited, or LimitMEMLOCK=infinity in the service unit)";
	case EOPNOTSUPP:
		return "the driver does not support this XDP mode: try --xdp-mode generic";
	case EBUSY:
	case EEXIST:
		return "another XDP program that does not use libxdp's dispatcher holds the "
		       "interface: detach it (xdp-loader status / ip link set dev IF xdp off)";
	case ERANGE:
	case EINVAL:
		return "the interface refused the program (an MTU too large for native XDP on "
		       "veth is a common cause: lower the MTU or use --xdp-mode generic)";
	default:
		return "see the kernel log (dmesg) for details";
	}
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* --- the steering program ---------------------------------------------------------------- */

struct pfs_xdp_prog {
	struct pfs_xdp *skel;
	struct xdp_program *xp;
	enum pfs_xdp_mode mode;
	int ifindex;
	char ifname[IF_NAMESIZE];
	uint32_t queues;
	int lock_fd;
	int dispatcher; /* attached through libxdp's dispatcher (else alone) */
};

/* bpffs at /sys/fs/bpf: libxdp pins its dispatcher there, and without it
 * falls back to an attach that cannot share the interface. */
static int ensure_bpffs(char *err, size_t errlen)
{
	struct statfs s;

	if (statfs(BPFFS, &s) == 0 && (uint32_t)s.f_type == BPFFS_MAGIC)
		return 0;
	mkdir(BPFFS, 0700);
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700") == 0)
		return 0;
	if ((errno == EPERM || errno == EACCES) && geteuid() != 0)
		return fail(err, errlen, -EPERM, "%s", advice(EPERM));
	return fail(err, errlen, -errno,
		    "bpffs is not mounted at " BPFFS " and mounting it failed (%s): run "
		    "`mount -t bpf bpf " BPFFS "` as root",
		    strerror(errno));
}

/* The interface's receive queues (ETHTOOL_GCHANNELS; 1 when the driver does
 * not say). */
static uint32_t rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	uint32_t n = 1;

	if (fd < 0)
		return 1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
		n = ch.rx_count + ch.combined_count;
		if (n == 0)
			n = 1;
	}
	close(fd);
	return n;
}

/* One data plane per interface (per network namespace): a lock file held
 * while attached. The kernel drops it when the holder dies, so a program
 * found attached while we hold the lock is a crashed data plane's. */
static int take_lock(const char *ifname, int ifindex, char *err, size_t errlen)
{
	char path[128];
	struct stat ns;
	int fd;

	if (stat("/proc/thread-self/ns/net", &ns) != 0)
		ns.st_ino = 0;
	mkdir(LOCK_DIR, 0755);
	snprintf(path, sizeof(path), LOCK_DIR "/xdp-%llu-%d.lock", (unsigned long long)ns.st_ino,
		 ifindex);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(err, errlen, -errno, "cannot create %s (%s): is /run writable?", path,
			    strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "?";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		close(fd);
		return fail(err, errlen, -EBUSY,
			    "another PacketFS data plane (pid %s) serves %s: stop it first "
			    "(pfs-dp stop)",
			    strtok(pid, "\n") ? pid : "?", ifname);
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", (int)getpid());
	return fd;
}

static int is_ours(struct xdp_program *p)
{
	const char *name = p ? xdp_program__name(p) : NULL;

	return name && !strcmp(name, PROG_NAME);
}

/* Detaches PacketFS programs from ifindex, one per round (the dispatcher is
 * rebuilt each time). */
static int remove_ours(int ifindex, char *err, size_t errlen)
{
	int removed = 0;

	for (int round = 0; round < 16; round++) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
		struct xdp_program *p = NULL, *hit = NULL;
		int rc;

		if (!mp || libxdp_get_error(mp))
			return removed; /* nothing attached */
		if (xdp_multiprog__is_legacy(mp)) {
			if (is_ours(xdp_multiprog__main_prog(mp))) {
				rc = xdp_multiprog__detach(mp);
				xdp_multiprog__close(mp);
				if (rc)
					return fail(err, errlen, rc,
						    "cannot detach a PacketFS XDP program left on "
						    "interface %d: %s",
						    ifindex, strerror(-rc));
				removed++;
				continue;
			}
			xdp_multiprog__close(mp);
			return removed;
		}
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (is_ours(p)) {
				hit = p;
				break;
			}
		if (!hit) {
			xdp_multiprog__close(mp);
			return removed;
		}
		rc = xdp_program__detach(hit, ifindex, xdp_multiprog__attach_mode(mp), 0);
		xdp_multiprog__close(mp);
		if (rc)
			return fail(err, errlen, rc,
				    "cannot detach a PacketFS XDP program left on interface %d: %s",
				    ifindex, strerror(-rc));
		removed++;
	}
	return removed;
}

int pfs_xdp_prog_attached(int ifindex)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	int found = 0;

	quiet_libraries();
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		return 0;
	if (xdp_multiprog__is_legacy(mp))
		found = is_ours(xdp_multiprog__main_prog(mp));
	while (!found && (p = xdp_multiprog__next_prog(p, mp)))
		found = is_ours(p);
	xdp_multiprog__close(mp);
	return found;
}

int pfs_xdp_prog_remove_stale(const char *ifname, char *err, size_t errlen)
{
	int ifindex = (int)if_nametoindex(ifname), fd, rc;

	if (!ifindex)
		return fail(err, errlen, -ENODEV, "no interface named %s in this network namespace",
			    ifname);
	quiet_libraries();
	if ((fd = take_lock(ifname, ifindex, err, errlen)) < 0)
		return fd;
	rc = remove_ours(ifindex, err, errlen);
	close(fd);
	return rc;
}

static int attach_mode(struct pfs_xdp_prog *p, uint16_t port, enum pfs_xdp_mode mode, char *err,
		       size_t errlen)
{
	enum xdp_attach_mode am = mode == PFS_XDP_MODE_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB;
	int rc;

	lib_msg[0] = 0;
	p->skel = pfs_xdp__open();
	if (!p->skel)
		return fail(err, errlen, -errno, "cannot open the XDP program: %s",
			    strerror(errno));
	p->skel->rodata->pfs_port = port;
	p->xp = xdp_program__from_bpf_obj(p->skel->obj, "xdp");
	rc = (int)libxdp_get_error(p->xp);
	if (!rc && p->xp)
		rc = xdp_program__attach(p->xp, p->ifindex, am, 0);
	else if (!rc)
		rc = -ENOMEM;
	if (rc) {
		fail(err, errlen, rc,
		     "attaching the XDP program to %s in %s mode failed: %s%s%s; %s", p->ifname,
		     pfs_xdp_mode_name(mode), strerror(-rc), lib_msg[0] ? " — " : "", lib_msg,
		     advice(-rc));
		if (p->xp && !libxdp_get_error(p->xp))
			xdp_program__close(p->xp);
		p->xp = NULL;
		pfs_xdp__destroy(p->skel);
		p->skel = NULL;
		return rc;
	}
	p->mode = mode;
	return 0;
}

int pfs_xdp_prog_attach(struct pfs_xdp_prog **out, const char *ifname, uint16_t port,
			enum pfs_xdp_mode mode, char *err, size_t errlen)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct pfs_xdp_prog *p;
	int rc;

	*out = NULL;
	if (!ifname || strlen(ifname) >= IF_NAMESIZE || port == 0)
		return fail(err, errlen, PFS_ERR_INVALID_ARG,
			    "an interface name (under %d bytes) and a UDP port are required",
			    IF_NAMESIZE);
	p = calloc(1, sizeof(*p));
	if (!p)
		return fail(err, errlen, PFS_ERR_NOMEM, "out of memory");
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);
	p->lock_fd = -1;
	p->ifindex = (int)if_nametoindex(ifname);
	if (!p->ifindex) {
		rc = fail(err, errlen, -ENODEV,
			  "no interface named %s in this network namespace (`ip link` lists them)",
			  ifname);
		goto out;
	}
	quiet_libraries();
	/* older kernels charge BPF maps and UMEM to RLIMIT_MEMLOCK */
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	if ((rc = ensure_bpffs(err, errlen)))
		goto out;
	if ((p->lock_fd = take_lock(ifname, p->ifindex, err, errlen)) < 0) {
		rc = p->lock_fd;
		goto out;
	}
	if ((rc = remove_ours(p->ifindex, err, errlen)) < 0)
		goto out;
	if (mode == PFS_XDP_MODE_AUTO) {
		char first[512];
		int native = attach_mode(p, port, PFS_XDP_MODE_NATIVE, first, sizeof(first));
		rc = native ? attach_mode(p, port, PFS_XDP_MODE_GENERIC, err, errlen) : 0;
		if (rc && rc != native) /* a different reason: say both */
			fail(err + strlen(err), errlen - strlen(err), rc, " (native mode: %s)",
			     first);
	} else {
		rc = attach_mode(p, port, mode, err, errlen);
	}
	if (rc)
		goto out;
	p->queues = rx_queues(ifname);
	{
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(p->ifindex);
		if (mp && !libxdp_get_error(mp)) {
			p->dispatcher = !xdp_multiprog__is_legacy(mp);
			xdp_multiprog__close(mp);
		}
	}
	*out = p;
	return 0;
out:
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	free(p);
	return rc;
}

void pfs_xdp_prog_detach(struct pfs_xdp_prog *p)
{
	if (!p)
		return;
	quiet_libraries();
	if (p->xp) {
		int rc = xdp_program__detach(
			p->xp, p->ifindex,
			p->mode == PFS_XDP_MODE_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB, 0);
		if (rc)
			fprintf(stderr,
				"pfs-dataplane: detaching the XDP program from %s failed: %s%s%s "
				"(the next start removes it)\n",
				p->ifname, strerror(-rc), lib_msg[0] ? " — " : "", lib_msg);
		xdp_program__close(p->xp);
	}
	pfs_xdp__destroy(p->skel);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	free(p);
}

enum pfs_xdp_mode pfs_xdp_prog_mode(const struct pfs_xdp_prog *p)
{
	return p->mode;
}

int pfs_xdp_prog_ifindex(const struct pfs_xdp_prog *p)
{
	return p->ifindex;
}

uint32_t pfs_xdp_prog_queues(const struct pfs_xdp_prog *p)
{
	return p->queues;
}

int pfs_xdp_prog_shared(const struct pfs_xdp_prog *p)
{
	return p->dispatcher;
}

int pfs_xdp_prog_counts(const struct pfs_xdp_prog *p, uint64_t *counts)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(p->skel->maps.reason_count);
	uint64_t *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t k = 0; k < PFS_XDP_REASON_MAX; k++) {
		counts[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v) == 0)
			for (int c = 0; c < ncpu; c++)
				counts[k] += v[c];
	}
	free(v);
	return 0;
}

/* --- handoff between the sockets of a group ------------------------------------------------ */

struct group {
	uint32_t n;
	int refs;
	void **mem;	       /* n*n ring memories, [from*n + to] */
	struct pfs_ring *prod; /* [from*n + to]: from's end */
	struct pfs_ring *cons; /* [from*n + to]: to's end */
};

static void group_put(struct group *g)
{
	if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (uint32_t i = 0; i < g->n * g->n; i++)
		free(g->mem[i]);
	free(g->mem);
	free(g->prod);
	free(g->cons);
	free(g);
}

/* --- one AF_XDP socket -------------------------------------------------------------------- */

struct path {
	struct pfs_addr peer;
	struct pfs_eth_path eth;
	size_t hlen;
	uint64_t checked_ns, used_ns;
	int ok, used;
};

struct xio {
	struct pfs_io io;
	struct pfs_xdp_prog *prog;
	struct pfs_xdp_info info;
	uint8_t *area;
	size_t area_len;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	uint32_t fsize, nrx, ntx; /* chunk size; chunks in each half */
	uint64_t rx_end;	  /* addresses below are the receive half */
	uint64_t *rx_free, *tx_free;
	uint32_t n_rx_free, n_tx_free;
	int fd;
	uint8_t mac[PFS_ETH_ALEN];
	struct pfs_addr local, filter;
	uint32_t mtu;
	struct pfs_neigh *neigh;
	struct path paths[PATHS_MAX];
	struct group *g;
	uint32_t gi;
	uint8_t *scratch; /* one handoff message */
};

static const struct pfs_io_ops xio_ops;

static struct xio *as_xio(const struct pfs_io *io)
{
	return io && io->ops == &xio_ops ? (struct xio *)io : NULL;
}

/* Chunks back from the kernel's send path. */
static void reap_completions(struct xio *x)
{
	uint32_t idx, n = xsk_ring_cons__peek(&x->cq, x->ntx, &idx);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = *xsk_ring_cons__comp_addr(&x->cq, idx + i);
		x->tx_free[x->n_tx_free++] = a - a % x->fsize;
	}
	if (n)
		xsk_ring_cons__release(&x->cq, n);
}

/* Receive chunks back to the kernel. */
static void refill(struct xio *x)
{
	uint32_t idx, n = x->n_rx_free;

	if (!n || xsk_ring_prod__reserve(&x->fq, n, &idx) != n)
		return; /* cannot happen: the fill ring holds the whole half */
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fq, idx + i) = x->rx_free[--x->n_rx_free];
	xsk_ring_prod__submit(&x->fq, n);
}

static int xio_alloc(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	struct xio *x = (struct xio *)io;
	int i;

	if (x->n_tx_free < (uint32_t)n)
		reap_completions(x);
	for (i = 0; i < n && x->n_tx_free; i++) {
		uint64_t a = x->tx_free[--x->n_tx_free];
		f[i] = (struct pfs_iobuf){ .data = x->area + a + TX_HEADROOM,
					   .cap = x->mtu,
					   .handle = a };
	}
	if (i < n)
		io->stats.alloc_failed += (uint64_t)(n - i);
	return i;
}

static void xio_release(struct pfs_io *io, struct pfs_iobuf *f, int n)
{
	struct xio *x = (struct xio *)io;

	for (int i = 0; i < n; i++) {
		if (f[i].handle < x->rx_end)
			x->rx_free[x->n_rx_free++] = f[i].handle;
		else
			x->tx_free[x->n_tx_free++] = f[i].handle;
	}
	refill(x);
}

/* The path to peer: cached, refreshed from the neighbour table every second
 * (a MAC that changes is followed; a lookup that fails keeps the last good
 * one), resolved on first use. NULL while the next hop is unknown. */
static struct path *path_to(struct xio *x, const struct pfs_addr *peer, uint64_t now)
{
	struct path *p = NULL, *victim = NULL;
	struct pfs_neigh_hop hop;
	char err[256];
	int rc;

	for (int i = 0; i < PATHS_MAX && !p; i++) {
		struct path *c = &x->paths[i];
		if (!c->used) {
			if (!victim || victim->used)
				victim = c;
		} else if (c->peer.family == peer->family && c->peer.port == peer->port &&
			   !memcmp(c->peer.ip, peer->ip, 16)) {
			p = c;
		} else if (!victim || (victim->used && c->used_ns < victim->used_ns)) {
			victim = c; /* the least recently used, when all are taken */
		}
	}
	if (!p) {
		p = victim;
		*p = (struct path){ .peer = *peer, .used = 1 };
	}
	p->used_ns = now;
	/* a good path is checked once a second; an unknown one at most once a
	 * millisecond (neigh.c itself asks the kernel to resolve at most every
	 * 100 ms) */
	if (p->checked_ns && now - p->checked_ns < (p->ok ? PATH_REFRESH_NS : 1000000ull))
		return p->ok ? p : NULL;
	rc = pfs_neigh_resolve(x->neigh, peer, pfs_xdp_prog_ifindex(x->prog), now, &hop, err,
			       sizeof(err));
	p->checked_ns = now;
	if (rc == 0) {
		p->eth = (struct pfs_eth_path){ .src = x->local, .dst = *peer };
		memcpy(p->eth.src_mac, x->mac, PFS_ETH_ALEN);
		memcpy(p->eth.dst_mac, hop.mac, PFS_ETH_ALEN);
		p->hlen = pfs_eth_hdr_len(&p->eth);
		p->ok = p->hlen > 0 && p->eth.src.family == peer->family;
	} else if (rc != -EAGAIN && !p->ok) {
		/* a route that will not appear by waiting: say so once per second */
		static __thread uint64_t said;
		if (now - said > PATH_REFRESH_NS) {
			fprintf(stderr, "pfs-dataplane: %s\n", err);
			said = now;
		}
	}
	return p->ok ? p : NULL;
}

static void kick_tx(struct xio *x)
{
	/* Copy mode sends at most 32 frames per system call and answers EAGAIN
	 * while more wait; give back completions between calls so the kernel
	 * always has room to report them. */
	for (int i = 0; i < 64; i++) {
		if (x->info.need_wakeup && !xsk_ring_prod__needs_wakeup(&x->tx))
			return;
		x->info.wakeups++;
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != EINTR)
			return; /* ENETDOWN and the like: the frames stay queued */
		reap_completions(x);
		if (errno == ENOBUFS)
			return;
	}
}

static int xio_tx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct xio *x = (struct xio *)io;
	uint64_t addr[PFS_IO_BURST_MAX];
	uint32_t len[PFS_IO_BURST_MAX], idx;
	uint64_t bytes = 0;
	int m = 0;

	for (int i = 0; i < n; i++) {
		struct path *p = f[i].len <= x->mtu ? path_to(x, &f[i].peer, now_ns) : NULL;
		if (!p) {
			if (f[i].len <= x->mtu)
				x->info.no_neighbour++;
			io->stats.tx_dropped++;
			x->tx_free[x->n_tx_free++] = f[i].handle;
			continue;
		}
		uint8_t *hdr = f[i].data - p->hlen;
		len[m] = (uint32_t)pfs_eth_build(hdr, &p->eth, f[i].len);
		addr[m] = (uint64_t)(hdr - x->area);
		bytes += f[i].len;
		m++;
	}
	if (!m)
		return 0;
	if (xsk_ring_prod__reserve(&x->tx, (uint32_t)m, &idx) != (uint32_t)m) {
		kick_tx(x);
		reap_completions(x);
		if (xsk_ring_prod__reserve(&x->tx, (uint32_t)m, &idx) != (uint32_t)m) {
			for (int i = 0; i < m; i++)
				x->tx_free[x->n_tx_free++] = addr[i] - addr[i] % x->fsize;
			io->stats.tx_dropped += (uint64_t)m;
			return 0;
		}
	}
	for (int i = 0; i < m; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + (uint32_t)i);
		d->addr = addr[i];
		d->len = len[i];
	}
	xsk_ring_prod__submit(&x->tx, (uint32_t)m);
	io->stats.tx_frames += (uint64_t)m;
	io->stats.tx_bytes += bytes;
	kick_tx(x);
	return m;
}

/* The worker a payload's connection id belongs to (pfs_worker_for_cid: the
 * id's low half, read big-endian at payload offset 4). */
static uint32_t owner_of(const uint8_t *payload, uint32_t len, uint32_t n)
{
	if (len < 8)
		return UINT32_MAX;
	return (((uint32_t)payload[4] << 24) | ((uint32_t)payload[5] << 16) |
		((uint32_t)payload[6] << 8) | payload[7]) %
	       n;
}

static void hand_off(struct xio *x, uint32_t to, const struct pfs_addr *src, const uint8_t *payload,
		     uint32_t len)
{
	memcpy(x->scratch, src, sizeof(*src));
	memcpy(x->scratch + sizeof(*src), payload, len);
	if (pfs_ring_push(&x->g->prod[x->gi * x->g->n + to], x->scratch, sizeof(*src) + len) == 0)
		x->info.handed_off++;
	else
		x->info.handoff_dropped++;
}

/* Datagrams other sockets of the group passed to us, into send-half chunks
 * (release() returns them there). */
static int take_handoffs(struct xio *x, struct pfs_iobuf *f, int n)
{
	int got = 0;

	for (uint32_t from = 0; from < x->g->n && got < n; from++) {
		struct pfs_ring *r = &x->g->cons[from * x->g->n + x->gi];
		if (from == x->gi)
			continue;
		while (got < n) {
			size_t len;
			if (!x->n_tx_free)
				reap_completions(x);
			if (!x->n_tx_free)
				return got;
			uint64_t a = x->tx_free[x->n_tx_free - 1];
			uint8_t *chunk = x->area + a;
			if (pfs_ring_pop(r, chunk, x->fsize, &len) != 1)
				break; /* empty (a message never exceeds a chunk) */
			x->n_tx_free--;
			if (len < sizeof(struct pfs_addr)) {
				x->tx_free[x->n_tx_free++] = a;
				continue;
			}
			f[got] = (struct pfs_iobuf){ .data = chunk + sizeof(struct pfs_addr),
						     .len = (uint32_t)(len -
								       sizeof(struct pfs_addr)),
						     .handle = a };
			f[got].cap = f[got].len;
			memcpy(&f[got].peer, chunk, sizeof(struct pfs_addr));
			x->io.stats.rx_frames++;
			x->io.stats.rx_bytes += f[got].len;
			got++;
		}
	}
	return got;
}

static int xio_rx(struct pfs_io *io, struct pfs_iobuf *f, int n, uint64_t now_ns)
{
	struct xio *x = (struct xio *)io;
	int got = x->g ? take_handoffs(x, f, n) : 0;
	uint32_t idx, k;

	if (got >= n)
		return got;
	k = xsk_ring_cons__peek(&x->rx, (uint32_t)(n - got), &idx);
	for (uint32_t i = 0; i < k; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
		uint64_t a = xsk_umem__extract_addr(d->addr), base = a - a % x->fsize;
		uint8_t *pkt = x->area + a;
		struct pfs_eth_rx rx;
		enum pfs_eth_verdict v;

		if (base >= x->rx_end || d->len > x->fsize - (a - base)) {
			/* the kernel never does this; count it rather than trust it */
			x->info.refused[PFS_ETH_TRUNCATED]++;
			continue;
		}
		/* the AEAD tag vouches for the payload, and veth leaves the
		 * checksums of kernel-sent datagrams unfinished */
		v = pfs_eth_parse(pkt, d->len, &x->filter, PFS_ETH_NO_UDP_CSUM, &rx);
		if (v != PFS_ETH_OK) {
			x->info.refused[v]++;
			io->stats.rx_dropped++;
			x->rx_free[x->n_rx_free++] = base;
			continue;
		}
		if (x->g) {
			uint32_t o = owner_of(pkt + rx.payload_off, rx.payload_len, x->g->n);
			if (o != UINT32_MAX && o != x->gi) {
				hand_off(x, o, &rx.src, pkt + rx.payload_off, rx.payload_len);
				x->rx_free[x->n_rx_free++] = base;
				continue;
			}
		}
		f[got++] = (struct pfs_iobuf){ .data = pkt + rx.payload_off,
					       .len = rx.payload_len,
					       .cap = rx.payload_len,
					       .peer = rx.src,
					       .handle = base };
		io->stats.rx_frames++;
		io->stats.rx_bytes += rx.payload_len;
	}
	if (k)
		xsk_ring_cons__release(&x->rx, k);
	refill(x);
	if (!k && xsk_ring_prod__needs_wakeup(&x->fq)) {
		x->info.wakeups++;
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	}
	return got;
}

static void xio_close(struct pfs_io *io)
{
	struct xio *x = (struct xio *)io;

	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, x->area_len);
	pfs_neigh_close(x->neigh);
	group_put(x->g);
	free(x->rx_free);
	free(x->tx_free);
	free(x->scratch);
	free(x);
}

static const struct pfs_io_ops xio_ops = {
	.name = "xdp",
	.alloc = xio_alloc,
	.tx_burst = xio_tx,
	.rx_burst = xio_rx,
	.release = xio_release,
	.close = xio_close,
};

/* The interface's MAC, MTU and (when local's IP is unspecified) first address
 * of local's family. */
static int if_facts(struct xio *x, const char *ifname, uint32_t *ifmtu, char *err, size_t errlen)
{
	struct ifaddrs *ifa, *i;
	struct ifreq ifr = { 0 };
	int have_mac = 0, want_ip, fd;
	static const uint8_t zero[16];

	want_ip = !memcmp(x->local.ip, zero, 16);
	if (getifaddrs(&ifa) != 0)
		return fail(err, errlen, -errno, "cannot list interface addresses: %s",
			    strerror(errno));
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifname))
			continue;
		if (i->ifa_addr->sa_family == AF_PACKET) {
			const struct sockaddr_ll *ll = (const void *)i->ifa_addr;
			if (ll->sll_halen == PFS_ETH_ALEN) {
				memcpy(x->mac, ll->sll_addr, PFS_ETH_ALEN);
				have_mac = 1;
			}
		} else if (want_ip && x->local.family == 4 && i->ifa_addr->sa_family == AF_INET) {
			memcpy(x->local.ip, &((const struct sockaddr_in *)i->ifa_addr)->sin_addr,
			       4);
			want_ip = 0;
		} else if (want_ip && x->local.family == 6 && i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const void *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
				continue;
			memcpy(x->local.ip, &s6->sin6_addr, 16);
			want_ip = 0;
		}
	}
	freeifaddrs(ifa);
	if (!have_mac)
		return fail(err, errlen, -EOPNOTSUPP,
			    "%s has no Ethernet address: AF_XDP frames here are Ethernet frames "
			    "(use --backend udp on this interface)",
			    ifname);
	if (want_ip)
		return fail(err, errlen, -EADDRNOTAVAIL,
			    "%s has no IPv%u address to send from: add one (ip addr add ... dev "
			    "%s) or give --listen ADDR:PORT",
			    ifname, x->local.family, ifname);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (fd < 0 || ioctl(fd, SIOCGIFMTU, &ifr) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail(err, errlen, -e, "cannot read the MTU of %s: %s", ifname, strerror(e));
	}
	close(fd);
	*ifmtu = (uint32_t)ifr.ifr_mtu;
	return 0;
}

static int map_area(struct xio *x, int no_huge)
{
	const size_t huge = 2u << 20;

	if (!no_huge && x->area_len % huge == 0) {
		x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		if (x->area != MAP_FAILED) {
			x->info.umem = "hugetlb";
			return 0;
		}
	}
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return -errno;
	}
	x->info.umem = "normal";
	return 0;
}

/* Creates the UMEM and binds the socket with bind_flags; 0 or -errno. */
static int bind_socket(struct xio *x, const struct pfs_xdp_config *cfg, uint32_t ring,
		       uint16_t bind_flags)
{
	struct xsk_umem_config uc = { .fill_size = x->nrx,
				      .comp_size = x->ntx,
				      .frame_size = x->fsize,
				      .frame_headroom = 0 };
	struct xsk_socket_config sc = { .rx_size = ring,
					.tx_size = ring,
					.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
					.bind_flags = bind_flags };
	const char *ifname = cfg->prog->ifname;
	int rc;

	lib_msg[0] = 0;
	rc = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fq, &x->cq, &uc);
	if (rc)
		return rc;
	rc = xsk_socket__create(&x->xsk, ifname, cfg->queue, x->umem, &x->rx, &x->tx, &sc);
	if (rc) {
		x->xsk = NULL;
		xsk_umem__delete(x->umem);
		x->umem = NULL;
	}
	return rc;
}

int pfs_io_xdp_open(struct pfs_io **out, const struct pfs_xdp_config *cfg, char *err, size_t errlen)
{
	struct xdp_options xo = { 0 };
	socklen_t xol = sizeof(xo);
	struct xio *x;
	uint32_t frames = cfg->frames ? cfg->frames : 8192;
	uint32_t fsize = cfg->frame_size ? cfg->frame_size : 4096;
	uint32_t ring = cfg->ring_size ? cfg->ring_size : 2048;
	uint32_t ifmtu = 0, ip_hdr, idx;
	int rc;

	*out = NULL;
	if (!cfg->prog || (cfg->local.family != 4 && cfg->local.family != 6) ||
	    cfg->local.port == 0)
		return fail(err, errlen, PFS_ERR_INVALID_ARG,
			    "io_xdp needs an attached program and a local IPv4/IPv6 address "
			    "with a port");
	if ((fsize != 2048 && fsize != 4096) || frames < 64 || (frames & (frames - 1)) ||
	    ring < 64 || (ring & (ring - 1)) || ring > frames / 2 || frames > (1u << 20))
		return fail(err, errlen, PFS_ERR_INVALID_ARG,
			    "AF_XDP sizes: frames a power of two in [64, 2^20], frame size 2048 "
			    "or 4096, ring a power of two in [64, frames/2] (got %u, %u, %u)",
			    frames, fsize, ring);
	if (cfg->queue >= cfg->prog->queues)
		return fail(err, errlen, PFS_ERR_INVALID_ARG,
			    "%s has %u receive queue%s: queue %u does not exist", cfg->prog->ifname,
			    cfg->prog->queues, cfg->prog->queues == 1 ? "" : "s", cfg->queue);
	x = calloc(1, sizeof(*x));
	if (!x)
		return fail(err, errlen, PFS_ERR_NOMEM, "out of memory");
	x->io.ops = &xio_ops;
	x->prog = cfg->prog;
	x->fsize = fsize;
	x->nrx = frames / 2;
	x->ntx = frames / 2;
	x->rx_end = (uint64_t)x->nrx * fsize;
	x->area_len = (size_t)frames * fsize;
	x->local = cfg->local;
	x->fd = -1;
	quiet_libraries();
	if ((rc = if_facts(x, cfg->prog->ifname, &ifmtu, err, errlen)))
		goto fail_out;
	x->filter = cfg->local; /* an unspecified IP accepts any of ours */
	ip_hdr = x->local.family == 4 ? 20 : 40;
	x->mtu = cfg->mtu ? cfg->mtu : ifmtu - ip_hdr - 8;
	if (x->mtu + ip_hdr + 8 > ifmtu) {
		rc = fail(err, errlen, PFS_ERR_INVALID_ARG,
			  "--mtu %u: %s has an MTU of %u bytes, which carries UDP payloads of at "
			  "most %u bytes over IPv%u: lower --mtu or raise the interface's MTU",
			  x->mtu, cfg->prog->ifname, ifmtu, ifmtu - ip_hdr - 8, x->local.family);
		goto fail_out;
	}
	if (ifmtu + 18 > fsize - XDP_RX_RESERVE || x->mtu + TX_HEADROOM > fsize) {
		rc = fail(err, errlen, PFS_ERR_INVALID_ARG,
			  "%s has an MTU of %u bytes, more than %u-byte AF_XDP frames can "
			  "receive (%u bytes at most): lower it (ip link set dev %s mtu %u)",
			  cfg->prog->ifname, ifmtu, fsize, fsize - XDP_RX_RESERVE - 18,
			  cfg->prog->ifname, fsize - XDP_RX_RESERVE - 18);
		goto fail_out;
	}
	x->rx_free = malloc(x->nrx * sizeof(*x->rx_free));
	x->tx_free = malloc(x->ntx * sizeof(*x->tx_free));
	if (!x->rx_free || !x->tx_free) {
		rc = fail(err, errlen, PFS_ERR_NOMEM, "out of memory");
		goto fail_out;
	}
	if ((rc = map_area(x, cfg->no_hugepages))) {
		rc = fail(err, errlen, rc, "cannot map %zu bytes of UMEM: %s", x->area_len,
			  strerror(-rc));
		goto fail_out;
	}
	if ((rc = pfs_neigh_open(&x->neigh, err, errlen)))
		goto fail_out;

	rc = -EOPNOTSUPP;
	if (cfg->copy != PFS_XDP_COPY_COPY)
		rc = bind_socket(x, cfg, ring, XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY);
	if (rc && cfg->copy != PFS_XDP_COPY_ZEROCOPY)
		rc = bind_socket(x, cfg, ring, XDP_USE_NEED_WAKEUP | XDP_COPY);
	if (rc) {
		rc = fail(err, errlen, rc,
			  "cannot bind an AF_XDP socket to %s queue %u (%s%s): %s%s%s; %s",
			  cfg->prog->ifname, cfg->queue,
			  cfg->copy == PFS_XDP_COPY_ZEROCOPY ? "zero-copy" :
			  cfg->copy == PFS_XDP_COPY_COPY     ? "copy mode" :
							       "zero-copy, then copy mode",
			  ", need_wakeup", strerror(-rc), lib_msg[0] ? " — " : "", lib_msg,
			  advice(-rc));
		goto fail_out;
	}
	x->fd = xsk_socket__fd(x->xsk);
	if ((rc = xsk_socket__update_xskmap(x->xsk, bpf_map__fd(cfg->prog->skel->maps.xsks_map)))) {
		rc = fail(err, errlen, rc, "cannot register the AF_XDP socket of queue %u: %s",
			  cfg->queue, strerror(-rc));
		goto fail_out;
	}
	if (getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &xo, &xol) == 0)
		x->info.zero_copy = !!(xo.flags & XDP_OPTIONS_ZEROCOPY);
	x->info.need_wakeup = 1;

	/* the whole receive half to the kernel; the send half to us */
	for (uint32_t i = 0; i < x->nrx; i++)
		x->rx_free[x->n_rx_free++] = (uint64_t)(x->nrx - 1 - i) * fsize;
	for (uint32_t i = 0; i < x->ntx; i++)
		x->tx_free[x->n_tx_free++] = x->rx_end + (uint64_t)(x->ntx - 1 - i) * fsize;
	if (xsk_ring_prod__reserve(&x->fq, x->nrx, &idx) != x->nrx) {
		rc = fail(err, errlen, PFS_ERR_NOMEM, "the fill ring is smaller than asked");
		goto fail_out;
	}
	for (uint32_t i = 0; i < x->nrx; i++)
		*xsk_ring_prod__fill_addr(&x->fq, idx + i) = x->rx_free[--x->n_rx_free];
	xsk_ring_prod__submit(&x->fq, x->nrx);

	snprintf(x->info.ifname, sizeof(x->info.ifname), "%s", cfg->prog->ifname);
	x->info.queue = cfg->queue;
	x->info.umem_bytes = x->area_len;
	x->info.frames = frames;
	x->info.frame_size = fsize;
	x->info.local = x->local;
	*out = &x->io;
	return 0;
fail_out:
	xio_close(&x->io);
	return rc;
}

int pfs_io_xdp_fd(const struct pfs_io *io)
{
	const struct xio *x = as_xio(io);

	return x ? x->fd : -1;
}

int pfs_io_xdp_info(const struct pfs_io *io, struct pfs_xdp_info *info)
{
	const struct xio *x = as_xio(io);

	if (!x)
		return PFS_ERR_INVALID_ARG;
	*info = x->info;
	return 0;
}

int pfs_io_xdp_group(struct pfs_io **ios, uint32_t n, char *err, size_t errlen)
{
	struct group *g;

	if (n < 2)
		return 0;
	for (uint32_t k = 0; k < n; k++)
		if (!as_xio(ios[k]) || as_xio(ios[k])->g)
			return fail(err, errlen, PFS_ERR_INVALID_ARG,
				    "a group is made of io_xdp sockets not yet in one");
	g = calloc(1, sizeof(*g));
	if (!g)
		return fail(err, errlen, PFS_ERR_NOMEM, "out of memory");
	g->n = n;
	g->mem = calloc((size_t)n * n, sizeof(*g->mem));
	g->prod = calloc((size_t)n * n, sizeof(*g->prod));
	g->cons = calloc((size_t)n * n, sizeof(*g->cons));
	if (!g->mem || !g->prod || !g->cons)
		goto nomem;
	for (uint32_t i = 0; i < n * n; i++) {
		if (i / n == i % n)
			continue;
		if (posix_memalign(&g->mem[i], 64, pfs_ring_mem_bytes(HANDOFF_BYTES)) ||
		    pfs_ring_format(g->mem[i], HANDOFF_BYTES))
			goto nomem;
		pfs_ring_attach(&g->prod[i], g->mem[i], HANDOFF_BYTES, PFS_RING_PRODUCER);
		pfs_ring_attach(&g->cons[i], g->mem[i], HANDOFF_BYTES, PFS_RING_CONSUMER);
	}
	for (uint32_t k = 0; k < n; k++) {
		struct xio *x = as_xio(ios[k]);
		x->scratch = malloc(sizeof(struct pfs_addr) + x->fsize);
		if (!x->scratch)
			goto nomem;
	}
	g->refs = (int)n;
	for (uint32_t k = 0; k < n; k++) {
		as_xio(ios[k])->g = g;
		as_xio(ios[k])->gi = k;
	}
	return 0;
nomem:
	g->refs = 1;
	group_put(g);
	return fail(err, errlen, PFS_ERR_NOMEM, "out of memory for the queue handoff rings");
}

#endif /* PFS_HAVE_XDP */
