/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Congestion control, one module with three algorithms behind one interface:
 *
 *  - FIXED: a constant pacing rate (the operator's number), for links whose
 *    capacity is known and shared with nobody.
 *  - CUBIC (RFC 9438): loss-based window; multiplicative decrease by 0.7 once
 *    per round trip, cubic regrowth towards the last maximum.
 *  - BBR (after BBRv1, Cardwell et al. 2016): model-based; estimates the
 *    bottleneck bandwidth (max of delivery-rate samples over ~10 round trips)
 *    and the minimum RTT, paces at a gain times the bandwidth and caps the
 *    window at twice the bandwidth-delay product. Random loss does not reduce
 *    its rate, which is what long lossy paths need.
 *
 * Sans-IO: events carry the time. The window is in bytes; rates in bytes per
 * second. Every algorithm honours rate_cap (0 = none). The transport sends
 * while bytes_in_flight < cwnd and no earlier than the pacer allows.
 */
#ifndef PFS_CC_H
#define PFS_CC_H

#include <stdint.h>

enum pfs_cc_algo {
	PFS_CC_FIXED = 0,
	PFS_CC_CUBIC = 1,
	PFS_CC_BBR = 2,
};

enum pfs_bbr_mode {
	PFS_BBR_STARTUP,
	PFS_BBR_DRAIN,
	PFS_BBR_PROBE_BW,
};

#define PFS_BBR_BW_SAMPLES 10	/* round trips the bandwidth max filter spans */
#define PFS_CC_BURST_PACKETS 64 /* packets a worker sends or acks in one batch */

struct pfs_cc {
	enum pfs_cc_algo algo;
	uint32_t mss;
	uint64_t cwnd;	      /* bytes */
	uint64_t pacing_rate; /* bytes per second */
	uint64_t rate_cap;    /* bytes per second; 0: none */
	uint64_t srtt_ns, min_rtt_ns;
	/* CUBIC */
	uint64_t ssthresh;
	uint64_t recovery_start_ns; /* losses of packets sent before this are one event */
	double w_max;		    /* window before the last reduction, in MSS */
	double k_s;		    /* seconds from the reduction back to w_max */
	uint64_t epoch_ns;	    /* start of the current growth epoch; 0: none */
	double w_est;		    /* Reno-friendly estimate, in MSS */
	/* BBR */
	enum pfs_bbr_mode mode;
	uint64_t delivered; /* bytes acknowledged so far */
	uint64_t round_start_ns, round_delivered;
	uint64_t bw_samples[PFS_BBR_BW_SAMPLES]; /* one max per round */
	uint32_t round, full_bw_rounds;
	uint64_t full_bw;
	uint32_t cycle; /* index into the PROBE_BW gain cycle */
	/* ack aggregation (as Linux BBR): bytes acknowledged beyond what the
	 * bandwidth estimate explains since the current epoch began, and the
	 * largest such excess in each of the last two 5-round windows */
	uint64_t agg_epoch_ns, agg_epoch_acked;
	uint64_t extra_acked[2];
	uint32_t extra_slot, extra_round;
};

/*
 * rate: the FIXED rate (bytes/s; required for FIXED, else ignored); rate_cap:
 * a ceiling for every algorithm (0 = none). Returns 0 or PFS_ERR_INVALID_ARG.
 */
int pfs_cc_init(struct pfs_cc *cc, enum pfs_cc_algo algo, uint32_t mss, uint64_t rate,
		uint64_t rate_cap);

/* RTT estimates from recovery.h, given with every acknowledgement. */
void pfs_cc_on_acked(struct pfs_cc *cc, uint32_t bytes, uint64_t sent_ns, uint64_t now_ns,
		     uint64_t srtt_ns, uint64_t min_rtt_ns, uint64_t bytes_in_flight);
void pfs_cc_on_lost(struct pfs_cc *cc, uint32_t bytes, uint64_t sent_ns, uint64_t now_ns);

const char *pfs_cc_name(enum pfs_cc_algo algo);

/*
 * Pacer: a token bucket filled at the pacing rate, holding what the rate
 * fills in PFS_PACER_QUANTUM_NS — at least burst_min and at most burst_max
 * bytes — so that packets leave in batches big enough for one system call or
 * GSO train each (as Linux sizes TSO bursts by rate) without letting a whole
 * window leave at once. At 10 packets per burst and 400 MB/s a batch left every
 * 35 µs and system calls, not bytes, bounded the rate.
 *
 * The quantum is also the lateness the bucket forgives: a sender that wakes
 * later than the pacer asked (a loaded machine's scheduler; two processes on
 * two cores) sends what it owes up to the quantum's worth, and loses the rest
 * of the rate for good. With 0.5 ms, --cc fixed --rate 400 (50 MB/s) over
 * loopback on this 2-core machine under load delivered 24–31 MB/s; with 2 ms,
 * 48. Bursts stay within burst_max (PFS_CC_BURST_PACKETS) whatever the rate.
 */
#define PFS_PACER_QUANTUM_NS 2000000ull /* 2 ms of the pacing rate */

struct pfs_pacer {
	double tokens; /* bytes (fractional: rounding would stall slow rates) */
	uint64_t last_ns;
	uint64_t burst_min, burst_max;
};

void pfs_pacer_init(struct pfs_pacer *p, uint64_t burst_min, uint64_t burst_max);
/* Earliest time >= now_ns at which `bytes` may be sent at `rate` bytes/s. */
uint64_t pfs_pacer_when(struct pfs_pacer *p, uint64_t now_ns, uint64_t rate, uint32_t bytes);
/* Takes bytes from the bucket at now_ns (call when actually sending). */
void pfs_pacer_sent(struct pfs_pacer *p, uint64_t now_ns, uint64_t rate, uint32_t bytes);

#endif
