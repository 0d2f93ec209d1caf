/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Property tests of the pointer codec, encoder to decoder: streams of every
 * kind and boundary size round-trip and leave the two logs byte-identical;
 * redundancy costs little on the wire; pointers stay inside the window the
 * receiver surely holds (acknowledged, above lower + margin) even as small
 * logs wrap; blocks apply on their own and in any order; corruption is
 * always caught and changes nothing. Randomness is seeded; failures print
 * the generator state.
 */
#include "chunker.h"
#include "codec_fixture.h"

PFS_TEST(streams_of_every_kind_and_boundary_size_round_trip)
{
	struct pfs_codec_config cfg = small_config();
	const size_t sizes[] = { 0,
				 1,
				 2,
				 31,
				 32,
				 33,
				 1000,
				 cfg.lit_max - 1,
				 cfg.lit_max,
				 cfg.lit_max + 1,
				 cfg.block_max - 1,
				 cfg.block_max,
				 cfg.block_max + 1,
				 3 * cfg.block_max + 7,
				 1 * MIB + 3 };
	uint8_t *buf = alloc_stream(2 * MIB);
	struct peer a, b;

	rng_seed(0xc0de0001);
	for (int kind = 0; kind < 3; kind++) {
		struct xfer x = { 0 };

		/* 512 KiB logs: the 1 MiB streams wrap them */
		CHECK_EQ(peer_open(&a, &cfg, 512 * KIB, 0), 0);
		CHECK_EQ(peer_open(&b, &cfg, 512 * KIB, 0), 0);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			fill_kind(kind, buf, sizes[i]);
			CHECK_EQ(send_stream(&a, &b, i, buf, sizes[i], 1, &x), 0);
			CHECK(pair_synced(&a, &b));
		}
		if (kind == 1)
			CHECK(x.flags & PFS_BLOCK_LIT_ZSTD);
		if (kind == 2)
			CHECK(x.ptrs > 0);
		peer_close(&a);
		peer_close(&b);
	}
	free(buf);
}

PFS_TEST(default_config_round_trips_around_its_block_and_literal_limits)
{
	struct pfs_codec_config cfg;
	uint8_t *buf;
	struct peer a, b;

	pfs_codec_config_default(&cfg);
	const size_t sizes[] = { cfg.lit_max - 1, cfg.lit_max, cfg.lit_max + 1, cfg.block_max - 1,
				 cfg.block_max + 1 };
	buf = alloc_stream(cfg.block_max + 1);
	rng_seed(0xc0de0002);
	CHECK_EQ(peer_open(&a, &cfg, 16 * MIB, 0), 0);
	CHECK_EQ(peer_open(&b, &cfg, 16 * MIB, 0), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* random for the literal limits; repeats let the 4 MiB blocks fill */
		fill_kind(sizes[i] < cfg.block_max - 1 ? 0 : 2, buf, sizes[i]);
		CHECK_EQ(send_stream(&a, &b, i, buf, sizes[i], 1, NULL), 0);
		CHECK(pair_synced(&a, &b));
	}
	peer_close(&a);
	peer_close(&b);
	free(buf);
}

PFS_TEST(sending_a_stream_again_costs_under_one_percent)
{
	struct pfs_codec_config cfg;
	const size_t n = 6 * MIB;
	uint8_t *buf = alloc_stream(n);
	struct peer a, b;

	pfs_codec_config_default(&cfg);
	rng_seed(0xc0de0003);
	for (int kind = 0; kind < 2; kind++) {
		struct xfer first = { 0 }, again = { 0 };

		fill_kind(kind, buf, n);
		CHECK_EQ(peer_open(&a, &cfg, 16 * MIB, 0), 0);
		CHECK_EQ(peer_open(&b, &cfg, 16 * MIB, 0), 0);
		CHECK_EQ(send_stream(&a, &b, 1, buf, n, 1, &first), 0);
		CHECK_EQ(send_stream(&a, &b, 2, buf, n, 1, &again), 0);
		CHECK(pair_synced(&a, &b));
		/* novel random data costs at most a little more than itself */
		if (kind == 0)
			CHECK(first.wire < n + n / 100);
		if (again.wire >= n / 100)
			fprintf(stderr, "kind %d: second send %" PRIu64 " wire bytes\n", kind,
				again.wire);
		CHECK(again.wire < n / 100);
		peer_close(&a);
		peer_close(&b);
	}
	free(buf);
}

/* Encodes in as repair blocks for a failed block described by fi and applies
 * them at the receiver; 0 or the first error. */
static int repair(struct peer *a, struct peer *b, const struct pfs_block_info *fi,
		  const uint8_t *in, uint64_t *wire)
{
	int logged = (fi->flags & PFS_BLOCK_MATERIAL) || fi->lit_len > 0;
	size_t pos = 0, used, wl;
	struct pfs_block_info di;
	int rc;

	do {
		rc = pfs_encoder_encode_literal(a->enc, fi->stream_id, fi->stream_off + pos, in + pos,
						fi->out_len - pos, fi->log_off + pos, logged, &used,
						a->wire, a->wire_cap, &wl);
		if (rc == 0)
			rc = pfs_decoder_decode(b->dec, a->wire, wl, b->out, b->cfg.block_max, &di);
		if (rc == 0 && (di.out_len != used || memcmp(b->out, in + pos, used) != 0 ||
				di.stream_off != fi->stream_off + pos || di.n_ptrs != 0))
			rc = PFS_ERR_POINTER_CHECK;
		if (rc)
			return rc;
		*wire += wl;
		pos += used;
	} while (pos < fi->out_len);
	return 0;
}

PFS_TEST(a_block_that_fails_on_a_diverged_log_is_repaired_by_literals_at_the_same_offsets)
{
	struct pfs_codec_config cfg;
	const size_t n = 3 * MIB;
	uint8_t *v1 = alloc_stream(n), *v2 = alloc_stream(n + 64 * KIB);
	struct peer a, b;

	pfs_codec_config_default(&cfg);
	rng_seed(0xc0de0011);
	fill_text(v1, n);
	size_t n2 = edit(v1, n, v2, 20);
	/* resend: one pointer that writes nothing; edit: pointers and literals
	 * that write the whole block to the log */
	for (int kind = 0; kind < 2; kind++) {
		const uint8_t *in = kind ? v2 : v1;
		size_t len = kind ? n2 : n, used, wl;
		struct pfs_block_info fi, di;
		struct log_snap before;
		uint64_t wire = 0;

		CHECK_EQ(peer_open(&a, &cfg, 16 * MIB, 0), 0);
		CHECK_EQ(peer_open(&b, &cfg, 16 * MIB, 0), 0);
		CHECK_EQ(send_stream(&a, &b, 1, v1, n, 1, NULL), 0);
		/* one byte of the receiver's log goes bad (a disk error, a bug) */
		b.rx->ring[(pfs_log_lower(b.rx) + n / 2) & b.rx->mask] ^= 0x40;
		CHECK_EQ(pfs_encoder_encode(a.enc, 2, 0, in, len, &used, a.wire, a.wire_cap, &wl, &fi),
			 0);
		CHECK(fi.n_ptrs > 0);
		CHECK(kind ? (fi.flags & PFS_BLOCK_MATERIAL) != 0 : fi.lit_len == 0);
		log_snap(b.rx, &before);
		CHECK_EQ(pfs_decoder_decode(b.dec, a.wire, wl, b.out, cfg.block_max, &di),
			 PFS_ERR_POINTER_CHECK);
		CHECK(log_unchanged(b.rx, &before));
		/* the sender resends those bytes as literals for the same log range */
		CHECK_EQ(repair(&a, &b, &fi, in, &wire), 0);
		/* both logs end at the same place again (the bad byte itself stays
		 * bad until a segment comparison finds it: docs/transport.md) */
		CHECK(a.tx->tail == b.rx->tail && a.tx->contig == b.rx->contig);
		CHECK(wire > 4 * fi.block_len); /* literals cost more than pointers */
		peer_close(&a);
		peer_close(&b);
	}
	free(v1);
	free(v2);
}

PFS_TEST(edited_version_round_trips_for_a_small_fraction_of_its_size)
{
	struct pfs_codec_config cfg;
	const size_t n = 3 * MIB;
	uint8_t *v1 = alloc_stream(n), *v2 = alloc_stream(n + 64 * 400);
	struct peer a, b;

	pfs_codec_config_default(&cfg);
	rng_seed(0xc0de0004);
	for (int kind = 0; kind < 3; kind++) {
		struct xfer x1 = { 0 }, x2 = { 0 };
		size_t n2;

		fill_kind(kind, v1, n);
		n2 = edit(v1, n, v2, 300);
		CHECK_EQ(peer_open(&a, &cfg, 16 * MIB, 0), 0);
		CHECK_EQ(peer_open(&b, &cfg, 16 * MIB, 0), 0);
		CHECK_EQ(send_stream(&a, &b, 1, v1, n, 1, &x1), 0);
		CHECK_EQ(send_stream(&a, &b, 2, v2, n2, 1, &x2), 0);
		CHECK(pair_synced(&a, &b));
		/* 300 edits of <= 64 bytes: ~7 KiB of new bytes in 3 MiB */
		if (x2.wire >= n2 / 100)
			fprintf(stderr, "kind %d: edited version %" PRIu64 " wire bytes of %zu\n",
				kind, x2.wire, n2);
		CHECK(x2.wire < n2 / 100);
		peer_close(&a);
		peer_close(&b);
	}
	free(v1);
	free(v2);
}

PFS_TEST(without_acknowledgements_no_pointer_is_ever_emitted)
{
	struct pfs_codec_config cfg = small_config();
	const size_t n = 512 * KIB;
	uint8_t *buf = alloc_stream(n);
	struct peer a, b;
	struct xfer x = { 0 }, acked = { 0 };

	rng_seed(0xc0de0005);
	fill_repeats(buf, n, 64 * KIB);
	CHECK_EQ(peer_open(&a, &cfg, 4 * MIB, 0), 0);
	CHECK_EQ(peer_open(&b, &cfg, 4 * MIB, 0), 0);
	/* the same redundant stream twice, the frontier left at 0 */
	CHECK_EQ(send_stream(&a, &b, 1, buf, n, 0, &x), 0);
	CHECK_EQ(send_stream(&a, &b, 2, buf, n, 0, &x), 0);
	CHECK_EQ(x.ptrs, 0);
	CHECK_EQ(a.tx->frontier, 0);
	CHECK(pair_synced(&a, &b));
	/* control: one acknowledgement and the same stream is all pointers */
	CHECK_EQ(pfs_log_set_frontier(a.tx, b.rx->contig), 0);
	CHECK_EQ(send_stream(&a, &b, 3, buf, n, 1, &acked), 0);
	CHECK(acked.ptrs > 0 && acked.wire < n / 100);
	CHECK(pair_synced(&a, &b));
	peer_close(&a);
	peer_close(&b);
	free(buf);
}

PFS_TEST(pointers_stay_below_a_lagging_frontier_and_above_the_margin_as_logs_wrap)
{
	/* 256 KiB logs, 64 KiB blocks, 16 KiB of literals: a 6 MiB stream with
	 * repeats from up to 300 KiB back wraps the logs ~20 times. The
	 * receiver's acknowledgements lag three blocks behind. */
	struct pfs_codec_config cfg = small_config();
	const size_t n = 6 * MIB;
	uint8_t *buf = alloc_stream(n);
	uint64_t acks[4] = { 0 }, ptrs = 0;
	struct peer a, b;
	size_t pos = 0;
	int blocks = 0;

	rng_seed(0xc0de0006);
	fill_repeats(buf, n, 300 * KIB);
	cfg.margin = 64 * KIB;
	CHECK_EQ(peer_open(&a, &cfg, 256 * KIB, 0), 0);
	CHECK_EQ(peer_open(&b, &cfg, 256 * KIB, 0), 0);
	while (pos < n) {
		uint64_t lower = pfs_log_lower(a.tx), tail = a.tx->tail, frontier = a.tx->frontier;
		size_t used, wl;

		CHECK_EQ(pfs_encoder_encode(a.enc, 1, pos, buf + pos, n - pos, &used, a.wire,
					    a.wire_cap, &wl, NULL),
			 0);
		CHECK(pointers_in_window(a.wire, wl, &a, lower, tail, frontier, &ptrs));
		CHECK_EQ(pfs_decoder_decode(b.dec, a.wire, wl, b.out, cfg.block_max, NULL), 0);
		CHECK(memcmp(b.out, buf + pos, used) == 0);
		pos += used;
		acks[blocks++ % 4] = b.rx->contig;
		if (blocks >= 4)
			CHECK_EQ(pfs_log_set_frontier(a.tx, acks[(blocks - 4) % 4]), 0);
	}
	CHECK(logs_identical(a.tx, b.rx));
	CHECK(a.tx->tail > 10 * a.tx->capacity);
	CHECK(ptrs > 100);
	peer_close(&a);
	peer_close(&b);
	free(buf);
}

/*
 * Encodes a stream in pairs of blocks and has the receiver apply each pair
 * in reverse order, acknowledging after both: the second block's bytes
 * advance the receiver's window before the first block's pointers are read.
 * Returns the number of blocks refused.
 */
static int send_pairs_reversed(const struct pfs_codec_config *cfg, const uint8_t *buf, size_t n,
			       int *synced)
{
	static uint8_t w2[2][PFS_BLOCK_OPS_MAX * 64];
	struct peer a, b;
	size_t pos = 0, used[2], wl[2];
	int refused = 0;

	if (peer_open(&a, cfg, 256 * KIB, 0) || peer_open(&b, cfg, 256 * KIB, 0) ||
	    a.wire_cap > sizeof(w2[0]))
		return -1;
	while (pos < n && !refused) {
		for (int k = 0; k < 2; k++) {
			size_t p = pos + (k ? used[0] : 0);
			used[k] = wl[k] = 0;
			if (p < n && pfs_encoder_encode(a.enc, 1, p, buf + p, n - p, &used[k],
							w2[k], a.wire_cap, &wl[k], NULL))
				return -1;
		}
		for (int k = 1; k >= 0; k--)
			if (wl[k] && pfs_decoder_decode(b.dec, w2[k], wl[k], b.out, cfg->block_max,
							NULL) != 0)
				refused++;
		pos += used[0] + used[1];
		pfs_log_set_frontier(a.tx, b.rx->contig);
	}
	*synced = !refused && logs_identical(a.tx, b.rx);
	peer_close(&a);
	peer_close(&b);
	return refused;
}

PFS_TEST(reordered_blocks_decode_when_the_margin_covers_blocks_in_flight)
{
	struct pfs_codec_config cfg = small_config();
	const size_t n = 4 * MIB;
	uint8_t *buf = alloc_stream(n);
	int synced = 0;

	rng_seed(0xc0de0007);
	/* repeats from far back: the oldest bytes of the window are wanted */
	fill_repeats(buf, n, 250 * KIB);
	/* two blocks in flight write at most 2 x block_max ahead */
	cfg.margin = 2 * cfg.block_max;
	CHECK_EQ(send_pairs_reversed(&cfg, buf, n, &synced), 0);
	CHECK(synced);
	/* control: without the margin the same traffic breaks, so the case
	 * above really exercised it */
	cfg.margin = 0;
	CHECK(send_pairs_reversed(&cfg, buf, n, &synced) > 0);
	free(buf);
}

PFS_TEST(reverse_direction_points_into_bytes_received_from_the_peer)
{
	struct pfs_codec_config cfg = small_config();
	const size_t n = 2 * MIB;
	static struct ptr p[PFS_BLOCK_OPS_MAX];
	uint8_t *buf = alloc_stream(n);
	struct peer a, b;
	struct xfer ab = { 0 }, ba = { 0 };
	size_t pos = 0;

	rng_seed(0xc0de0008);
	fill_repeats(buf, n, 100 * KIB);
	CHECK_EQ(peer_open(&a, &cfg, 4 * MIB, 1), 0);
	CHECK_EQ(peer_open(&b, &cfg, 4 * MIB, 1), 0);
	CHECK_EQ(send_stream(&a, &b, 1, buf, n, 1, &ab), 0);
	/* B has written what it received: it may point at it */
	CHECK_EQ(pfs_log_set_frontier(b.rx, b.rx->contig), 0);
	/* B's tx log is empty: every pointer must name B's rx log */
	while (pos < n) {
		size_t used, wl;
		CHECK_EQ(pfs_encoder_encode(b.enc, 2, pos, buf + pos, n - pos, &used, b.wire,
					    b.wire_cap, &wl, NULL),
			 0);
		int k = block_pointers(b.wire, wl, p, PFS_BLOCK_OPS_MAX);
		CHECK(k > 0);
		for (int i = 0; i < k; i++)
			CHECK_EQ(p[i].log, PFS_LOG_SENDER_RX);
		CHECK_EQ(pfs_decoder_decode(a.dec, b.wire, wl, a.out, cfg.block_max, NULL), 0);
		CHECK(memcmp(a.out, buf + pos, used) == 0);
		CHECK_EQ(pfs_log_set_frontier(b.tx, a.rx->contig), 0);
		ba.wire += wl;
		pos += used;
	}
	CHECK(ba.wire < n / 100);
	CHECK(ab.wire > n / 4); /* control: the first direction paid */
	CHECK(pair_synced(&a, &b));
	/* and more traffic both ways keeps all four logs in step */
	CHECK_EQ(send_stream(&a, &b, 3, buf, n / 2, 1, NULL), 0);
	CHECK_EQ(send_stream(&b, &a, 4, buf + n / 2, n / 2, 1, NULL), 0);
	CHECK(pair_synced(&a, &b));
	peer_close(&a);
	peer_close(&b);
	free(buf);
}

PFS_TEST(corrupted_blocks_are_always_detected_and_change_nothing)
{
	struct pfs_codec_config cfg = small_config();
	static uint8_t prev[64 * KIB], bad[64 * KIB + 16], in[40 * KIB];
	uint8_t *hist = alloc_stream(4 * MIB);
	size_t prev_len = 0, hist_len = 0;
	uint64_t seed = 0xc0de0009, tried = 0;
	struct peer a, b;

	rng_seed(seed);
	cfg.prefix_max = 32 * KIB; /* so PREFIX blocks are among those corrupted */
	CHECK_EQ(peer_open(&a, &cfg, 256 * KIB, 0), 0);
	CHECK_EQ(peer_open(&b, &cfg, 256 * KIB, 0), 0);
	for (int blk = 0; blk < 2500; blk++) {
		size_t n = 1 + rnd_below(sizeof(in) - 1), used, wl;
		struct log_snap s;

		/* new bytes, text, or bytes sent before (pointers) */
		if (hist_len > n && rnd_below(2))
			memcpy(in, hist + rnd_below(hist_len - n), n);
		else
			fill_kind((int)rnd_below(2), in, n);
		CHECK_EQ(pfs_encoder_encode(a.enc, 1, 0, in, n, &used, a.wire, a.wire_cap, &wl,
					    NULL),
			 0);
		CHECK(wl <= sizeof(prev));
		log_snap(b.rx, &s);
		for (int k = 0; k < 3; k++) {
			size_t bl = corrupt((int)rnd_below(5), a.wire, wl, prev, prev_len, bad);
			if (bl == 0)
				continue;
			int rc = pfs_decoder_decode(b.dec, bad, bl, b.out, cfg.block_max, NULL);
			if (rc == 0 || !log_unchanged(b.rx, &s))
				fprintf(stderr,
					"block %d corruption %d undetected or logged: %s "
					"(seed %#" PRIx64 ")\n",
					blk, k, pfs_errname(rc), seed);
			CHECK(rc != 0);
			CHECK(log_unchanged(b.rx, &s));
			tried++;
		}
		CHECK_EQ(pfs_decoder_decode(b.dec, a.wire, wl, b.out, cfg.block_max, NULL), 0);
		CHECK(memcmp(b.out, in, used) == 0);
		CHECK_EQ(pfs_log_set_frontier(a.tx, b.rx->contig), 0);
		memcpy(prev, a.wire, wl);
		prev_len = wl;
		if (hist_len + used <= 4 * MIB) {
			memcpy(hist + hist_len, in, used);
			hist_len += used;
		}
	}
	CHECK(tried > 7000);
	CHECK(logs_identical(a.tx, b.rx));
	peer_close(&a);
	peer_close(&b);
	free(hist);
}

PFS_TEST(independent_blocks_apply_in_any_order_and_duplicates_are_refused)
{
	struct pfs_codec_config cfg = small_config();
	enum { N = 40 };
	static uint8_t blk[N][64 * KIB];
	size_t len[N], off[N], used[N], pos = 0;
	int order[N];
	const size_t n = 600 * KIB;
	uint8_t *buf = alloc_stream(n), *got = alloc_stream(n);
	struct peer a, b;
	int nb = 0;

	rng_seed(0xc0de000a);
	fill_repeats(buf, n, 50 * KIB);
	cfg.lit_max = 16 * KIB;
	cfg.block_max = 16 * KIB;
	CHECK_EQ(peer_open(&a, &cfg, 1 * MIB, 0), 0);
	CHECK_EQ(peer_open(&b, &cfg, 1 * MIB, 0), 0);
	CHECK(a.wire_cap <= sizeof(blk[0]));
	/* no acknowledgements: no block depends on another */
	for (nb = 0; nb < N && pos < n; nb++) {
		CHECK_EQ(pfs_encoder_encode(a.enc, 1, pos, buf + pos, n - pos, &used[nb], blk[nb],
					    a.wire_cap, &len[nb], NULL),
			 0);
		off[nb] = pos;
		pos += used[nb];
		order[nb] = nb;
	}
	for (int i = nb - 1; i > 0; i--) { /* Fisher-Yates */
		int j = (int)rnd_below((uint64_t)i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < nb; i++) {
		int k = order[i];
		struct pfs_block_info di;
		struct log_snap s;

		CHECK_EQ(pfs_decoder_decode(b.dec, blk[k], len[k], b.out, cfg.block_max, &di), 0);
		CHECK_EQ(di.stream_off, off[k]);
		memcpy(got + off[k], b.out, used[k]);
		/* applying it again is refused and changes nothing, whether
		 * it landed at contig or above it (pending) */
		log_snap(b.rx, &s);
		CHECK_EQ(pfs_decoder_decode(b.dec, blk[k], len[k], b.out, cfg.block_max, NULL),
			 PFS_ERR_LITERAL_RANGE);
		CHECK(log_unchanged(b.rx, &s));
		/* and so is every block applied before it */
		int j = order[rnd_below((uint64_t)i + 1)];
		CHECK_EQ(pfs_decoder_decode(b.dec, blk[j], len[j], b.out, cfg.block_max, NULL),
			 PFS_ERR_LITERAL_RANGE);
		CHECK(log_unchanged(b.rx, &s));
	}
	CHECK(memcmp(got, buf, pos) == 0);
	CHECK(logs_identical(a.tx, b.rx));
	CHECK_EQ(b.rx->npending, 0);
	peer_close(&a);
	peer_close(&b);
	free(buf);
	free(got);
}

PFS_TEST(prefix_dictionary_round_trips_and_shrinks_new_text)
{
	struct pfs_codec_config cfg = small_config();
	const size_t n = 1 * MIB;
	uint8_t *t1 = alloc_stream(n), *t2 = alloc_stream(n);
	uint64_t wire[2];

	rng_seed(0xc0de000b);
	fill_text(t1, n);
	fill_text(t2, n); /* same vocabulary, no long repeats */
	for (int with = 0; with < 2; with++) {
		struct peer a, b;
		struct xfer x = { 0 };

		cfg.prefix_max = with ? 256 * KIB : 0;
		CHECK_EQ(peer_open(&a, &cfg, 4 * MIB, 0), 0);
		CHECK_EQ(peer_open(&b, &cfg, 4 * MIB, 0), 0);
		CHECK_EQ(send_stream(&a, &b, 1, t1, n, 1, NULL), 0);
		CHECK_EQ(send_stream(&a, &b, 2, t2, n, 1, &x), 0);
		CHECK(logs_identical(a.tx, b.rx));
		CHECK_EQ(!!(x.flags & PFS_BLOCK_PREFIX), with);
		wire[with] = x.wire;
		peer_close(&a);
		peer_close(&b);
	}
	CHECK(wire[1] < wire[0]);
	free(t1);
	free(t2);
}

PFS_TEST(random_valid_configs_round_trip_in_both_directions)
{
	/* every knob within its limits, small logs, the rx-log option on or
	 * off: a stream, the same stream edited, and the reverse direction */
	uint8_t *buf = alloc_stream(1 * MIB + 64 * KIB);
	int tried = 0;

	for (uint64_t seed = 0xc0de0100; tried < 30; seed++) {
		struct pfs_codec_config cfg;
		struct peer a, b;
		char err[256];

		rng_seed(seed);
		uint64_t cap = UINT64_C(1) << (18 + rnd_below(4));
		int bidir = (int)rnd_below(2);
		size_t n = 1 + rnd_below(1 * MIB);
		pfs_codec_config_default(&cfg);
		cfg.block_max = (uint32_t)(1024 + rnd_below(cap / 2 - 1023));
		cfg.lit_max = (uint32_t)(1024 + rnd_below(cfg.block_max - 1023));
		if (cfg.lit_max > PFS_BLOCK_LIT_MAX)
			cfg.lit_max = PFS_BLOCK_LIT_MAX;
		cfg.avg_chunk = PFS_CHUNK_AVG_MIN << rnd_below(7);
		cfg.chunk_level = (uint32_t)rnd_below(PFS_CHUNK_LEVEL_MAX + 1);
		cfg.min_match = (uint32_t)(PFS_MATCH_MIN_SPEC + rnd_below(200));
		cfg.level = (int)rnd_below(6);
		cfg.sparse_level = (int)rnd_below(10);
		cfg.prefix_max = rnd_below(2) ? (uint32_t)rnd_below(1u << 20) : 0;
		cfg.margin = rnd_below(cap - 2ull * cfg.block_max + 1);
		if (pfs_codec_config_check(&cfg, cap, err, sizeof(err)) != 0) {
			fprintf(stderr, "seed %#" PRIx64 ": %s\n", seed, err);
			CHECK(0); /* the generator stays within the limits */
		}
		fill_repeats(buf, n, cap);
		CHECK_EQ(peer_open(&a, &cfg, cap, bidir), 0);
		CHECK_EQ(peer_open(&b, &cfg, cap, bidir), 0);
		CHECK_EQ(send_stream(&a, &b, 1, buf, n, 1, NULL), 0);
		n = edit(alloc_copy(buf, n), n, buf, 1 + (int)rnd_below(20));
		CHECK_EQ(send_stream(&a, &b, 2, buf, n, 1, NULL), 0);
		if (bidir) {
			CHECK_EQ(pfs_log_set_frontier(b.rx, b.rx->contig), 0);
			CHECK_EQ(send_stream(&b, &a, 3, buf, n, 1, NULL), 0);
		}
		CHECK(pair_synced(&a, &b));
		peer_close(&a);
		peer_close(&b);
		tried++;
	}
	free(buf);
}

/* One field of a config set to a value: (offset, size) into the struct. */
#define FIELD(f) offsetof(struct pfs_codec_config, f), sizeof(((struct pfs_codec_config *)0)->f), #f

PFS_TEST(config_errors_name_the_bad_field)
{
	static const struct {
		size_t off, size;
		const char *field;
		int64_t value;
		const char *word;
	} bad[] = {
		{ FIELD(block_max), 1023, "block size" },
		{ FIELD(block_max), PFS_BLOCK_OUT_MAX + 1, "block size" },
		{ FIELD(lit_max), 1023, "literal" },
		{ FIELD(lit_max), PFS_BLOCK_LIT_MAX + 1, "literal" },
		{ FIELD(avg_chunk), 1000, "chunk size" },
		{ FIELD(avg_chunk), 128, "chunk size" },
		{ FIELD(avg_chunk), 2 * MIB, "chunk size" },
		{ FIELD(chunk_level), 4, "normalization" },
		{ FIELD(min_match), PFS_MATCH_MIN_SPEC - 1, "minimum match" },
		{ FIELD(min_match), 65537, "minimum match" },
		{ FIELD(level), -1, "zstd level" },
		{ FIELD(level), 1000, "zstd level" },
		{ FIELD(sparse_level), -1, "sparse" },
		{ FIELD(sparse_level), 1000, "sparse" },
		{ FIELD(prefix_max), 1 << 30, "prefix" },
		{ FIELD(margin), 16 * MIB, "margin" },
		{ FIELD(margin), 9 * MIB, "margin" }, /* 16 MiB - margin < 2 x 4 MiB */
	};
	struct pfs_codec_config cfg;
	struct pfs_log *tx = open_log(16 * MIB);
	struct pfs_index ix;
	struct pfs_encoder *enc = NULL;
	char err[256], value[32];

	CHECK(tx != NULL);
	CHECK_EQ(pfs_index_init(&ix, PFS_INDEX_BYTES_MIN), 0);
	pfs_codec_config_default(&cfg);
	CHECK_EQ(pfs_codec_config_check(&cfg, 16 * MIB, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int32_t v32 = (int32_t)bad[i].value;

		pfs_codec_config_default(&cfg);
		memcpy((char *)&cfg + bad[i].off,
		       bad[i].size == 4 ? (void *)&v32 : (void *)&bad[i].value, bad[i].size);
		err[0] = 0;
		CHECK_EQ(pfs_codec_config_check(&cfg, 16 * MIB, err, sizeof(err)),
			 PFS_ERR_INVALID_ARG);
		if (!strstr(err, bad[i].word))
			fprintf(stderr, "%s = %" PRId64 ": \"%s\" lacks \"%s\"\n", bad[i].field,
				bad[i].value, err, bad[i].word);
		CHECK(strstr(err, bad[i].word) != NULL);
		/* and the value itself (the margin message gives the capacity rule) */
		snprintf(value, sizeof(value), "%" PRId64, bad[i].value);
		CHECK(strstr(err, value) != NULL ||
		      bad[i].off == offsetof(struct pfs_codec_config, margin));
		/* the encoder refuses it the same way */
		err[0] = 0;
		CHECK_EQ(pfs_encoder_new(&enc, &cfg, test_keys(), tx, &ix, NULL, NULL, err,
					 sizeof(err)),
			 PFS_ERR_INVALID_ARG);
		CHECK(strstr(err, bad[i].word) != NULL);
	}
	/* literals above the block size, each valid alone */
	pfs_codec_config_default(&cfg);
	cfg.block_max = 64 * KIB;
	cfg.lit_max = 64 * KIB + 1024;
	CHECK_EQ(pfs_codec_config_check(&cfg, 16 * MIB, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "literal") != NULL);
	pfs_index_free(&ix);
	pfs_log_close(tx);
}

PFS_TEST(encoder_and_decoder_refuse_misuse)
{
	struct pfs_codec_config cfg = small_config();
	struct pfs_encoder *enc = NULL;
	struct pfs_decoder *dec = NULL;
	struct peer a;
	size_t used, wl;
	char err[256];

	CHECK_EQ(peer_open(&a, &cfg, 1 * MIB, 0), 0);
	/* rx log without its index, no index, no keys */
	CHECK_EQ(pfs_encoder_new(&enc, &cfg, test_keys(), a.tx, &a.tx_ix, a.rx, NULL, err,
				 sizeof(err)),
		 PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_encoder_new(&enc, &cfg, test_keys(), a.tx, NULL, NULL, NULL, err, sizeof(err)),
		 PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_encoder_new(&enc, &cfg, NULL, a.tx, &a.tx_ix, NULL, NULL, err, sizeof(err)),
		 PFS_ERR_INVALID_ARG);
	CHECK(enc == NULL);
	/* decoder: no rx log, block_max out of range, keys without index */
	CHECK_EQ(pfs_decoder_new(&dec, &cfg, NULL, NULL, NULL, NULL), PFS_ERR_INVALID_ARG);
	cfg.block_max = 0;
	CHECK_EQ(pfs_decoder_new(&dec, &cfg, a.rx, NULL, NULL, NULL), PFS_ERR_INVALID_ARG);
	cfg.block_max = PFS_BLOCK_OUT_MAX + 1;
	CHECK_EQ(pfs_decoder_new(&dec, &cfg, a.rx, NULL, NULL, NULL), PFS_ERR_INVALID_ARG);
	cfg = small_config();
	CHECK_EQ(pfs_decoder_new(&dec, &cfg, a.rx, NULL, test_keys(), NULL), PFS_ERR_INVALID_ARG);
	CHECK(dec == NULL);
	/* an output buffer below the bound, even for a tiny input */
	CHECK_EQ(pfs_encoder_encode(a.enc, 1, 0, (const uint8_t *)"x", 1, &used, a.wire,
				    a.wire_cap - 1, &wl, NULL),
		 PFS_ERR_BUF_TOO_SMALL);
	/* a tx log with out-of-order writes pending is not the encoder's */
	CHECK_EQ(pfs_log_write_at(a.tx, a.tx->tail + 100, "abc", 3), 0);
	CHECK_EQ(pfs_encoder_encode(a.enc, 1, 0, (const uint8_t *)"x", 1, &used, a.wire, a.wire_cap,
				    &wl, NULL),
		 PFS_ERR_OUT_OF_ORDER);
	peer_close(&a);
}

PFS_TEST_MAIN()
