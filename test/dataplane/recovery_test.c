/* SPDX-License-Identifier: Apache-2.0 */
/* Loss detection and RTT estimation (RFC 9002 rules), and the reordering
 * tolerance that adapts to spurious losses (RFC 8985 ideas). */
#include <string.h>

#include "error.h"
#include "harness.h"
#include "recovery.h"
#include "test_rand.h"

#define MS 1000000ull

static struct pfs_recovery rec;
static int acked[20000], lost[20000];
static uint64_t lost_at[20000]; /* when each packet was declared lost */

static void on_acked(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent, uint64_t now)
{
	acked[cookie]++;
}

static void on_lost(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent, uint64_t now)
{
	lost[cookie]++;
	lost_at[cookie] = now;
}

static const struct pfs_rec_events ev = { .acked = on_acked, .lost = on_lost };

static void reset(void)
{
	pfs_rec_init(&rec, 25 * MS);
	memset(acked, 0, sizeof(acked));
	memset(lost, 0, sizeof(lost));
	memset(lost_at, 0, sizeof(lost_at));
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
	CHECK_EQ(pto,
		 100 * MS + 200 * MS + 25 * MS); /* initial srtt + 4 * rttvar + max ack delay */
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
	/* the receiver acknowledges in order: no loss is spurious, none reported twice */
	CHECK_EQ(rec.spurious_lost, 0);
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

/* --- reordering tolerance ------------------------------------------------------- */

#define RTT (10 * MS)
#define PLAY_MAX 4096

/* A path for the reordering cases: packets go gap_ns apart, each is
 * acknowledged alone RTT after it was sent, except that the i-th packet of a
 * run with i % late_every == late_phase is acknowledged late_ns later still,
 * and the one with i % drop_every == drop_phase never. */
struct path {
	uint64_t gap_ns, late_every, late_phase, late_ns, drop_every, drop_phase;
};

static int every(uint64_t i, uint64_t n, uint64_t phase)
{
	return n && i % n == phase;
}

/* Loss and probe timers due before `until` run at their deadline. */
static void run_timers(uint64_t until)
{
	uint64_t d;

	while ((d = pfs_rec_deadline(&rec)) < until)
		pfs_rec_on_timeout(&rec, d, &ev);
}

static uint64_t sent_time(const struct path *p, uint64_t t0, uint64_t i)
{
	return t0 + i * p->gap_ns;
}

/* Sends n packets from rec.next_pn at t0 over the path and takes in every
 * acknowledgement in time order. Returns the time of the last event. */
static uint64_t play(const struct path *p, uint64_t n, uint64_t t0)
{
	static struct {
		uint64_t at, pn;
	} acks[PLAY_MAX];
	uint64_t pn0 = rec.next_pn, now = t0;
	uint32_t na = 0, ia = 0;

	for (uint64_t i = 0; i < n && na < PLAY_MAX; i++) {
		if (every(i, p->drop_every, p->drop_phase))
			continue;
		uint64_t at = sent_time(p, t0, i) + RTT +
			      (every(i, p->late_every, p->late_phase) ? p->late_ns : 0);
		uint32_t j = na++;
		for (; j > 0 && acks[j - 1].at > at; j--)
			acks[j] = acks[j - 1];
		acks[j].at = at;
		acks[j].pn = pn0 + i;
	}
	for (uint64_t i = 0; i < n || ia < na;) {
		uint64_t send = i < n ? sent_time(p, t0, i) : UINT64_MAX;
		if (ia < na && acks[ia].at < send) {
			struct pfs_fr_ack a = one_range(acks[ia].pn, acks[ia].pn, 0);
			now = acks[ia++].at;
			run_timers(now);
			pfs_rec_on_ack(&rec, &a, now, &ev);
		} else {
			now = send;
			run_timers(now);
			pfs_rec_on_sent(&rec, pn0 + i, now, 1000, 1, pn0 + i);
			i++;
		}
	}
	return now;
}

/* Every 20th packet overtaken by the 10 sent after it (10.5 gaps late). */
static const struct path depth10 = {
	.gap_ns = MS / 10,
	.late_every = 20,
	.late_phase = 5,
	.late_ns = MS / 10 * 21 / 2,
};

PFS_TEST(reordering_of_depth_ten_is_spurious_once_then_tolerated)
{
	reset();
	uint64_t end = play(&depth10, 400, 0);
	/* the first late packet: declared lost 3 packets on, then acknowledged */
	CHECK_EQ(lost[5], 1);
	CHECK_EQ(acked[5], 1); /* the owner still hears of it, to release its frames */
	CHECK_EQ(rec.spurious_lost, 1);
	CHECK_EQ(rec.packet_threshold, 11); /* overtaken by 10 */
	CHECK_EQ(rec.reo_mult, 0);	    /* the packet count, not the timer, was wrong */
	/* the 19 late packets after it are waited for */
	for (uint64_t pn = 25; pn < 400; pn += 20)
		CHECK(lost[pn] == 0 && acked[pn] == 1);
	for (uint64_t pn = 0; pn < 400; pn++)
		CHECK_EQ(lost[pn], pn == 5);
	CHECK_EQ(rec.bytes_in_flight, 0);
	CHECK(end > 400 * depth10.gap_ns);
}

PFS_TEST(time_threshold_widens_by_a_quarter_rtt_when_its_losses_prove_spurious)
{
	/* packets 1 ms apart, every 10th 2.2 ms late: overtaken by 2 only, so the
	 * time threshold (9/8 of 10 ms) is what declares it lost */
	static const struct path p = {
		.gap_ns = MS, .late_every = 10, .late_phase = 5, .late_ns = 22 * MS / 10
	};

	reset();
	play(&p, 100, 0);
	CHECK_EQ(lost[5], 1);
	CHECK_EQ(rec.spurious_lost, 1);
	CHECK_EQ(rec.reo_mult, 1);
	CHECK_EQ(rec.packet_threshold, PFS_REC_PACKET_THRESHOLD);
	CHECK(pfs_rec_loss_delay_ns(&rec) >= rec.srtt_ns + rec.srtt_ns / 4);
	for (uint64_t pn = 15; pn < 100; pn += 10)
		CHECK(lost[pn] == 0 && acked[pn] == 1);

	/* three spurious losses by time in one round trip widen it one step */
	reset();
	for (uint64_t pn = 0; pn < 5; pn++)
		pfs_rec_on_sent(&rec, pn, pn * MS, 1000, 1, pn);
	struct pfs_fr_ack a = one_range(4, 4, 0);
	pfs_rec_on_ack(&rec, &a, 14 * MS, &ev); /* 0..2 are older than 9/8 of 10 ms */
	CHECK(lost[0] && lost[1] && lost[2] && !lost[3]);
	a = one_range(0, 3, 0);
	pfs_rec_on_ack(&rec, &a, 14 * MS + MS / 2, &ev);
	CHECK_EQ(rec.spurious_lost, 3);
	CHECK_EQ(rec.reo_mult, 1);
}

PFS_TEST(tolerance_returns_to_rfc9002_values_after_sixteen_loss_episodes_without_reordering)
{
	static const struct path time_late = {
		.gap_ns = MS, .late_every = 10, .late_phase = 5, .late_ns = 22 * MS / 10
	};
	/* a clean path losing one packet in 200: each loss its own episode */
	static const struct path lossy = { .gap_ns = MS / 10,
					   .drop_every = 200,
					   .drop_phase = 150 };
	uint64_t now;

	reset();
	now = play(&time_late, 30, 0);
	now = play(&depth10, 100, now + MS);
	CHECK_EQ(rec.packet_threshold, 11);
	CHECK_EQ(rec.reo_mult, 1);
	CHECK_EQ(rec.reo_persist, PFS_REC_REO_PERSIST);
	uint64_t spurious = rec.spurious_lost, first = rec.next_pn;
	now = play(&lossy, 15 * 200, now + MS);
	CHECK_EQ(rec.spurious_lost, spurious);
	CHECK_EQ(rec.packet_threshold, 11); /* 15 episodes: still widened */
	CHECK_EQ(rec.reo_persist, 1);
	play(&lossy, 200, now + MS);
	CHECK_EQ(rec.packet_threshold, PFS_REC_PACKET_THRESHOLD);
	CHECK_EQ(rec.reo_mult, 0);
	uint64_t base = rec.srtt_ns > rec.latest_rtt_ns ? rec.srtt_ns : rec.latest_rtt_ns;
	CHECK_EQ(pfs_rec_loss_delay_ns(&rec), base + base / 8); /* 9/8 again */
	for (uint64_t pn = first; pn < rec.next_pn; pn++)
		CHECK_EQ(lost[pn], (pn - first) % 200 == 150);
}

PFS_TEST(a_real_loss_is_declared_as_soon_as_the_widened_threshold_is_passed)
{
	static const struct path drops = { .gap_ns = MS / 10,
					   .drop_every = 1000,
					   .drop_phase = 50 };
	static const struct path tail = { .gap_ns = MS / 10, .drop_every = 1000, .drop_phase = 97 };
	uint64_t now, t0, pn0;

	reset();
	now = play(&depth10, 100, 0);
	CHECK_EQ(rec.packet_threshold, 11);
	/* packet 50 of this run never arrives: lost when the 11th after it is acked */
	t0 = now + MS;
	pn0 = rec.next_pn;
	now = play(&drops, 100, t0);
	CHECK_EQ(lost[pn0 + 50], 1);
	CHECK_EQ(lost_at[pn0 + 50], sent_time(&drops, t0, 61) + RTT);
	CHECK(lost_at[pn0 + 50] - sent_time(&drops, t0, 50) < pfs_rec_loss_delay_ns(&rec));
	/* the last but two: too few follow it, the time threshold declares it */
	t0 = now + MS;
	pn0 = rec.next_pn;
	play(&tail, 100, t0);
	CHECK(rec.loss_time_ns && !lost[pn0 + 97]);
	pfs_rec_on_timeout(&rec, rec.loss_time_ns, &ev);
	CHECK_EQ(lost[pn0 + 97], 1);
	CHECK(lost_at[pn0 + 97] - sent_time(&tail, t0, 97) <= RTT + RTT / 4);
	CHECK_EQ(rec.spurious_lost, 1); /* only the first reordering */
	CHECK_EQ(rec.bytes_in_flight, 0);
}

PFS_TEST(a_lost_packet_acked_late_is_reported_acked_and_leaves_bytes_in_flight_alone)
{
	reset();
	for (uint64_t pn = 0; pn < 10; pn++)
		CHECK_EQ(pfs_rec_on_sent(&rec, pn, pn * MS, 1000, 1, pn), 0);
	struct pfs_fr_ack a = one_range(4, 9, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 20 * MS, &ev), 0);
	for (int pn = 0; pn < 4; pn++)
		CHECK(lost[pn] == 1 && acked[pn] == 0);
	CHECK_EQ(rec.bytes_in_flight, 0);
	/* packets 0..3 were only late; 10 and 11 go out meanwhile */
	CHECK_EQ(pfs_rec_on_sent(&rec, 10, 20 * MS, 700, 1, 10), 0);
	CHECK_EQ(pfs_rec_on_sent(&rec, 11, 20 * MS, 300, 1, 11), 0);
	a = one_range(0, 9, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 21 * MS, &ev), 0);
	for (int pn = 0; pn < 4; pn++)
		CHECK(lost[pn] == 1 && acked[pn] == 1);
	CHECK_EQ(rec.spurious_lost, 4);
	CHECK_EQ(rec.bytes_in_flight, 1000); /* 10 and 11 only */
	CHECK_EQ(rec.packet_threshold, 10);  /* 0 was overtaken by 4..9 */
	/* acknowledging them again reports nothing */
	a = one_range(0, 11, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 22 * MS, &ev), 0);
	for (int pn = 0; pn < 12; pn++)
		CHECK_EQ(acked[pn], 1);
	CHECK_EQ(rec.spurious_lost, 4);
	CHECK_EQ(rec.bytes_in_flight, 0);
	CHECK_EQ(pfs_rec_deadline(&rec), UINT64_MAX);
}

PFS_TEST(lost_packets_are_remembered_in_bounded_number_and_for_bounded_time)
{
	int reported = 0;

	reset();
	for (uint64_t pn = 0; pn < 3000; pn++)
		CHECK_EQ(pfs_rec_on_sent(&rec, pn, pn * MS / 100, 1000, 1, pn), 0);
	struct pfs_fr_ack a = one_range(2999, 2999, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 40 * MS, &ev), 0);
	for (uint64_t pn = 0; pn < 2997; pn++)
		CHECK_EQ(lost[pn], 1);
	CHECK_EQ(rec.lost_count, PFS_REC_LOST_MAX);
	/* all of them were only late: the newest PFS_REC_LOST_MAX are recognised */
	a = one_range(0, 2998, 0);
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, 41 * MS, &ev), 0);
	for (uint64_t pn = 0; pn < 3000; pn++)
		reported += acked[pn];
	CHECK_EQ(reported, 3 + PFS_REC_LOST_MAX); /* 2997..2999 were never lost */
	CHECK(!acked[2996 - PFS_REC_LOST_MAX] && acked[2997 - PFS_REC_LOST_MAX]);
	CHECK_EQ(rec.spurious_lost, PFS_REC_LOST_MAX);
	CHECK_EQ(rec.packet_threshold, PFS_REC_PACKET_THRESHOLD_MAX); /* capped */
	CHECK_EQ(rec.bytes_in_flight, 0);

	/* an acknowledgement two probe timeouts after the loss finds nothing */
	reset();
	for (uint64_t pn = 0; pn < 10; pn++)
		pfs_rec_on_sent(&rec, pn, pn * MS, 1000, 1, pn);
	a = one_range(9, 9, 0);
	pfs_rec_on_ack(&rec, &a, 20 * MS, &ev);
	/* 0..6 by packet threshold, 7 by time (13 ms > 9/8 of the 11 ms sample) */
	CHECK(lost[0] && lost[7] && !lost[8] && rec.lost_count == 8);
	uint64_t later = 20 * MS + 2 * pfs_rec_pto_ns(&rec);
	a = one_range(0, 7, 0); /* no RTT sample: the estimate stays */
	CHECK_EQ(pfs_rec_on_ack(&rec, &a, later, &ev), 0);
	for (int pn = 0; pn < 8; pn++)
		CHECK_EQ(acked[pn], 0);
	CHECK(lost[8] && rec.lost_count == 1); /* 8 is the only loss remembered now */
	CHECK_EQ(rec.spurious_lost, 0);
	CHECK_EQ(rec.packet_threshold, PFS_REC_PACKET_THRESHOLD);
}

PFS_TEST(a_probe_a_window_behind_is_declared_lost_to_make_room_for_the_next)
{
	reset();
	/* one probe, then a window's worth of untracked acknowledgements */
	CHECK_EQ(pfs_rec_on_sent(&rec, 0, 0, 1200, 1, 7), 0);
	uint64_t pn = PFS_REC_WINDOW + 5;
	CHECK_EQ(pfs_rec_on_sent(&rec, pn, 10 * MS, 1200, 1, 8), PFS_ERR_LIMIT);
	pfs_rec_make_room(&rec, pn, 10 * MS, &ev);
	CHECK_EQ(lost[7], 1);
	CHECK_EQ(rec.bytes_in_flight, 0);
	CHECK_EQ(pfs_rec_on_sent(&rec, pn, 10 * MS, 1200, 1, 8), 0);
	/* nothing recent is touched */
	pfs_rec_make_room(&rec, pn + 1, 11 * MS, &ev);
	CHECK_EQ(lost[8], 0);
	CHECK_EQ(rec.bytes_in_flight, 1200);
}

PFS_TEST_MAIN()
