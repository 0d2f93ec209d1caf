/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Frames: what an authenticated packet carries (docs/protocol.md). Each frame
 * is a one-byte type and varint fields; a packet holds any number of frames
 * back to back. The parser checks every length against the bytes present and
 * every field against its limit, and points into the packet for data instead
 * of copying it.
 */
#ifndef PFS_FRAMES_H
#define PFS_FRAMES_H

#include <stddef.h>
#include <stdint.h>

enum pfs_frame_type {
	PFS_FR_PADDING = 0x00,	   /* one byte, ignored */
	PFS_FR_PING = 0x01,	   /* asks for an acknowledgement */
	PFS_FR_ACK = 0x02,	   /* packet numbers received, as ranges */
	PFS_FR_CLOSE = 0x03,	   /* the session ends: code and reason */
	PFS_FR_BLOCK = 0x10,	   /* a piece of an encoded codec block */
	PFS_FR_LOG_ACK = 0x11,	   /* how far the receiver's log is contiguously written */
	PFS_FR_STREAM_OPEN = 0x12, /* a stream begins: id, size, path */
	PFS_FR_STREAM_FIN = 0x13,  /* every block of a stream is sent: its digest */
	PFS_FR_STREAM_DONE = 0x14, /* the receiver committed (or refused) a stream */
	PFS_FR_MAX_BLOCKS = 0x15,  /* flow control: block ids below this may be sent */
	PFS_FR_REPAIR = 0x16,	   /* a block did not apply: send its bytes as literals */
};

/* Specification limits. */
#define PFS_ACK_RANGES_MAX 64u
#define PFS_FR_BLOCK_LEN_MAX (UINT32_C(8) << 20) /* an encoded block, in bytes */
#define PFS_CLOSE_REASON_MAX 256u
#define PFS_FR_PATH_MAX 4096u	/* STREAM_OPEN path bytes (no NUL inside) */
#define PFS_FR_DIGEST_BYTES 16u /* STREAM_FIN: XXH3-128 of the stream */

/* Packet numbers lo..hi inclusive. ACK ranges are in descending order and
 * separated by at least one missing number. */
struct pfs_ack_range {
	uint64_t lo, hi;
};

struct pfs_fr_ack {
	uint64_t delay_us; /* how long the receiver held the largest before acking */
	uint32_t n;
	struct pfs_ack_range r[PFS_ACK_RANGES_MAX];
};

struct pfs_fr_block {
	uint64_t block_id;  /* per session, in the sender's order */
	uint32_t block_len; /* the whole encoded block */
	uint32_t offset;    /* of this piece within it */
	uint32_t len;
	const uint8_t *data;
};

struct pfs_fr_log_ack {
	uint8_t log;	 /* enum pfs_log_id, from the acknowledging end's view */
	uint64_t contig; /* every byte below is written */
};

struct pfs_fr_close {
	uint32_t code; /* a pfs_error code negated, or 0 for a normal end */
	uint32_t reason_len;
	const uint8_t *reason;
};

struct pfs_fr_stream_open {
	uint64_t stream_id;
	uint64_t size;
	uint32_t path_len;
	const uint8_t *path; /* not NUL-terminated */
};

struct pfs_fr_stream_fin {
	uint64_t stream_id;
	const uint8_t *digest; /* PFS_FR_DIGEST_BYTES */
};

struct pfs_fr_stream_done {
	uint64_t stream_id;
	uint32_t code; /* 0: committed; else a pfs_error code negated */
};

struct pfs_fr_max_blocks {
	uint64_t max_block; /* block ids below this may be sent */
};

/* What the receiver read from the header of a block that did not apply: the
 * sender resends those stream bytes as literals for the same log range. */
struct pfs_fr_repair {
	uint64_t block_id;
	uint64_t stream_id, stream_off;
	uint32_t out_len; /* <= PFS_BLOCK_OUT_MAX */
	uint64_t log_off; /* where the failed block's bytes go in the log */
	uint8_t logged;	  /* 0: the failed block wrote nothing to the log */
};

struct pfs_wire_frame {
	uint8_t type;
	union {
		struct pfs_fr_ack ack;
		struct pfs_fr_block block;
		struct pfs_fr_log_ack log_ack;
		struct pfs_fr_close close;
		struct pfs_fr_stream_open open;
		struct pfs_fr_stream_fin fin;
		struct pfs_fr_stream_done done;
		struct pfs_fr_max_blocks max_blocks;
		struct pfs_fr_repair repair;
	} u;
};

/*
 * Parses the frame at p[0..len) into f; *used is its size. Returns 0,
 * PFS_ERR_TRUNCATED, PFS_ERR_LIMIT or PFS_ERR_MALFORMED (unknown type,
 * inconsistent fields). Data pointers point into p.
 */
int pfs_frame_parse(const uint8_t *p, size_t len, size_t *used, struct pfs_wire_frame *f);

/* Writers: return the bytes written, or 0 if the frame does not fit in cap
 * (or its fields break a limit — a caller bug). */
size_t pfs_frame_put_simple(uint8_t *p, size_t cap, uint8_t type); /* PADDING, PING */
size_t pfs_frame_put_ack(uint8_t *p, size_t cap, const struct pfs_fr_ack *a);
size_t pfs_frame_put_block(uint8_t *p, size_t cap, const struct pfs_fr_block *b);
size_t pfs_frame_put_log_ack(uint8_t *p, size_t cap, const struct pfs_fr_log_ack *l);
size_t pfs_frame_put_close(uint8_t *p, size_t cap, const struct pfs_fr_close *c);
size_t pfs_frame_put_stream_open(uint8_t *p, size_t cap, const struct pfs_fr_stream_open *o);
size_t pfs_frame_put_stream_fin(uint8_t *p, size_t cap, const struct pfs_fr_stream_fin *f);
size_t pfs_frame_put_stream_done(uint8_t *p, size_t cap, const struct pfs_fr_stream_done *d);
size_t pfs_frame_put_max_blocks(uint8_t *p, size_t cap, const struct pfs_fr_max_blocks *m);
size_t pfs_frame_put_repair(uint8_t *p, size_t cap, const struct pfs_fr_repair *r);

/* Bytes a BLOCK frame header needs before len bytes of data (at most). */
#define PFS_FR_BLOCK_OVERHEAD (1 + 4 * 10)

#endif
