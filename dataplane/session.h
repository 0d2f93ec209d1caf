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
 * A stream is a run of bytes in memory (a mapped file, say) with a name (a
 * path relative to the receiver's root) and a size; the session numbers
 * streams 0, 1, 2... in the order they are queued. The receiver is told of a
 * stream by a STREAM_OPEN frame, gets its bytes block by block in any order,
 * then its XXH3-128 digest (STREAM_FIN); the sink (files.h for files)
 * decides where bytes go and whether the digest matches, and the sender hears
 * the verdict (STREAM_DONE). Single-threaded: a session belongs to one worker.
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
	uint32_t mtu;		       /* largest packet (UDP payload) */
	uint32_t window_blocks;	       /* encoded blocks not yet fully acknowledged */
	uint32_t margin_blocks;	       /* full blocks' worth of log bytes those may have
				* appended (the pointer margin); 0 = the smaller of
				* window_blocks and PFS_SESSION_MARGIN_BLOCKS */
	uint32_t max_pto_backoff;      /* probe-timeout doublings; 0 = the default (16) */
	uint32_t max_retries;	       /* probe timeouts in a row before the peer counts as gone
			       * (PFS_ERR_PEER_SILENT); 0 = never */
	uint64_t max_ack_delay_ns;
	struct pfs_codec_config codec;
};

struct pfs_session_logs {
	struct pfs_log *tx, *rx;
	struct pfs_index *tx_index, *rx_index;
	const struct pfs_codec_keys *keys;
};

#define PFS_SESSION_STREAMS 256	     /* streams queued and not yet committed */
#define PFS_SESSION_MARGIN_BLOCKS 64 /* default pointer margin, in blocks of block_max */
#define PFS_STREAM_DIGEST_BYTES 16   /* == PFS_FILE_DIGEST_BYTES */

/*
 * Where streams go and what the application hears. Receiving side: open,
 * write, finish, abort; a non-zero return fails that stream (its code goes
 * back to the sender), never the session. Sending side: sent. Any may be
 * NULL (open then accepts, finish accepts, writes go nowhere).
 */
struct pfs_session_sink {
	void *ctx;
	/* A stream begins: path (NUL-terminated, as the peer sent it — check
	 * it!) and size in bytes. */
	int (*open)(void *ctx, uint64_t stream_id, const char *path, uint64_t size);
	/* Decoded bytes at an offset of an open stream, in any order, each byte
	 * once. */
	int (*write)(void *ctx, uint64_t stream_id, uint64_t off, const uint8_t *p, uint32_t len);
	/* Every byte is written: compare the digest, make it durable. */
	int (*finish)(void *ctx, uint64_t stream_id, const uint8_t digest[PFS_STREAM_DIGEST_BYTES]);
	/* An open stream will not finish (a write failed, the session ends). */
	void (*abort)(void *ctx, uint64_t stream_id);
	/* Sender: the peer committed the stream (status 0) or gave it up
	 * (status: a pfs_error code). The stream's bytes may be released. */
	void (*sent)(void *ctx, uint64_t stream_id, int status);
};

struct pfs_session_stats {
	uint64_t packets_sent, packets_received, bytes_sent, bytes_received;
	uint64_t auth_failed, replayed, malformed, foreign_cid;
	uint64_t pieces_sent, pieces_retransmitted, pieces_lost, retransmitted_bytes;
	uint64_t blocks_sent, blocks_applied, block_errors;
	uint64_t payload_bytes_sent, payload_bytes_received;
	/* codec: stream bytes encoded, and how they travelled */
	uint64_t input_bytes, pointer_bytes, literal_bytes;
	/* streams */
	uint64_t streams_committed, streams_failed; /* as the peer reported */
	uint64_t streams_received, streams_refused; /* as this end decided */
	/* blocks that did not apply here (a diverged log) and were asked for
	 * again as literals; repair blocks sent for the peer's requests */
	uint64_t repairs_requested, repair_blocks_sent;
	/* blocks that waited because the rx log had too many ranges above a hole */
	uint64_t blocks_waited_for_log;
	uint64_t ctrl_frames_sent, ctrl_frames_lost;
	/* key rotation: successful pfs_session_update_keys calls; packets that
	 * authenticated only under the next receive key (the first of them makes
	 * it current) and only under the retired one (reordered stragglers) */
	uint64_t key_updates, next_key_auth, prev_key_auth;
	/* path, as of the last call to pfs_session_stats */
	uint64_t srtt_ns, min_rtt_ns, cwnd, pacing_rate, bytes_in_flight;
	/* blocks not yet fully acknowledged, and the log bytes they appended
	 * (never more than the pointer margin), as of the last call */
	uint64_t blocks_in_flight, log_bytes_in_flight;
};

struct pfs_session;

/* Returns 0, PFS_ERR_INVALID_ARG (message in err), PFS_ERR_CRYPTO or
 * PFS_ERR_NOMEM. The logs must outlive the session. */
int pfs_session_new(struct pfs_session **out, const struct pfs_session_config *cfg,
		    const struct pfs_session_logs *logs, const struct pfs_session_sink *sink,
		    char *err, size_t errlen);
void pfs_session_free(struct pfs_session *s);

/*
 * Queues a stream to send: len bytes at data (valid until the sink's sent
 * callback for it), named path (1..PFS_FR_PATH_MAX bytes, and small enough
 * for one packet). *stream_id receives its number. Returns 0,
 * PFS_ERR_LIMIT (PFS_SESSION_STREAMS streams not yet committed) or
 * PFS_ERR_INVALID_ARG (bad path).
 */
int pfs_session_send_stream(struct pfs_session *s, const uint8_t *data, uint64_t len,
			    const char *path, uint64_t *stream_id);

/* Processes one datagram from the peer. Bad packets are dropped and counted;
 * returns non-zero only when the session itself failed (sink error, a block
 * that does not decode). */
int pfs_session_on_packet(struct pfs_session *s, const uint8_t *pkt, size_t len, uint64_t now_ns);

/* Writes the next packet to send into out (cap >= mtu), or sets *len = 0 when
 * there is nothing to send now; *wake_ns is when to call again at the latest.
 * Also runs the loss and probe timers. Returns 0 or an error. */
int pfs_session_next_packet(struct pfs_session *s, uint8_t *out, size_t cap, size_t *len,
			    uint64_t now_ns, uint64_t *wake_ns);

/* What the controller may change while a session runs (SET_POLICY). */
struct pfs_session_policy {
	uint32_t window_blocks; /* 1 .. the window the session started with */
	enum pfs_cc_algo cc;
	uint64_t fixed_rate, rate_cap;	       /* bytes per second */
	uint32_t max_pto_backoff, max_retries; /* as in pfs_session_config */
};

/*
 * Applies a policy at once. The window may shrink, and grow back up to the
 * one the session was created with — not beyond, because the encoder's
 * pointer margin (DESIGN §3.2) was sized for that window; a larger window
 * needs a new session. Changing the congestion controller restarts its
 * estimates. Returns 0 or PFS_ERR_INVALID_ARG with err saying which value.
 */
int pfs_session_set_policy(struct pfs_session *s, const struct pfs_session_policy *p, char *err,
			   size_t errlen);

/*
 * Key rotation, in two phases per direction, so that neither the order in
 * which the two ends switch nor reordering on the path costs a packet:
 *
 *   receive  The new rx key is installed at once as "next". A packet that
 *            fails authentication under the current key is tried under the
 *            next one; the first that authenticates (and is not a replay)
 *            makes it current, and the key it replaces is kept as "retired"
 *            for reordered stragglers — until the replay window has moved
 *            PFS_REPLAY_WINDOW packet numbers past that first packet (older
 *            numbers are refused as replays anyway) or PFS_SESSION_KEY_GRACE_PTOS
 *            probe timeouts have passed (the sender has declared anything
 *            older lost and resent it), whichever comes first. Then it is
 *            wiped.
 *   send     The new tx key seals every packet sent after the call. Packet
 *            numbers go on increasing across keys: no nonce is ever reused.
 *
 * So a peer may switch its tx key at any moment after this end installed the
 * matching rx key; the controller orders the two ends' calls so that it does
 * (ts/daemon/daemon.ts, "key rotation").
 *
 * An rx key equal to the current or the next one changes nothing on the
 * receive side (only tx changes): a controller may install a direction in two
 * steps. An update with a new rx key while the previous next key has not
 * authenticated a packet yet completes the previous update first: that key
 * becomes current, the current one is retired (with its grace period, and
 * the key retired before is wiped at once), and the new key becomes next —
 * so every key the peer may still be using stays acceptable, provided it
 * switched to the previous key before the controller started this update.
 * Authentication then costs at most three attempts (current, next, retired)
 * for a packet no key opens.
 *
 * Returns 0, PFS_ERR_INVALID_ARG (a NULL argument) or PFS_ERR_CRYPTO; on an
 * error nothing changes.
 */
#define PFS_SESSION_KEY_GRACE_PTOS 3
#define PFS_SESSION_KEY_GRACE_MAX_NS 10000000000ull /* 10 s, whatever the PTO */
int pfs_session_update_keys(struct pfs_session *s, const uint8_t tx_key[PFS_AEAD_KEY_BYTES],
			    const uint8_t tx_iv[PFS_AEAD_IV_BYTES],
			    const uint8_t rx_key[PFS_AEAD_KEY_BYTES],
			    const uint8_t rx_iv[PFS_AEAD_IV_BYTES]);

/* True when every queued stream has been committed or refused by the peer and
 * nothing of ours is still in flight. */
int pfs_session_sent_all(const struct pfs_session *s);

/* True when nothing at all is queued or in flight in either direction of ours
 * (our streams done, our control frames acknowledged). */
int pfs_session_idle(const struct pfs_session *s);

const struct pfs_session_stats *pfs_session_stats(struct pfs_session *s);

#endif
