/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages of the control region's rings: commands from the controller,
 * events from the data plane. Constants in control.h (mirrored in
 * ts/dataplane/protocol.ts); byte layout of each message in docs/protocol.md,
 * "Control region".
 *
 * A message is a u16 type and a u16 version, then the type's fields in a fixed
 * order, little-endian, with no padding. A string is a u16 length and that
 * many bytes, no NUL among them, bounded per field. Every value has exactly
 * one encoding (unused address bytes zero, no trailing bytes), so a decoded
 * message encodes back to the same bytes.
 *
 * The decoder checks every length against the bytes present before it reads,
 * and every field against its limit; decoded strings point into the buffer
 * given to it, which must therefore outlive the message (pop the record out of
 * the ring first: ring.h copies it).
 */
#ifndef PFS_RING_MSG_H
#define PFS_RING_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"

/* Borrowed bytes of a string field. */
struct pfs_msg_str {
	const uint8_t *p;
	uint16_t len;
};

/* Per-session transport policy (ADD_SESSION, SET_POLICY). */
struct pfs_msg_policy {
	uint32_t window_blocks;	  /* blocks in flight, >= 1 */
	uint8_t cc;		  /* enum pfs_msg_cc */
	uint64_t rate_cap;	  /* bytes/s, 0 = no cap */
	uint64_t fixed_rate;	  /* bytes/s for PFS_MSG_CC_FIXED (> 0 there) */
	uint32_t max_pto_backoff; /* probe-timeout doublings, <= PFS_MSG_PTO_BACKOFF_MAX */
	uint32_t max_retries; /* probe timeouts in a row before the session fails, 0 = no limit */
};

struct pfs_msg_add_session {
	uint64_t session_id;
	uint64_t local_conn_id, peer_conn_id;
	uint8_t family; /* enum pfs_msg_family */
	uint8_t addr[PFS_MSG_ADDR_BYTES];
	uint16_t port; /* != 0 */
	uint8_t aead;  /* enum pfs_msg_aead */
	uint8_t tx_key[PFS_MSG_KEY_BYTES], tx_iv[PFS_MSG_IV_BYTES];
	uint8_t rx_key[PFS_MSG_KEY_BYTES], rx_iv[PFS_MSG_IV_BYTES];
	/* the pair's codec key: chunking and fingerprints (DESIGN §3.6); the
	 * same for every session of the pair, unlike the AEAD keys */
	uint8_t pair_key[PFS_MSG_KEY_BYTES];
	/* Logs: epoch for a log file made new (0 = random); resume_at: the point
	 * both peers hold (the blob-state handshake's outcome), or all ones to
	 * take the log as it is. */
	uint64_t tx_log_id, tx_log_capacity; /* capacity: a power of two */
	uint64_t tx_epoch, tx_resume_at;
	struct pfs_msg_str tx_log_path; /* non-empty */
	uint64_t rx_log_id, rx_log_capacity;
	uint64_t rx_epoch, rx_resume_at;
	struct pfs_msg_str rx_log_path;
	struct pfs_msg_policy policy;
};

struct pfs_msg_set_policy {
	uint64_t session_id;
	struct pfs_msg_policy policy;
};

/* New AEAD keys for a running session (session.h, pfs_session_update_keys):
 * tx seals every packet sent after it, rx is accepted at once beside the
 * current key. No key may be all zeros (a key nobody set). */
struct pfs_msg_set_keys {
	uint64_t session_id;
	uint8_t tx_key[PFS_MSG_KEY_BYTES], tx_iv[PFS_MSG_IV_BYTES];
	uint8_t rx_key[PFS_MSG_KEY_BYTES], rx_iv[PFS_MSG_IV_BYTES];
};

struct pfs_msg_start_transfer {
	uint64_t transfer_id, session_id;
	struct pfs_msg_str dest; /* relative to the peer's receive root; may be empty */
	uint16_t nsources;	 /* 1 .. PFS_MSG_SOURCES_MAX */
	struct pfs_msg_str sources[PFS_MSG_SOURCES_MAX]; /* files or directories, non-empty */
};

struct pfs_msg_ready {
	uint32_t layout_version, worker_count, pid;
};

/* What the data plane's packet I/O is, sent after READY and then every
 * second with fresh counts (cumulative since start). */
struct pfs_msg_backend {
	uint8_t kind;	   /* enum pfs_msg_backend_kind */
	uint8_t xdp_mode;  /* enum pfs_msg_xdp_mode; NONE for UDP */
	uint8_t zero_copy; /* 0/1: AF_XDP sockets bound zero-copy (else copy mode) */
	uint8_t hugepages; /* 0/1: UMEM in hugepages (else normal pages) */
	uint32_t queues;   /* AF_XDP sockets (one per queue and worker); UDP: sockets */
	struct pfs_msg_str ifname; /* the interface; empty for UDP */
	uint64_t wakeups;	   /* sendto/recvfrom kicks of the AF_XDP rings */
	uint64_t no_neighbour;	   /* frames dropped while a next hop was being resolved */
	uint64_t handed_off;	   /* datagrams passed to the worker owning their session */
	uint64_t handoff_dropped;  /* ... that found that worker's ring full */
	uint8_t nreasons;	   /* <= PFS_MSG_COUNTS_MAX */
	uint64_t reasons[PFS_MSG_COUNTS_MAX]; /* the XDP program's packets by
					       * enum pfs_xdp_reason (bpf/pfs_xdp.h) */
	uint8_t nrefused;		      /* <= PFS_MSG_COUNTS_MAX */
	uint64_t refused[PFS_MSG_COUNTS_MAX]; /* frames the backend refused by
					       * enum pfs_eth_verdict (ethframe.h) */
};

struct pfs_msg_session_state {
	uint64_t session_id;
	uint8_t state; /* enum pfs_sstate, not FREE */
	int32_t error; /* 0 or a negative code of error.h */
	struct pfs_msg_str message;
};

struct pfs_msg_transfer_progress {
	uint64_t transfer_id;
	uint64_t bytes_done, bytes_total;
	uint32_t files_done, files_total;
	uint64_t wire_bytes, pointer_bytes, retransmitted_bytes;
};

struct pfs_msg_transfer_done {
	uint64_t transfer_id;
	int32_t status; /* 0 or a negative code of error.h */
	struct pfs_msg_str message;
};

struct pfs_msg_file_received {
	uint64_t session_id, size;
	uint8_t digest[PFS_MSG_DIGEST_BYTES];
	struct pfs_msg_str path; /* relative to the receive root, non-empty */
};

struct pfs_msg_log {
	uint8_t level; /* enum pfs_msg_level */
	struct pfs_msg_str message;
};

struct pfs_msg {
	uint16_t type; /* enum pfs_msg_type */
	union {
		struct pfs_msg_add_session add_session;
		uint64_t session_id;  /* REMOVE_SESSION */
		uint64_t transfer_id; /* CANCEL_TRANSFER */
		uint8_t shutdown;     /* enum pfs_shutdown_mode */
		struct pfs_msg_set_policy set_policy;
		struct pfs_msg_set_keys set_keys;
		struct pfs_msg_start_transfer start_transfer;
		struct pfs_msg_ready ready;
		struct pfs_msg_session_state session_state;
		struct pfs_msg_transfer_progress progress;
		struct pfs_msg_transfer_done done;
		struct pfs_msg_file_received file;
		struct pfs_msg_log log;
		struct pfs_msg_backend backend;
	} u;
};

/*
 * Encodes m into buf. Returns 0 with the length in *len,
 * PFS_ERR_BUF_TOO_SMALL, or the code pfs_msg_decode would return for the
 * result: PFS_ERR_MALFORMED (unknown type or enum value, NUL in a string, a
 * rule above broken) or PFS_ERR_LIMIT (a string, list or the whole message
 * over its limit). What it encodes, pfs_msg_decode accepts.
 */
int pfs_msg_encode(const struct pfs_msg *m, uint8_t *buf, size_t cap, size_t *len);

/*
 * Decodes one whole message of len bytes. Returns 0, PFS_ERR_TRUNCATED (fewer
 * bytes than the fields need), PFS_ERR_LIMIT (longer than PFS_MSG_MAX, or a
 * field over its limit), PFS_ERR_MSG_VERSION (a version of the type this side
 * does not speak) or PFS_ERR_MALFORMED (unknown type, bad field, trailing
 * bytes).
 */
int pfs_msg_decode(const uint8_t *buf, size_t len, struct pfs_msg *m);

/* "ADD_SESSION", ... or "UNKNOWN" (never NULL). */
const char *pfs_msg_name(uint16_t type);

/* 1 for the command types, 0 for events and unknown types. */
int pfs_msg_is_command(uint16_t type);

#endif /* PFS_RING_MSG_H */
