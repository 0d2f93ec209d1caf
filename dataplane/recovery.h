/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loss detection and RTT estimation for one session, after RFC 9002 (QUIC):
 * every sent packet is recorded; ACK frames mark packets acknowledged, update
 * the RTT estimate, and declare earlier unacknowledged packets lost by packet
 * threshold (3 newer packets acknowledged) or time threshold (9/8 of the RTT);
 * a probe timeout fires when nothing is acknowledged for too long. Sans-IO:
 * time is a parameter, and what was acknowledged or lost is reported through
 * callbacks with the caller's cookie, so the transport can release or resend the
 * frames the packet carried. Congestion control consumes the same events.
 *
 * Packet numbers must increase; numbers of packets not recorded (ones that
 * elicit no acknowledgement) are simply skipped. At most PFS_REC_WINDOW
 * numbers may separate the oldest outstanding packet from the newest.
 */
#ifndef PFS_RECOVERY_H
#define PFS_RECOVERY_H

#include <stdint.h>

#include "frames.h"

#define PFS_REC_WINDOW 16384u            /* outstanding packets tracked */
#define PFS_REC_PACKET_THRESHOLD 3u
#define PFS_REC_GRANULARITY_NS 1000000ull /* 1 ms timer granularity */
#define PFS_REC_INITIAL_RTT_NS 100000000ull /* 100 ms before any sample */

struct pfs_rec_sent {
	uint64_t pn, time_ns, cookie;
	uint32_t bytes;
	uint8_t ack_eliciting, in_use;
};

struct pfs_recovery {
	struct pfs_rec_sent ring[PFS_REC_WINDOW];
	uint64_t next_pn;       /* lowest number not yet sent */
	uint64_t oldest;        /* lowest number possibly still outstanding */
	uint64_t largest_acked; /* UINT64_MAX: none yet */
	uint64_t srtt_ns, rttvar_ns, min_rtt_ns, latest_rtt_ns;
	uint64_t max_ack_delay_ns;
	uint64_t bytes_in_flight;
	uint64_t last_eliciting_sent_ns;
	uint64_t loss_time_ns; /* 0: no packet waiting on the time threshold */
	uint32_t pto_count;
	int have_rtt;
};

/* What acknowledgements and losses are reported to. */
struct pfs_rec_events {
	void *ctx;
	void (*acked)(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns,
		      uint64_t now_ns);
	void (*lost)(void *ctx, uint64_t cookie, uint32_t bytes, uint64_t sent_ns,
		     uint64_t now_ns);
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

/* When pfs_rec_on_timeout should next run; UINT64_MAX when nothing is
 * outstanding. */
uint64_t pfs_rec_deadline(const struct pfs_recovery *r);

/* Runs the loss or probe timer. Returns how many probe packets the caller
 * should send now (0 if this was a loss-time expiry, else 1 or 2). */
int pfs_rec_on_timeout(struct pfs_recovery *r, uint64_t now_ns, const struct pfs_rec_events *ev);

/* The probe timeout for the current estimate, with backoff. */
uint64_t pfs_rec_pto_ns(const struct pfs_recovery *r);

#endif
