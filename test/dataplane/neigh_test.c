/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Next-hop resolution against the real kernel, in network namespaces of the
 * test's own (names unique to the process, removed at the end and at exit):
 *
 *   namespace A (the test process)            namespace B
 *   pfsa0 198.18.0.1/24 2001:2::1/64  ---veth---  pfsb0 198.18.0.2/24 2001:2::2/64
 *   pfsa1 198.18.1.1/24 (some tests)  ---veth---  pfsb1 198.18.1.2/24
 *
 * Addresses come only from the benchmarking ranges 198.18.0.0/15 and
 * 2001:2::/48. The test process enters A (setns), so rtnetlink and the
 * resolution datagram happen there; B answers ARP and neighbour solicitation.
 * Without root or without `ip`, each case prints "skip: ..." and exits 77
 * (SKIP_RETURN_CODE of the neigh.* tests).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "harness.h"
#include "netns_util.h"
#include "neigh.h"

#define POLL_STEP_US 10000 /* between two resolve calls */
#define WAIT_MS 3000	   /* the most a resolution may take here */

static struct topo {
	char a[32], b[32];   /* namespace names; "" when not made */
	int orig_ns;	     /* the namespace the test started in, -1 when not left */
	int ifa0, ifa1;	     /* pfsa0, pfsa1 in A */
	uint8_t mac_b0[6];   /* pfsb0's MAC, read in B */
	uint8_t mac_b1[6];   /* pfsb1's */
	struct pfs_neigh *n; /* opened in A */
} topo = { .orig_ns = -1 };

static int topo_seq;

static void topo_down(void)
{
	pfs_neigh_close(topo.n);
	topo.n = NULL;
	if (topo.orig_ns >= 0) {
		if (setns(topo.orig_ns, CLONE_NEWNET) < 0)
			perror("setns back to the original namespace");
		close(topo.orig_ns);
		topo.orig_ns = -1;
	}
	/* Deleting a namespace deletes the veth ends in it, and so their peers. */
	if (topo.a[0])
		run("ip netns del %s", topo.a);
	if (topo.b[0])
		run("ip netns del %s", topo.b);
	topo.a[0] = topo.b[0] = '\0';
}

static int read_mac(const char *ns, const char *ifname, uint8_t mac[6])
{
	char cmd[160], line[64];
	FILE *p;
	int got = 0;

	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /sys/class/net/%s/address", ns, ifname);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fgets(line, sizeof(line), p))
		got = sscanf(line, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
			     &mac[3], &mac[4], &mac[5]);
	pclose(p);
	return got == 6 ? 0 : -1;
}

/* Waits (at most 2 s) until ifname in the current namespace is running: a
 * veth has carrier once both ends are up, and IPv6 addresses wait for it. */
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
			usleep(POLL_STEP_US);
	}
	close(fd);
	return ok ? 0 : -1;
}

static int add_link(int i)
{
	const char *a = topo.a, *b = topo.b;

	if (run("ip -n %s link add pfsa%d type veth peer name pfsb%d netns %s", a, i, i, b) ||
	    run("ip -n %s link set pfsa%d up", a, i) || run("ip -n %s link set pfsb%d up", b, i) ||
	    run("ip -n %s addr add 198.18.%d.1/24 dev pfsa%d", a, i, i) ||
	    run("ip -n %s addr add 198.18.%d.2/24 dev pfsb%d", b, i, i))
		return -1;
	if (i == 0 && (run("ip -n %s addr add 2001:2::1/64 dev pfsa0 nodad", a) ||
		       run("ip -n %s addr add 2001:2::2/64 dev pfsb0 nodad", b)))
		return -1;
	return 0;
}

/*
 * Builds the namespaces (the second link when links == 2), enters A and opens
 * the resolver there. Skips (exit 77) without root, `ip` or namespaces;
 * returns 0, or -1 with the case failed. topo_down() undoes any part made.
 */
static int topo_up(int links)
{
	static int registered;
	char path[64], err[256];
	int fd;

	if (geteuid() != 0)
		skip("network namespaces need root");
	if (system("ip -V >/dev/null 2>&1") != 0)
		skip("`ip` (iproute2) not found");
	if (!registered++)
		atexit(topo_down);

	snprintf(topo.a, sizeof(topo.a), "pfsn%da%d", (int)getpid(), topo_seq);
	if (run("ip netns add %s", topo.a)) {
		topo.a[0] = '\0';
		skip("cannot create a network namespace (ip netns add)");
	}
	snprintf(topo.b, sizeof(topo.b), "pfsn%db%d", (int)getpid(), topo_seq++);
	if (run("ip netns add %s", topo.b)) {
		topo.b[0] = '\0';
		skip("cannot create a network namespace (ip netns add)");
	}
	if (run("ip -n %s link set lo up", topo.a) || run("ip -n %s link set lo up", topo.b))
		goto fail;
	if (run("ip -n %s link add pfsprobe type veth peer name pfsprobe1", topo.a))
		skip("cannot create a veth pair (is the veth module available?)");
	run("ip -n %s link del pfsprobe", topo.a);
	for (int i = 0; i < links; i++)
		if (add_link(i) ||
		    read_mac(topo.b, i ? "pfsb1" : "pfsb0", i ? topo.mac_b1 : topo.mac_b0))
			goto fail;

	topo.orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", topo.a);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (topo.orig_ns < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		perror("entering the test namespace");
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	close(fd);
	topo.ifa0 = (int)if_nametoindex("pfsa0");
	topo.ifa1 = links > 1 ? (int)if_nametoindex("pfsa1") : 0;
	if (wait_running("pfsa0") || (links > 1 && wait_running("pfsa1"))) {
		fprintf(stderr, "veth link did not come up within 2 s\n");
		goto fail;
	}
	if (pfs_neigh_open(&topo.n, err, sizeof(err))) {
		fprintf(stderr, "pfs_neigh_open: %s\n", err);
		goto fail;
	}
	return 0;
fail:
	pfs_test_failed = 1;
	return -1;
}

static struct pfs_addr addr(const char *text)
{
	struct pfs_addr a = { 0 };

	if (inet_pton(AF_INET, text, a.ip) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, text, a.ip) == 1)
		a.family = 6;
	return a;
}

/* Asks until the answer is something else than -EAGAIN, WAIT_MS at most. */
static int resolve_wait(const char *dst, int want_ifindex, struct pfs_neigh_hop *hop, char *err,
			size_t errlen)
{
	struct pfs_addr d = addr(dst);
	uint64_t end = now_ns() + WAIT_MS * 1000000ull;
	int rc;

	while ((rc = pfs_neigh_resolve(topo.n, &d, want_ifindex, now_ns(), hop, err, errlen)) ==
		       -EAGAIN &&
	       now_ns() < end)
		usleep(POLL_STEP_US);
	return rc;
}

static int same_ip(const uint8_t *ip, const char *text)
{
	struct pfs_addr a = addr(text);

	return a.family && !memcmp(ip, a.ip, a.family == 6 ? 16 : 4);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -1;
	rc = fputs(text, f) < 0;
	rc |= fclose(f) != 0;
	return rc ? -1 : 0;
}

/* --- cases ------------------------------------------------------------------- */

static void on_link_ipv4(void)
{
	struct pfs_addr d = addr("198.18.0.2");
	struct pfs_neigh_hop hop;
	char err[256] = "";
	int rc;

	rc = pfs_neigh_resolve(topo.n, &d, topo.ifa0, now_ns(), &hop, err, sizeof(err));
	CHECK(rc == -EAGAIN || rc == 0);
	rc = resolve_wait("198.18.0.2", topo.ifa0, &hop, err, sizeof(err));
	if (rc)
		fprintf(stderr, "resolve: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	CHECK(memcmp(hop.mac, topo.mac_b0, 6) == 0);
	CHECK_EQ(hop.ifindex, topo.ifa0);
	CHECK(hop.via.family == 4 && same_ip(hop.via.ip, "198.18.0.2") && hop.via.port == 0);
	CHECK(hop.has_src && same_ip(hop.src_ip, "198.18.0.1"));
}

PFS_TEST(on_link_peer_is_resolved_to_its_mac_after_the_kernel_resolves_it)
{
	if (topo_up(1) == 0)
		on_link_ipv4();
	topo_down();
}

static void on_link_ipv6(void)
{
	struct pfs_neigh_hop hop;
	char err[256] = "";
	int rc = resolve_wait("2001:2::2", topo.ifa0, &hop, err, sizeof(err));

	if (rc)
		fprintf(stderr, "resolve: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	CHECK(memcmp(hop.mac, topo.mac_b0, 6) == 0);
	CHECK_EQ(hop.ifindex, topo.ifa0);
	CHECK(hop.via.family == 6 && same_ip(hop.via.ip, "2001:2::2"));
	CHECK(hop.has_src && same_ip(hop.src_ip, "2001:2::1"));
}

PFS_TEST(ipv6_on_link_peer_is_resolved)
{
	if (topo_up(1) == 0)
		on_link_ipv6();
	topo_down();
}

static void via_gateway(void)
{
	struct pfs_neigh_hop hop;
	char err[256] = "";
	int rc;

	CHECK_EQ(run("ip -n %s route add 198.19.0.0/24 via 198.18.0.2", topo.a), 0);
	rc = resolve_wait("198.19.0.5", 0, &hop, err, sizeof(err));
	if (rc)
		fprintf(stderr, "resolve: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	CHECK(memcmp(hop.mac, topo.mac_b0, 6) == 0);
	CHECK_EQ(hop.ifindex, topo.ifa0);
	CHECK(hop.via.family == 4 && same_ip(hop.via.ip, "198.18.0.2"));
}

PFS_TEST(gateway_route_resolves_to_the_gateway_mac)
{
	if (topo_up(1) == 0)
		via_gateway();
	topo_down();
}

static void no_route(void)
{
	struct pfs_neigh_hop hop;
	char err[256] = "";

	CHECK_EQ(resolve_wait("198.19.9.9", 0, &hop, err, sizeof(err)), -ENETUNREACH);
	printf("  %s\n", err);
	CHECK(strstr(err, "198.19.9.9") && strstr(err, "no route"));
	CHECK_EQ(resolve_wait("2001:2:0:9::9", 0, &hop, err, sizeof(err)), -ENETUNREACH);
	CHECK(strstr(err, "2001:2:0:9::9") && strstr(err, "no route"));
}

PFS_TEST(no_route_is_a_clear_error)
{
	if (topo_up(1) == 0)
		no_route();
	topo_down();
}

static void reject_routes(void)
{
	static const char *const kinds[] = { "blackhole", "unreachable", "prohibit" };
	struct pfs_neigh_hop hop;
	char dst[64], err[256] = "";

	for (int i = 0; i < 3; i++) {
		CHECK_EQ(run("ip -n %s route add %s 198.19.%d.0/24", topo.a, kinds[i], i + 1), 0);
		CHECK_EQ(run("ip -n %s -6 route add %s 2001:2:0:%d::/64", topo.a, kinds[i], i + 1),
			 0);
		snprintf(dst, sizeof(dst), "198.19.%d.1", i + 1);
		CHECK_EQ(resolve_wait(dst, 0, &hop, err, sizeof(err)), -ENETUNREACH);
		printf("  %s\n", err);
		CHECK(strstr(err, dst) && strstr(err, kinds[i]));
		snprintf(dst, sizeof(dst), "2001:2:0:%d::1", i + 1);
		CHECK_EQ(resolve_wait(dst, 0, &hop, err, sizeof(err)), -ENETUNREACH);
		CHECK(strstr(err, dst) && strstr(err, kinds[i]));
	}
}

PFS_TEST(blackhole_unreachable_and_prohibit_routes_are_clear_errors)
{
	if (topo_up(1) == 0)
		reject_routes();
	topo_down();
}

/* Nobody has 198.18.0.77: with the kernel's ARP retransmit time cut to
 * 100 ms its entry turns FAILED within about 0.3 s, and must be reported so;
 * never may a MAC come back. */
static void unanswered(void)
{
	struct pfs_addr d = addr("198.18.0.77");
	struct pfs_neigh_hop hop;
	uint64_t end = now_ns() + WAIT_MS * 1000000ull;
	char err[256] = "";
	int rc, failed = 0, pending = 0;

	/* Net sysctls are those of the opener's namespace: A's. */
	CHECK_EQ(write_file("/proc/sys/net/ipv4/neigh/pfsa0/retrans_time_ms", "100"), 0);
	while (now_ns() < end && !failed) {
		rc = pfs_neigh_resolve(topo.n, &d, topo.ifa0, now_ns(), &hop, err, sizeof(err));
		CHECK(rc == -EAGAIN || rc == -EHOSTUNREACH);
		CHECK(strstr(err, "198.18.0.77"));
		pending += rc == -EAGAIN;
		failed += rc == -EHOSTUNREACH;
		usleep(POLL_STEP_US);
	}
	printf("  %s\n", err);
	CHECK(pending > 0);
	CHECK(failed > 0);
	/* Once FAILED, asking again starts resolution over: pending again. */
	usleep(150000);
	rc = pfs_neigh_resolve(topo.n, &d, topo.ifa0, now_ns(), &hop, err, sizeof(err));
	CHECK(rc == -EHOSTUNREACH || rc == -EAGAIN);
	usleep(POLL_STEP_US);
	rc = pfs_neigh_resolve(topo.n, &d, topo.ifa0, now_ns(), &hop, err, sizeof(err));
	CHECK_EQ(rc, -EAGAIN);
}

PFS_TEST(unanswered_neighbour_is_reported_unreachable_or_pending_never_a_wrong_mac)
{
	if (topo_up(1) == 0)
		unanswered();
	topo_down();
}

static void other_interface(void)
{
	struct pfs_neigh_hop hop;
	char err[256] = "";
	int rc;

	CHECK(topo.ifa0 > 0 && topo.ifa1 > 0);
	CHECK_EQ(resolve_wait("198.18.1.2", topo.ifa0, &hop, err, sizeof(err)), -ENETUNREACH);
	printf("  %s\n", err);
	CHECK(strstr(err, "198.18.1.2") && strstr(err, "pfsa0") && strstr(err, "pfsa1"));
	/* The same destination on the interface its route leaves by is fine. */
	rc = resolve_wait("198.18.1.2", topo.ifa1, &hop, err, sizeof(err));
	if (rc)
		fprintf(stderr, "resolve: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	CHECK_EQ(hop.ifindex, topo.ifa1);
	CHECK(memcmp(hop.mac, topo.mac_b1, 6) == 0);
}

PFS_TEST(route_via_another_interface_is_refused_when_an_interface_is_required)
{
	if (topo_up(2) == 0)
		other_interface();
	topo_down();
}

static void local_address(void)
{
	struct pfs_neigh_hop hop;
	char err[256] = "";

	CHECK_EQ(resolve_wait("198.18.0.1", topo.ifa0, &hop, err, sizeof(err)), -ENETUNREACH);
	printf("  %s\n", err);
	CHECK(strstr(err, "198.18.0.1") && strstr(err, "address of this host"));
	CHECK_EQ(resolve_wait("2001:2::1", 0, &hop, err, sizeof(err)), -ENETUNREACH);
	CHECK(strstr(err, "2001:2::1") && strstr(err, "address of this host"));
}

PFS_TEST(local_address_is_refused)
{
	if (topo_up(1) == 0)
		local_address();
	topo_down();
}

/* No namespace needed: refused before the kernel is asked. */
PFS_TEST(link_local_destination_without_an_interface_is_refused)
{
	struct pfs_addr d = addr("fe80::1"), bad = { .family = 5 };
	struct pfs_neigh_hop hop;
	struct pfs_neigh *n;
	char err[256] = "";

	CHECK_EQ(pfs_neigh_open(&n, err, sizeof(err)), 0);
	CHECK_EQ(pfs_neigh_resolve(n, &d, 0, now_ns(), &hop, err, sizeof(err)),
		 PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "fe80::1") && strstr(err, "link-local"));
	CHECK_EQ(pfs_neigh_resolve(n, &bad, 0, now_ns(), &hop, err, sizeof(err)),
		 PFS_ERR_INVALID_ARG);
	pfs_neigh_close(n);
}

PFS_TEST_MAIN()
