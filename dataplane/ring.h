/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A single-producer, single-consumer ring of variable-length records in memory
 * that two processes share (the command and event rings of the control region,
 * region.h). One thread of one process pushes, one thread of the other pops;
 * nothing blocks: a full ring is an error to the producer, an empty one a 0 to
 * the consumer.
 *
 * Memory: a control block of PFS_RING_CTL_BYTES — the producer's head at byte
 * 0 and the consumer's tail at byte 64, each on its own cache line — then the
 * data area of `bytes` bytes, a power of two. head and tail count bytes since
 * the ring was formatted (u64: they never wrap in practice); head - tail bytes
 * are in use and a record starts at data[index & (bytes - 1)].
 *
 * Record, 8-byte aligned, header little-endian:
 *   0  u32  len    bytes of the message that follows, or PFS_RING_SKIP
 *   4  u32  check  (index / 8) XOR PFS_RING_CHECK, index = where the header sits
 *   8  ...  len bytes of message, then zeros up to a multiple of 8
 * A record never wraps around the end of the data area: when it does not fit
 * there, the producer writes a skip header (len = PFS_RING_SKIP) that tells
 * the consumer to go on at offset 0. The check word catches a consumer reading
 * a header at a place the producer did not write one (memory the other side
 * scribbled on, a ring attached at the wrong offset).
 *
 * The other side is trusted with nothing: the consumer checks every header
 * against the bytes the producer published before it reads them and copies a
 * record out before anyone decodes it, so the producer cannot change it under
 * the decoder. A ring whose indices or headers break these rules is corrupt:
 * every later call on the handle returns PFS_ERR_RING_CORRUPT.
 */
#ifndef PFS_RING_H
#define PFS_RING_H

#include <stddef.h>
#include <stdint.h>

#define PFS_RING_CTL_BYTES 128u
#define PFS_RING_HEADER_BYTES 8u
#define PFS_RING_SKIP 0xffffffffu
#define PFS_RING_CHECK 0x50465252u /* "RRFP": a zeroed header never passes */
#define PFS_RING_BYTES_MIN 64u
#define PFS_RING_BYTES_MAX (UINT64_C(1) << 30)

enum pfs_ring_side {
	PFS_RING_PRODUCER = 1,
	PFS_RING_CONSUMER = 2,
};

/* One side's handle on a shared ring. The fields are private to ring.c. */
struct pfs_ring {
	void *ctl;	/* shared: head at byte 0, tail at byte 64 */
	uint8_t *data;	/* shared: the data area */
	uint64_t bytes; /* size of the data area, a power of two */
	uint64_t index; /* our own index (head or tail): only we write it */
	enum pfs_ring_side side;
	int broken; /* 0, or PFS_ERR_RING_CORRUPT once the other side broke the rules */
};

/* Bytes of memory a ring with a data area of `bytes` needs. */
static inline uint64_t pfs_ring_mem_bytes(uint64_t bytes)
{
	return PFS_RING_CTL_BYTES + bytes;
}

/* Largest message one push accepts: any larger one could not always fit,
 * even into the empty ring. */
static inline size_t pfs_ring_msg_max(uint64_t bytes)
{
	return (size_t)(bytes / 2 - PFS_RING_HEADER_BYTES);
}

/*
 * Formats the ring at mem (pfs_ring_mem_bytes(bytes), 64-byte aligned): head =
 * tail = 0. Only before either side attaches.
 * Returns 0 or PFS_ERR_INVALID_ARG (bytes not a power of two in
 * [PFS_RING_BYTES_MIN, PFS_RING_BYTES_MAX], mem misaligned).
 */
int pfs_ring_format(void *mem, uint64_t bytes);

/*
 * Attaches one side to a formatted ring, taking up its index where it stands
 * (a side that re-attaches goes on where it left off).
 * Returns 0, PFS_ERR_INVALID_ARG or PFS_ERR_RING_CORRUPT (head and tail
 * further apart than the ring, or not 8-aligned).
 */
int pfs_ring_attach(struct pfs_ring *r, void *mem, uint64_t bytes, enum pfs_ring_side side);

/*
 * Producer: appends one message of len bytes, or nothing.
 * Returns 0, PFS_ERR_RING_FULL (no room until the consumer pops: the caller
 * decides whether to retry, drop or report), PFS_ERR_LIMIT (len is 0 or above
 * pfs_ring_msg_max), PFS_ERR_INVALID_ARG (called on the consumer's handle) or
 * PFS_ERR_RING_CORRUPT.
 */
int pfs_ring_push(struct pfs_ring *r, const void *msg, size_t len);

/*
 * Consumer: copies the oldest message into buf and removes it from the ring.
 * Returns 1 (a message, its length in *len), 0 (the ring is empty),
 * PFS_ERR_BUF_TOO_SMALL (the message, left in the ring, needs *len bytes),
 * PFS_ERR_INVALID_ARG (called on the producer's handle) or
 * PFS_ERR_RING_CORRUPT.
 */
int pfs_ring_pop(struct pfs_ring *r, void *buf, size_t cap, size_t *len);

/* Bytes in use as this side sees them now (records, padding and skips). */
uint64_t pfs_ring_used(const struct pfs_ring *r);

#endif /* PFS_RING_H */
