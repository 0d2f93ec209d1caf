/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linkem: one direction of an emulated link (the model is drawn in linkem.h).
 *
 * Serialization is kept exact: the departure time advances by len * 8e9 /
 * rate nanoseconds, with the remainder carried in units of 1/rate, so a
 * million frames at a rate that does not divide evenly end where one frame of
 * their total length would.
 */
#include <string.h>

#include "error.h"
#include "linkem.h"
#include "rand.h"

#define NS_PER_S 1000000000ull

static uint64_t next(struct pfs_linkem *m)
{
	return pfs_rand_next(&m->rng);
}

static int chance(struct pfs_linkem *m, uint32_t ppm)
{
	return pfs_rand_chance(&m->rng, ppm);
}

int pfs_linkem_init(struct pfs_linkem *m, const struct pfs_linkem_config *cfg)
{
	struct pfs_linkem_config c;

	if (!m || !cfg)
		return PFS_ERR_INVALID_ARG;
	c = *cfg;
	if (c.loss_ppm > PFS_LINKEM_PPM || c.burst_enter_ppm > PFS_LINKEM_PPM ||
	    c.burst_exit_ppm > PFS_LINKEM_PPM || c.reorder_ppm > PFS_LINKEM_PPM ||
	    c.duplicate_ppm > PFS_LINKEM_PPM || c.corrupt_ppm > PFS_LINKEM_PPM)
		return PFS_ERR_INVALID_ARG;
	/* a bad state nobody leaves would be a link cut, not burst loss */
	if (c.burst_enter_ppm && !c.burst_exit_ppm)
		return PFS_ERR_INVALID_ARG;
	if (c.delay_ns > PFS_LINKEM_DELAY_MAX_NS || c.jitter_ns > PFS_LINKEM_DELAY_MAX_NS ||
	    c.rate_bps > PFS_LINKEM_RATE_MAX_BPS)
		return PFS_ERR_INVALID_ARG;
	/* without a rate nothing waits to be serialized: a limit would be ignored */
	if (c.queue_bytes && !c.rate_bps)
		return PFS_ERR_INVALID_ARG;
	if (c.rate_bps && !c.queue_bytes) {
		unsigned __int128 bdp =
			(unsigned __int128)c.rate_bps * (2 * c.delay_ns) / (8 * NS_PER_S);
		c.queue_bytes = bdp > PFS_LINKEM_QUEUE_MIN ? (uint64_t)bdp : PFS_LINKEM_QUEUE_MIN;
	}

	memset(m, 0, sizeof(*m));
	m->cfg = c;
	m->rng = c.seed ? c.seed : 0x9e3779b97f4a7c15ull;
	if (c.rate_bps) {
		/* queue_bytes <= rate * 100 s * 2 / 8 or a user's number; cap at
		 * what fits the nanosecond clock for a century */
		unsigned __int128 q = (unsigned __int128)c.queue_bytes * 8 * NS_PER_S / c.rate_bps;
		m->queue_ns = q > (1ull << 62) ? 1ull << 62 : (uint64_t)q;
	}
	return 0;
}

/* Serializes len bytes: sets the departure time, or returns non-zero when the
 * backlog leaves no room for them. */
static int serialize(struct pfs_linkem *m, uint64_t now, uint32_t len, uint64_t *departure)
{
	uint64_t rate = m->cfg.rate_bps, bits_ns, backlog_ns = 0;

	if (!rate) {
		*departure = now;
		return 0;
	}
	/* the time this frame itself takes, exactly, with the carried remainder */
	bits_ns = (uint64_t)len * 8 * NS_PER_S;
	if (m->last_departure_ns > now) {
		backlog_ns = m->last_departure_ns - now;
	} else {
		m->last_departure_ns = now;
		m->departure_rem = 0;
	}
	/* backlog + this frame > queue_bytes, compared as times: the frame's own
	 * time rounded down so that a frame that exactly fills the queue fits */
	if (backlog_ns + bits_ns / rate > m->queue_ns)
		return 1;
	bits_ns += m->departure_rem;
	m->last_departure_ns += bits_ns / rate;
	m->departure_rem = bits_ns % rate;
	*departure = m->last_departure_ns;
	return 0;
}

int pfs_linkem_offer(struct pfs_linkem *m, uint64_t now_ns, uint32_t len,
		     struct pfs_linkem_verdict *v)
{
	const struct pfs_linkem_config *c = &m->cfg;
	uint64_t departure;

	memset(v, 0, sizeof(*v));
	m->stats.packets_in++;
	m->stats.bytes_in += len;
	if (serialize(m, now_ns, len, &departure)) {
		v->fate = PFS_LINKEM_DROP_QUEUE;
		goto drop;
	}
	/* one chain step per frame on the wire, as io_fault.c */
	if (pfs_rand_burst_step(&m->rng, &m->bad, c->burst_enter_ppm, c->burst_exit_ppm)) {
		v->fate = PFS_LINKEM_DROP_BURST;
		goto drop;
	}
	if (chance(m, c->loss_ppm)) {
		v->fate = PFS_LINKEM_DROP_LOSS;
		goto drop;
	}
	if (len && chance(m, c->corrupt_ppm)) {
		v->corrupt = 1;
		v->corrupt_bit = next(m) % ((uint64_t)len * 8);
		m->stats.corrupted++;
	}
	if (chance(m, c->reorder_ppm)) {
		v->reordered = 1;
		v->deliver_at_ns = departure;
		m->stats.reordered++;
	} else {
		v->deliver_at_ns =
			departure + c->delay_ns + (c->jitter_ns ? next(m) % c->jitter_ns : 0);
	}
	if (chance(m, c->duplicate_ppm)) {
		v->duplicate = 1;
		v->dup_at_ns = v->deliver_at_ns;
		m->stats.duplicated++;
		m->stats.packets_out++;
		m->stats.bytes_out += len;
	}
	v->fate = PFS_LINKEM_DELIVER;
	m->stats.packets_out++;
	m->stats.bytes_out += len;
	return v->fate;
drop:
	m->stats.dropped[v->fate]++;
	return v->fate;
}

const char *pfs_linkem_fate_name(enum pfs_linkem_fate fate)
{
	switch (fate) {
	case PFS_LINKEM_DELIVER:
		return "deliver";
	case PFS_LINKEM_DROP_LOSS:
		return "loss";
	case PFS_LINKEM_DROP_BURST:
		return "burst";
	case PFS_LINKEM_DROP_QUEUE:
		return "queue";
	default:
		return "unknown";
	}
}
