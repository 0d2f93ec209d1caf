/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model (recovery.h has the rules): a ring of PFS_REC_WINDOW records indexed
 * by packet number holds what is outstanding, and `oldest` trails its first
 * live record. A second, smaller ring remembers packets declared lost, in
 * increasing packet-number order: losses are declared in that order, since
 * both thresholds hold for every older packet once they hold for a newer one
 * (sent times do not decrease). An ACK range finds its late arrivals there by
 * binary search; an entry acknowledged becomes a hole, and holes and entries
 * older than two probe timeouts leave from the front.
 *
 * The reordering tolerance (packet_threshold, reo_mult) only widens on
 * evidence, a spurious loss, and returns to RFC 9002's values after
 * PFS_REC_REO_PERSIST loss episodes with no new evidence, so a path that
 * stopped reordering gets prompt loss detection back. An episode starts with
 * the first loss of a packet sent after the previous episode started.
 */
#include <string.h>

#include "error.h"
#include "recovery.h"

static struct pfs_rec_sent *slot(struct pfs_recovery *r, uint64_t pn)
{
	struct pfs_rec_sent *s = &r->ring[pn % PFS_REC_WINDOW];

	return s->in_use && s->pn == pn ? s : NULL;
}

static void reset_tolerance(struct pfs_recovery *r)
{
	r->packet_threshold = PFS_REC_PACKET_THRESHOLD;
	r->reo_mult = 0;
	r->reo_persist = 0;
}

void pfs_rec_init(struct pfs_recovery *r, uint64_t max_ack_delay_ns)
{
	memset(r, 0, sizeof(*r));
	r->largest_acked = UINT64_MAX;
	r->srtt_ns = PFS_REC_INITIAL_RTT_NS;
	r->rttvar_ns = PFS_REC_INITIAL_RTT_NS / 2;
	r->max_ack_delay_ns = max_ack_delay_ns;
	r->pto_backoff_max = 16;
	reset_tolerance(r);
}

int pfs_rec_on_sent(struct pfs_recovery *r, uint64_t pn, uint64_t now_ns, uint32_t bytes,
		    int ack_eliciting, uint64_t cookie)
{
	if (pn < r->next_pn)
		return PFS_ERR_INVALID_ARG;
	if (r->oldest == r->next_pn)
		r->oldest = pn; /* nothing outstanding: the window starts here */
	if (pn - r->oldest >= PFS_REC_WINDOW)
		return PFS_ERR_LIMIT;
	r->ring[pn % PFS_REC_WINDOW] = (struct pfs_rec_sent){
		.pn = pn,
		.time_ns = now_ns,
		.cookie = cookie,
		.bytes = bytes,
		.ack_eliciting = (uint8_t) !!ack_eliciting,
		.in_use = 1,
	};
	if (ack_eliciting) {
		r->bytes_in_flight += bytes;
		r->last_eliciting_sent_ns = now_ns;
	}
	r->next_pn = pn + 1;
	return 0;
}

/* Forgets a packet, acknowledged or lost. */
static void retire(struct pfs_recovery *r, struct pfs_rec_sent *s)
{
	if (s->ack_eliciting)
		r->bytes_in_flight -= s->bytes;
	s->in_use = 0;
	while (r->oldest < r->next_pn && !slot(r, r->oldest))
		r->oldest++;
}

static void update_rtt(struct pfs_recovery *r, uint64_t latest, uint64_t ack_delay)
{
	uint64_t adjusted = latest, diff;

	r->latest_rtt_ns = latest;
	if (!r->have_rtt) {
		r->have_rtt = 1;
		r->min_rtt_ns = r->srtt_ns = latest;
		r->rttvar_ns = latest / 2;
		return;
	}
	if (latest < r->min_rtt_ns)
		r->min_rtt_ns = latest;
	if (ack_delay > r->max_ack_delay_ns)
		ack_delay = r->max_ack_delay_ns;
	/* the peer's delay counts only where the sample can afford it */
	if (latest >= r->min_rtt_ns + ack_delay)
		adjusted = latest - ack_delay;
	diff = r->srtt_ns > adjusted ? r->srtt_ns - adjusted : adjusted - r->srtt_ns;
	r->rttvar_ns = (3 * r->rttvar_ns + diff) / 4;
	r->srtt_ns = (7 * r->srtt_ns + adjusted) / 8;
}

/* The probe timeout without backoff. */
static uint64_t pto_base(const struct pfs_recovery *r)
{
	uint64_t var = 4 * r->rttvar_ns;

	if (var < PFS_REC_GRANULARITY_NS)
		var = PFS_REC_GRANULARITY_NS;
	return r->srtt_ns + var + r->max_ack_delay_ns;
}

/* --- packets declared lost, remembered ---------------------------------------- */

static struct pfs_rec_lost *lost_at(struct pfs_recovery *r, uint32_t i)
{
	return &r->lost[(r->lost_head + i) % PFS_REC_LOST_MAX];
}

static void lost_pop(struct pfs_recovery *r)
{
	r->lost_head = (r->lost_head + 1) % PFS_REC_LOST_MAX;
	r->lost_count--;
}

/* Drops holes and entries past keeping from the front. An acknowledgement
 * later than two probe timeouts after the loss says nothing a loss would not. */
static void lost_expire(struct pfs_recovery *r, uint64_t now_ns)
{
	uint64_t keep = 2 * pto_base(r);

	while (r->lost_count) {
		const struct pfs_rec_lost *l = lost_at(r, 0);
		if (!l->gone && l->lost_ns + keep > now_ns)
			break;
		lost_pop(r);
	}
}

static void lost_remember(struct pfs_recovery *r, const struct pfs_rec_sent *s, int by_time,
			  uint64_t now_ns)
{
	/* out of order only if time went back; the binary search needs order */
	if (r->lost_count && lost_at(r, r->lost_count - 1)->pn >= s->pn)
		return;
	if (r->lost_count == PFS_REC_LOST_MAX)
		lost_pop(r); /* full: the oldest is forgotten */
	*lost_at(r, r->lost_count++) = (struct pfs_rec_lost){
		.pn = s->pn,
		.time_ns = s->time_ns,
		.lost_ns = now_ns,
		.cookie = s->cookie,
		.bytes = s->bytes,
		.by_time = (uint8_t)by_time,
	};
}

/* Index of the first remembered loss numbered pn or above. */
static uint32_t lost_find(struct pfs_recovery *r, uint64_t pn)
{
	uint32_t lo = 0, hi = r->lost_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (lost_at(r, mid)->pn < pn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A packet declared lost was acknowledged: the path reorders more than the
 * thresholds allowed. The reordering distance is taken up to the largest
 * acknowledged so far, an upper bound (packets that arrived after it but
 * before the ACK count too); the lower bound, the largest before this ACK,
 * creeps up one spurious loss at a time on a jittery path (in a session run
 * with 100 us of jitter, 51 pieces resent instead of 7). The time window is
 * counted in srtt, not RACK's min_rtt, like the time threshold it widens. */
static void widen(struct pfs_recovery *r, const struct pfs_rec_lost *l)
{
	r->spurious_lost++;
	r->reo_persist = PFS_REC_REO_PERSIST;
	if (r->largest_acked > l->pn) {
		uint64_t distance = r->largest_acked - l->pn + 1;
		if (distance > PFS_REC_PACKET_THRESHOLD_MAX)
			distance = PFS_REC_PACKET_THRESHOLD_MAX;
		if (distance > r->packet_threshold)
			r->packet_threshold = (uint32_t)distance;
	}
	/* as RACK on a DSACK: one step per round trip, however many arrive late */
	if (l->by_time && r->reo_mult < PFS_REC_REO_MULT_MAX &&
	    r->largest_acked >= r->reo_round_end) {
		r->reo_mult++;
		r->reo_round_end = r->next_pn;
	}
}

/* Reports remembered losses within rg acknowledged; 1 if there was one. */
static int ack_lost(struct pfs_recovery *r, const struct pfs_ack_range *rg, uint64_t now_ns,
		    const struct pfs_rec_events *ev)
{
	int any = 0;

	for (uint32_t i = lost_find(r, rg->lo); i < r->lost_count; i++) {
		struct pfs_rec_lost *l = lost_at(r, i);
		if (l->pn > rg->hi)
			break;
		if (l->gone)
			continue;
		l->gone = 1;
		any = 1;
		widen(r, l);
		/* bytes_in_flight already lost these bytes: only the owner hears */
		if (ev && ev->acked)
			ev->acked(ev->ctx, l->cookie, l->bytes, l->time_ns, now_ns);
	}
	return any;
}

/* --- loss detection ---------------------------------------------------------------- */

uint64_t pfs_rec_loss_delay_ns(const struct pfs_recovery *r)
{
	uint64_t base = r->latest_rtt_ns > r->srtt_ns ? r->latest_rtt_ns : r->srtt_ns;
	uint64_t reo = base / 8; /* RFC 9002's 9/8 */
	uint64_t wnd = r->srtt_ns / 4 * r->reo_mult;

	if (wnd > r->srtt_ns)
		wnd = r->srtt_ns;
	if (wnd > reo)
		reo = wnd;
	return base + reo > PFS_REC_GRANULARITY_NS ? base + reo : PFS_REC_GRANULARITY_NS;
}

static void declare_lost(struct pfs_recovery *r, struct pfs_rec_sent *s, int by_time,
			 uint64_t now_ns, const struct pfs_rec_events *ev)
{
	struct pfs_rec_sent gone = *s;

	if (gone.pn >= r->episode_end) {
		r->episode_end = r->next_pn;
		if (r->reo_persist && --r->reo_persist == 0)
			reset_tolerance(r);
	}
	retire(r, s);
	lost_remember(r, &gone, by_time, now_ns);
	if (ev && ev->lost)
		ev->lost(ev->ctx, gone.cookie, gone.bytes, gone.time_ns, now_ns);
}

void pfs_rec_make_room(struct pfs_recovery *r, uint64_t pn, uint64_t now_ns,
		       const struct pfs_rec_events *ev)
{
	while (r->oldest < r->next_pn && pn - r->oldest >= PFS_REC_WINDOW) {
		struct pfs_rec_sent *s = slot(r, r->oldest);
		if (s)
			declare_lost(r, s, 1, now_ns, ev); /* moves oldest on */
		else
			r->oldest++;
	}
}

static void detect_lost(struct pfs_recovery *r, uint64_t now_ns, const struct pfs_rec_events *ev)
{
	uint64_t delay = pfs_rec_loss_delay_ns(r);
	uint32_t threshold = r->packet_threshold; /* a reset applies from the next call */

	r->loss_time_ns = 0;
	if (r->largest_acked == UINT64_MAX)
		return;
	for (uint64_t pn = r->oldest; pn < r->next_pn && pn <= r->largest_acked; pn++) {
		struct pfs_rec_sent *s = slot(r, pn);
		if (!s)
			continue;
		int by_time = s->time_ns + delay <= now_ns;
		if (by_time || r->largest_acked >= pn + threshold)
			declare_lost(r, s, by_time, now_ns, ev);
		else if (!r->loss_time_ns || s->time_ns + delay < r->loss_time_ns)
			r->loss_time_ns = s->time_ns + delay;
	}
}

int pfs_rec_on_ack(struct pfs_recovery *r, const struct pfs_fr_ack *ack, uint64_t now_ns,
		   const struct pfs_rec_events *ev)
{
	uint64_t largest = ack->r[0].hi;
	struct pfs_rec_sent *top;
	int newly = 0, eliciting = 0;

	if (ack->n == 0 || largest >= r->next_pn)
		return PFS_ERR_MALFORMED;
	/* an RTT sample needs the largest acknowledged to be newly acknowledged;
	 * one declared lost gives none, as its delay is what fooled us */
	top = slot(r, largest);
	if (top && now_ns >= top->time_ns) {
		for (uint32_t i = 0; i < ack->n && !eliciting; i++)
			for (uint64_t pn = ack->r[i].lo > r->oldest ? ack->r[i].lo : r->oldest;
			     pn <= ack->r[i].hi && !eliciting; pn++) {
				struct pfs_rec_sent *s = slot(r, pn);
				eliciting = s && s->ack_eliciting;
			}
		if (eliciting)
			update_rtt(r, now_ns - top->time_ns, ack->delay_us * 1000);
	}
	if (r->largest_acked == UINT64_MAX || largest > r->largest_acked)
		r->largest_acked = largest;
	lost_expire(r, now_ns);
	for (uint32_t i = 0; i < ack->n; i++) {
		for (uint64_t pn = ack->r[i].lo > r->oldest ? ack->r[i].lo : r->oldest;
		     pn <= ack->r[i].hi; pn++) {
			struct pfs_rec_sent *s = slot(r, pn);
			if (!s)
				continue;
			struct pfs_rec_sent done = *s;
			retire(r, s);
			newly = 1;
			if (ev && ev->acked)
				ev->acked(ev->ctx, done.cookie, done.bytes, done.time_ns, now_ns);
		}
		if (r->lost_count && ack_lost(r, &ack->r[i], now_ns, ev))
			newly = 1;
	}
	if (newly)
		r->pto_count = 0;
	detect_lost(r, now_ns, ev);
	return 0;
}

uint64_t pfs_rec_pto_ns(const struct pfs_recovery *r)
{
	uint32_t cap = r->pto_backoff_max < 16 ? r->pto_backoff_max : 16;

	return pto_base(r) << (r->pto_count < cap ? r->pto_count : cap);
}

uint64_t pfs_rec_deadline(const struct pfs_recovery *r)
{
	if (r->loss_time_ns)
		return r->loss_time_ns;
	if (r->bytes_in_flight == 0)
		return UINT64_MAX;
	return r->last_eliciting_sent_ns + pfs_rec_pto_ns(r);
}

int pfs_rec_on_timeout(struct pfs_recovery *r, uint64_t now_ns, const struct pfs_rec_events *ev)
{
	uint64_t deadline = pfs_rec_deadline(r);

	if (deadline == UINT64_MAX || now_ns < deadline)
		return 0;
	if (r->loss_time_ns) {
		detect_lost(r, now_ns, ev);
		return 0;
	}
	/* Probe timeout: nothing heard for too long. Send probes, back off. */
	r->pto_count++;
	return 2;
}
