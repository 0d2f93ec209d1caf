/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of block framing and of the decoder's defences. Blocks made by the
 * encoder must peek to the fields it reported; any bit flip, truncation or
 * trailing byte is refused. Hand-made blocks, resealed with a correct
 * checksum by the rule in block.h, are well framed but hostile: each must
 * get its own error and leave the receiver's logs exactly as they were.
 */
#include "block_craft.h"

/* ---- encoder-made blocks ------------------------------------------------------- */

enum { K_EMPTY, K_RAW, K_ZSTD_LIT, K_POINTERS, K_ZSTD_OPS, K_KINDS };

/* Input of a small block of each kind, sent after `history`. */
static size_t kind_input(int kind, const uint8_t *history, uint8_t *in)
{
	switch (kind) {
	case K_EMPTY:
		return 0;
	case K_RAW:
		fill_random(in, 300);
		return 300;
	case K_ZSTD_LIT:
		fill_text(in, 2000);
		return 2000;
	case K_POINTERS: /* 3 KiB seen before, then 100 new bytes */
		memcpy(in, history + 1000, 3000);
		fill_random(in + 3000, 100);
		return 3100;
	default: /* a byte changed every 200: many short ops */
		memcpy(in, history, 16 * KIB);
		for (size_t i = 100; i < 16 * KIB; i += 200)
			in[i] ^= 0x5a;
		return 16 * KIB;
	}
}

/* A pair that has exchanged 32 KiB of history, acknowledged. */
static int history_pair(struct peer *a, struct peer *b, uint8_t *history)
{
	struct pfs_codec_config cfg = small_config();

	if (peer_open(a, &cfg, 1 * MIB, 0) || peer_open(b, &cfg, 1 * MIB, 0))
		return -1;
	fill_random(history, 32 * KIB);
	return send_stream(a, b, 1, history, 32 * KIB, 1, NULL);
}

PFS_TEST(peek_reports_the_fields_the_encoder_wrote)
{
	static uint8_t history[32 * KIB], in[16 * KIB];
	struct peer a, b;
	uint32_t seen_flags = 0;

	rng_seed(0xb10c0001);
	CHECK_EQ(history_pair(&a, &b, history), 0);
	for (int kind = 0; kind < K_KINDS; kind++) {
		struct pfs_block_info ei, pi, di;
		size_t n = kind_input(kind, history, in), used, wl;

		CHECK_EQ(pfs_encoder_encode(a.enc, 9, 777, in, n, &used, a.wire, a.wire_cap, &wl,
					    &ei),
			 0);
		CHECK_EQ(used, n);
		CHECK_EQ(pfs_block_peek(a.wire, wl, &pi), 0);
		CHECK_EQ(pi.stream_id, 9);
		CHECK_EQ(pi.stream_off, 777);
		CHECK_EQ(pi.out_len, n);
		CHECK_EQ(pi.block_len, wl);
		CHECK_EQ(pi.flags, ei.flags);
		CHECK_EQ(pi.log_off, ei.log_off);
		CHECK_EQ(pi.lit_len, ei.lit_len);
		CHECK_EQ(pi.n_ops, ei.n_ops);
		CHECK_EQ(pi.n_ptrs, ei.n_ptrs);
		CHECK_EQ(pi.prefix_off, ei.prefix_off);
		CHECK_EQ(pi.prefix_len, ei.prefix_len);
		CHECK_EQ(pi.block_len, ei.block_len);
		CHECK_EQ(pi.header_len, ei.header_len);
		CHECK_EQ(pi.ops_len, ei.ops_len);
		CHECK_EQ(pi.lit_enc_len, ei.lit_enc_len);
		CHECK_EQ(pi.checks_len, ei.checks_len);
		CHECK_EQ(pi.checks_len, pi.n_ptrs * PFS_CHECK_BYTES);
		CHECK_EQ(pi.header_len + pi.ops_len + pi.lit_enc_len + pi.checks_len, wl);
		CHECK(pfs_block_peek(a.wire, wl, NULL) == 0);
		/* and the decoder reports the same */
		CHECK_EQ(pfs_decoder_decode(b.dec, a.wire, wl, b.out, b.cfg.block_max, &di), 0);
		CHECK(memcmp(&di.stream_id, &pi.stream_id,
			     offsetof(struct pfs_block_info, ptr_bytes)) == 0);
		CHECK_EQ(di.ptr_bytes, ei.ptr_bytes);
		CHECK_EQ(pfs_log_set_frontier(a.tx, b.rx->contig), 0);
		seen_flags |= ei.flags;
		if (kind == K_POINTERS || kind == K_ZSTD_OPS)
			CHECK(ei.n_ptrs > 0);
		if (kind == K_ZSTD_OPS)
			CHECK(ei.flags & PFS_BLOCK_OPS_ZSTD);
		if (kind == K_ZSTD_LIT)
			CHECK(ei.flags & PFS_BLOCK_LIT_ZSTD);
	}
	CHECK(seen_flags & PFS_BLOCK_MATERIAL);
	peer_close(&a);
	peer_close(&b);
}

PFS_TEST(every_single_bit_flip_is_rejected_and_changes_nothing)
{
	static uint8_t history[32 * KIB], in[16 * KIB];
	struct peer a, b;
	uint64_t flips = 0;

	rng_seed(0xb10c0002);
	CHECK_EQ(history_pair(&a, &b, history), 0);
	for (int kind = 0; kind < K_KINDS; kind++) {
		size_t n = kind_input(kind, history, in), used, wl;
		struct log_snap s;

		CHECK_EQ(pfs_encoder_encode(a.enc, 1, 0, in, n, &used, a.wire, a.wire_cap, &wl,
					    NULL),
			 0);
		log_snap(b.rx, &s);
		for (size_t bit = 0; bit < wl * 8; bit++) {
			memcpy(blk_copy, a.wire, wl);
			blk_copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			int rp = pfs_block_peek(blk_copy, wl, NULL);
			int rd = pfs_decoder_decode(b.dec, blk_copy, wl, b.out, b.cfg.block_max,
						    NULL);
			if (rp == 0 || rd == 0)
				fprintf(stderr, "kind %d: flip of bit %zu accepted\n", kind, bit);
			CHECK(rp != 0 && rd != 0);
			flips++;
		}
		CHECK(log_unchanged(b.rx, &s));
		/* the untouched block was valid all along */
		CHECK_EQ(pfs_decoder_decode(b.dec, a.wire, wl, b.out, b.cfg.block_max, NULL), 0);
		CHECK(memcmp(b.out, in, n) == 0);
		CHECK_EQ(pfs_log_set_frontier(a.tx, b.rx->contig), 0);
	}
	CHECK(flips > 8 * 1000);
	peer_close(&a);
	peer_close(&b);
}

PFS_TEST(every_truncation_and_any_trailing_bytes_are_rejected)
{
	static uint8_t history[32 * KIB], in[16 * KIB];
	struct peer a, b;

	rng_seed(0xb10c0003);
	CHECK_EQ(history_pair(&a, &b, history), 0);
	for (int kind = 0; kind < K_KINDS; kind++) {
		size_t n = kind_input(kind, history, in), used, wl;
		struct log_snap s;

		CHECK_EQ(pfs_encoder_encode(a.enc, 1, 0, in, n, &used, a.wire, a.wire_cap, &wl,
					    NULL),
			 0);
		log_snap(b.rx, &s);
		memcpy(blk_copy, a.wire, wl);
		for (size_t len = 0; len < wl; len++) {
			CHECK_EQ(pfs_block_peek(blk_copy, len, NULL), PFS_ERR_TRUNCATED);
			CHECK_EQ(pfs_decoder_decode(b.dec, blk_copy, len, b.out, b.cfg.block_max,
						    NULL),
				 PFS_ERR_TRUNCATED);
		}
		for (size_t extra = 1; extra <= 9; extra++) {
			memset(blk_copy + wl, 0, extra);
			/* bytes past the stated length */
			CHECK_EQ(pfs_block_peek(blk_copy, wl + extra, NULL), PFS_ERR_MALFORMED);
			CHECK(pfs_decoder_decode(b.dec, blk_copy, wl + extra, b.out,
						 b.cfg.block_max, NULL) != 0);
			/* or inside it, length and checksum made to cover them */
			pfs_block_seal(blk_copy, (uint32_t)(wl + extra), blk_copy[2]);
			CHECK_EQ(pfs_decoder_decode(b.dec, blk_copy, wl + extra, b.out,
						    b.cfg.block_max, NULL),
				 PFS_ERR_MALFORMED);
			memcpy(blk_copy, a.wire, wl);
		}
		CHECK(log_unchanged(b.rx, &s));
		CHECK_EQ(pfs_decoder_decode(b.dec, a.wire, wl, b.out, b.cfg.block_max, NULL), 0);
		CHECK_EQ(pfs_log_set_frontier(a.tx, b.rx->contig), 0);
	}
	peer_close(&a);
	peer_close(&b);
}

PFS_TEST(handmade_valid_block_decodes_so_the_crafting_rules_are_right)
{
	struct craft c;
	struct rx r;
	uint8_t want[350];

	CHECK_EQ(rx_open(&r, 0, 64 * KIB), 0);
	craft_valid(&c);
	size_t len = craft_emit(&c, blk_buf);
	CHECK_EQ(pfs_block_peek(blk_buf, len, NULL), 0);
	CHECK_EQ(pfs_decoder_decode(r.dec, blk_buf, len, r.out, sizeof(r.out), NULL), 0);
	memcpy(want, c.lit, 100);
	for (int i = 0; i < 200; i++)
		want[100 + i] = rx_byte(40 * KIB + (uint64_t)i);
	memcpy(want + 300, c.lit + 100, 50);
	CHECK(memcmp(r.out, want, sizeof(want)) == 0);
	/* not MATERIAL: the log received the 150 literal bytes only */
	CHECK_EQ(r.rx->tail, RX_FILL + 150);
	CHECK_EQ(r.rx->contig, RX_FILL + 150);
	rx_close(&r);
	/* 10-byte varints up to 2^64 - 1 are fine where a field is unbounded */
	c.f[F_STREAM_ID] = UINT64_MAX;
	CHECK_EQ(decode_craft(&c), 0);
}

PFS_TEST(wrong_magic_version_reserved_bits_and_overlong_varints_are_rejected)
{
	struct craft c;
	size_t len;

	craft_valid(&c);
	for (int field = 0; field < 4; field++) {
		for (int bit = 0; bit < 8; bit++) {
			len = craft_emit(&c, blk_buf);
			blk_buf[field] ^= (uint8_t)(1u << bit);
			reseal(blk_buf, len);
			int want = field < 2 ? PFS_ERR_BAD_MAGIC : PFS_ERR_MALFORMED;
			/* a defined flag makes another block, judged by its sections
			 * (MATERIAL alone even leaves it valid); only reserved bits
			 * are refused as such */
			if (field == 2 && (1u << bit) & PFS_BLOCK_FLAGS_ALL)
				continue;
			CHECK_EQ(pfs_block_peek(blk_buf, len, NULL), want);
			CHECK_EQ(decode_on_fresh(blk_buf, len, 0, 64 * KIB, 80 * KIB), want);
		}
	}
	/* each header varint written overlong */
	for (int f = 0; f <= F_OPS_LEN; f++) {
		c.overlong = f;
		CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	}
	c.overlong = -1;
	/* an op varint written overlong */
	craft_init(&c, RX_FILL);
	c.ops_n = put_var_overlong(c.ops, 20);
	c.ops_n += pfs_varint_put(c.ops + c.ops_n, 0);
	craft_lits(&c, 20, 1);
	c.n_ops = 1;
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	c.ops_n = pfs_varint_put(c.ops, 20) + pfs_varint_put(c.ops + 1, 0); /* repaired: fine */
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), 0);
	/* a varint running past 10 bytes, and a 10th byte above 1 (> 2^64) */
	len = craft_emit(&c, blk_buf);
	memmove(blk_buf + 26, blk_buf + 17, len - 17);
	memset(blk_buf + 16, 0xff, 10);
	pfs_block_seal(blk_buf, (uint32_t)(len + 9), blk_buf[2]);
	CHECK_EQ(pfs_block_peek(blk_buf, len + 9, NULL), PFS_ERR_LIMIT);
	memset(blk_buf + 16, 0xff, 9);
	blk_buf[25] = 0x02;
	memmove(blk_buf + 26, blk_buf + 27, len + 9 - 27);
	pfs_block_seal(blk_buf, (uint32_t)(len + 8), blk_buf[2]);
	CHECK_EQ(pfs_block_peek(blk_buf, len + 8, NULL), PFS_ERR_LIMIT);
}

PFS_TEST(pointers_outside_the_receivers_window_are_refused)
{
	static const struct {
		uint64_t off;
		uint32_t len;
	} bad[] = {
		{ 32 * KIB - 1, 64 },	/* starts one byte below lower */
		{ 0, 64 },		/* long evicted */
		{ RX_FILL, 16 },	/* at contig */
		{ RX_FILL - 8, 16 },	/* straddles contig */
		{ RX_FILL + 100, 16 },	/* past it */
		{ UINT64_MAX - 7, 16 }, /* wraps around 2^64 */
	};
	struct craft c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		craft_init(&c, RX_FILL);
		craft_op(&c, 10, 1, 0, bad[i].off, bad[i].len, 0);
		craft_finish(&c);
		CHECK_EQ(decode_craft(&c), PFS_ERR_POINTER_RANGE);
	}
	/* the edges themselves are valid: first and last readable bytes */
	craft_init(&c, RX_FILL);
	craft_op(&c, 10, 1, 0, 32 * KIB, 16, rx_check(32 * KIB, 16));
	craft_op(&c, 0, 0, 0, RX_FILL - 16, 16, rx_check(RX_FILL - 16, 16));
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), 0);
}

PFS_TEST(pointer_into_sender_rx_log_needs_a_receiver_tx_log)
{
	struct craft c;
	size_t len;

	craft_init(&c, RX_FILL);
	craft_op(&c, 10, 1, PFS_LOG_SENDER_RX, 100, 64, rx_check(100, 64));
	craft_finish(&c);
	len = craft_emit(&c, blk_buf);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 1, 64 * KIB, 80 * KIB), 0);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 0, 64 * KIB, 80 * KIB), PFS_ERR_POINTER_RANGE);
	/* and within the tx log, only its own window */
	craft_init(&c, RX_FILL);
	craft_op(&c, 10, 1, PFS_LOG_SENDER_RX, 4096 - 32, 64, 0);
	craft_finish(&c);
	len = craft_emit(&c, blk_buf);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 1, 64 * KIB, 80 * KIB), PFS_ERR_POINTER_RANGE);
}

PFS_TEST(wrong_pointer_check_and_short_pointers_are_refused)
{
	struct craft c;
	uint32_t good;

	good = rx_check(50 * KIB, 100);
	for (int bit = 0; bit < 32; bit += 7) {
		craft_init(&c, RX_FILL);
		craft_op(&c, 10, 1, 0, 50 * KIB, 100, good ^ (1u << bit));
		craft_finish(&c);
		CHECK_EQ(decode_craft(&c), PFS_ERR_POINTER_CHECK);
	}
	for (uint32_t len = 1; len < PFS_MATCH_MIN_SPEC; len++) {
		craft_init(&c, RX_FILL);
		craft_op(&c, 10, 1, 0, 50 * KIB, len, rx_check(50 * KIB, len));
		craft_finish(&c);
		CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	}
}

PFS_TEST(inconsistent_op_sections_are_refused)
{
	struct craft c;
	uint32_t chk;

	chk = rx_check(40 * KIB, 200);
	/* op lengths sum beyond out_len, or beyond lit_len */
	craft_valid(&c);
	c.f[F_OUT_LEN] -= 1;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_valid(&c);
	c.f[F_OUT_LEN] += 1;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_valid(&c);
	c.lit_n -= 1; /* one literal byte fewer than the ops use */
	c.f[F_LIT_LEN] = c.f[F_LIT_ENC_LEN] = c.lit_n;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	/* n_ops beyond what out_len allows, or beyond the ops present */
	craft_valid(&c);
	c.f[F_N_OPS] = c.f[F_OUT_LEN] / PFS_MATCH_MIN_SPEC + 2;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	craft_valid(&c);
	c.f[F_N_OPS] = 3;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_valid(&c);
	c.f[F_N_OPS] = 1;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	/* an op section with a trailing byte */
	craft_valid(&c);
	c.ops[c.ops_n++] = 0;
	c.f[F_OPS_LEN] = c.ops_n;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	/* literals alone anywhere but last, or an empty literal op */
	craft_init(&c, RX_FILL);
	craft_op(&c, 30, 1, 0, 0, 0, 0);
	craft_op(&c, 10, 2, 0, 40 * KIB, 200, chk);
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_init(&c, RX_FILL);
	craft_op(&c, 10, 2, 0, 40 * KIB, 200, chk);
	craft_op(&c, 0, 1, 0, 0, 0, 0);
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	/* checks: not a multiple of 4, more than ops, fewer than pointers */
	craft_valid(&c);
	c.checks[c.checks_n++] = 0;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_valid(&c);
	memset(c.checks + c.checks_n, 0, 8);
	c.checks_n += 8;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_valid(&c);
	c.checks_n = 0;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	/* raw sections whose stated sizes disagree */
	craft_valid(&c);
	c.f[F_LIT_ENC_LEN] = c.lit_n + 4;
	c.checks_n -= 4; /* keep the block length */
	CHECK(decode_craft(&c) != 0);
	/* MATERIAL on a block of literals alone, or on an empty block */
	craft_init(&c, RX_FILL);
	craft_op(&c, 30, 1, 0, 0, 0, 0);
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), 0);
	c.flags = PFS_BLOCK_MATERIAL;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
	craft_init(&c, RX_FILL);
	craft_finish(&c);
	CHECK_EQ(decode_craft(&c), 0);
	c.flags = PFS_BLOCK_MATERIAL;
	CHECK_EQ(decode_craft(&c), PFS_ERR_MALFORMED);
}

PFS_TEST(limits_of_the_decoder_and_the_output_buffer_are_enforced)
{
	struct craft c;
	size_t len;

	/* out_len above the decoder's block_max: refused before any work; a
	 * decoder with room gets as far as the (evicted) pointer */
	craft_init(&c, RX_FILL);
	craft_op(&c, 0, 0, 0, 0, 64 * KIB + 1, 0);
	craft_finish(&c);
	len = craft_emit(&c, blk_buf);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 0, 64 * KIB, 80 * KIB), PFS_ERR_LIMIT);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 0, 64 * KIB + 1, 80 * KIB), PFS_ERR_POINTER_RANGE);
	/* beyond the specification's limits */
	c.f[F_OUT_LEN] = PFS_BLOCK_OUT_MAX + 1;
	len = craft_emit(&c, blk_buf);
	CHECK_EQ(pfs_block_peek(blk_buf, len, NULL), PFS_ERR_LIMIT);
	/* output buffer one byte short */
	craft_valid(&c);
	len = craft_emit(&c, blk_buf);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 0, 64 * KIB, 349), PFS_ERR_BUF_TOO_SMALL);
	CHECK_EQ(decode_on_fresh(blk_buf, len, 0, 64 * KIB, 350), 0);
	/* stream or log offsets that overflow with out_len */
	c.f[F_STREAM_OFF] = UINT64_MAX - 100;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	c.f[F_STREAM_OFF] = 0;
	c.f[F_LOG_OFF] = UINT64_MAX - 100;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
}

PFS_TEST(literal_writes_outside_the_logs_write_window_are_refused)
{
	static const uint64_t bad[] = {
		0,			/* long evicted */
		RX_FILL - 1,		/* overlaps what is written */
		RX_FILL + RX_CAP,	/* would evict unwritten bytes */
		RX_FILL + RX_CAP - 149, /* ends one byte past the window */
		UINT64_MAX - 1000,
	};
	struct craft c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		craft_valid(&c);
		c.f[F_LOG_OFF] = bad[i];
		int rc = decode_craft(&c);
		CHECK(rc == PFS_ERR_LITERAL_RANGE ||
		      (bad[i] > UINT64_MAX / 2 && rc == PFS_ERR_LIMIT));
	}
	/* the furthest write the window allows is accepted */
	craft_valid(&c);
	c.f[F_LOG_OFF] = RX_FILL + RX_CAP - 150;
	CHECK_EQ(decode_craft(&c), 0);
}

PFS_TEST(bad_compressed_sections_and_dictionaries_are_refused)
{
	uint8_t text[2000];
	struct craft c;
	size_t z;

	/* zstd literal flag over garbage, and a real frame of the wrong size */
	craft_init(&c, RX_FILL);
	craft_op(&c, 200, 1, 0, 0, 0, 0);
	craft_finish(&c);
	c.flags = PFS_BLOCK_LIT_ZSTD;
	c.f[F_LIT_ENC_LEN] = 100;
	c.lit_n = 100;
	CHECK_EQ(decode_craft(&c), PFS_ERR_DECOMPRESS);
	rng_seed(0xb10c0004);
	fill_text(text, sizeof(text));
	z = ZSTD_compress(c.lit, sizeof(c.lit), text, 201, 3);
	CHECK(!ZSTD_isError(z));
	c.lit_n = z;
	c.f[F_LIT_ENC_LEN] = z;
	CHECK_EQ(decode_craft(&c), PFS_ERR_DECOMPRESS);
	z = ZSTD_compress(c.lit, sizeof(c.lit), text, 200, 3);
	c.lit_n = z;
	c.f[F_LIT_ENC_LEN] = z;
	CHECK_EQ(decode_craft(&c), 0); /* control: the right size decodes */
	/* a prefix dictionary outside the log (below lower, past contig) */
	c.flags = PFS_BLOCK_LIT_ZSTD | PFS_BLOCK_PREFIX;
	c.f[F_PREFIX_OFF] = 32 * KIB - 1;
	c.f[F_PREFIX_LEN] = 100;
	CHECK_EQ(decode_craft(&c), PFS_ERR_POINTER_RANGE);
	c.f[F_PREFIX_OFF] = RX_FILL - 99;
	CHECK_EQ(decode_craft(&c), PFS_ERR_POINTER_RANGE);
	c.f[F_PREFIX_OFF] = RX_FILL - 100;
	CHECK_EQ(decode_craft(&c), 0); /* an unused dictionary is harmless */
	/* prefix of length zero, beyond the dictionary limit, or without zstd */
	c.f[F_PREFIX_LEN] = 0;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	c.f[F_PREFIX_LEN] = 1u << 30;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	craft_init(&c, RX_FILL);
	craft_op(&c, 200, 1, 0, 0, 0, 0);
	craft_finish(&c);
	c.flags = PFS_BLOCK_PREFIX;
	c.f[F_PREFIX_OFF] = 40 * KIB;
	c.f[F_PREFIX_LEN] = 100;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	c.flags = PFS_BLOCK_GAPDICT;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	/* zstd op flag over garbage */
	craft_valid(&c);
	c.flags = PFS_BLOCK_OPS_ZSTD;
	CHECK_EQ(decode_craft(&c), PFS_ERR_DECOMPRESS);
	z = ZSTD_compress(text, sizeof(text), c.ops, c.ops_n, 3);
	memcpy(c.ops, text, z);
	c.f[F_OPS_LEN] = c.ops_n = z;
	CHECK_EQ(decode_craft(&c), 0); /* control: a real frame of the ops */
	c.f[F_OPS_RAW_LEN] += 1;
	CHECK_EQ(decode_craft(&c), PFS_ERR_DECOMPRESS);
}

PFS_TEST(gap_dictionary_windows_outside_the_log_are_refused)
{
	/* GAPDICT declares the tx-log window [dict_lo, dict_hi) the literals'
	 * dictionary is cut from (as log_off - dict_hi, dict_hi - dict_lo); the
	 * dictionary takes the bytes before each pointer that follows literals */
	static const struct {
		uint64_t lo, hi;
		int want;
	} win[] = {
		{ 32 * KIB, RX_FILL, 0 },	       /* the whole readable window */
		{ 32 * KIB + 300, 32 * KIB + 310, 0 }, /* a sliver of it */
		{ 0, RX_FILL, PFS_ERR_POINTER_RANGE }, /* reaches below lower */
		/* past contig: expressible when the block lands above contig */
		{ 32 * KIB, RX_FILL + 64, PFS_ERR_POINTER_RANGE },
	};
	uint8_t text[350];
	struct craft c;
	size_t z;

	rng_seed(0xb10c0005);
	fill_text(text, sizeof(text));
	for (size_t i = 0; i < sizeof(win) / sizeof(win[0]); i++) {
		/* 200 literals, a pointer just above lower, 100 literals, a
		 * pointer ending at contig, 50 literals */
		craft_init(&c, RX_FILL + 1000);
		craft_op(&c, 200, 1, 0, 32 * KIB + 100, 64, rx_check(32 * KIB + 100, 64));
		craft_op(&c, 100, 1, 0, RX_FILL - 64, 64, rx_check(RX_FILL - 64, 64));
		craft_op(&c, 50, 1, 0, 0, 0, 0);
		craft_finish(&c);
		z = ZSTD_compress(c.lit, sizeof(c.lit), text, 350, 3);
		c.lit_n = c.f[F_LIT_ENC_LEN] = z;
		c.flags = PFS_BLOCK_LIT_ZSTD | PFS_BLOCK_GAPDICT;
		c.f[F_DICT_BELOW] = RX_FILL + 1000 - win[i].hi;
		c.f[F_DICT_SPAN] = win[i].hi - win[i].lo;
		CHECK_EQ(decode_craft(&c), win[i].want);
	}
	/* a window above log_off, or reaching below offset 0 */
	c.f[F_DICT_BELOW] = RX_FILL + 1001;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
	c.f[F_DICT_BELOW] = 0;
	c.f[F_DICT_SPAN] = RX_FILL + 1001;
	CHECK_EQ(decode_craft(&c), PFS_ERR_LIMIT);
}

PFS_TEST_MAIN()
