/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pointer codec: turns a byte stream into self-contained blocks of
 * literals and pointers into the peer pair's logs, and back. Pure: buffers in,
 * buffers out; time and I/O belong to the caller. Wire format in
 * docs/codec.md; the constants here are the specification.
 *
 * Log ids in pointers are relative to the sender: PFS_LOG_SENDER_TX names the
 * sender's tx log (= the receiver's rx log), PFS_LOG_SENDER_RX the sender's rx
 * log (= the receiver's tx log).
 */
#ifndef PFS_CODEC_H
#define PFS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "keys.h"
#include "log.h"

/* --- specification limits -------------------------------------------------- */
#define PFS_BLOCK_MAGIC 0xB7u
#define PFS_BLOCK_VERSION 1u
#define PFS_BLOCK_FIXED_BYTES 16u      /* magic, version, flags, rsvd, len, checksum */
#define PFS_BLOCK_OUT_MAX (1u << 22)   /* decoded bytes per block: 4 MiB */
#define PFS_BLOCK_LIT_MAX (1u << 20)   /* literal bytes per block: 1 MiB */
#define PFS_BLOCK_OPS_MAX 16384u       /* ops per block */
#define PFS_MATCH_MIN_SPEC 16u         /* shortest pointer a receiver accepts */
#define PFS_CHECK_BYTES 4u             /* per-pointer check: low 32 bits of XXH3-64 */

enum pfs_block_flags {
	PFS_BLOCK_LIT_ZSTD = 1u << 0, /* literal section is one zstd frame */
	PFS_BLOCK_OPS_ZSTD = 1u << 1, /* op section is one zstd frame */
	PFS_BLOCK_PREFIX = 1u << 2,   /* literals compressed against log bytes */
	PFS_BLOCK_MATERIAL = 1u << 3, /* the log receives the whole decoded block,
				       * not only its literals */
	PFS_BLOCK_GAPDICT = 1u << 4,  /* literals compressed against the log bytes
				       * around their pointers (block.h) */
	PFS_BLOCK_NOLOG = 1u << 5,    /* the log receives nothing: a repair of a
				       * block that wrote nothing to it */
	PFS_BLOCK_FLAGS_ALL = 0x3fu,
};

enum pfs_log_id {
	PFS_LOG_SENDER_TX = 0,
	PFS_LOG_SENDER_RX = 1,
};

/* --- configuration ---------------------------------------------------------- */
struct pfs_codec_config {
	uint32_t block_max;  /* input bytes per block; <= PFS_BLOCK_OUT_MAX */
	uint32_t lit_max;    /* literal bytes per block; <= PFS_BLOCK_LIT_MAX */
	uint32_t avg_chunk;  /* anchor spacing, power of two (chunker.h limits) */
	uint32_t chunk_level; /* chunker normalization level (chunker.h) */
	uint32_t min_match;  /* shortest pointer emitted; >= PFS_MATCH_MIN_SPEC */
	int level;           /* zstd level for literals; 0 = never compress */
	int sparse_level;    /* level when literals are at most 1/4 of the block:
			      * their cost is spread over 4x the input */
	uint32_t prefix_max; /* acknowledged log bytes zstd may reference; 0 = off */
	uint64_t margin;     /* never point at bytes that margin more bytes of log
			      * writes would evict: room for blocks in flight */
};

/* Defaults: blocks of up to 4 MiB of input and 128 KiB of literals, anchors
 * every 256 bytes on average (level 0), 48-byte minimum match, zstd level 3
 * (9 for sparse literals), no prefix, no margin — chosen by the measurements
 * in docs/codec.md.
 * A block ends at whichever limit comes first, so novel data travels in blocks
 * of about 128 KiB while redundant data packs megabytes into a few bytes. */
void pfs_codec_config_default(struct pfs_codec_config *cfg);

/* Validates cfg against the limits above and the log capacity; writes what is
 * wrong into err. Returns 0 or PFS_ERR_INVALID_ARG. */
int pfs_codec_config_check(const struct pfs_codec_config *cfg, uint64_t log_capacity,
			   char *err, size_t errlen);

/* Largest encoded size of a block under cfg. */
size_t pfs_block_bound(const struct pfs_codec_config *cfg);

/* --- block description ------------------------------------------------------- */
struct pfs_block_info {
	uint64_t stream_id;
	uint64_t stream_off; /* where the decoded bytes go in the stream */
	uint32_t out_len;    /* decoded bytes */
	uint32_t flags;
	uint64_t log_off;    /* sender tx log offset where this block's bytes go:
			      * its literals, or its whole output if MATERIAL */
	uint32_t lit_len;    /* raw literal bytes */
	uint32_t n_ops, n_ptrs;
	uint64_t prefix_off;
	uint32_t prefix_len;
	uint64_t dict_lo, dict_hi; /* GAPDICT: the sender's pointable tx-log window */
	/* accounting of the encoded bytes */
	uint32_t block_len;   /* whole block */
	uint32_t header_len;  /* fixed + variable header */
	uint32_t ops_len;     /* op section as sent */
	uint32_t lit_enc_len; /* literal section as sent */
	uint32_t checks_len;  /* pointer checks */
	uint64_t ptr_bytes;   /* decoded bytes that came from pointers */
};

/*
 * Parses and checks the header of a block without applying it: magic,
 * version, length, checksum, field limits. Returns 0, PFS_ERR_TRUNCATED,
 * PFS_ERR_BAD_MAGIC, PFS_ERR_CHECKSUM, PFS_ERR_LIMIT or PFS_ERR_MALFORMED.
 */
int pfs_block_peek(const uint8_t *blk, size_t len, struct pfs_block_info *info);

/* --- encoder ------------------------------------------------------------------ */
struct pfs_encoder;

/*
 * tx/tx_index: the sender's tx log and its index (required).
 * rx/rx_index: the sender's rx log and its index (optional, both or neither):
 * pointers may then also name bytes this end has received from the peer.
 * Returns 0, PFS_ERR_INVALID_ARG (message in err) or PFS_ERR_NOMEM.
 */
int pfs_encoder_new(struct pfs_encoder **out, const struct pfs_codec_config *cfg,
		    const struct pfs_codec_keys *keys, struct pfs_log *tx, struct pfs_index *tx_index,
		    struct pfs_log *rx, struct pfs_index *rx_index, char *err, size_t errlen);
void pfs_encoder_free(struct pfs_encoder *enc);

/*
 * Encodes a prefix of in[0..in_len) as one block into out: it stops at
 * in_len, at block_max input bytes, at lit_max literal bytes or at
 * PFS_BLOCK_OPS_MAX ops, and *consumed says where (>= 1 when in_len > 0; an
 * empty input makes one empty block). It appends to the tx log what the
 * receiver will append to its rx log: nothing when the block is a single
 * pointer, else the whole block (literals included), so that the log holds
 * recent traffic contiguously and the next version of the same bytes matches in
 * long runs (docs/decisions/0001-materialize-fragmented-blocks.md).
 * Pointers name only bytes that `margin` more bytes of log writes would not
 * evict, and
 * below the tx log's acknowledged frontier (set by the caller as the peer
 * acknowledges) or the rx log's contiguously written end, each confirmed
 * bytewise. On success *out_len is the block's size and info (may be
 * NULL) describes it. Returns 0, PFS_ERR_INVALID_ARG, PFS_ERR_BUF_TOO_SMALL
 * (out_cap < pfs_block_bound(cfg)) or PFS_ERR_OUT_OF_ORDER.
 */
int pfs_encoder_encode(struct pfs_encoder *enc, uint64_t stream_id, uint64_t stream_off,
		       const uint8_t *in, size_t in_len, size_t *consumed, uint8_t *out,
		       size_t out_cap, size_t *out_len, struct pfs_block_info *info);

/*
 * Encodes a prefix of in[0..in_len) (at most lit_max bytes; *consumed says how
 * much) as a block of literals alone, for a block the receiver could not apply
 * (a repair, docs/transport.md). The block puts its bytes at log_off in the
 * receiver's rx log — where the failed block would have put them, which the
 * tx log already holds — or, if logged is 0, nowhere. The tx log and index do
 * not change. Returns 0, PFS_ERR_INVALID_ARG or PFS_ERR_BUF_TOO_SMALL.
 */
int pfs_encoder_encode_literal(struct pfs_encoder *enc, uint64_t stream_id, uint64_t stream_off,
			       const uint8_t *in, size_t in_len, uint64_t log_off, int logged,
			       size_t *consumed, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Indexes every anchor of the bytes a log holds, [lower, contig), with cfg's
 * chunking: what a restarted sender runs once on its reopened file-backed tx
 * log before creating its encoder, so that data sent before the restart
 * travels as pointers again (indexes live in memory only). Cost: one chunking
 * pass over the log (~4 GB/s). Returns 0 or PFS_ERR_INVALID_ARG (cfg).
 */
int pfs_codec_index_log(struct pfs_index *ix, const struct pfs_codec_config *cfg,
			const struct pfs_codec_keys *keys, const struct pfs_log *log);

/* --- decoder ------------------------------------------------------------------ */
struct pfs_decoder;

/*
 * rx: the receiver's rx log (= the sender's tx log); tx: the receiver's tx log
 * (optional). With keys and rx_index, received bytes are indexed (with cfg's
 * chunking) so the reverse direction can point at them. cfg->block_max bounds
 * what a block may decode to (and so every allocation); it must be >= the
 * sender's block_max.
 * Returns 0, PFS_ERR_INVALID_ARG or PFS_ERR_NOMEM.
 */
int pfs_decoder_new(struct pfs_decoder **out, const struct pfs_codec_config *cfg,
		    struct pfs_log *rx, struct pfs_log *tx, const struct pfs_codec_keys *keys,
		    struct pfs_index *rx_index);
void pfs_decoder_free(struct pfs_decoder *dec);

/*
 * Decodes one block into out (out_cap >= its out_len) and writes to the rx log
 * what the sender wrote to its tx log. Applying a block that writes nothing to
 * the log (a single pointer, or an empty block) twice is harmless and succeeds;
 * applying one that writes twice is refused (PFS_ERR_LITERAL_RANGE). Any byte string is safe to pass: it either decodes to the
 * bytes the sender encoded or returns an error, and on error the logs are
 * unchanged (out may hold partial bytes). Returns 0 or one of
 * PFS_ERR_TRUNCATED, PFS_ERR_BAD_MAGIC, PFS_ERR_CHECKSUM, PFS_ERR_LIMIT,
 * PFS_ERR_MALFORMED, PFS_ERR_DECOMPRESS, PFS_ERR_POINTER_RANGE,
 * PFS_ERR_POINTER_CHECK, PFS_ERR_LITERAL_RANGE, PFS_ERR_OUT_OF_ORDER,
 * PFS_ERR_BUF_TOO_SMALL.
 */
int pfs_decoder_decode(struct pfs_decoder *dec, const uint8_t *blk, size_t len, uint8_t *out,
		       size_t out_cap, struct pfs_block_info *info);

#endif
