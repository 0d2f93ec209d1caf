/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The link emulator's model (dataplane/linkem.h), sans-IO: frames offered at
 * chosen times, verdicts checked against the configuration. Statistical
 * checks use fixed seeds and bounds at about four standard deviations, so
 * they are deterministic and would still hold for most other seeds.
 */
#include <math.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "linkem.h"

#define US 1000ull
#define MS 1000000ull

static struct pfs_linkem m;

static int init(const struct pfs_linkem_config *c)
{
	return pfs_linkem_init(&m, c);
}

/* n = draws, p = probability: true when k lies within 4.5 sigma of n * p */
static int near_binomial(uint64_t k, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1 - p));
	return fabs((double)k - mean) <= 4.5 * sd + 1;
}

PFS_TEST(rate_spaces_back_to_back_frames_exactly_by_their_serialization_time)
{
	struct pfs_linkem_verdict v;
	/* 1 Gbit/s: a 1500-byte frame takes exactly 12 us */
	struct pfs_linkem_config c = { .rate_bps = 1000000000, .queue_bytes = 1 << 30 };

	CHECK_EQ(init(&c), 0);
	for (uint64_t i = 0; i < 1000; i++) {
		CHECK_EQ(pfs_linkem_offer(&m, 5 * MS, 1500, &v), PFS_LINKEM_DELIVER);
		CHECK_EQ(v.deliver_at_ns, 5 * MS + (i + 1) * 12 * US);
	}
	/* a rate that does not divide a frame's bits: n frames still end
	 * where one frame of n times the length would, to the nanosecond */
	c = (struct pfs_linkem_config){ .rate_bps = 333333333, .queue_bytes = 1 << 30 };
	CHECK_EQ(init(&c), 0);
	for (int i = 0; i < 100000; i++)
		CHECK_EQ(pfs_linkem_offer(&m, 0, 1000, &v), PFS_LINKEM_DELIVER);
	CHECK_EQ(v.deliver_at_ns,
		 (uint64_t)((unsigned __int128)100000 * 1000 * 8 * 1000000000ull / 333333333));
	/* an idle link starts over at the arrival time */
	CHECK_EQ(pfs_linkem_offer(&m, 10000 * MS, 1000, &v), PFS_LINKEM_DELIVER);
	CHECK_EQ(v.deliver_at_ns, 10000 * MS + 24000);
}

PFS_TEST(delay_and_jitter_stay_within_their_bounds_and_jitter_spreads)
{
	struct pfs_linkem_verdict v;
	struct pfs_linkem_config c = { .delay_ns = 10 * MS, .jitter_ns = 1 * MS, .seed = 7 };
	uint64_t lo = UINT64_MAX, hi = 0;
	int overtakes = 0;
	uint64_t prev = 0;

	CHECK_EQ(init(&c), 0);
	for (uint64_t i = 0; i < 20000; i++) {
		uint64_t now = i * 100 * US;
		CHECK_EQ(pfs_linkem_offer(&m, now, 100, &v), PFS_LINKEM_DELIVER);
		uint64_t d = v.deliver_at_ns - now;
		CHECK(d >= 10 * MS && d < 11 * MS);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		overtakes += v.deliver_at_ns < prev;
		prev = v.deliver_at_ns;
	}
	/* the whole interval is used; a jitter of 10 spacings reorders */
	CHECK(lo < 10 * MS + 10 * US);
	CHECK(hi > 11 * MS - 10 * US);
	CHECK(overtakes > 1000);
	/* without jitter, a pure delay: exact and in order */
	c.jitter_ns = 0;
	CHECK_EQ(init(&c), 0);
	CHECK_EQ(pfs_linkem_offer(&m, 3 * MS, 100, &v), PFS_LINKEM_DELIVER);
	CHECK_EQ(v.deliver_at_ns, 13 * MS);
}

PFS_TEST(random_loss_drops_the_configured_fraction)
{
	struct pfs_linkem_verdict v;
	struct pfs_linkem_config c = { .loss_ppm = 100000, .seed = 42 };
	uint64_t n = 200000, lost = 0;

	CHECK_EQ(init(&c), 0);
	for (uint64_t i = 0; i < n; i++) {
		int fate = pfs_linkem_offer(&m, i, 1000, &v);
		CHECK(fate == PFS_LINKEM_DELIVER || fate == PFS_LINKEM_DROP_LOSS);
		lost += fate == PFS_LINKEM_DROP_LOSS;
	}
	CHECK(near_binomial(lost, n, 0.1));
	CHECK_EQ(m.stats.dropped[PFS_LINKEM_DROP_LOSS], lost);
	CHECK_EQ(m.stats.packets_in, n);
	CHECK_EQ(m.stats.packets_out, n - lost);
	CHECK_EQ(m.stats.bytes_out, (n - lost) * 1000);
}

PFS_TEST(burst_loss_comes_in_runs_of_the_configured_mean_length)
{
	struct pfs_linkem_verdict v;
	/* enter 1%, exit 25%: mean run 4 frames, 1/(1+25) of frames lost */
	struct pfs_linkem_config c = { .burst_enter_ppm = 10000,
				       .burst_exit_ppm = 250000,
				       .seed = 3 };
	uint64_t n = 400000, lost = 0, runs = 0;
	int prev = 0;

	CHECK_EQ(init(&c), 0);
	for (uint64_t i = 0; i < n; i++) {
		int fate = pfs_linkem_offer(&m, i, 100, &v);
		CHECK(fate == PFS_LINKEM_DELIVER || fate == PFS_LINKEM_DROP_BURST);
		int l = fate == PFS_LINKEM_DROP_BURST;
		lost += l;
		runs += l && !prev;
		prev = l;
	}
	double mean_run = (double)lost / (double)runs, frac = (double)lost / (double)n;
	CHECK(mean_run > 3.6 && mean_run < 4.4);
	/* stationary bad-state share: enter / (enter + exit) = 0.0385 */
	CHECK(frac > 0.034 && frac < 0.043);
	CHECK_EQ(m.stats.dropped[PFS_LINKEM_DROP_BURST], lost);
}

PFS_TEST(queue_drops_the_tail_once_the_backlog_reaches_its_limit)
{
	struct pfs_linkem_verdict v;
	/* 1 Gbit/s: 1000 bytes are 8 us; a 10000-byte queue holds 10 of them */
	struct pfs_linkem_config c = { .rate_bps = 1000000000, .queue_bytes = 10000 };

	CHECK_EQ(init(&c), 0);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(pfs_linkem_offer(&m, 0, 1000, &v), PFS_LINKEM_DELIVER);
	CHECK_EQ(pfs_linkem_offer(&m, 0, 1000, &v), PFS_LINKEM_DROP_QUEUE);
	CHECK_EQ(pfs_linkem_offer(&m, 0, 1, &v), PFS_LINKEM_DROP_QUEUE);
	/* one frame's time later there is room for one frame again */
	CHECK_EQ(pfs_linkem_offer(&m, 8 * US, 1000, &v), PFS_LINKEM_DELIVER);
	CHECK_EQ(v.deliver_at_ns, 88 * US);
	CHECK_EQ(pfs_linkem_offer(&m, 8 * US, 1000, &v), PFS_LINKEM_DROP_QUEUE);
	CHECK_EQ(m.stats.dropped[PFS_LINKEM_DROP_QUEUE], 3);
	/* the default: the round trip's BDP, at least 1 MiB */
	c = (struct pfs_linkem_config){ .rate_bps = 1000000000, .delay_ns = 20 * MS };
	CHECK_EQ(init(&c), 0);
	CHECK_EQ(m.cfg.queue_bytes, 5000000);
	c.delay_ns = 1 * MS;
	CHECK_EQ(init(&c), 0);
	CHECK_EQ(m.cfg.queue_bytes, PFS_LINKEM_QUEUE_MIN);
}

PFS_TEST(duplication_and_corruption_happen_at_their_rates_within_the_frame)
{
	struct pfs_linkem_verdict v;
	struct pfs_linkem_config c = {
		.delay_ns = 1 * MS, .duplicate_ppm = 50000, .corrupt_ppm = 20000, .seed = 11
	};
	uint64_t n = 100000, dups = 0, bad = 0;

	CHECK_EQ(init(&c), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t len = 60 + (uint32_t)(i % 1400);
		CHECK_EQ(pfs_linkem_offer(&m, i * US, len, &v), PFS_LINKEM_DELIVER);
		if (v.duplicate) {
			dups++;
			CHECK_EQ(v.dup_at_ns, v.deliver_at_ns);
		}
		if (v.corrupt) {
			bad++;
			CHECK(v.corrupt_bit < (uint64_t)len * 8);
		}
	}
	CHECK(near_binomial(dups, n, 0.05));
	CHECK(near_binomial(bad, n, 0.02));
	CHECK_EQ(m.stats.duplicated, dups);
	CHECK_EQ(m.stats.corrupted, bad);
	CHECK_EQ(m.stats.packets_out, n + dups);
	/* an empty frame has no bit to flip */
	c.corrupt_ppm = PFS_LINKEM_PPM;
	CHECK_EQ(init(&c), 0);
	CHECK_EQ(pfs_linkem_offer(&m, 0, 0, &v), PFS_LINKEM_DELIVER);
	CHECK_EQ(v.corrupt, 0);
}

PFS_TEST(reordered_frames_skip_the_delay_and_overtake_those_in_flight)
{
	struct pfs_linkem_verdict v;
	struct pfs_linkem_config c = {
		.rate_bps = 1000000000, .delay_ns = 5 * MS, .reorder_ppm = 10000, .seed = 5
	};
	uint64_t n = 50000, reordered = 0, overtakes = 0, latest = 0;

	CHECK_EQ(init(&c), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t now = i * 20 * US; /* an idle link: departure = now + 12 us */
		CHECK_EQ(pfs_linkem_offer(&m, now, 1500, &v), PFS_LINKEM_DELIVER);
		if (v.reordered) {
			reordered++;
			CHECK_EQ(v.deliver_at_ns, now + 12 * US);
		} else {
			CHECK_EQ(v.deliver_at_ns, now + 12 * US + 5 * MS);
		}
		overtakes += v.deliver_at_ns < latest;
		latest = v.deliver_at_ns > latest ? v.deliver_at_ns : latest;
	}
	CHECK(near_binomial(reordered, n, 0.01));
	/* every reordered frame passes the 250 frames sent in the 5 ms before it */
	CHECK(overtakes >= reordered - 1);
	CHECK_EQ(m.stats.reordered, reordered);
}

PFS_TEST(the_same_seed_gives_the_same_verdicts_and_another_seed_others)
{
	struct pfs_linkem_config c = { .rate_bps = 100000000,
				       .delay_ns = 2 * MS,
				       .jitter_ns = 500 * US,
				       .loss_ppm = 20000,
				       .burst_enter_ppm = 5000,
				       .burst_exit_ppm = 300000,
				       .reorder_ppm = 10000,
				       .duplicate_ppm = 10000,
				       .corrupt_ppm = 10000,
				       .seed = 1234 };
	static struct pfs_linkem_verdict a[5000], b[5000];
	struct pfs_linkem ma, mb;

	CHECK_EQ(pfs_linkem_init(&ma, &c), 0);
	CHECK_EQ(pfs_linkem_init(&mb, &c), 0);
	for (uint64_t i = 0; i < 5000; i++) {
		pfs_linkem_offer(&ma, i * 50 * US, 64 + (uint32_t)(i % 1400), &a[i]);
		pfs_linkem_offer(&mb, i * 50 * US, 64 + (uint32_t)(i % 1400), &b[i]);
	}
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	CHECK(memcmp(&ma.stats, &mb.stats, sizeof(ma.stats)) == 0);
	c.seed = 1235;
	CHECK_EQ(pfs_linkem_init(&mb, &c), 0);
	for (uint64_t i = 0; i < 5000; i++)
		pfs_linkem_offer(&mb, i * 50 * US, 64 + (uint32_t)(i % 1400), &b[i]);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

PFS_TEST(bad_configurations_are_refused)
{
	struct pfs_linkem_config ok = { .rate_bps = 1000000, .delay_ns = MS }, c;

	CHECK_EQ(init(&ok), 0);
	CHECK_EQ(pfs_linkem_init(NULL, &ok), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_linkem_init(&m, NULL), PFS_ERR_INVALID_ARG);
	c = ok;
	c.loss_ppm = PFS_LINKEM_PPM + 1;
	CHECK_EQ(init(&c), PFS_ERR_INVALID_ARG);
	c = ok;
	c.corrupt_ppm = PFS_LINKEM_PPM + 1;
	CHECK_EQ(init(&c), PFS_ERR_INVALID_ARG);
	c = ok;
	c.burst_enter_ppm = 1000; /* a bad state with no way out */
	CHECK_EQ(init(&c), PFS_ERR_INVALID_ARG);
	c = ok;
	c.rate_bps = 0;
	c.queue_bytes = 4096; /* a queue with nothing to wait for */
	CHECK_EQ(init(&c), PFS_ERR_INVALID_ARG);
	c = ok;
	c.delay_ns = PFS_LINKEM_DELAY_MAX_NS + 1;
	CHECK_EQ(init(&c), PFS_ERR_INVALID_ARG);
	c = ok;
	c.rate_bps = PFS_LINKEM_RATE_MAX_BPS + 1;
	CHECK_EQ(init(&c), PFS_ERR_INVALID_ARG);
	/* everything at once at its limit is fine */
	c = (struct pfs_linkem_config){ .rate_bps = PFS_LINKEM_RATE_MAX_BPS,
					.delay_ns = PFS_LINKEM_DELAY_MAX_NS,
					.jitter_ns = PFS_LINKEM_DELAY_MAX_NS,
					.loss_ppm = PFS_LINKEM_PPM,
					.burst_enter_ppm = PFS_LINKEM_PPM,
					.burst_exit_ppm = PFS_LINKEM_PPM };
	CHECK_EQ(init(&c), 0);
	CHECK(strcmp(pfs_linkem_fate_name(PFS_LINKEM_DROP_QUEUE), "queue") == 0);
}

PFS_TEST_MAIN()
