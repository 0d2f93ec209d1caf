/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpus of the decode_block fuzz target: blocks made by the
 * real encoder against a sender that mirrors the fuzz target's receiver
 * (fuzz_setup.h), so each valid seed decodes there, plus a few broken ones.
 * Given a second directory, also writes the frames target's seeds for the
 * stream frames (STREAM_OPEN, STREAM_FIN, STREAM_DONE, MAX_BLOCKS, REPAIR),
 * made by the real frame writers, beside the hand-made seeds already there.
 * Not part of the build; regenerate after a change of the block or frame
 * format:
 *
 *   cmake -S . -B build && cmake --build build --target pfs_core
 *   gcc -O2 -D_GNU_SOURCE -Idataplane test/fuzz/make_corpus.c build/libpfs_core.a \
 *       -lzstd -lxxhash -lsodium -o /tmp/make_corpus
 *   rm -rf test/fuzz/corpus/decode_block && /tmp/make_corpus test/fuzz/corpus/decode_block \
 *       test/fuzz/corpus/frames
 *
 * (not rm -rf of corpus/frames: ack_three_ranges, all_kinds and block_piece
 * there are hand-made.) Every valid block seed is checked by decoding it on a
 * fresh fuzz receiver; the program fails if one does not decode or if a
 * block kind (pointers into either log, zstd literals, zstd ops, prefix and
 * gap dictionaries, materialized output) is missing from the set. Every frames
 * seed is parsed as the transport walks a payload: a seed named broken_* must
 * stop with the error it was made for, any other must parse to its last byte.
 */
#include <errno.h>
#include <sys/stat.h>

#include "filesink.h"
#include "frames.h"
#include "fuzz_setup.h"
#include "varint.h"

#define KIB 1024u

struct sender {
	struct pfs_codec_config cfg;
	struct pfs_codec_keys keys;
	struct pfs_log *tx, *rx;
	struct pfs_index tx_ix, rx_ix;
	struct pfs_encoder *enc;
};

static uint8_t history[FZ_HISTORY_LEN], reverse[FZ_REVERSE_LEN];
static uint8_t wire[4u << 20], out[256 * KIB];
static const char *dir, *frames_dir;
static uint32_t flags_seen;
static int files;

static void die(const char *what, int rc)
{
	fprintf(stderr, "make_corpus: %s: %s\n", what, pfs_errname(rc));
	exit(1);
}

/* Encodes data in blocks with nothing acknowledged: no pointers, so every
 * block appends its whole input to the tx log (and indexes it). */
static void encode_all(struct pfs_encoder *enc, const uint8_t *data, size_t n,
		       struct pfs_decoder *dec)
{
	for (size_t pos = 0, used, wl; pos < n; pos += used) {
		int rc = pfs_encoder_encode(enc, 0, pos, data + pos, n - pos, &used, wire,
					    sizeof(wire), &wl, NULL);
		if (!rc && dec)
			rc = pfs_decoder_decode(dec, wire, wl, out, sizeof(out), NULL);
		if (rc)
			die("setting up the sender", rc);
	}
}

/* The fuzz receiver's peer: its tx log holds the history (indexed by its
 * own encoder), its rx log what the receiver sent back (indexed by its
 * decoder, as received), both acknowledged. */
static void sender_open(struct sender *s, uint32_t prefix_max)
{
	struct pfs_log *peer_tx = fz_log();
	struct pfs_index peer_ix;
	struct pfs_encoder *peer_enc;
	struct pfs_decoder *dec;
	char err[256] = "";
	int rc;

	memset(s, 0, sizeof(*s));
	fz_config(&s->cfg);
	s->cfg.prefix_max = prefix_max;
	if (fz_keys(&s->keys) || !(s->tx = fz_log()) || !(s->rx = fz_log()) || !peer_tx)
		die("keys or logs", -1);
	uint64_t ib = pfs_index_bytes_for(FZ_LOG_CAP, s->cfg.avg_chunk);
	if (pfs_index_init(&s->tx_ix, ib) || pfs_index_init(&s->rx_ix, ib) ||
	    pfs_index_init(&peer_ix, ib))
		die("index", -1);
	rc = pfs_encoder_new(&s->enc, &s->cfg, &s->keys, s->tx, &s->tx_ix, s->rx, &s->rx_ix, err,
			     sizeof(err));
	if (!rc)
		rc = pfs_encoder_new(&peer_enc, &s->cfg, &s->keys, peer_tx, &peer_ix, NULL, NULL,
				     err, sizeof(err));
	if (!rc)
		rc = pfs_decoder_new(&dec, &s->cfg, s->rx, s->tx, &s->keys, &s->rx_ix);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		die("codec", rc);
	}
	encode_all(s->enc, history, FZ_HISTORY_LEN, NULL);
	encode_all(peer_enc, reverse, FZ_REVERSE_LEN, dec);
	if (s->tx->tail != FZ_HISTORY_LEN || s->rx->tail != FZ_REVERSE_LEN)
		die("the logs do not mirror the fuzz receiver", -1);
	pfs_log_set_frontier(s->tx, s->tx->contig);
	pfs_log_set_frontier(s->rx, s->rx->contig);
	pfs_decoder_free(dec);
	pfs_encoder_free(peer_enc);
	pfs_index_free(&peer_ix);
	pfs_log_close(peer_tx);
}

static void sender_close(struct sender *s)
{
	pfs_encoder_free(s->enc);
	pfs_index_free(&s->tx_ix);
	pfs_index_free(&s->rx_ix);
	pfs_log_close(s->tx);
	pfs_log_close(s->rx);
}

static void save(const char *in, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", in, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "make_corpus: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	files++;
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	struct fz_receiver r;

	if (strncmp(name, "valid_", 6) != 0) { /* say how the receiver takes it */
		if (fz_receiver_open(&r))
			die("receiver", -1);
		printf("%-28s %6zu bytes: %s\n", name, n,
		       pfs_errname(pfs_decoder_decode(r.dec, p, n, out, sizeof(out), NULL)));
	}
	save(dir, name, p, n);
}

/* Encodes in[0, n) as one block on a fresh sender, checks that it decodes on
 * a fresh fuzz receiver to the same bytes, and writes it. Returns its size
 * (the block stays in wire[]). */
static size_t seed_block(const char *name, const uint8_t *in, size_t n, uint32_t prefix_max,
			 uint64_t stream_id, uint64_t stream_off)
{
	struct pfs_block_info bi;
	struct fz_receiver r;
	struct sender s;
	size_t used, wl;
	int rc;

	sender_open(&s, prefix_max);
	rc = pfs_encoder_encode(s.enc, stream_id, stream_off, in, n, &used, wire, sizeof(wire), &wl,
				&bi);
	sender_close(&s);
	if (rc)
		die(name, rc);
	if (fz_receiver_open(&r))
		die("receiver", -1);
	rc = pfs_decoder_decode(r.dec, wire, wl, out, sizeof(out), NULL);
	if (rc || memcmp(out, in, used) != 0)
		die(name, rc ? rc : PFS_ERR_POINTER_CHECK);
	printf("%-28s %6zu bytes in, %6zu on the wire, %3u pointers, flags %#04x\n", name, used, wl,
	       bi.n_ptrs, bi.flags);
	flags_seen |= bi.flags;
	write_file(name, wire, wl);
	return wl;
}

/* A hand-made block: one pointer of len bytes at off into log `log`, with a
 * zero check, resealed so that only the decoder's semantic checks can
 * refuse it. */
static void seed_pointer(const char *name, int log, uint64_t off, uint32_t len)
{
	uint8_t blk[128], ops[32];
	size_t n = 16, k = 0;
	uint64_t z = pfs_zigzag((int64_t)off);

	k += pfs_varint_put(ops + k, 0);
	k += pfs_varint_put(ops + k, len);
	k += pfs_varint_put(ops + k, z << 1 | (uint64_t)log);
	uint64_t hdr[] = { 0, 0, len, FZ_HISTORY_LEN, 0, 0, 1, k };
	for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		n += pfs_varint_put(blk + n, hdr[i]);
	memcpy(blk + n, ops, k);
	n += k;
	memset(blk + n, 0, 4);
	n += 4;
	blk[0] = PFS_BLOCK_MAGIC;
	blk[1] = PFS_BLOCK_VERSION;
	blk[2] = blk[3] = 0;
	fz_reseal(blk, n);
	write_file(name, blk, n);
}

/* --- frames seeds ------------------------------------------------------------------ */

static uint8_t fr[8 * KIB];
static size_t fr_len;

/* Appends what a frame writer wrote; a writer refusing is a bug here. */
static void fr_add(size_t k)
{
	if (k == 0)
		die("a frame writer refused its frame", PFS_ERR_INVALID_ARG);
	fr_len += k;
}

#define FR_PUT(writer, ...) fr_add(writer(fr + fr_len, sizeof(fr) - fr_len, __VA_ARGS__))

/* Appends a type byte and varints: broken frames, which no writer makes. */
static void fr_raw(uint8_t type, const uint64_t *v, size_t n)
{
	fr[fr_len++] = type;
	for (size_t i = 0; i < n; i++)
		fr_len += pfs_varint_put(fr + fr_len, v[i]);
}

#define FR_RAW(type, ...)                               \
	fr_raw(type, (const uint64_t[]){ __VA_ARGS__ }, \
	       sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

static void fr_bytes(const void *p, size_t n)
{
	memcpy(fr + fr_len, p, n);
	fr_len += n;
}

/* Walks fr[0, fr_len) as the transport walks a payload; the seed must end
 * with `want` (0: every byte parsed). Writes it and starts the next one. */
static void seed_frames(const char *name, int want)
{
	struct pfs_wire_frame f;
	size_t pos = 0, used;
	int rc = 0, count = 0;

	while (pos < fr_len && !(rc = pfs_frame_parse(fr + pos, fr_len - pos, &used, &f))) {
		pos += used;
		count++;
	}
	printf("%-36s %5zu bytes, %2d frames, then %s\n", name, fr_len, count, pfs_errname(rc));
	if (rc != want) {
		fprintf(stderr, "make_corpus: %s should end with %s\n", name, pfs_errname(want));
		exit(1);
	}
	save(frames_dir, name, fr, fr_len);
	fr_len = 0;
}

static void frames_seeds(void)
{
	static uint8_t path[PFS_FR_PATH_MAX];
	uint8_t digest[PFS_FR_DIGEST_BYTES], piece[64];
	struct pfs_fr_ack ack = { .delay_us = 250, .n = 2, .r = { { 90, 100 }, { 10, 80 } } };

	pfs_file_digest("hello", 5, digest);
	for (size_t i = 0; i < sizeof(piece); i++)
		piece[i] = (uint8_t)(i * 7);
	memset(path, 'p', sizeof(path));

	/* valid: each kind with ordinary and extreme fields */
	FR_PUT(pfs_frame_put_stream_open,
	       &(struct pfs_fr_stream_open){ .stream_id = 0,
					     .size = UINT64_C(1) << 30,
					     .path_len = 14,
					     .path = (const uint8_t *)"target/big.bin" });
	FR_PUT(pfs_frame_put_stream_open,
	       &(struct pfs_fr_stream_open){ .stream_id = UINT64_MAX,
					     .size = 0,
					     .path_len = 1,
					     .path = (const uint8_t *)"e" });
	/* the parser passes hostile paths on: the receiver's sink refuses them */
	FR_PUT(pfs_frame_put_stream_open,
	       &(struct pfs_fr_stream_open){ .stream_id = 2,
					     .size = 10,
					     .path_len = 16,
					     .path = (const uint8_t *)"../../etc/passwd" });
	seed_frames("stream_open", 0);
	FR_PUT(pfs_frame_put_stream_open,
	       &(struct pfs_fr_stream_open){
		       .stream_id = 3, .size = 1, .path_len = PFS_FR_PATH_MAX, .path = path });
	seed_frames("stream_open_longest_path", 0);
	FR_PUT(pfs_frame_put_stream_fin,
	       &(struct pfs_fr_stream_fin){ .stream_id = 0, .digest = digest });
	FR_PUT(pfs_frame_put_stream_fin,
	       &(struct pfs_fr_stream_fin){ .stream_id = UINT64_MAX, .digest = digest });
	seed_frames("stream_fin", 0);
	FR_PUT(pfs_frame_put_stream_done,
	       &(struct pfs_fr_stream_done){ .stream_id = 0, .code = 0 });
	FR_PUT(pfs_frame_put_stream_done,
	       &(struct pfs_fr_stream_done){ .stream_id = 8, .code = (uint32_t)-PFS_ERR_CHECKSUM });
	FR_PUT(pfs_frame_put_stream_done,
	       &(struct pfs_fr_stream_done){ .stream_id = UINT64_MAX, .code = UINT32_MAX });
	seed_frames("stream_done", 0);
	FR_PUT(pfs_frame_put_max_blocks, &(struct pfs_fr_max_blocks){ .max_block = 64 });
	FR_PUT(pfs_frame_put_max_blocks, &(struct pfs_fr_max_blocks){ .max_block = 0 });
	FR_PUT(pfs_frame_put_max_blocks, &(struct pfs_fr_max_blocks){ .max_block = UINT64_MAX });
	seed_frames("max_blocks", 0);
	FR_PUT(pfs_frame_put_repair, &(struct pfs_fr_repair){ .block_id = 12,
							      .stream_id = 3,
							      .stream_off = 1u << 20,
							      .out_len = 300000,
							      .log_off = UINT64_C(5) << 30,
							      .logged = 1 });
	FR_PUT(pfs_frame_put_repair, &(struct pfs_fr_repair){ 0 });
	/* the largest block, ending exactly at the top of both ranges */
	FR_PUT(pfs_frame_put_repair,
	       &(struct pfs_fr_repair){ .block_id = UINT64_MAX,
					.stream_id = UINT64_MAX,
					.stream_off = UINT64_MAX - PFS_BLOCK_OUT_MAX,
					.out_len = PFS_BLOCK_OUT_MAX,
					.log_off = UINT64_MAX - PFS_BLOCK_OUT_MAX });
	seed_frames("repair", 0);

	/* a stream's life in one payload, with every other kind between */
	FR_PUT(pfs_frame_put_stream_open,
	       &(struct pfs_fr_stream_open){ .stream_id = 5,
					     .size = sizeof(piece),
					     .path_len = 9,
					     .path = (const uint8_t *)"dir/f.bin" });
	FR_PUT(pfs_frame_put_block, &(struct pfs_fr_block){ .block_id = 40,
							    .block_len = sizeof(piece),
							    .offset = 0,
							    .len = sizeof(piece),
							    .data = piece });
	FR_PUT(pfs_frame_put_simple, PFS_FR_PING);
	FR_PUT(pfs_frame_put_stream_fin,
	       &(struct pfs_fr_stream_fin){ .stream_id = 5, .digest = digest });
	FR_PUT(pfs_frame_put_ack, &ack);
	FR_PUT(pfs_frame_put_log_ack, &(struct pfs_fr_log_ack){ .log = 1, .contig = 1u << 20 });
	FR_PUT(pfs_frame_put_max_blocks, &(struct pfs_fr_max_blocks){ .max_block = 104 });
	FR_PUT(pfs_frame_put_repair,
	       &(struct pfs_fr_repair){
		       .block_id = 40, .stream_id = 5, .out_len = sizeof(piece), .log_off = 4096 });
	FR_PUT(pfs_frame_put_stream_done,
	       &(struct pfs_fr_stream_done){ .stream_id = 5, .code = (uint32_t)-PFS_ERR_AUTH });
	FR_PUT(pfs_frame_put_simple, PFS_FR_PADDING);
	FR_PUT(pfs_frame_put_close, &(struct pfs_fr_close){ .code = 0,
							    .reason_len = 4,
							    .reason = (const uint8_t *)"done" });
	seed_frames("stream_lifecycle", 0);

	/* broken: each limit and check of the new frames, some behind a valid
	 * frame the walk must get past first */
	FR_RAW(PFS_FR_STREAM_OPEN, 1, 10, 0);
	seed_frames("broken_stream_open_empty_path", PFS_ERR_LIMIT);
	FR_RAW(PFS_FR_STREAM_OPEN, 1, 10, PFS_FR_PATH_MAX + 1);
	fr_bytes(path, 8);
	seed_frames("broken_stream_open_path_over_limit", PFS_ERR_LIMIT);
	FR_RAW(PFS_FR_STREAM_OPEN, 1, 10, 20);
	fr_bytes(path, 10);
	seed_frames("broken_stream_open_truncated_path", PFS_ERR_TRUNCATED);
	FR_RAW(PFS_FR_MAX_BLOCKS, 9);
	FR_RAW(PFS_FR_STREAM_OPEN, 1, 10, 5);
	fr_bytes("a\0b/c", 5);
	seed_frames("broken_stream_open_nul_in_path", PFS_ERR_MALFORMED);
	FR_RAW(PFS_FR_STREAM_FIN, 3);
	fr_bytes(digest, PFS_FR_DIGEST_BYTES - 1);
	seed_frames("broken_stream_fin_short_digest", PFS_ERR_TRUNCATED);
	FR_RAW(PFS_FR_STREAM_DONE, 3, UINT64_C(1) << 32);
	seed_frames("broken_stream_done_code_over_u32", PFS_ERR_LIMIT);
	fr_raw(PFS_FR_MAX_BLOCKS, NULL, 0);
	fr_bytes("\x80\x00", 2); /* an overlong zero */
	seed_frames("broken_max_blocks_overlong_varint", PFS_ERR_TRUNCATED);
	FR_RAW(PFS_FR_REPAIR, 1, 1, 0, PFS_BLOCK_OUT_MAX + 1, 0, 1);
	seed_frames("broken_repair_out_len_over_max", PFS_ERR_LIMIT);
	FR_RAW(PFS_FR_REPAIR, 1, 1, 0, 100, 0, 2);
	seed_frames("broken_repair_logged_not_0_or_1", PFS_ERR_LIMIT);
	FR_RAW(PFS_FR_REPAIR, 1, 1, UINT64_MAX, 1, 0, 0);
	seed_frames("broken_repair_stream_off_wraps", PFS_ERR_MALFORMED);
	FR_RAW(PFS_FR_STREAM_DONE, 4, 0);
	FR_RAW(PFS_FR_REPAIR, 1, 1, 0, 2, UINT64_MAX - 1, 1);
	seed_frames("broken_repair_log_off_wraps", PFS_ERR_MALFORMED);
	FR_RAW(PFS_FR_REPAIR, 1, 1, 0, 2, 0);
	seed_frames("broken_repair_truncated", PFS_ERR_TRUNCATED);
	FR_PUT(pfs_frame_put_max_blocks, &(struct pfs_fr_max_blocks){ .max_block = 1 });
	FR_RAW(PFS_FR_REPAIR + 1, 0); /* the first type after the known ones */
	seed_frames("broken_unknown_type_after_repair", PFS_ERR_MALFORMED);
}

int main(int argc, char **argv)
{
	static uint8_t in[64 * KIB], tmp[64 * KIB];
	uint64_t s = 0x636f72707573;
	size_t n;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s DECODE_BLOCK_DIR [FRAMES_DIR]\n", argv[0]);
		return 1;
	}
	dir = argv[1];
	frames_dir = argc == 3 ? argv[2] : NULL;
	for (int i = 1; i < argc; i++) {
		if (mkdir(argv[i], 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "make_corpus: cannot create %s: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
	}
	fz_history(history);
	fz_reverse(reverse);

	seed_block("valid_empty", in, 0, 0, 0, 0);
	in[0] = 'x';
	seed_block("valid_one_byte", in, 1, 0, 1, 0);
	for (n = 0; n < 300; n++)
		in[n] = (uint8_t)rnd_next(&s);
	seed_block("valid_raw_literals", in, 300, 0, 2, 4096);
	fz_text(&s, in, 8 * KIB);
	seed_block("valid_zstd_literals", in, 8 * KIB, 0, 3, 0);
	for (n = 0; n < 3; n++) /* a new 4 KiB three times: not pointable yet */
		memcpy(in + n * 4 * KIB, in, 4 * KIB);
	seed_block("valid_repeats_inside_block", in, 12 * KIB, 0, 3, 1);
	seed_block("valid_single_pointer", history + 640 * KIB, 40 * KIB, 0, 4, 0);
	seed_block("valid_pointer_at_lower", history + 256 * KIB, 20 * KIB, 0, 4, 1);
	seed_block("valid_pointer_at_contig", history + FZ_HISTORY_LEN - 20 * KIB, 20 * KIB, 0, 4,
		   2);
	memcpy(in, history + 400 * KIB, 48 * KIB);
	for (n = 0; n < 20; n++)
		in[rnd_next(&s) % (48 * KIB)] ^= 0x21;
	seed_block("valid_substitutions", in, 48 * KIB, 0, 5, 0);
	memcpy(in, history + 512 * KIB, 32 * KIB);
	for (n = 50; n < 32 * KIB; n += 100)
		in[n] = (uint8_t)~in[n];
	seed_block("valid_zstd_ops", in, 32 * KIB, 0, 6, 0);
	seed_block("valid_pointer_to_rx_log", reverse + 10 * KIB, 30 * KIB, 0, 7, 0);
	memcpy(in, history + 700 * KIB, 10 * KIB);
	memcpy(in + 10 * KIB, reverse + 70 * KIB, 10 * KIB);
	for (n = 20 * KIB; n < 21 * KIB; n++)
		in[n] = (uint8_t)rnd_next(&s);
	memcpy(in + 21 * KIB, history + 900 * KIB, 10 * KIB);
	seed_block("valid_both_logs_and_literals", in, 31 * KIB, 0, 8, 0);
	/* text of the history with words replaced: literals between pointers,
	 * compressed against what they replaced */
	memcpy(in, history + 320 * KIB, 40 * KIB); /* segment 5: text */
	for (n = 512; n + 16 < 40 * KIB; n += 700 + rnd_next(&s) % 300)
		fz_text(&s, in + n, 12 + rnd_next(&s) % 40);
	seed_block("valid_gap_dictionary", in, 40 * KIB, 0, 9, 0);
	fz_text(&s, in, 16 * KIB); /* new text, old vocabulary */
	seed_block("valid_prefix_dictionary", in, 16 * KIB, 64 * KIB, 10, 0);
	seed_block("valid_prefix_256k", in, 16 * KIB, 256 * KIB, 10, 1);
	memcpy(in, history + 1000 * KIB, 24 * KIB);
	memcpy(in + 24 * KIB, history + 600 * KIB, 24 * KIB);
	for (n = 0; n < 8 * KIB; n++)
		in[48 * KIB + n] = (uint8_t)rnd_next(&s);
	seed_block("valid_large_mixed", in, 56 * KIB, 0, UINT64_MAX, UINT64_MAX - 56 * KIB);

	/* broken: framing */
	n = seed_block("valid_small_pointer", history + 800 * KIB, 4 * KIB, 0, 11, 0);
	memcpy(tmp, wire, n);
	write_file("broken_truncated", tmp, n / 2);
	tmp[n - 1] ^= 1;
	write_file("broken_checksum", tmp, n);
	tmp[n - 1] ^= 1;
	tmp[0] ^= 0xff;
	write_file("broken_magic", tmp, n);
	tmp[0] ^= 0xff;
	memset(tmp + n, 0, 3);
	write_file("broken_trailing_bytes", tmp, n + 3);
	/* broken but resealed: only the decoder's own checks can refuse them */
	tmp[n - 1] ^= 0x40; /* the pointer check */
	fz_reseal(tmp, n);
	write_file("resealed_wrong_check", tmp, n);
	fz_text(&s, in, 8 * KIB);
	n = seed_block("valid_text", in, 8 * KIB, 0, 12, 1);
	memcpy(tmp, wire, n);
	tmp[n / 2] ^= 0x55; /* inside the zstd literals */
	fz_reseal(tmp, n);
	write_file("resealed_bad_zstd", tmp, n);
	seed_pointer("resealed_pointer_evicted", 0, 1000, 64);
	seed_pointer("resealed_pointer_past_contig", 0, FZ_HISTORY_LEN - 32, 64);
	seed_pointer("resealed_pointer_rx_log_end", 1, FZ_REVERSE_LEN - 16, 32);
	seed_pointer("resealed_pointer_too_short", 0, 300 * KIB, 8);

	const uint32_t want = PFS_BLOCK_LIT_ZSTD | PFS_BLOCK_OPS_ZSTD | PFS_BLOCK_PREFIX |
			      PFS_BLOCK_MATERIAL | PFS_BLOCK_GAPDICT;
	if ((flags_seen & want) != want) {
		fprintf(stderr, "make_corpus: no seed carries flags %#x\n", want & ~flags_seen);
		return 1;
	}
	printf("%d files in %s\n", files, dir);
	if (frames_dir) {
		files = 0;
		frames_seeds();
		printf("%d files in %s\n", files, frames_dir);
	}
	return 0;
}
