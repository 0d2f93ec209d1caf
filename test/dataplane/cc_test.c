/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Congestion control against a simulated bottleneck: one FIFO link of a given
 * rate, a fixed propagation delay, a drop-tail buffer and optional random
 * loss. Losses are reported to the algorithm one RTT after the send (an oracle
 * in place of recovery.c, which has its own tests). Figures here are model
 * behaviour, not speed measurements.
 */
#include <string.h>

#include "cc.h"
#include "error.h"
#include "harness.h"
#include "test_rand.h"

#define MS 1000000ull
#define MSS 1200u

struct ev {
	uint64_t sent, at;
	uint8_t lost;
};

struct sim_result {
	double goodput; /* bytes per second delivered */
	uint64_t losses;
};

static struct ev evq[1 << 17];

static struct sim_result simulate(struct pfs_cc *cc, double link_Bps, uint64_t rtt_ns,
				  uint64_t buffer_bytes, uint32_t loss_ppm, uint64_t duration_ns)
{
	struct pfs_pacer pacer;
	uint64_t now = 0, link_free = 0, inflight = 0, delivered = 0, srtt = 0, min_rtt = 0;
	uint32_t head = 0, tail = 0, mask = (1u << 17) - 1;
	struct sim_result res = { 0 };

	pfs_pacer_init(&pacer, 4 * MSS, 4 * MSS);
	while (now < duration_ns) {
		/* deliver every ack or loss report that is due */
		while (head != tail && evq[head & mask].at <= now) {
			struct ev e = evq[head++ & mask];
			inflight -= MSS;
			if (e.lost) {
				res.losses++;
				pfs_cc_on_lost(cc, MSS, e.sent, e.at);
				continue;
			}
			uint64_t sample = e.at - e.sent;
			min_rtt = !min_rtt || sample < min_rtt ? sample : min_rtt;
			srtt = srtt ? (7 * srtt + sample) / 8 : sample;
			delivered += MSS;
			pfs_cc_on_acked(cc, MSS, e.sent, e.at, srtt, min_rtt, inflight);
		}
		uint64_t next = head != tail ? evq[head & mask].at : now + MS;
		if (inflight + MSS > cc->cwnd || tail - head > mask) {
			now = next;
			continue;
		}
		uint64_t when = pfs_pacer_when(&pacer, now, cc->pacing_rate, MSS);
		if (when > now) {
			now = when < next ? when : next;
			continue;
		}
		pfs_pacer_sent(&pacer, now, cc->pacing_rate, MSS);
		uint64_t start = link_free > now ? link_free : now;
		struct ev e = { .sent = now };
		if ((double)(start - now) * link_Bps / 1e9 > (double)buffer_bytes) {
			e.lost = 1; /* drop-tail */
			e.at = now + rtt_ns;
		} else {
			link_free = start + (uint64_t)(MSS * 1e9 / link_Bps);
			e.at = link_free + rtt_ns;
			e.lost = loss_ppm && rnd_below(1000000) < loss_ppm;
		}
		/* keep the queue in delivery order: a drop reported early is fine to
		 * report late, so clamp it behind the last event */
		if (head != tail && e.at < evq[(tail - 1) & mask].at)
			e.at = evq[(tail - 1) & mask].at;
		evq[tail++ & mask] = e;
		inflight += MSS;
	}
	res.goodput = (double)delivered * 1e9 / (double)duration_ns;
	return res;
}

static const double B100 = 100e6 / 8; /* 100 Mbit/s in bytes per second */

PFS_TEST(fixed_rate_delivers_its_rate)
{
	struct pfs_cc cc;
	CHECK_EQ(pfs_cc_init(&cc, PFS_CC_FIXED, MSS, (uint64_t)(B100 / 2), 0), 0);
	struct sim_result r = simulate(&cc, B100, 20 * MS, 250000, 0, 5000 * MS);
	CHECK(r.goodput > 0.47 * B100 && r.goodput < 0.52 * B100);
	CHECK_EQ(r.losses, 0);
}

PFS_TEST(cubic_fills_a_clean_link)
{
	struct pfs_cc cc;
	rng_seed(1);
	CHECK_EQ(pfs_cc_init(&cc, PFS_CC_CUBIC, MSS, 0, 0), 0);
	struct sim_result r = simulate(&cc, B100, 20 * MS, 250000, 0, 10000 * MS);
	CHECK(r.goodput > 0.8 * B100);
	CHECK(r.losses > 0); /* it finds the buffer's end */
}

PFS_TEST(bbr_fills_a_clean_link_and_shrugs_off_random_loss_where_cubic_cannot)
{
	struct pfs_cc bbr, cubic;
	rng_seed(2);
	CHECK_EQ(pfs_cc_init(&bbr, PFS_CC_BBR, MSS, 0, 0), 0);
	struct sim_result clean = simulate(&bbr, B100, 20 * MS, 250000, 0, 10000 * MS);
	CHECK(clean.goodput > 0.85 * B100);

	CHECK_EQ(pfs_cc_init(&bbr, PFS_CC_BBR, MSS, 0, 0), 0);
	CHECK_EQ(pfs_cc_init(&cubic, PFS_CC_CUBIC, MSS, 0, 0), 0);
	struct sim_result lb = simulate(&bbr, B100, 20 * MS, 250000, 10000, 10000 * MS);
	struct sim_result lc = simulate(&cubic, B100, 20 * MS, 250000, 10000, 10000 * MS);
	printf("1%% loss: bbr %.1f%%, cubic %.1f%% of the link\n", 100 * lb.goodput / B100,
	       100 * lc.goodput / B100);
	CHECK(lb.goodput > 0.75 * B100);
	CHECK(lb.goodput > 1.5 * lc.goodput);
}

PFS_TEST(rate_cap_holds_every_algorithm_below_it)
{
	for (int algo = PFS_CC_FIXED; algo <= PFS_CC_BBR; algo++) {
		struct pfs_cc cc;
		CHECK_EQ(pfs_cc_init(&cc, (enum pfs_cc_algo)algo, MSS, (uint64_t)B100,
				     (uint64_t)(0.3 * B100)),
			 0);
		struct sim_result r = simulate(&cc, B100, 20 * MS, 250000, 0, 5000 * MS);
		CHECK(r.goodput < 0.31 * B100);
		CHECK(r.goodput > 0.25 * B100);
	}
}

PFS_TEST(cubic_cuts_once_per_round_trip_of_losses)
{
	struct pfs_cc cc;
	CHECK_EQ(pfs_cc_init(&cc, PFS_CC_CUBIC, MSS, 0, 0), 0);
	for (int i = 0; i < 90; i++) /* slow start to 100 MSS */
		pfs_cc_on_acked(&cc, MSS, 0, MS, 20 * MS, 20 * MS, 0);
	CHECK_EQ(cc.cwnd, 100ull * MSS);
	pfs_cc_on_lost(&cc, MSS, 5 * MS, 10 * MS);
	CHECK_EQ(cc.cwnd, 70ull * MSS);
	pfs_cc_on_lost(&cc, MSS, 6 * MS, 11 * MS); /* sent before the cut: same event */
	CHECK_EQ(cc.cwnd, 70ull * MSS);
	pfs_cc_on_lost(&cc, MSS, 12 * MS, 40 * MS); /* sent after it: a new event */
	CHECK_EQ(cc.cwnd, 49ull * MSS);
	CHECK_EQ(cc.ssthresh, cc.cwnd);
	/* and regrowth is slow near the old maximum, faster away from it */
	uint64_t before = cc.cwnd;
	for (int i = 0; i < 49; i++)
		pfs_cc_on_acked(&cc, MSS, 50 * MS, 60 * MS, 20 * MS, 20 * MS, 0);
	CHECK(cc.cwnd > before);
	CHECK(cc.cwnd < (uint64_t)(1.5 * before));
}

PFS_TEST(pacer_spaces_packets_at_the_rate_and_allows_small_bursts)
{
	struct pfs_pacer p;
	uint64_t now = 0, rate = 1000000; /* 1 MB/s: 1200 bytes every 1.2 ms */
	int burst = 0;

	pfs_pacer_init(&p, 4 * MSS, 4 * MSS);
	while (pfs_pacer_when(&p, now, rate, MSS) == now && burst < 100) {
		pfs_pacer_sent(&p, now, rate, MSS);
		burst++;
	}
	CHECK_EQ(burst, 4);
	uint64_t t = pfs_pacer_when(&p, now, rate, MSS);
	CHECK(t >= 1199000 && t <= 1201000);
	/* over a second, the rate holds */
	int sent = 0;
	for (now = t; now < t + 1000 * MS; now = pfs_pacer_when(&p, now, rate, MSS)) {
		pfs_pacer_sent(&p, now, rate, MSS);
		sent++;
	}
	CHECK(sent >= 830 && sent <= 838);
}

/* A sender on a loaded machine wakes late; the bucket forgives up to its
 * quantum, so the rate holds when wake-ups come up to ~1.5 ms late. */
PFS_TEST(pacer_keeps_the_rate_when_the_sender_wakes_late)
{
	struct pfs_pacer p;
	uint64_t rate = 50000000, now = 0, sent = 0; /* 50 MB/s */
	const uint32_t mtu = 1472;

	pfs_pacer_init(&p, 10ull * mtu, (uint64_t)PFS_CC_BURST_PACKETS * mtu);
	for (int wake = 0; wake < 2000; wake++) {
		while (pfs_pacer_when(&p, now, rate, mtu) == now) {
			pfs_pacer_sent(&p, now, rate, mtu);
			sent += mtu;
		}
		/* asked to come back when the next packet is due, it comes back
		 * 1.5 ms after that */
		now = pfs_pacer_when(&p, now, rate, mtu) + 1500000;
	}
	/* at least 95 % of the rate over the whole time */
	CHECK((double)sent >= 0.95 * (double)rate * (double)now / 1e9);
}

PFS_TEST(bad_configurations_are_refused)
{
	struct pfs_cc cc;
	CHECK_EQ(pfs_cc_init(&cc, PFS_CC_FIXED, MSS, 0, 0), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_cc_init(&cc, PFS_CC_CUBIC, 100, 0, 0), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_cc_init(&cc, (enum pfs_cc_algo)9, MSS, 0, 0), PFS_ERR_INVALID_ARG);
	CHECK(strcmp(pfs_cc_name(PFS_CC_BBR), "bbr") == 0);
}

PFS_TEST_MAIN()
