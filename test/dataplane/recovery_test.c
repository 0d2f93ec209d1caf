/* SPDX-License-Identifier: Apache-2.0 */
/* Loss detection and RTT estimation (RFC 9002 rules). */
#include <string.h>

#include "error.h"
#include "harness.h"
#include "recovery.h"
#include "test_rand.h"

#define MS 1000000ull

static struct pfs_recovery rec;
static int acked[20000], lost[20000];

static void on_acked(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent, uint64_t now)
{
	acked[cookie]++;
}

static void on_lost(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent, uint64_t now)
{
	lost[cookie]++;
}

static const struct pfs_rec_events ev = { .acked = on_acked, .lost = on_lost };

static void reset(void)
{
	pfs_rec_init(&rec, 25 * MS);
	memset(acked, 0, sizeof(acked));
	memset(lost, 0, sizeof(lost));
}

static struct pfs_fr_ack one_range(uint64_t lo, uint64_t hi, uint64_t delay_us)
{
	return (struct pfs_fr_ack){ .delay_us = delay_us, .n = 1, .r = { { lo, hi } } };
}

PFS_TEST(first_sample_sets_the_rtt_and_later_ones_smooth_it)
{
	reset();
	CHECK_EQ(pfs_rec_on_sent(&rec, 0, 0, 1200, 1, 0), 0);
	struct pfs_fr_ack a = one_range(0, 0, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 40 * MS, &ev), 0);
	CHECK_EQ(rec.srtt_ns, 40 * MS);
	CHECK_EQ(rec.rttvar_ns, 20 * MS);
	CHECK_EQ(rec.min_rtt_ns, 40 * MS);
	CHECK_EQ(acked[0], 1);
	/* second sample 60 ms, 10 ms of it the peer's ack delay: 50 ms counts */
	CHECK_EQ(pfs_rec_on_sent(&rec, 1, 100 * MS, 1200, 1, 1), 0);
	a = one_range(1, 1, 10000);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 160 * MS, &ev), 0);
	CHECK_EQ(rec.srtt_ns, (7 * 40 * MS + 50 * MS) / 8);
	CHECK_EQ(rec.rttvar_ns, (3 * 20 * MS + 10 * MS) / 4);
	CHECK_EQ(rec.bytes_in_flight, 0);
}

PFS_TEST(ack_delay_never_pushes_a_sample_below_min_rtt)
{
	reset();
	pfs_rec_on_sent(&rec, 0, 0, 100, 1, 0);
	struct pfs_fr_ack a = one_range(0, 0, 0);
	pfs_rec_on_ack(&rec, &a, 30 * MS, &ev);
	pfs_rec_on_sent(&rec, 1, 100 * MS, 100, 1, 1);
	a = one_range(1, 1, 20000); /* 20 ms delay claimed on a 35 ms sample */
	pfs_rec_on_ack(&rec, &a, 135 * MS, &ev);
	CHECK_EQ(rec.srtt_ns, (7 * 30 * MS + 35 * MS) / 8); /* delay ignored */
}

PFS_TEST(three_newer_acknowledged_packets_declare_a_packet_lost)
{
	reset();
	for (uint64_t pn = 0; pn < 6; pn++)
		CHECK_EQ(pfs_rec_on_sent(&rec, pn, pn * MS, 1000, 1, pn), 0);
	struct pfs_fr_ack a = one_range(4, 5, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 50 * MS, &ev), 0);
	/* 5 >= pn + 3 for pn 0..2; pn 3 waits for the time threshold */
	CHECK(lost[0] && lost[1] && lost[2] && !lost[3]);
	CHECK(acked[4] && acked[5]);
	CHECK(rec.loss_time_ns > 50 * MS);
	CHECK_EQ(pfs_rec_deadline(&rec), rec.loss_time_ns);
	CHECK_EQ(pfs_rec_on_timeout(&rec, rec.loss_time_ns, &ev), 0);
	CHECK_EQ(lost[3], 1);
	CHECK_EQ(rec.bytes_in_flight, 0);
	CHECK_EQ(pfs_rec_deadline(&rec), UINT64_MAX);
}

PFS_TEST(old_packets_are_lost_by_time_alone)
{
	reset();
	pfs_rec_on_sent(&rec, 0, 0, 1000, 1, 0);
	pfs_rec_on_sent(&rec, 1, 200 * MS, 1000, 1, 1);
	struct pfs_fr_ack a = one_range(1, 1, 0);
	/* rtt 10 ms: packet 0, sent 210 ms ago, is far past 9/8 of it */
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 210 * MS, &ev), 0);
	CHECK_EQ(lost[0], 1);
}

PFS_TEST(duplicate_and_overlapping_acks_count_each_packet_once)
{
	reset();
	for (uint64_t pn = 0; pn < 10; pn++)
		pfs_rec_on_sent(&rec, pn, 0, 100, 1, pn);
	struct pfs_fr_ack a = one_range(0, 9, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 10 * MS, &ev), 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 11 * MS, &ev), 0);
	for (int pn = 0; pn < 10; pn++)
		CHECK(acked[pn] == 1 && lost[pn] == 0);
	CHECK_EQ(rec.oldest, 10);
}

PFS_TEST(acknowledging_a_number_never_sent_is_a_protocol_error)
{
	reset();
	pfs_rec_on_sent(&rec, 0, 0, 100, 1, 0);
	struct pfs_fr_ack a = one_range(0, 1, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, MS, &ev), PFS_ERR_MALFORMED);
	CHECK_EQ(acked[0], 0);
	CHECK_EQ(pfs_rec_on_sent(&rec, 0, 0, 100, 1, 5), PFS_ERR_INVALID_ARG); /* reused */
	/* skipped numbers (packets not tracked) are fine, and never acknowledgeable */
	CHECK_EQ(pfs_rec_on_sent(&rec, 5, 0, 100, 1, 5), 0);
	a = one_range(3, 5, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, MS, &ev), 0);
	CHECK_EQ(acked[5], 1);
}

PFS_TEST(probe_timeout_asks_for_probes_and_backs_off)
{
	reset();
	pfs_rec_on_sent(&rec, 0, 0, 100, 1, 0);
	uint64_t pto = pfs_rec_pto_ns(&rec);
	CHECK_EQ(pto, 100 * MS + 200 * MS + 25 * MS); /* initial srtt + 4 * rttvar + max ack delay */
	CHECK_EQ(pfs_rec_deadline(&rec), pto);
	CHECK_EQ(pfs_rec_on_timeout(&rec, pto - 1, &ev), 0);
	CHECK_EQ(pfs_rec_on_timeout(&rec, pto, &ev), 2);
	CHECK_EQ(pfs_rec_pto_ns(&rec), 2 * pto);
	/* an acknowledgement resets the backoff */
	struct pfs_fr_ack a = one_range(0, 0, 0);
	pfs_rec_on_ack(&rec, &a, pto + MS, &ev);
	CHECK_EQ(rec.pto_count, 0);
	/* packets that elicit no ack do not arm the timer */
	pfs_rec_on_sent(&rec, 1, pto + 2 * MS, 50, 0, 1);
	CHECK_EQ(pfs_rec_deadline(&rec), UINT64_MAX);
}

PFS_TEST(outstanding_packets_are_bounded_by_the_window)
{
	reset();
	for (uint64_t pn = 0; pn < PFS_REC_WINDOW; pn++)
		CHECK_EQ(pfs_rec_on_sent(&rec, pn, 0, 1, 1, 0), 0);
	CHECK_EQ(pfs_rec_on_sent(&rec, PFS_REC_WINDOW, 0, 1, 1, 0), PFS_ERR_LIMIT);
	struct pfs_fr_ack a = one_range(0, 0, 0);
	pfs_rec_on_ack(&rec, &a, MS, &ev);
	CHECK_EQ(pfs_rec_on_sent(&rec, PFS_REC_WINDOW, MS, 1, 1, 0), 0);
}

PFS_TEST(every_packet_ends_acked_or_lost_exactly_once_under_random_loss)
{
	static uint8_t delivered[20000];
	uint64_t now = 0, next_ack = 0;
	uint64_t flight = 0;

	reset();
	rng_seed(99);
	memset(delivered, 0, sizeof(delivered));
	for (uint64_t pn = 0; pn < 20000; pn++) {
		now += MS / 10;
		CHECK_EQ(pfs_rec_on_sent(&rec, pn, now, 1000, 1, pn), 0);
		delivered[pn] = rnd_below(100) >= 5; /* 5 % loss */
		if (pn >= next_ack + 20) {
			/* the receiver acks what arrived among the last 200 numbers */
			struct pfs_fr_ack a = { .delay_us = 1000 };
			uint64_t hi = pn;
			while (a.n < PFS_ACK_RANGES_MAX && hi + 200 > pn) {
				while (hi + 200 > pn && !delivered[hi])
					hi = hi ? hi - 1 : 0;
				if (!delivered[hi] || hi + 200 <= pn)
					break;
				uint64_t lo = hi;
				while (lo > 0 && lo + 200 > pn && delivered[lo - 1])
					lo--;
				a.r[a.n++] = (struct pfs_ack_range){ lo, hi };
				if (lo < 2)
					break;
				hi = lo - 2;
			}
			if (a.n)
				CHECK_EQ(pfs_rec_on_ack(&rec, &a, now + 20 * MS, &ev), 0);
			next_ack = pn;
		}
		pfs_rec_on_timeout(&rec, now, &ev);
	}
	pfs_rec_on_timeout(&rec, now + 10000 * MS, &ev);
	for (uint64_t pn = 0; pn < 20000; pn++) {
		CHECK(acked[pn] + lost[pn] <= 1);
		if (!acked[pn] && !lost[pn])
			flight += 1000;
		/* a delivered packet that was acked is never also called lost */
		CHECK(!(acked[pn] && !delivered[pn]));
	}
	CHECK_EQ(rec.bytes_in_flight, flight);
	CHECK(rec.srtt_ns > 15 * MS && rec.srtt_ns < 30 * MS);
}

PFS_TEST_MAIN()
