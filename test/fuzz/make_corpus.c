/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpus of the decode_block fuzz target: blocks made by the
 * real encoder against a sender that mirrors the fuzz target's receiver
 * (fuzz_setup.h), so each valid seed decodes there, plus a few broken ones.
 * Not part of the build; regenerate after a change of the block format:
 *
 *   cmake -S . -B build && cmake --build build --target pfs_core
 *   gcc -O2 -D_GNU_SOURCE -Idataplane test/fuzz/make_corpus.c build/libpfs_core.a \
 *       -lzstd -lxxhash -lsodium -o /tmp/make_corpus
 *   rm -rf test/fuzz/corpus/decode_block && /tmp/make_corpus test/fuzz/corpus/decode_block
 *
 * Every valid seed is checked by decoding it on a fresh fuzz receiver; the
 * program fails if one does not decode or if a block kind (pointers into
 * either log, zstd literals, zstd ops, prefix and gap dictionaries,
 * materialized output) is missing from the set.
 */
#include <errno.h>
#include <sys/stat.h>

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
static const char *dir;
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

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	struct fz_receiver r;
	char path[4096];
	FILE *f;

	if (strncmp(name, "valid_", 6) != 0) { /* say how the receiver takes it */
		if (fz_receiver_open(&r))
			die("receiver", -1);
		printf("%-28s %6zu bytes: %s\n", name, n,
		       pfs_errname(pfs_decoder_decode(r.dec, p, n, out, sizeof(out), NULL)));
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "make_corpus: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	files++;
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

int main(int argc, char **argv)
{
	static uint8_t in[64 * KIB], tmp[64 * KIB];
	uint64_t s = 0x636f72707573;
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
		return 1;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "make_corpus: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
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
	return 0;
}
