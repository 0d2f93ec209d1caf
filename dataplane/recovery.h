/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loss detection and RTT estimation for one session, after RFC 9002 (QUIC):
 * every sent packet is recorded; ACK frames mark packets acknowledged, update
 * the RTT estimate, and declare earlier unacknowledged packets lost by packet
 * threshold (enough newer packets acknowledged) or time threshold (a little
 * over an RTT); a probe timeout fires when nothing is acknowledged for too
 * long. Sans-IO: time is a parameter, and what was acknowledged or lost is
 * reported through callbacks with the caller's cookie, so the transport can
 * release or resend the frames the packet carried. Congestion control consumes
 * the same events.
 *
 * Both thresholds adapt to the path's reordering, after RACK (RFC 8985). They
 * start at RFC 9002's values (3 packets, 9/8 of the RTT). Packets declared lost
 * are remembered for a while (at most PFS_REC_LOST_MAX of them, for two probe
 * timeouts); when one is acknowledged after all, the loss was spurious: it is
 * counted in spurious_lost, the packet threshold rises to the reordering
 * distance seen (up to PFS_REC_PACKET_THRESHOLD_MAX), and if the time threshold
 * had declared it, the reordering window grows by a quarter of the smoothed RTT
 * (at most once per round trip, up to a whole one). After
 * PFS_REC_REO_PERSIST loss episodes without another spurious loss, both return
 * to their starting values, as RACK resets its window multiplier.
 *
 * Callbacks: a packet is reported lost at most once and acked at most once; a
 * packet reported lost and acknowledged while still remembered is reported
 * acked too (so its owner can release the frames it carried, even if they
 * were resent meanwhile). bytes_in_flight dropped at the loss and is not
 * touched again. Memory is fixed: the remembered losses add about 40 KB.
 *
 * Packet numbers must increase; numbers of packets not recorded (ones that
 * elicit no acknowledgement) are simply skipped. At most PFS_REC_WINDOW
 * numbers may separate the oldest outstanding packet from the newest.
 */
#ifndef PFS_RECOVERY_H
#define PFS_RECOVERY_H

#include <stdint.h>

#include "frames.h"

#define PFS_REC_WINDOW 16384u		    /* outstanding packets tracked */
#define PFS_REC_PACKET_THRESHOLD 3u	    /* RFC 9002's, until reordering is seen */
#define PFS_REC_PACKET_THRESHOLD_MAX 64u    /* deeper reordering is left to the timer */
#define PFS_REC_REO_MULT_MAX 4u		    /* reordering window: up to 4/4 of srtt */
#define PFS_REC_REO_PERSIST 16u		    /* loss episodes before the tolerance resets */
#define PFS_REC_LOST_MAX 1024u		    /* packets declared lost, remembered */
#define PFS_REC_GRANULARITY_NS 1000000ull   /* 1 ms timer granularity */
#define PFS_REC_INITIAL_RTT_NS 100000000ull /* 100 ms before any sample */

struct pfs_rec_sent {
	uint64_t pn, time_ns, cookie;
	uint32_t bytes;
	uint8_t ack_eliciting, in_use;
};

/* A packet declared lost, kept to notice if it is acknowledged after all. */
struct pfs_rec_lost {
	uint64_t pn, time_ns, lost_ns, cookie;
	uint32_t bytes;
	uint8_t by_time; /* the time threshold had expired when it was declared */
	uint8_t gone;	 /* acknowledged since: the entry is a hole */
};

struct pfs_recovery {
	struct pfs_rec_sent ring[PFS_REC_WINDOW];
	uint64_t next_pn;	/* lowest number not yet sent */
	uint64_t oldest;	/* lowest number possibly still outstanding */
	uint64_t largest_acked; /* UINT64_MAX: none yet */
	uint64_t srtt_ns, rttvar_ns, min_rtt_ns, latest_rtt_ns;
	uint64_t max_ack_delay_ns;
	uint64_t bytes_in_flight;
	uint64_t last_eliciting_sent_ns;
	uint64_t loss_time_ns; /* 0: no packet waiting on the time threshold */
	uint32_t pto_count;
	uint32_t pto_backoff_max; /* the probe timeout doubles at most this often (<= 16) */
	int have_rtt;
	/* reordering tolerance (RFC 8985) */
	uint32_t packet_threshold; /* PFS_REC_PACKET_THRESHOLD..PFS_REC_PACKET_THRESHOLD_MAX */
	uint32_t reo_mult;	   /* 0: time threshold 9/8 rtt; k: rtt + k/4 srtt */
	uint32_t reo_persist;	   /* loss episodes left before the tolerance resets */
	uint64_t reo_round_end;	   /* reo_mult grows again once this pn is acked */
	uint64_t episode_end;	   /* a loss below this pn is in the current episode */
	uint64_t spurious_lost;	   /* packets declared lost, acknowledged later */
	struct pfs_rec_lost lost[PFS_REC_LOST_MAX]; /* ring, increasing pn */
	uint32_t lost_head, lost_count;
};

/* What acknowledgements and losses are reported to. */
struct pfs_rec_events {
	void *ctx;
	void (*acked)(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns,
		      uint64_t now_ns);
	void (*lost)(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns, uint64_t now_ns);
};

void pfs_rec_init(struct pfs_recovery *r, uint64_t max_ack_delay_ns);

/* Records packet pn (>= r->next_pn). Returns 0, PFS_ERR_INVALID_ARG (not
 * increasing) or PFS_ERR_LIMIT (pn too far beyond the oldest outstanding). */
int pfs_rec_on_sent(struct pfs_recovery *r, uint64_t pn, uint64_t now_ns, uint32_t bytes,
		    int ack_eliciting, uint64_t cookie);

/* Processes an ACK frame received at now_ns. Returns 0, or PFS_ERR_MALFORMED
 * if it acknowledges a packet number never sent (a protocol violation). */
int pfs_rec_on_ack(struct pfs_recovery *r, const struct pfs_fr_ack *ack, uint64_t now_ns,
		   const struct pfs_rec_events *ev);

/*
 * Declares lost every packet still outstanding more than PFS_REC_WINDOW numbers
 * below pn, so that pn can be recorded: an end that sends mostly
 * acknowledgements (untracked, but numbered) can run a window ahead of a lost
 * probe before its timer fires again.
 */
void pfs_rec_make_room(struct pfs_recovery *r, uint64_t pn, uint64_t now_ns,
		       const struct pfs_rec_events *ev);

/* When pfs_rec_on_timeout should next run; UINT64_MAX when nothing is
 * outstanding. */
uint64_t pfs_rec_deadline(const struct pfs_recovery *r);

/* Runs the loss or probe timer. Returns how many probe packets the caller
 * should send now (0 if this was a loss-time expiry, else 1 or 2). */
int pfs_rec_on_timeout(struct pfs_recovery *r, uint64_t now_ns, const struct pfs_rec_events *ev);

/* The probe timeout for the current estimate, with backoff. */
uint64_t pfs_rec_pto_ns(const struct pfs_recovery *r);

/* How long after it was sent a packet with a newer one acknowledged is
 * declared lost: max(srtt, latest rtt) plus the reordering window. */
uint64_t pfs_rec_loss_delay_ns(const struct pfs_recovery *r);

#endif
