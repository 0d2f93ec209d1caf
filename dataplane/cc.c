/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <string.h>

#include "cc.h"
#include "error.h"

#define INITIAL_RTT_NS 100000000ull
#define CUBIC_C 0.4
#define CUBIC_BETA 0.7
#define BBR_HIGH_GAIN 2.885 /* 2 / ln 2: doubles delivery each round in startup */

static const double probe_bw_gain[8] = { 1.25, 0.75, 1, 1, 1, 1, 1, 1 };

static uint64_t capped(const struct pfs_cc *cc, double rate)
{
	uint64_t r = rate < 1 ? 1 : (uint64_t)rate;

	return cc->rate_cap && r > cc->rate_cap ? cc->rate_cap : r;
}

static uint64_t rtt_or_initial(uint64_t rtt)
{
	return rtt ? rtt : INITIAL_RTT_NS;
}

const char *pfs_cc_name(enum pfs_cc_algo algo)
{
	switch (algo) {
	case PFS_CC_FIXED:
		return "fixed";
	case PFS_CC_CUBIC:
		return "cubic";
	case PFS_CC_BBR:
		return "bbr";
	}
	return "unknown";
}

int pfs_cc_init(struct pfs_cc *cc, enum pfs_cc_algo algo, uint32_t mss, uint64_t rate,
		uint64_t rate_cap)
{
	if (mss < 500 || mss > 65535 || algo > PFS_CC_BBR || (algo == PFS_CC_FIXED && rate == 0))
		return PFS_ERR_INVALID_ARG;
	memset(cc, 0, sizeof(*cc));
	cc->algo = algo;
	cc->mss = mss;
	cc->rate_cap = rate_cap;
	cc->cwnd = 10ull * mss; /* RFC 9002's initial window */
	cc->ssthresh = UINT64_MAX;
	if (algo == PFS_CC_FIXED) {
		cc->pacing_rate = capped(cc, (double)rate);
		cc->cwnd = UINT64_MAX / 2; /* the rate alone limits; see on_acked */
	} else {
		double gain = algo == PFS_CC_BBR ? BBR_HIGH_GAIN : 2.0;
		cc->pacing_rate = capped(cc, gain * (double)cc->cwnd * 1e9 / INITIAL_RTT_NS);
	}
	return 0;
}

/* --- CUBIC ------------------------------------------------------------------ */

static void cubic_acked(struct pfs_cc *cc, uint32_t bytes, uint64_t sent_ns, uint64_t now_ns)
{
	double cwnd_mss, t, target;

	if (sent_ns <= cc->recovery_start_ns && cc->recovery_start_ns)
		return; /* no growth for what was in flight when the window was cut */
	if (cc->cwnd < cc->ssthresh) {
		cc->cwnd += bytes;
		return;
	}
	cwnd_mss = (double)cc->cwnd / cc->mss;
	if (!cc->epoch_ns) {
		cc->epoch_ns = now_ns;
		if (cc->w_max <= cwnd_mss) {
			cc->w_max = cwnd_mss;
			cc->k_s = 0;
		} else {
			cc->k_s = cbrt((cc->w_max - cwnd_mss) / CUBIC_C);
		}
		cc->w_est = cwnd_mss;
	}
	/* the window one RTT from now, on the cubic curve */
	t = (double)(now_ns - cc->epoch_ns + rtt_or_initial(cc->srtt_ns)) / 1e9;
	target = CUBIC_C * pow(t - cc->k_s, 3) + cc->w_max;
	/* never slower than Reno would be (RFC 9438 §4.3) */
	cc->w_est += 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * bytes / (double)cc->cwnd;
	if (target < cc->w_est)
		target = cc->w_est;
	if (target > 1.5 * cwnd_mss)
		target = 1.5 * cwnd_mss;
	if (target > cwnd_mss)
		cc->cwnd += (uint64_t)((target - cwnd_mss) / cwnd_mss * bytes);
}

static void cubic_lost(struct pfs_cc *cc, uint64_t sent_ns, uint64_t now_ns)
{
	double cwnd_mss = (double)cc->cwnd / cc->mss;

	if (cc->recovery_start_ns && sent_ns <= cc->recovery_start_ns)
		return; /* one reduction per round trip of losses */
	cc->recovery_start_ns = now_ns;
	cc->epoch_ns = 0;
	/* fast convergence: release bandwidth if the maximum keeps falling */
	cc->w_max = cwnd_mss < cc->w_max ? cwnd_mss * (1 + CUBIC_BETA) / 2 : cwnd_mss;
	cc->cwnd = cc->cwnd * 7 / 10; /* CUBIC_BETA, in integers: no rounding drift */
	if (cc->cwnd < 2ull * cc->mss)
		cc->cwnd = 2ull * cc->mss;
	cc->ssthresh = cc->cwnd;
}

/* --- BBR -------------------------------------------------------------------- */

static uint64_t bbr_bw(const struct pfs_cc *cc)
{
	uint64_t bw = 0;

	for (int i = 0; i < PFS_BBR_BW_SAMPLES; i++)
		if (cc->bw_samples[i] > bw)
			bw = cc->bw_samples[i];
	return bw;
}

static void bbr_round(struct pfs_cc *cc, uint64_t now_ns, uint64_t bytes_in_flight)
{
	uint64_t span = now_ns - cc->round_start_ns;
	uint64_t sample = (uint64_t)((double)(cc->delivered - cc->round_delivered) * 1e9 / span);
	uint64_t bw, bdp;

	cc->bw_samples[cc->round % PFS_BBR_BW_SAMPLES] = sample;
	cc->round++;
	cc->round_start_ns = now_ns;
	cc->round_delivered = cc->delivered;
	bw = bbr_bw(cc);
	bdp = (uint64_t)((double)bw * (double)cc->min_rtt_ns / 1e9);
	switch (cc->mode) {
	case PFS_BBR_STARTUP:
		/* the pipe is full once three rounds fail to grow bandwidth by 25 % */
		if (bw >= cc->full_bw + cc->full_bw / 4) {
			cc->full_bw = bw;
			cc->full_bw_rounds = 0;
		} else if (++cc->full_bw_rounds >= 3) {
			cc->mode = PFS_BBR_DRAIN;
			cc->full_bw_rounds = 0; /* now counts the rounds spent draining */
		}
		break;
	case PFS_BBR_DRAIN:
		/* Drain until the queue startup built is gone, but a few rounds at
		 * most: when acknowledgements come late (a receiver short of CPU,
		 * ack batching) in-flight bytes stay above the BDP however slowly we
		 * send, and draining on at 1/2.885 of the estimate would feed lower
		 * and lower bandwidth samples into the filter — measured: 30 MB/s
		 * for minutes on a loaded machine where CUBIC kept 400. */
		if (bytes_in_flight <= bdp || ++cc->full_bw_rounds >= 3) {
			cc->mode = PFS_BBR_PROBE_BW;
			cc->cycle = 2; /* start cruising, probe next */
		}
		break;
	case PFS_BBR_PROBE_BW:
		cc->cycle = (cc->cycle + 1) % 8;
		break;
	}
}

/*
 * Room for acknowledgements that arrive in clumps: a receiver short of CPU (or
 * one that acks in batches) leaves the window idle, then acknowledges a lot at
 * once. The window must cover what arrives in such a clump beyond what the
 * bandwidth estimate explains, or it caps the rate at window / clump period —
 * measured: a 9 µs minimum RTT, 10 ms clumps, and 19 MB/s on a loaded machine.
 * Capped at 100 ms of the estimate so a stall cannot inflate it without bound.
 */
static uint64_t bbr_extra_acked(struct pfs_cc *cc, uint32_t bytes, uint64_t now_ns, uint64_t bw)
{
	uint64_t expected, extra, cap = bw / 10;

	if (cc->round - cc->extra_round >= 5) { /* a new window: forget the older one */
		cc->extra_round = cc->round;
		cc->extra_slot ^= 1;
		cc->extra_acked[cc->extra_slot] = 0;
	}
	expected = (uint64_t)((double)bw * (double)(now_ns - cc->agg_epoch_ns) / 1e9);
	if (!cc->agg_epoch_ns || cc->agg_epoch_acked <= expected) {
		/* the acks caught up with the model: start a new epoch */
		cc->agg_epoch_ns = now_ns;
		cc->agg_epoch_acked = 0;
		expected = 0;
	}
	cc->agg_epoch_acked += bytes;
	extra = cc->agg_epoch_acked > expected ? cc->agg_epoch_acked - expected : 0;
	if (extra > cap)
		extra = cap;
	if (extra > cc->extra_acked[cc->extra_slot])
		cc->extra_acked[cc->extra_slot] = extra;
	return cc->extra_acked[0] > cc->extra_acked[1] ? cc->extra_acked[0] : cc->extra_acked[1];
}

static void bbr_acked(struct pfs_cc *cc, uint32_t bytes, uint64_t now_ns,
		      uint64_t bytes_in_flight)
{
	uint64_t round_len = cc->min_rtt_ns > 1000000 ? cc->min_rtt_ns : 1000000;
	double pacing_gain, cwnd_gain;
	/* BBR's window keeps room for the packets that leave and are acked in
	 * batches (send bursts, ack aggregation) on top of the model's BDP; on
	 * sub-millisecond paths the BDP alone is a few packets and starves it */
	uint64_t bw, bdp, floor = 4ull * cc->mss, quanta = 2ull * PFS_CC_BURST_PACKETS * cc->mss;

	cc->delivered += bytes;
	if (!cc->round_start_ns) {
		cc->round_start_ns = now_ns;
		cc->round_delivered = cc->delivered - bytes;
	} else if (now_ns - cc->round_start_ns >= round_len) {
		bbr_round(cc, now_ns, bytes_in_flight);
	}
	switch (cc->mode) {
	case PFS_BBR_STARTUP:
		pacing_gain = cwnd_gain = BBR_HIGH_GAIN;
		break;
	case PFS_BBR_DRAIN:
		pacing_gain = 1 / BBR_HIGH_GAIN;
		cwnd_gain = BBR_HIGH_GAIN;
		break;
	default:
		pacing_gain = probe_bw_gain[cc->cycle];
		cwnd_gain = 2;
	}
	bw = bbr_bw(cc);
	if (bw == 0) {
		/* no model yet: grow like slow start, pace on the window */
		cc->cwnd += bytes;
		cc->pacing_rate = capped(cc, BBR_HIGH_GAIN * (double)cc->cwnd * 1e9 /
						     rtt_or_initial(cc->srtt_ns));
		return;
	}
	bdp = (uint64_t)((double)bw * (double)cc->min_rtt_ns / 1e9);
	cc->cwnd = (uint64_t)(cwnd_gain * (double)bdp) + quanta + bbr_extra_acked(cc, bytes, now_ns, bw);
	if (cc->cwnd < floor)
		cc->cwnd = floor;
	cc->pacing_rate = capped(cc, pacing_gain * (double)bw);
}

/* --- common ----------------------------------------------------------------- */

void pfs_cc_on_acked(struct pfs_cc *cc, uint32_t bytes, uint64_t sent_ns, uint64_t now_ns,
		     uint64_t srtt_ns, uint64_t min_rtt_ns, uint64_t bytes_in_flight)
{
	cc->srtt_ns = srtt_ns;
	cc->min_rtt_ns = min_rtt_ns;
	switch (cc->algo) {
	case PFS_CC_FIXED:
		/* enough window for the rate over two round trips, never below 16 MSS */
		cc->cwnd = (uint64_t)((double)cc->pacing_rate * 2 * rtt_or_initial(srtt_ns) / 1e9);
		if (cc->cwnd < 16ull * cc->mss)
			cc->cwnd = 16ull * cc->mss;
		break;
	case PFS_CC_CUBIC:
		cubic_acked(cc, bytes, sent_ns, now_ns);
		/* pace a little above the window's rate so pacing never limits it */
		cc->pacing_rate = capped(cc, (cc->cwnd < cc->ssthresh ? 2.0 : 1.25) *
						     (double)cc->cwnd * 1e9 / rtt_or_initial(srtt_ns));
		break;
	case PFS_CC_BBR:
		bbr_acked(cc, bytes, now_ns, bytes_in_flight);
		break;
	}
}

void pfs_cc_on_lost(struct pfs_cc *cc, uint32_t bytes, uint64_t sent_ns, uint64_t now_ns)
{
	if (cc->algo == PFS_CC_CUBIC) {
		cubic_lost(cc, sent_ns, now_ns);
		cc->pacing_rate = capped(cc, 1.25 * (double)cc->cwnd * 1e9 /
						     rtt_or_initial(cc->srtt_ns));
	}
	/* FIXED keeps its rate; BBR's model is built from deliveries, not losses */
}

/* --- pacer ------------------------------------------------------------------ */

void pfs_pacer_init(struct pfs_pacer *p, uint64_t burst_min, uint64_t burst_max)
{
	p->tokens = (double)burst_min;
	p->last_ns = 0;
	p->burst_min = burst_min;
	p->burst_max = burst_max > burst_min ? burst_max : burst_min;
}

static void refill(struct pfs_pacer *p, uint64_t now_ns, uint64_t rate)
{
	double cap = (double)rate * PFS_PACER_QUANTUM_NS / 1e9;

	if (cap < (double)p->burst_min)
		cap = (double)p->burst_min;
	if (cap > (double)p->burst_max)
		cap = (double)p->burst_max;
	if (now_ns > p->last_ns) {
		p->tokens += (double)rate * (double)(now_ns - p->last_ns) / 1e9;
		if (p->tokens > cap)
			p->tokens = cap;
		p->last_ns = now_ns;
	}
}

uint64_t pfs_pacer_when(struct pfs_pacer *p, uint64_t now_ns, uint64_t rate, uint32_t bytes)
{
	refill(p, now_ns, rate);
	if (p->tokens >= bytes || rate == 0)
		return now_ns;
	/* round up, so that at the returned time the bucket surely holds enough */
	return now_ns + (uint64_t)ceil((bytes - p->tokens) * 1e9 / (double)rate);
}

void pfs_pacer_sent(struct pfs_pacer *p, uint64_t now_ns, uint64_t rate, uint32_t bytes)
{
	refill(p, now_ns, rate);
	p->tokens -= bytes;
}
