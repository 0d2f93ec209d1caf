/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the XDP steering program (bpf/pfs_xdp.bpf.c): each case loads
 * the program through its skeleton with pfs_port set in read-only data, runs it
 * with BPF_PROG_TEST_RUN on crafted frames, and checks the action it returned
 * and the one reason counter it bumped.
 *
 * The redirect path: BPF_PROG_TEST_RUN runs the program on a frame that came
 * from no device, and nothing is bound in xsks_map, so bpf_redirect_map()
 * returns its fallback action, XDP_PASS, and the program counts
 * PFS_XDP_PASS_NO_XSK. That counter (and no other) is how most cases see that
 * a frame was recognised as PacketFS and reached the redirect. One case
 * (a_socket_on_the_queue_gets_the_redirect) binds an AF_XDP socket in copy
 * mode on lo queue 0, puts it in xsks_map and runs the frame as if received
 * there: the program returns XDP_REDIRECT and counts PFS_XDP_REDIRECTED. Test
 * runs never deliver the frame; delivery is for the netns integration tests.
 *
 * Loading a BPF program needs CAP_BPF (root here): without it every case prints
 * "skip: ..." and exits with PFS_TEST_SKIP, which ctest reports as skipped.
 */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_xdp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "pfs_xdp.h"
#include "pfs_xdp.skel.h"

#define PFS_TEST_SKIP 77 /* SKIP_RETURN_CODE of the xdp_prog.* tests (cmake/bpf.cmake) */
#define PORT 7444	 /* 0x1d14: byte-swapped it is 5149, another port */

/* --- frames, written byte by byte in network order ------------------------ */

struct frame {
	uint8_t b[256];
	size_t len;
};

static void put8(struct frame *f, uint8_t v)
{
	f->b[f->len++] = v;
}

static void put16(struct frame *f, uint16_t v)
{
	put8(f, v >> 8);
	put8(f, v & 0xff);
}

static void put_zero(struct frame *f, size_t n)
{
	while (n--)
		put8(f, 0);
}

static void eth(struct frame *f, uint16_t type)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 1 }, src[6] = { 0x02, 0, 0, 0, 0, 2 };

	f->len = 0;
	for (int i = 0; i < 6; i++)
		put8(f, dst[i]);
	for (int i = 0; i < 6; i++)
		put8(f, src[i]);
	put16(f, type);
}

static void vlan(struct frame *f, uint16_t vid, uint16_t inner_type)
{
	put16(f, vid & 0x0fff);
	put16(f, inner_type);
}

/* IPv4 header of `ihl` words (options zero-filled), 198.18.0.1 -> 198.18.0.2.
 * The checksum is left zero: the program does not check it. */
static void ipv4(struct frame *f, uint8_t version, uint8_t ihl, uint8_t proto, uint16_t frag,
		 uint16_t l4_len)
{
	put8(f, (uint8_t)(version << 4 | ihl));
	put8(f, 0);
	put16(f, (uint16_t)(ihl * 4 + l4_len));
	put16(f, 1); /* id */
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put8(f, 198), put8(f, 18), put8(f, 0), put8(f, 1);
	put8(f, 198), put8(f, 18), put8(f, 0), put8(f, 2);
	put_zero(f, (size_t)(ihl > 5 ? ihl - 5 : 0) * 4);
}

/* IPv6 header, 2001:db8::1 -> 2001:db8::2. */
static void ipv6(struct frame *f, uint8_t nexthdr, uint16_t payload_len)
{
	put8(f, 0x60), put8(f, 0), put16(f, 0);
	put16(f, payload_len);
	put8(f, nexthdr);
	put8(f, 64);
	for (int a = 1; a <= 2; a++) {
		put16(f, 0x2001), put16(f, 0x0db8);
		put_zero(f, 11);
		put8(f, (uint8_t)a);
	}
}

#define UDP_PAYLOAD 32

static void udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + UDP_PAYLOAD);
	put16(f, 0);
	for (int i = 0; i < UDP_PAYLOAD; i++)
		put8(f, (uint8_t)i);
}

static void udp4(struct frame *f, uint16_t dport)
{
	eth(f, 0x0800);
	ipv4(f, 4, 5, 17, 0, 8 + UDP_PAYLOAD);
	udp(f, 40000, dport);
}

static void udp6(struct frame *f, uint16_t dport)
{
	eth(f, 0x86dd);
	ipv6(f, 17, 8 + UDP_PAYLOAD);
	udp(f, 40000, dport);
}

/* --- running the program --------------------------------------------------- */

static struct pfs_xdp *load(void)
{
	struct pfs_xdp *skel = pfs_xdp__open();
	int err;

	if (!skel) {
		fprintf(stderr, "pfs_xdp__open: %s\n", strerror(errno));
		return NULL;
	}
	skel->rodata->pfs_port = PORT;
	err = pfs_xdp__load(skel);
	if (err == -EPERM || err == -EACCES) {
		printf("skip: loading the XDP program needs CAP_BPF (run as root): %s\n",
		       strerror(-err));
		pfs_xdp__destroy(skel);
		exit(PFS_TEST_SKIP);
	}
	if (err) {
		fprintf(stderr, "pfs_xdp__load: %s\n", strerror(-err));
		pfs_xdp__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Per-reason totals, summed over CPUs. Returns 0 or a negative errno. */
static int read_counts(struct pfs_xdp *skel, uint64_t counts[PFS_XDP_REASON_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(skel->maps.reason_count);

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	uint64_t *percpu = calloc((size_t)ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (uint32_t r = 0; r < PFS_XDP_REASON_MAX; r++) {
		if (bpf_map_lookup_elem(fd, &r, percpu)) {
			int err = -errno;
			free(percpu);
			return err;
		}
		counts[r] = 0;
		for (int c = 0; c < ncpu; c++)
			counts[r] += percpu[c];
	}
	free(percpu);
	return 0;
}

struct outcome {
	int err;	  /* of bpf_prog_test_run_opts */
	uint32_t action;  /* the program's return value */
	int reason;	  /* the one counter that moved; -1 none, -2 several */
	uint64_t counted; /* all counters together */
};

/* Loads a fresh program, runs it once on f, and reports what it did. */
static struct outcome run(const struct frame *f)
{
	struct outcome o = { .err = -EINVAL, .reason = -1 };
	uint64_t counts[PFS_XDP_REASON_MAX];
	struct pfs_xdp *skel = load();

	if (!skel)
		return o;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = (uint32_t)f->len,
		    .repeat = 1);
	o.err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pfs_xdp_steer), &opts);
	o.err = o.err ? -errno : 0;
	o.action = opts.retval;
	if (read_counts(skel, counts) == 0) {
		for (int r = 0; r < PFS_XDP_REASON_MAX; r++) {
			o.counted += counts[r];
			if (counts[r])
				o.reason = o.reason == -1 ? r : -2;
		}
	}
	pfs_xdp__destroy(skel);
	return o;
}

/* The frame was passed to the kernel, counted once under `reason`. */
#define CHECK_PASSED(f, why)                   \
	do {                                   \
		struct outcome _o = run(f);    \
		CHECK_EQ(_o.err, 0);           \
		CHECK_EQ(_o.action, XDP_PASS); \
		CHECK_EQ(_o.counted, 1);       \
		CHECK_EQ(_o.reason, why);      \
	} while (0)

/* The frame was recognised as PacketFS and handed to bpf_redirect_map(), which
 * (no socket bound, see the top of this file) fell back to XDP_PASS. */
#define CHECK_REDIRECT_PATH(f) CHECK_PASSED(f, PFS_XDP_PASS_NO_XSK)

/* --- cases ----------------------------------------------------------------- */

PFS_TEST(udp_to_the_pfs_port_over_ipv4_takes_the_redirect_path)
{
	struct frame f;

	udp4(&f, PORT);
	CHECK_REDIRECT_PATH(&f);
}

PFS_TEST(udp_to_the_pfs_port_over_ipv6_takes_the_redirect_path)
{
	struct frame f;

	udp6(&f, PORT);
	CHECK_REDIRECT_PATH(&f);
}

PFS_TEST(ipv4_options_are_skipped_by_ihl)
{
	struct frame f;

	eth(&f, 0x0800);
	ipv4(&f, 4, 15, 17, 0, 8 + UDP_PAYLOAD); /* 40 bytes of options */
	udp(&f, 40000, PORT);
	CHECK_REDIRECT_PATH(&f);

	/* Read at the fixed offset, the first option word would be the ports:
	 * here they say "to the PacketFS port", but the real UDP header does not. */
	eth(&f, 0x0800);
	ipv4(&f, 4, 6, 17, 0, 8 + UDP_PAYLOAD);
	f.len -= 4;
	put16(&f, 40000), put16(&f, PORT);
	udp(&f, 40000, 9);
	CHECK_PASSED(&f, PFS_XDP_PASS_OTHER_PORT);
}

PFS_TEST(one_vlan_tag_is_looked_through)
{
	struct frame f;

	eth(&f, 0x8100);
	vlan(&f, 100, 0x0800);
	ipv4(&f, 4, 5, 17, 0, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_REDIRECT_PATH(&f);

	eth(&f, 0x88a8);
	vlan(&f, 200, 0x86dd);
	ipv6(&f, 17, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_REDIRECT_PATH(&f);

	eth(&f, 0x8100);
	vlan(&f, 100, 0x0800);
	ipv4(&f, 4, 5, 17, 0, 8 + UDP_PAYLOAD);
	udp(&f, 40000, 53);
	CHECK_PASSED(&f, PFS_XDP_PASS_OTHER_PORT);
}

PFS_TEST(a_second_vlan_tag_is_passed)
{
	struct frame f;

	eth(&f, 0x88a8);
	vlan(&f, 200, 0x8100);
	vlan(&f, 100, 0x0800);
	ipv4(&f, 4, 5, 17, 0, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_PASSED(&f, PFS_XDP_PASS_VLAN_STACK);
}

PFS_TEST(udp_to_other_ports_is_passed)
{
	struct frame f;

	udp4(&f, 53);
	CHECK_PASSED(&f, PFS_XDP_PASS_OTHER_PORT);
	udp6(&f, PORT + 1);
	CHECK_PASSED(&f, PFS_XDP_PASS_OTHER_PORT);
	/* pfs_port is in host order: the byte-swapped port is another port. */
	udp4(&f, (uint16_t)(PORT >> 8 | (PORT & 0xff) << 8));
	CHECK_PASSED(&f, PFS_XDP_PASS_OTHER_PORT);
	/* Only the destination port counts: a reply from the PacketFS port to an
	 * ephemeral port is not ours. */
	eth(&f, 0x0800);
	ipv4(&f, 4, 5, 17, 0, 8 + UDP_PAYLOAD);
	udp(&f, PORT, 40000);
	CHECK_PASSED(&f, PFS_XDP_PASS_OTHER_PORT);
}

PFS_TEST(tcp_and_icmp_are_passed)
{
	struct frame f;

	eth(&f, 0x0800);
	ipv4(&f, 4, 5, 6, 0, 20);
	put16(&f, 40000), put16(&f, PORT); /* TCP ports, as if to the PacketFS port */
	put_zero(&f, 16);
	CHECK_PASSED(&f, PFS_XDP_PASS_NOT_UDP);

	eth(&f, 0x86dd);
	ipv6(&f, 6, 20);
	put16(&f, 40000), put16(&f, PORT);
	put_zero(&f, 16);
	CHECK_PASSED(&f, PFS_XDP_PASS_NOT_UDP);

	eth(&f, 0x0800);
	ipv4(&f, 4, 5, 1, 0, 8);
	put8(&f, 8), put_zero(&f, 7); /* echo request */
	CHECK_PASSED(&f, PFS_XDP_PASS_NOT_UDP);
}

PFS_TEST(arp_is_passed)
{
	struct frame f;

	eth(&f, 0x0806);
	put16(&f, 1), put16(&f, 0x0800), put8(&f, 6), put8(&f, 4), put16(&f, 1);
	put_zero(&f, 20);
	CHECK_PASSED(&f, PFS_XDP_PASS_NOT_IP);
}

PFS_TEST(ipv4_fragments_are_passed)
{
	struct frame f;

	/* First fragment: MF set, offset 0 (the UDP header is even there). */
	eth(&f, 0x0800);
	ipv4(&f, 4, 5, 17, 0x2000, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_PASSED(&f, PFS_XDP_PASS_FRAGMENT);

	/* Last fragment: MF clear, offset 185 (1480 bytes). */
	eth(&f, 0x0800);
	ipv4(&f, 4, 5, 17, 185, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_PASSED(&f, PFS_XDP_PASS_FRAGMENT);

	/* DF alone is not a fragment. */
	eth(&f, 0x0800);
	ipv4(&f, 4, 5, 17, 0x4000, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_REDIRECT_PATH(&f);
}

PFS_TEST(ipv6_extension_headers_are_passed)
{
	static const uint8_t exts[] = { 0 /* hop-by-hop */, 43 /* routing */, 44 /* fragment */,
					60 /* destination options */ };
	struct frame f;

	for (size_t i = 0; i < sizeof(exts); i++) {
		eth(&f, 0x86dd);
		ipv6(&f, exts[i], 8 + 8 + UDP_PAYLOAD);
		put8(&f, 17), put_zero(&f, 7); /* next header UDP, 8 bytes long */
		udp(&f, 40000, PORT);
		CHECK_PASSED(&f, PFS_XDP_PASS_IPV6_EXT);
	}
}

PFS_TEST(malformed_ipv4_is_passed)
{
	struct frame f;

	eth(&f, 0x0800); /* IHL 4: shorter than the fixed header */
	ipv4(&f, 4, 4, 17, 0, 8 + UDP_PAYLOAD);
	put_zero(&f, 4);
	udp(&f, 40000, PORT);
	CHECK_PASSED(&f, PFS_XDP_PASS_BAD_IP);

	eth(&f, 0x0800); /* version 6 behind the IPv4 Ethernet type */
	ipv4(&f, 6, 5, 17, 0, 8 + UDP_PAYLOAD);
	udp(&f, 40000, PORT);
	CHECK_PASSED(&f, PFS_XDP_PASS_BAD_IP);
}

PFS_TEST(truncated_headers_are_passed)
{
	struct frame full, f;

	/* The kernel refuses to run a test on less than an Ethernet header
	 * (bpf_test_init: size < ETH_HLEN is -EINVAL), so the program's own
	 * Ethernet check cannot be reached from here. */
	udp4(&full, PORT);
	f = full, f.len = 13;
	CHECK_EQ(run(&f).err, -EINVAL);

	eth(&f, 0x8100); /* a VLAN tag cut in half */
	put16(&f, 100);
	CHECK_PASSED(&f, PFS_XDP_PASS_TRUNCATED);

	f = full, f.len = 14 + 19; /* IPv4 fixed header short by one byte */
	CHECK_PASSED(&f, PFS_XDP_PASS_TRUNCATED);

	eth(&f, 0x0800); /* IHL says 60 bytes, the frame has 40 */
	ipv4(&f, 4, 15, 17, 0, 8 + UDP_PAYLOAD);
	f.len = 14 + 40;
	CHECK_PASSED(&f, PFS_XDP_PASS_TRUNCATED);

	f = full, f.len = 14 + 20 + 7; /* UDP header short by one byte */
	CHECK_PASSED(&f, PFS_XDP_PASS_TRUNCATED);

	udp6(&full, PORT);
	f = full, f.len = 14 + 39; /* IPv6 header short by one byte */
	CHECK_PASSED(&f, PFS_XDP_PASS_TRUNCATED);
	f = full, f.len = 14 + 40 + 7;
	CHECK_PASSED(&f, PFS_XDP_PASS_TRUNCATED);

	f = full, f.len = 14 + 40 + 8; /* a UDP header and nothing after it is whole */
	CHECK_REDIRECT_PATH(&f);
}

PFS_TEST(port_zero_matches_nothing)
{
	struct pfs_xdp *skel = pfs_xdp__open();
	struct frame f;
	int err;

	CHECK(skel != NULL);
	/* pfs_port left at its default, 0: not even UDP to port 0 is taken. */
	err = pfs_xdp__load(skel);
	if (err == -EPERM || err == -EACCES) {
		printf("skip: loading the XDP program needs CAP_BPF (run as root)\n");
		pfs_xdp__destroy(skel);
		exit(PFS_TEST_SKIP);
	}
	CHECK_EQ(err, 0);
	udp4(&f, 0);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.b, .data_size_in = (uint32_t)f.len,
		    .repeat = 1);
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pfs_xdp_steer), &opts);
	uint64_t counts[PFS_XDP_REASON_MAX];
	int rc = read_counts(skel, counts);
	pfs_xdp__destroy(skel);
	CHECK_EQ(err, 0);
	CHECK_EQ(opts.retval, XDP_PASS);
	CHECK_EQ(rc, 0);
	CHECK_EQ(counts[PFS_XDP_PASS_OTHER_PORT], 1);
}

PFS_TEST(every_frame_is_counted_once_per_run)
{
	struct pfs_xdp *skel = load();
	uint64_t counts[PFS_XDP_REASON_MAX];
	struct frame f;
	int err;

	CHECK(skel != NULL);
	udp6(&f, PORT);
	/* repeat = 1000: the counter is per frame processed, not per test run. */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.b, .data_size_in = (uint32_t)f.len,
		    .repeat = 1000);
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pfs_xdp_steer), &opts);
	int rc = read_counts(skel, counts);
	pfs_xdp__destroy(skel);
	CHECK_EQ(err, 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(counts[PFS_XDP_PASS_NO_XSK], 1000);
	CHECK_EQ(counts[PFS_XDP_REDIRECTED], 0);
}

/* An AF_XDP socket bound (copy mode) to queue 0 of lo: the least that
 * xsks_map accepts. Its rings are never mapped: test runs do not deliver
 * redirected frames. Returns the socket, or a negative errno. */
static int bind_xsk_on_lo(void **umem, size_t umem_len)
{
	struct xdp_umem_reg reg = { .len = umem_len, .chunk_size = 4096 };
	struct sockaddr_xdp sxdp = { .sxdp_family = AF_XDP, .sxdp_flags = XDP_COPY };
	int ring = 64, fd, err;

	*umem = mmap(NULL, umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*umem == MAP_FAILED)
		return -errno;
	reg.addr = (uint64_t)(uintptr_t)*umem;
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0) {
		err = -errno;
		goto err_unmap;
	}
	sxdp.sxdp_ifindex = if_nametoindex("lo");
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &ring, sizeof(ring)) ||
	    bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp))) {
		err = -errno;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
err_unmap:
	munmap(*umem, umem_len);
	return err;
}

PFS_TEST(a_socket_on_the_queue_gets_the_redirect)
{
	const size_t umem_len = 64 * 4096;
	struct pfs_xdp *skel = load();
	uint64_t counts[PFS_XDP_REASON_MAX];
	uint32_t queue = 0;
	struct frame f;
	void *umem;
	int xsk, err, rc;

	CHECK(skel != NULL);
	xsk = bind_xsk_on_lo(&umem, umem_len);
	if (xsk < 0) {
		fprintf(stderr, "AF_XDP socket on lo queue 0: %s\n", strerror(-xsk));
		pfs_xdp__destroy(skel);
		CHECK(xsk >= 0);
	}
	err = bpf_map_update_elem(bpf_map__fd(skel->maps.xsks_map), &queue, &xsk, BPF_ANY);
	CHECK_EQ(err, 0);

	/* The frame "arrived" on lo, queue 0, where the socket is. */
	udp4(&f, PORT);
	struct xdp_md md = { .data_end = (uint32_t)f.len,
			     .ingress_ifindex = if_nametoindex("lo"),
			     .rx_queue_index = 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.b, .data_size_in = (uint32_t)f.len,
		    .ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = 1);
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.pfs_xdp_steer), &opts);
	err = err ? -errno : 0;
	uint32_t action = opts.retval;
	rc = read_counts(skel, counts);

	pfs_xdp__destroy(skel);
	close(xsk);
	munmap(umem, umem_len);
	CHECK_EQ(err, 0);
	CHECK_EQ(action, XDP_REDIRECT);
	CHECK_EQ(rc, 0);
	CHECK_EQ(counts[PFS_XDP_REDIRECTED], 1);
	CHECK_EQ(counts[PFS_XDP_PASS_NO_XSK], 0);
}

PFS_TEST_MAIN()
