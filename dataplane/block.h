/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Block framing shared by the encoder and the decoder (internal header).
 *
 *   0  u8   magic (PFS_BLOCK_MAGIC)      8  u64 checksum, little-endian:
 *   1  u8   version                          XXH3-64 of bytes [16, len) seeded
 *   2  u8   flags (enum pfs_block_flags)     with bytes [0, 8) read as a LE u64,
 *   3  u8   reserved, 0                      so every byte of the block is covered
 *   4  u32  len, little-endian: the whole block
 *  16  varints: stream_id stream_off out_len log_off lit_len lit_enc_len
 *      n_ops ops_len [ops_raw_len if OPS_ZSTD] [prefix_off prefix_len if PREFIX]
 *      [log_off - dict_hi, dict_hi - dict_lo if GAPDICT]
 *      then ops_len bytes of ops, lit_enc_len bytes of literals, and the rest
 *      4 * n_ptrs bytes of pointer checks (u32 LE each)
 */
#ifndef PFS_BLOCK_H
#define PFS_BLOCK_H

#include "codec.h"

/* Variable header: at most 13 varints. */
#define PFS_BLOCK_HEADER_MAX (PFS_BLOCK_FIXED_BYTES + 13 * 10)
/* One op: lit_len, match_len, offset code. */
#define PFS_OP_MAX_BYTES 30

/* Bytes fingerprinted at an anchor (encoder and receiver-side indexing). */
#define PFS_ANCHOR_WINDOW 32

/* Largest zstd dictionary a block's literals may be compressed against. */
#define PFS_BLOCK_DICT_MAX (1u << 20)

struct pfs_op {
	uint32_t lit_len;   /* literal bytes before the pointer */
	uint32_t match_len; /* 0: literals only (the last op) */
	uint64_t off;       /* log offset the pointer names */
	uint32_t check;
	uint8_t log;        /* enum pfs_log_id */
};

struct pfs_block_layout {
	struct pfs_block_info info;
	uint32_t ops_raw_len; /* == ops_len unless OPS_ZSTD */
	const uint8_t *ops, *lit, *checks;
};

/* Most ops a block of out_len decoded bytes can hold: every op but the last
 * carries a pointer of at least PFS_MATCH_MIN_SPEC bytes. */
static inline uint32_t pfs_block_max_ops(uint32_t out_len)
{
	uint32_t n = out_len / PFS_MATCH_MIN_SPEC + 1;

	return n < PFS_BLOCK_OPS_MAX ? n : PFS_BLOCK_OPS_MAX;
}

/* Parses and validates framing, checksum and field limits (not the ops). */
int pfs_block_parse(const uint8_t *blk, size_t len, struct pfs_block_layout *lay);

/* Writes the variable header for info (+ ops_raw_len) at p; returns its size. */
size_t pfs_block_put_header(uint8_t *p, const struct pfs_block_info *info, uint32_t ops_raw_len);

/*
 * Builds the dictionary a block's literals are compressed against, from
 * nothing but the block's own fields, so that both ends build the same bytes:
 * first the explicit prefix range of the tx log (PFS_BLOCK_PREFIX), then, with
 * PFS_BLOCK_GAPDICT, for every literal run, the tx-log bytes just after the
 * pointer before it and just before the pointer after it — where an edited
 * version keeps what the literals replaced — clipped to the window
 * [dict_lo, dict_hi) the sender declares. Stops at cap bytes. logs[id] may be
 * NULL. Returns the size, or PFS_ERR_POINTER_RANGE if a range is not readable.
 */
long pfs_block_dict(const struct pfs_block_info *info, const struct pfs_op *ops, size_t nops,
		    struct pfs_log *const logs[2], uint8_t *dict, size_t cap);

/* Indexes every anchor of buf, which the log holds at base. */
struct pfs_chunker;
void pfs_index_anchors(struct pfs_index *ix, const struct pfs_chunker *chunker,
		       const struct pfs_codec_keys *keys, const uint8_t *buf, size_t len,
		       uint64_t base);

/* Fills in magic, version, flags, length and checksum of an assembled block. */
void pfs_block_seal(uint8_t *blk, uint32_t len, uint32_t flags);

#endif
