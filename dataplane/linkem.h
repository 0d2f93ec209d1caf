/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linkem: the model of one direction of an emulated link, sans-IO. The
 * caller offers each frame with its arrival time and length and is told its
 * fate: dropped (and why), or delivered at a time, perhaps twice, perhaps
 * with one bit flipped. pfs-linkem (dataplane/tools/linkem.c) does the I/O.
 *
 * The path of a frame, in this order (like a sender's NIC, then the wire):
 *
 *   queue    tail drop when the bytes still waiting to be serialized plus
 *            this frame exceed queue_bytes (only with a rate)
 *   rate     departure = max(now, last departure) + len * 8 / rate
 *   burst    Gilbert-Elliott: a two-state chain stepped once per frame;
 *            every frame is lost in the bad state
 *   loss     independent random loss
 *   corrupt  one bit in [0, len * 8) flipped
 *   dup      a second copy delivered at the same time, after the first
 *   delay    deliver_at = departure + delay + uniform [0, jitter); a jitter
 *            larger than the spacing reorders, as netem's does
 *   reorder  the frame skips delay and jitter: it arrives when serialized,
 *            ahead of the frames still in flight
 *
 * Frames lost on the wire (burst, loss) still took their serialization time.
 * Every draw comes from one xorshift64* stream per model (the generator of
 * io_fault.c), so a seed and a sequence of offers give the same verdicts on
 * every machine.
 */
#ifndef PFS_LINKEM_H
#define PFS_LINKEM_H

#include <stdint.h>

#define PFS_LINKEM_PPM 1000000u
/* The default queue: the bandwidth-delay product of the round trip (2 * delay
 * on a symmetric link), but never less than this. */
#define PFS_LINKEM_QUEUE_MIN (1u << 20)
/* Implementation limits that keep the nanosecond arithmetic far from
 * overflow: 100 s of delay or jitter, 1 Tbit/s. */
#define PFS_LINKEM_DELAY_MAX_NS 100000000000ull
#define PFS_LINKEM_RATE_MAX_BPS 1000000000000ull

struct pfs_linkem_config {
	uint64_t rate_bps; /* bits per second of the frames as offered; 0: unlimited */
	uint64_t delay_ns, jitter_ns;
	uint32_t loss_ppm;
	uint32_t burst_enter_ppm, burst_exit_ppm; /* Gilbert-Elliott transitions */
	uint32_t reorder_ppm, duplicate_ppm, corrupt_ppm;
	uint64_t queue_bytes; /* tail-drop limit with a rate; 0: the default above */
	uint64_t seed;	      /* 0: a fixed default */
};

/* A frame's fate. Reason codes are stable: they name counters and JSON fields. */
enum pfs_linkem_fate {
	PFS_LINKEM_DELIVER = 0,
	PFS_LINKEM_DROP_LOSS = 1,  /* independent random loss */
	PFS_LINKEM_DROP_BURST = 2, /* lost in the Gilbert-Elliott bad state */
	PFS_LINKEM_DROP_QUEUE = 3, /* tail drop: the serialization backlog is full */
	PFS_LINKEM_FATES = 4,
};

struct pfs_linkem_verdict {
	enum pfs_linkem_fate fate;
	uint64_t deliver_at_ns; /* when delivered */
	uint64_t dup_at_ns;	/* when duplicate: the copy's time */
	uint64_t corrupt_bit;	/* when corrupt: the bit to flip, < len * 8 */
	uint8_t duplicate, corrupt, reordered;
};

struct pfs_linkem_stats {
	uint64_t packets_in, bytes_in;
	uint64_t packets_out, bytes_out;    /* delivered, copies included */
	uint64_t dropped[PFS_LINKEM_FATES]; /* by fate; [PFS_LINKEM_DELIVER] stays 0 */
	uint64_t duplicated, corrupted, reordered;
};

struct pfs_linkem {
	struct pfs_linkem_config cfg;
	struct pfs_linkem_stats stats;
	uint64_t rng;
	uint64_t last_departure_ns; /* the end of the last frame's serialization */
	uint64_t departure_rem;	    /* its fraction of a nanosecond, in units of 1/rate */
	uint64_t queue_ns;	    /* queue_bytes as serialization time */
	int bad;		    /* Gilbert-Elliott state */
};

/*
 * Sets m up for cfg (copied; queue_bytes filled in when 0 and rate_bps is
 * set). Returns 0, or PFS_ERR_INVALID_ARG when a probability exceeds
 * PFS_LINKEM_PPM, burst_enter_ppm is set without burst_exit_ppm, queue_bytes
 * is set without rate_bps, or delay, jitter or rate exceed the limits above.
 */
int pfs_linkem_init(struct pfs_linkem *m, const struct pfs_linkem_config *cfg);

/*
 * Decides the fate of a frame of len bytes arriving at now_ns (which must
 * not go backwards between calls); fills v and counts it in m->stats.
 * Returns v->fate: PFS_LINKEM_DELIVER or a PFS_LINKEM_DROP_* reason. Never
 * fails.
 */
int pfs_linkem_offer(struct pfs_linkem *m, uint64_t now_ns, uint32_t len,
		     struct pfs_linkem_verdict *v);

/* The stable lower-case name of a fate ("deliver", "loss", "burst", "queue"). */
const char *pfs_linkem_fate_name(enum pfs_linkem_fate fate);

#endif
