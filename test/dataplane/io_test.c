/* SPDX-License-Identifier: Apache-2.0 */
/* The in-process backend pair and the seeded fault injector. */
#include <poll.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "io.h"

#define FRAMES 256u
#define FSIZE 2048u

/* Sends one frame whose payload is its sequence number. */
static int send_seq(struct pfs_io *io, uint32_t seq, uint32_t len, uint64_t now)
{
	struct pfs_iobuf f;

	if (pfs_io_alloc(io, &f, 1) != 1)
		return 0;
	memset(f.data, (int)(seq & 0xff), len);
	memcpy(f.data, &seq, sizeof(seq));
	f.len = len;
	return pfs_io_tx(io, &f, 1, now);
}

/* Receives everything due by now into seqs (up to max); releases the frames. */
static int drain(struct pfs_io *io, uint32_t *seqs, int max, uint64_t now)
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int total = 0, n;

	while ((n = pfs_io_rx(io, f, PFS_IO_BURST_MAX, now)) > 0) {
		for (int i = 0; i < n; i++)
			if (total < max)
				memcpy(&seqs[total++], f[i].data, sizeof(uint32_t));
		pfs_io_release(io, f, n);
	}
	return total;
}

/* Every buffer of the pair is free again: all 2 * FRAMES can be allocated. */
static int pool_is_whole(struct pfs_io *io)
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int got = 0, n;
	struct pfs_iobuf all[2 * FRAMES];

	while ((n = pfs_io_alloc(io, f, PFS_IO_BURST_MAX)) > 0) {
		memcpy(all + got, f, (size_t)n * sizeof(*f));
		got += n;
	}
	pfs_io_release(io, all, got);
	return got == (int)(2 * FRAMES);
}

PFS_TEST(mem_pair_delivers_frames_in_order_with_the_senders_address)
{
	struct pfs_io *a, *b;
	struct pfs_iobuf f[4];

	CHECK_EQ(pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 0), 0);
	for (uint32_t i = 0; i < 4; i++)
		CHECK_EQ(send_seq(a, i, 100 + i, 0), 1);
	CHECK_EQ(pfs_io_rx(b, f, 4, 0), 4);
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t seq;
		memcpy(&seq, f[i].data, 4);
		CHECK_EQ(seq, i);
		CHECK_EQ(f[i].len, 100 + i);
		CHECK_EQ(f[i].peer.port, 7000);
		CHECK_EQ(f[i].peer.ip[3], 1);
	}
	pfs_io_release(b, f, 4);
	CHECK_EQ(pfs_io_rx(a, f, 4, 0), 0); /* nothing came back */
	CHECK_EQ(a->stats.tx_frames, 4);
	CHECK_EQ(b->stats.rx_frames, 4);
	CHECK(pool_is_whole(a));
	pfs_io_close(a);
	pfs_io_close(b);
}

PFS_TEST(mem_pair_holds_frames_until_the_link_delay_has_passed)
{
	struct pfs_io *a, *b;
	uint32_t seqs[4];

	CHECK_EQ(pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 5000), 0);
	CHECK_EQ(send_seq(a, 1, 64, 1000), 1);
	CHECK_EQ(drain(b, seqs, 4, 5999), 0);
	CHECK_EQ(drain(b, seqs, 4, 6000), 1);
	pfs_io_close(b);
	pfs_io_close(a);
}

PFS_TEST(mem_pair_drops_and_counts_when_the_receive_queue_is_full)
{
	struct pfs_io *a, *b;
	uint32_t seqs[2 * FRAMES];

	CHECK_EQ(pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 0), 0);
	for (uint32_t i = 0; i < FRAMES + 10; i++)
		send_seq(a, i, 64, 0);
	CHECK_EQ(a->stats.tx_dropped, 10);
	CHECK_EQ(drain(b, seqs, 2 * FRAMES, 0), FRAMES);
	CHECK(pool_is_whole(a));
	/* allocation beyond the pool fails and is counted */
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	int got = 0, n;
	static struct pfs_iobuf all[2 * FRAMES];
	while ((n = pfs_io_alloc(a, f, PFS_IO_BURST_MAX)) > 0) {
		memcpy(all + got, f, (size_t)n * sizeof(*f));
		got += n;
	}
	CHECK_EQ(got, 2 * FRAMES);
	CHECK(a->stats.alloc_failed > 0);
	pfs_io_release(a, all, got);
	pfs_io_close(a);
	pfs_io_close(b);
	CHECK_EQ(pfs_io_mem_pair(&a, &b, 0, FSIZE, 0), PFS_ERR_INVALID_ARG);
}

/* Sends count frames a -> b through a fault wrapper on b, returns what arrived. */
static int through(const struct pfs_fault_config *cfg, uint32_t count, uint32_t *seqs,
		   struct pfs_fault_stats *st)
{
	struct pfs_io *a, *b, *fb;
	int got = 0;

	if (pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 0) || pfs_io_fault_wrap(&fb, b, cfg))
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t now = (uint64_t)i * 1000;
		send_seq(a, i, 64, now);
		got += drain(fb, seqs + got, (int)(3 * count) - got, now);
	}
	got += drain(fb, seqs + got, (int)(3 * count) - got, UINT64_MAX / 2);
	*st = *pfs_io_fault_stats(fb);
	pfs_io_close(fb); /* releases what it still holds, closes b */
	if (!pool_is_whole(a))
		got = -2;
	pfs_io_close(a);
	return got;
}

static uint32_t seqs[3 * 100000];

PFS_TEST(fault_free_wrapper_passes_everything_in_order)
{
	struct pfs_fault_config cfg = { .seed = 1 };
	struct pfs_fault_stats st;

	CHECK_EQ(through(&cfg, 1000, seqs, &st), 1000);
	for (uint32_t i = 0; i < 1000; i++)
		CHECK_EQ(seqs[i], i);
	CHECK_EQ(st.seen, 1000);

	/* a burst sent at one instant keeps its order too */
	struct pfs_io *a, *b, *fb;
	CHECK_EQ(pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 0), 0);
	CHECK_EQ(pfs_io_fault_wrap(&fb, b, &cfg), 0);
	for (uint32_t i = 0; i < 50; i++)
		CHECK_EQ(send_seq(a, i, 64, 0), 1);
	CHECK_EQ(drain(fb, seqs, 50, 0), 50);
	for (uint32_t i = 0; i < 50; i++)
		CHECK_EQ(seqs[i], i);
	pfs_io_close(fb);
	pfs_io_close(a);
}

PFS_TEST(random_loss_drops_the_configured_fraction)
{
	struct pfs_fault_config cfg = { .seed = 2, .loss_ppm = 100000 };
	struct pfs_fault_stats st;
	int got = through(&cfg, 100000, seqs, &st);

	CHECK(got > 88000 && got < 92000);
	CHECK_EQ((uint64_t)got + st.lost, 100000);
}

PFS_TEST(burst_loss_loses_runs_of_frames)
{
	/* enter 1 %, leave 20 %: bursts of about 5 frames */
	struct pfs_fault_config cfg = { .seed = 3, .burst_enter_ppm = 10000, .burst_exit_ppm = 200000 };
	struct pfs_fault_stats st;
	int got = through(&cfg, 100000, seqs, &st), bursts = 0;

	CHECK(got > 0);
	for (int i = 1; i < got; i++)
		bursts += seqs[i] != seqs[i - 1] + 1;
	CHECK(bursts > 0);
	double mean = (double)st.burst_lost / bursts;
	CHECK(mean > 3.5 && mean < 6.5);
}

PFS_TEST(blackout_loses_exactly_the_frames_inside_it)
{
	/* frames are sent at i * 1000 ns: 100..199 fall in the blackout */
	struct pfs_fault_config cfg = { .seed = 4, .blackout_start_ns = 100000,
					.blackout_end_ns = 200000 };
	struct pfs_fault_stats st;
	int got = through(&cfg, 1000, seqs, &st);

	CHECK_EQ(got, 900);
	CHECK_EQ(st.blackout_lost, 100);
	for (int i = 0; i < got; i++)
		CHECK(seqs[i] < 100 || seqs[i] >= 200);
}

PFS_TEST(duplication_and_reordering_deliver_every_frame_with_copies_out_of_order)
{
	struct pfs_fault_config cfg = { .seed = 5, .duplicate_ppm = 50000, .reorder_ppm = 50000,
					.reorder_depth = 3 };
	struct pfs_fault_stats st;
	static uint8_t count[10000];
	int got = through(&cfg, 10000, seqs, &st), inversions = 0;

	memset(count, 0, sizeof(count));
	CHECK_EQ((uint64_t)got, 10000 + st.duplicated);
	for (int i = 0; i < got; i++) {
		CHECK(seqs[i] < 10000);
		count[seqs[i]]++;
		inversions += i > 0 && seqs[i] < seqs[i - 1];
	}
	for (int i = 0; i < 10000; i++)
		CHECK(count[i] >= 1 && count[i] <= 2);
	CHECK(st.duplicated > 300 && st.reordered > 300 && inversions > 300);
}

PFS_TEST(corruption_flips_exactly_one_bit)
{
	struct pfs_io *a, *b, *fb;
	struct pfs_fault_config cfg = { .seed = 6, .corrupt_ppm = 1000000 };
	struct pfs_iobuf f;
	uint8_t sent[256];

	CHECK_EQ(pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 0), 0);
	CHECK_EQ(pfs_io_fault_wrap(&fb, b, &cfg), 0);
	for (int round = 0; round < 100; round++) {
		CHECK_EQ(pfs_io_alloc(a, &f, 1), 1);
		for (int i = 0; i < 256; i++)
			sent[i] = f.data[i] = (uint8_t)(i * 31 + round);
		f.len = 256;
		CHECK_EQ(pfs_io_tx(a, &f, 1, 0), 1);
		CHECK_EQ(pfs_io_rx(fb, &f, 1, 0), 1);
		int bits = 0;
		for (int i = 0; i < 256; i++)
			bits += __builtin_popcount(sent[i] ^ f.data[i]);
		CHECK_EQ(bits, 1);
		pfs_io_release(fb, &f, 1);
	}
	CHECK_EQ(pfs_io_fault_stats(fb)->corrupted, 100);
	CHECK(pfs_io_fault_stats(a) == NULL);
	pfs_io_close(fb);
	pfs_io_close(a);
}

PFS_TEST(delay_and_jitter_hold_frames_back_and_the_seed_fixes_the_outcome)
{
	struct pfs_fault_config cfg = { .seed = 7, .loss_ppm = 20000, .delay_ns = 50000,
					.jitter_ns = 20000, .reorder_ppm = 10000, .reorder_depth = 2 };
	struct pfs_fault_stats st1, st2;
	static uint32_t first[3 * 5000];
	int n1 = through(&cfg, 5000, first, &st1), n2 = through(&cfg, 5000, seqs, &st2);

	CHECK(n1 > 4700);
	CHECK_EQ(n1, n2);
	CHECK(memcmp(first, seqs, (size_t)n1 * sizeof(uint32_t)) == 0);
	cfg.seed = 8;
	int n3 = through(&cfg, 5000, seqs, &st2);
	CHECK(n3 != n1 || memcmp(first, seqs, (size_t)n1 * sizeof(uint32_t)) != 0);
	/* jitter wider than the send interval reorders some frames */
	int inversions = 0;
	for (int i = 1; i < n1; i++)
		inversions += first[i] < first[i - 1];
	CHECK(inversions > 0);
}

PFS_TEST(invalid_fault_configs_are_refused)
{
	struct pfs_io *a, *b, *fb;
	struct pfs_fault_config cfg = { .loss_ppm = 1000001 };

	CHECK_EQ(pfs_io_mem_pair(&a, &b, FRAMES, FSIZE, 0), 0);
	CHECK_EQ(pfs_io_fault_wrap(&fb, b, &cfg), PFS_ERR_INVALID_ARG);
	cfg = (struct pfs_fault_config){ .burst_enter_ppm = 10 }; /* would never leave */
	CHECK_EQ(pfs_io_fault_wrap(&fb, b, &cfg), PFS_ERR_INVALID_ARG);
	pfs_io_close(a);
	pfs_io_close(b);
}

static int open_udp(struct pfs_io **io, uint8_t family)
{
	struct pfs_udp_config cfg = { .bind = { .family = family }, .frames = FRAMES,
				      .frame_size = FSIZE };
	char err[200];

	if (family == 4)
		cfg.bind.ip[0] = 127, cfg.bind.ip[3] = 1;
	else
		cfg.bind.ip[15] = 1; /* ::1 */
	return pfs_io_udp_open(io, &cfg, err, sizeof(err));
}

/* Receives until count frames arrived or 2 s passed; returns how many. */
static int udp_collect(struct pfs_io *io, uint32_t *out, int count, struct pfs_addr *from)
{
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	struct pollfd p = { .fd = pfs_io_udp_fd(io), .events = POLLIN };
	int got = 0;

	for (int polls = 0; got < count && polls < 200; polls++) {
		int n = pfs_io_rx(io, f, PFS_IO_BURST_MAX, 0);
		for (int i = 0; i < n; i++) {
			memcpy(&out[got++], f[i].data, 4);
			*from = f[i].peer;
		}
		pfs_io_release(io, f, n);
		if (n == 0)
			poll(&p, 1, 10);
	}
	return got;
}

static void udp_round_trip(uint8_t family, int *ok)
{
	struct pfs_io *a, *b;
	struct pfs_addr la, lb, from;
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	uint32_t got[PFS_IO_BURST_MAX];

	*ok = 0;
	if (open_udp(&a, family) || open_udp(&b, family))
		return;
	pfs_io_udp_local(a, &la);
	pfs_io_udp_local(b, &lb);
	int n = pfs_io_alloc(a, f, PFS_IO_BURST_MAX);
	for (int i = 0; i < n; i++) {
		uint32_t seq = (uint32_t)i;
		memcpy(f[i].data, &seq, 4);
		f[i].len = 1200;
		f[i].peer = lb;
	}
	if (pfs_io_tx(a, f, n, 0) != PFS_IO_BURST_MAX)
		goto out;
	if (udp_collect(b, got, PFS_IO_BURST_MAX, &from) != PFS_IO_BURST_MAX)
		goto out;
	for (int i = 0; i < PFS_IO_BURST_MAX; i++)
		if (got[i] != (uint32_t)i) /* one socket pair on loopback keeps order */
			goto out;
	if (from.port != la.port || from.family != family)
		goto out;
	*ok = b->stats.rx_frames == PFS_IO_BURST_MAX && a->stats.tx_bytes == 1200u * PFS_IO_BURST_MAX;
out:
	pfs_io_close(a);
	pfs_io_close(b);
}

PFS_TEST(udp_backend_moves_a_burst_over_ipv4_loopback)
{
	int ok;
	udp_round_trip(4, &ok);
	CHECK(ok);
}

PFS_TEST(udp_backend_moves_a_burst_over_ipv6_loopback)
{
	struct pfs_io *probe;
	int ok;

	if (open_udp(&probe, 6) != 0) {
		printf("note: no IPv6 loopback here; skipped\n");
		return;
	}
	pfs_io_close(probe);
	udp_round_trip(6, &ok);
	CHECK(ok);
}

/* Frames of mixed sizes to two receivers, in one burst: GSO must only join
 * runs of one size to one peer, and GRO must cut them back exactly. */
static int mixed_burst(int no_offload)
{
	struct pfs_udp_config cfg = { .bind = { .family = 4, .ip = { 127, 0, 0, 1 } },
				      .frames = FRAMES, .frame_size = FSIZE,
				      .no_offload = no_offload };
	struct pfs_io *a, *b, *c;
	struct pfs_addr lb, lc, from;
	struct pfs_iobuf f[PFS_IO_BURST_MAX];
	static const uint32_t sizes[] = { 1000, 1000, 1000, 700, 1000, 1000, 64, 1400 };
	uint32_t got_b[PFS_IO_BURST_MAX], got_c[PFS_IO_BURST_MAX];
	char err[200];
	int ok = 0, nb = 0, nc = 0;

	if (pfs_io_udp_open(&a, &cfg, err, sizeof(err)) || pfs_io_udp_open(&b, &cfg, err, sizeof(err)) ||
	    pfs_io_udp_open(&c, &cfg, err, sizeof(err)))
		return 0;
	pfs_io_udp_local(b, &lb);
	pfs_io_udp_local(c, &lc);
	int n = pfs_io_alloc(a, f, 48);
	for (int i = 0; i < n; i++) {
		uint32_t seq = (uint32_t)i;
		f[i].len = sizes[i % 8];
		memset(f[i].data, 0xee, f[i].len);
		memcpy(f[i].data, &seq, 4);
		f[i].peer = (i / 16) % 2 ? lc : lb; /* 16 to b, 16 to c, 16 to b */
	}
	if (pfs_io_tx(a, f, n, 0) != 48)
		goto out;
	nb = udp_collect(b, got_b, 32, &from);
	nc = udp_collect(c, got_c, 16, &from);
	ok = nb == 32 && nc == 16;
	for (int i = 0; ok && i < 32; i++)
		ok = got_b[i] == (uint32_t)(i < 16 ? i : i + 16);
	for (int i = 0; ok && i < 16; i++)
		ok = got_c[i] == (uint32_t)(16 + i);
out:
	pfs_io_close(a);
	pfs_io_close(b);
	pfs_io_close(c);
	return ok;
}

PFS_TEST(udp_offloads_keep_every_datagram_whole_and_in_order_with_mixed_sizes_and_peers)
{
	struct pfs_io *a;
	int gso, gro;

	CHECK_EQ(open_udp(&a, 4), 0);
	CHECK_EQ(pfs_io_udp_offloads(a, &gso, &gro), 0);
	printf("udp offloads here: gso %d, gro %d\n", gso, gro);
	pfs_io_close(a);
	CHECK(mixed_burst(0));
	CHECK(mixed_burst(1));
}

PFS_TEST(udp_backend_reports_bind_errors_with_the_address)
{
	struct pfs_io *a, *b;
	struct pfs_addr la;
	char err[200] = "";

	CHECK_EQ(open_udp(&a, 4), 0);
	pfs_io_udp_local(a, &la);
	struct pfs_udp_config cfg = { .bind = la, .frames = 8, .frame_size = 2048 };
	CHECK(pfs_io_udp_open(&b, &cfg, err, sizeof(err)) < 0);
	CHECK(strstr(err, "127.0.0.1:") != NULL);
	CHECK(strstr(err, "in use") != NULL);
	cfg.frames = 0;
	CHECK_EQ(pfs_io_udp_open(&b, &cfg, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_io_udp_fd(a) >= 0, 1);
	struct pfs_io *m1, *m2;
	CHECK_EQ(pfs_io_mem_pair(&m1, &m2, 8, 256, 0), 0);
	CHECK_EQ(pfs_io_udp_fd(m1), -1);
	pfs_io_close(m1);
	pfs_io_close(m2);
	pfs_io_close(a);
}

PFS_TEST_MAIN()
