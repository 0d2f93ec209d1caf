/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session engine: one peer pair's transport, sans-IO (docs/transport.md).
 * It ties the codec (blocks into and out of the pair's logs) to the packet
 * envelope, frames, loss recovery, congestion control and pacing. The caller
 * moves packets (any io backend) and time:
 *
 *   pfs_session_on_packet(s, bytes, now)      for every datagram from the peer
 *   pfs_session_next_packet(s, out, now, ...)  until it yields nothing; it says
 *                                              when to call again (wake_ns)
 *
 * Streams are sent from memory for now (files come with the data-plane
 * process); received blocks are handed to a sink as they decode, in any order.
 * Single-threaded: a session belongs to one worker.
 */
#ifndef PFS_SESSION_H
#define PFS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "cc.h"
#include "codec.h"
#include "packet.h"
#include "recovery.h"

struct pfs_session_config {
	uint64_t local_cid, peer_cid; /* connection ids: ours (checked), the peer's (sent) */
	enum pfs_aead_alg aead;
	uint8_t tx_key[PFS_AEAD_KEY_BYTES], tx_iv[PFS_AEAD_IV_BYTES];
	uint8_t rx_key[PFS_AEAD_KEY_BYTES], rx_iv[PFS_AEAD_IV_BYTES];
	enum pfs_cc_algo cc;
	uint64_t fixed_rate, rate_cap; /* bytes per second */
	uint32_t mtu;                  /* largest packet (UDP payload) */
	uint32_t window_blocks;        /* encoded blocks not yet fully acknowledged */
	uint64_t max_ack_delay_ns;
	struct pfs_codec_config codec;
};

struct pfs_session_logs {
	struct pfs_log *tx, *rx;
	struct pfs_index *tx_index, *rx_index;
	const struct pfs_codec_keys *keys;
};

struct pfs_session_sink {
	void *ctx;
	/* Decoded bytes of a stream at an offset; non-zero fails the session. */
	int (*write)(void *ctx, uint64_t stream_id, uint64_t off, const uint8_t *p, uint32_t len);
};

struct pfs_session_stats {
	uint64_t packets_sent, packets_received, bytes_sent, bytes_received;
	uint64_t auth_failed, replayed, malformed, foreign_cid;
	uint64_t pieces_sent, pieces_retransmitted, pieces_lost, retransmitted_bytes;
	uint64_t blocks_sent, blocks_applied, block_errors;
	uint64_t payload_bytes_sent, payload_bytes_received;
};

struct pfs_session;

/* Returns 0, PFS_ERR_INVALID_ARG (message in err), PFS_ERR_CRYPTO or
 * PFS_ERR_NOMEM. The logs must outlive the session. */
int pfs_session_new(struct pfs_session **out, const struct pfs_session_config *cfg,
		    const struct pfs_session_logs *logs, const struct pfs_session_sink *sink,
		    char *err, size_t errlen);
void pfs_session_free(struct pfs_session *s);

/* Queues a stream to send; data must stay valid until pfs_session_sent_all.
 * Returns 0 or PFS_ERR_LIMIT (too many queued streams). */
int pfs_session_send_stream(struct pfs_session *s, uint64_t stream_id, const uint8_t *data,
			    uint64_t len);

/* Processes one datagram from the peer. Bad packets are dropped and counted;
 * returns non-zero only when the session itself failed (sink error, a block
 * that does not decode). */
int pfs_session_on_packet(struct pfs_session *s, const uint8_t *pkt, size_t len, uint64_t now_ns);

/* Writes the next packet to send into out (cap >= mtu), or sets *len = 0 when
 * there is nothing to send now; *wake_ns is when to call again at the latest.
 * Also runs the loss and probe timers. Returns 0 or an error. */
int pfs_session_next_packet(struct pfs_session *s, uint8_t *out, size_t cap, size_t *len,
			    uint64_t now_ns, uint64_t *wake_ns);

/* True when every queued stream has been sent and fully acknowledged. */
int pfs_session_sent_all(const struct pfs_session *s);

const struct pfs_session_stats *pfs_session_stats(const struct pfs_session *s);

#endif
