/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error codes of the PacketFS data plane.
 *
 * Functions return 0 (or a non-negative count) on success and a negative code on
 * failure. Codes in the errno range (-1 .. -4095) are negated errno values from
 * the system; the project's own codes sit below that range so both can travel in
 * one int. The numbering is part of the contract with the TypeScript control
 * plane (ts/errors.ts mirrors this list): codes are never renumbered, only added.
 */
#ifndef PFS_ERROR_H
#define PFS_ERROR_H

enum pfs_error {
	PFS_OK = 0,
	PFS_ERR_BASE = -10000,
	PFS_ERR_INVALID_ARG = -10001,     /* a caller passed a value out of range */
	PFS_ERR_CAPACITY = -10002,        /* log capacity not a power of two or out of bounds */
	PFS_ERR_NOMEM = -10003,           /* memory or mapping could not be obtained */
	PFS_ERR_IO = -10004,              /* read/write/fsync of a log file failed */
	PFS_ERR_META_CORRUPT = -10005,    /* no valid metadata slot in a log file */
	PFS_ERR_META_MISMATCH = -10006,   /* log file made with other parameters */
	PFS_ERR_BUF_TOO_SMALL = -10007,   /* output buffer cannot hold the result */
	PFS_ERR_TRUNCATED = -10008,       /* encoded block shorter than its fields say */
	PFS_ERR_BAD_MAGIC = -10009,       /* not a PacketFS block, or unknown version */
	PFS_ERR_CHECKSUM = -10010,        /* block checksum mismatch (corrupted block) */
	PFS_ERR_LIMIT = -10011,           /* a field exceeds a specification limit */
	PFS_ERR_POINTER_RANGE = -10012,   /* pointer outside the receiver's valid window */
	PFS_ERR_POINTER_CHECK = -10013,   /* pointed-to bytes differ from the sender's */
	PFS_ERR_LITERAL_RANGE = -10014,   /* literals do not fit the log's write window */
	PFS_ERR_DECOMPRESS = -10015,      /* compressed section is malformed */
	PFS_ERR_MALFORMED = -10016,       /* fields are inconsistent with each other */
	PFS_ERR_OUT_OF_ORDER = -10017,    /* too many out-of-order writes pending in a log */
	PFS_ERR_CRYPTO = -10018,          /* the crypto library failed to initialise */
	PFS_ERR_AUTH = -10019,            /* packet failed authentication (forged, corrupt, wrong key) */
	PFS_ERR_REPLAY = -10020,          /* packet number already seen or too old */
	PFS_ERR_RING_FULL = -10021,       /* control ring has no room: its consumer is not draining */
	PFS_ERR_RING_CORRUPT = -10022,    /* control ring indices or a record header are inconsistent */
	PFS_ERR_REGION_INVALID = -10023,  /* file is not a control region, or its layout is inconsistent */
	PFS_ERR_REGION_VERSION = -10024,  /* control region made with another layout version */
	PFS_ERR_MSG_VERSION = -10025,     /* control message of a version this side does not speak */
	PFS_ERR_CANCELLED = -10026,       /* a transfer was cancelled, or its session removed */
	PFS_ERR_PEER_SILENT = -10027,     /* the peer stopped answering (probe timeouts exhausted) */
	PFS_ERR_LAST = -10028,
};

/* Short English description of a code (never NULL). Negated errno values are
 * described by strerror(). */
const char *pfs_strerror(int err);

/* Stable symbolic name such as "PFS_ERR_CHECKSUM" or "EIO" (never NULL). */
const char *pfs_errname(int err);

#endif /* PFS_ERROR_H */
