/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "error.h"
#include "recovery.h"

static struct pfs_rec_sent *slot(struct pfs_recovery *r, uint64_t pn)
{
	struct pfs_rec_sent *s = &r->ring[pn % PFS_REC_WINDOW];

	return s->in_use && s->pn == pn ? s : NULL;
}

void pfs_rec_init(struct pfs_recovery *r, uint64_t max_ack_delay_ns)
{
	memset(r, 0, sizeof(*r));
	r->largest_acked = UINT64_MAX;
	r->srtt_ns = PFS_REC_INITIAL_RTT_NS;
	r->rttvar_ns = PFS_REC_INITIAL_RTT_NS / 2;
	r->max_ack_delay_ns = max_ack_delay_ns;
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
		.pn = pn, .time_ns = now_ns, .cookie = cookie, .bytes = bytes,
		.ack_eliciting = (uint8_t)!!ack_eliciting, .in_use = 1,
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

static void detect_lost(struct pfs_recovery *r, uint64_t now_ns, const struct pfs_rec_events *ev)
{
	uint64_t base = r->latest_rtt_ns > r->srtt_ns ? r->latest_rtt_ns : r->srtt_ns;
	uint64_t delay = base + base / 8, cutoff;

	if (delay < PFS_REC_GRANULARITY_NS)
		delay = PFS_REC_GRANULARITY_NS;
	cutoff = now_ns > delay ? now_ns - delay : 0;
	r->loss_time_ns = 0;
	if (r->largest_acked == UINT64_MAX)
		return;
	for (uint64_t pn = r->oldest; pn < r->next_pn && pn <= r->largest_acked; pn++) {
		struct pfs_rec_sent *s = slot(r, pn);
		if (!s)
			continue;
		if (s->time_ns <= cutoff || r->largest_acked >= pn + PFS_REC_PACKET_THRESHOLD) {
			struct pfs_rec_sent gone = *s;
			retire(r, s);
			if (ev && ev->lost)
				ev->lost(ev->ctx, gone.cookie, gone.bytes, gone.time_ns, now_ns);
		} else if (!r->loss_time_ns || s->time_ns + delay < r->loss_time_ns) {
			r->loss_time_ns = s->time_ns + delay;
		}
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
	/* an RTT sample needs the largest acknowledged to be newly acknowledged */
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
	}
	if (newly)
		r->pto_count = 0;
	detect_lost(r, now_ns, ev);
	return 0;
}

uint64_t pfs_rec_pto_ns(const struct pfs_recovery *r)
{
	uint64_t var = 4 * r->rttvar_ns;

	if (var < PFS_REC_GRANULARITY_NS)
		var = PFS_REC_GRANULARITY_NS;
	return (r->srtt_ns + var + r->max_ack_delay_ns) << (r->pto_count < 16 ? r->pto_count : 16);
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
