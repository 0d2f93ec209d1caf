/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Constants of the control region (region.h) and of the messages on its rings
 * (ring_msg.h): the contract between the data plane and the controller.
 *
 * Mirrored in ts/dataplane/protocol.ts, name for name and value for value;
 * ts/dataplane/protocol.test.ts parses this header and fails when the two
 * drift apart. Values are never renumbered or reused, only added; a change of
 * an encoding bumps the message's version, a change of the region's layout
 * bumps PFS_REGION_VERSION. Format in docs/protocol.md, "Control region".
 */
#ifndef PFS_CONTROL_H
#define PFS_CONTROL_H

/* --- region ---------------------------------------------------------------- */

#define PFS_REGION_MAGIC 0x52534650u  /* "PFSR" as a little-endian u32 */
#define PFS_REGION_VERSION 1u	      /* layout version this build speaks */
#define PFS_REGION_WORKERS_MAX 64u    /* worker counter blocks in a region */
#define PFS_REGION_WORKER_WORDS 32u   /* u64 words per worker block (256 B) */
#define PFS_REGION_SLOT_HEAD_WORDS 8u /* u64 words before a session slot's counters */
#define PFS_REGION_SLOT_WORDS 40u     /* u64 words per session slot (320 B) */

/* Words of a session slot's head, before its counters. */
enum pfs_slot_word {
	PFS_SLOT_SESSION_ID = 0,
	PFS_SLOT_STATE = 1,	 /* enum pfs_sstate; PFS_SSTATE_FREE = unused */
	PFS_SLOT_WORKER = 2,	 /* the worker that owns the session */
	PFS_SLOT_GENERATION = 3, /* odd while the slot is being (re)assigned */
};

/* The data plane's life, in the region's state word. */
enum pfs_dp_state {
	PFS_DP_NONE = 0, /* region not yet initialised */
	PFS_DP_STARTING = 1,
	PFS_DP_RUNNING = 2,
	PFS_DP_STOPPING = 3,
	PFS_DP_STOPPED = 4,
};

/* --- counters -------------------------------------------------------------- */

/*
 * Index of a counter in a worker block and in a session slot's counters. Both
 * use the same list; a counter that means nothing for one of them stays 0.
 * The ones marked "gauge" are current values, the rest only ever grow.
 */
enum pfs_counter {
	PFS_CTR_PACKETS_SENT = 0,
	PFS_CTR_PACKETS_RECEIVED = 1,
	PFS_CTR_WIRE_BYTES_SENT = 2,	 /* UDP payload bytes, headers and tags included */
	PFS_CTR_WIRE_BYTES_RECEIVED = 3, /* same, received and authenticated */
	PFS_CTR_PAYLOAD_BYTES_SENT = 4,	 /* file bytes the sent blocks stand for */
	PFS_CTR_PAYLOAD_BYTES_RECEIVED = 5,
	PFS_CTR_POINTER_BYTES_SENT = 6, /* payload bytes sent as pointers */
	PFS_CTR_LITERAL_BYTES_SENT = 7, /* payload bytes sent as literals */
	PFS_CTR_POINTER_BYTES_RECEIVED = 8,
	PFS_CTR_LITERAL_BYTES_RECEIVED = 9,
	PFS_CTR_RETRANSMIT_PACKETS = 10,
	PFS_CTR_RETRANSMIT_BYTES = 11,
	PFS_CTR_AUTH_FAILURES = 12,
	PFS_CTR_REPLAYED = 13,
	PFS_CTR_MALFORMED = 14,
	PFS_CTR_POINTER_CHECK_FAILURES = 15,
	PFS_CTR_BLOCKS_APPLIED = 16,
	PFS_CTR_BLOCK_REPAIRS = 17,
	PFS_CTR_FILES_COMMITTED = 18,
	PFS_CTR_FILE_DIGEST_FAILURES = 19,
	PFS_CTR_SRTT_NS = 20,	       /* gauge */
	PFS_CTR_MIN_RTT_NS = 21,       /* gauge */
	PFS_CTR_CWND_BYTES = 22,       /* gauge */
	PFS_CTR_PACING_RATE = 23,      /* gauge, bytes per second */
	PFS_CTR_BYTES_IN_FLIGHT = 24,  /* gauge */
	PFS_CTR_BLOB_FILL_BYTES = 25,  /* gauge: bytes held in the tx and rx logs */
	PFS_CTR_SESSIONS = 26,	       /* gauge */
	PFS_CTR_TRANSFERS_ACTIVE = 27, /* gauge */
	PFS_CTR_COUNT = 28,
};

/* --- messages -------------------------------------------------------------- */

#define PFS_MSG_VERSION 1u	    /* version of every message type so far */
#define PFS_MSG_HEADER_BYTES 4u	    /* u16 type, u16 version */
#define PFS_MSG_MAX 65528u	    /* bytes of one encoded message (a ring record is 64 KiB) */
#define PFS_MSG_PATH_MAX 4095u	    /* bytes of a path, no NUL inside */
#define PFS_MSG_TEXT_MAX 1024u	    /* bytes of a human-readable message, no NUL inside */
#define PFS_MSG_SOURCES_MAX 64u	    /* source paths of one START_TRANSFER */
#define PFS_MSG_KEY_BYTES 32u	    /* = PFS_AEAD_KEY_BYTES */
#define PFS_MSG_IV_BYTES 12u	    /* = PFS_AEAD_IV_BYTES */
#define PFS_MSG_DIGEST_BYTES 16u    /* = PFS_FILE_DIGEST_BYTES (XXH3-128, canonical form) */
#define PFS_MSG_ADDR_BYTES 16u	    /* IPv6, or IPv4 in the first 4 bytes and zeros */
#define PFS_MSG_PTO_BACKOFF_MAX 16u /* largest exponent of the probe-timeout backoff */
#define PFS_MSG_IFNAME_MAX 15u	    /* bytes of an interface name (IFNAMSIZ - 1) */
#define PFS_MSG_COUNTS_MAX 16u	    /* entries of a BACKEND event's count arrays */

enum pfs_msg_type {
	/* commands: controller -> data plane */
	PFS_MSG_ADD_SESSION = 0x01,
	PFS_MSG_REMOVE_SESSION = 0x02,
	PFS_MSG_SET_POLICY = 0x03,
	PFS_MSG_START_TRANSFER = 0x04,
	PFS_MSG_CANCEL_TRANSFER = 0x05,
	PFS_MSG_SHUTDOWN = 0x06,
	PFS_MSG_SET_KEYS = 0x07, /* replace a session's AEAD keys (key rotation) */
	/* events: data plane -> controller */
	PFS_MSG_READY = 0x81,
	PFS_MSG_SESSION_STATE = 0x82,
	PFS_MSG_TRANSFER_PROGRESS = 0x83,
	PFS_MSG_TRANSFER_DONE = 0x84,
	PFS_MSG_FILE_RECEIVED = 0x85,
	PFS_MSG_LOG = 0x86,
	PFS_MSG_BACKEND = 0x87, /* what the packet I/O got, and its counters */
};

/* BACKEND's kind */
enum pfs_msg_backend_kind {
	PFS_BACKEND_UDP = 1,
	PFS_BACKEND_XDP = 2,
};

/* BACKEND's xdp_mode (= enum pfs_xdp_mode of io_xdp.h, AUTO excepted) */
enum pfs_msg_xdp_mode {
	PFS_MSG_XDP_NONE = 0, /* the UDP backend */
	PFS_MSG_XDP_NATIVE = 1,
	PFS_MSG_XDP_GENERIC = 2,
};

enum pfs_msg_family {
	PFS_FAMILY_IPV4 = 4,
	PFS_FAMILY_IPV6 = 6,
};

/* = enum pfs_aead_alg (packet.h); ring_msg.c asserts they agree. */
enum pfs_msg_aead {
	PFS_MSG_AEAD_AUTO = 0,
	PFS_MSG_AEAD_AES256GCM = 1,
	PFS_MSG_AEAD_CHACHA20POLY1305 = 2,
};

/* = enum pfs_cc_algo (cc.h); ring_msg.c asserts they agree. */
enum pfs_msg_cc {
	PFS_MSG_CC_FIXED = 0,
	PFS_MSG_CC_CUBIC = 1,
	PFS_MSG_CC_BBR = 2,
};

enum pfs_shutdown_mode {
	PFS_SHUTDOWN_NOW = 0,	/* stop at once; transfers end with an error */
	PFS_SHUTDOWN_DRAIN = 1, /* finish the active transfers first */
};

/* A session's state, in SESSION_STATE events and in the session table. */
enum pfs_sstate {
	PFS_SSTATE_FREE = 0, /* only in the session table: the slot is unused */
	PFS_SSTATE_STARTING = 1,
	PFS_SSTATE_UP = 2,
	PFS_SSTATE_DOWN = 3,   /* the peer stopped answering; may come back */
	PFS_SSTATE_FAILED = 4, /* ended by an error (code in SESSION_STATE) */
	PFS_SSTATE_REMOVED = 5,
};

enum pfs_msg_level {
	PFS_LEVEL_DEBUG = 0,
	PFS_LEVEL_INFO = 1,
	PFS_LEVEL_WARN = 2,
	PFS_LEVEL_ERROR = 3,
};

#endif /* PFS_CONTROL_H */
