/* SPDX-License-Identifier: Apache-2.0 */
/* Frames: every kind round-trips; hostile bytes get an error, never a read
 * past the end. */
#include <string.h>

#include "error.h"
#include "frames.h"
#include "harness.h"
#include "test_rand.h"

static uint8_t buf[4096];

PFS_TEST(every_frame_kind_round_trips)
{
	struct pfs_wire_frame f;
	size_t n, used, pos = 0;
	uint8_t data[300];
	struct pfs_fr_ack a = { .delay_us = 250, .n = 3,
				.r = { { 90, 100 }, { 50, 80 }, { 0, 10 } } };
	struct pfs_fr_block b = { .block_id = 1ull << 40, .block_len = 131072, .offset = 1400,
				  .len = sizeof(data), .data = data };
	struct pfs_fr_log_ack l = { .log = 1, .contig = 123456789012ull };
	struct pfs_fr_close c = { .code = 10013, .reason_len = 5, .reason = (const uint8_t *)"bad p" };

	fill_random(data, sizeof(data));
	pos += pfs_frame_put_simple(buf + pos, sizeof(buf) - pos, PFS_FR_PING);
	pos += (n = pfs_frame_put_ack(buf + pos, sizeof(buf) - pos, &a));
	CHECK(n > 0);
	pos += (n = pfs_frame_put_block(buf + pos, sizeof(buf) - pos, &b));
	CHECK(n == b.len + 1 + 6 + 3 + 2 + 2); /* type, id (41 bits), len, offset, length */
	pos += (n = pfs_frame_put_log_ack(buf + pos, sizeof(buf) - pos, &l));
	CHECK(n > 0);
	pos += (n = pfs_frame_put_close(buf + pos, sizeof(buf) - pos, &c));
	CHECK(n > 0);
	pos += pfs_frame_put_simple(buf + pos, sizeof(buf) - pos, PFS_FR_PADDING);

	size_t at = 0;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK_EQ(f.type, PFS_FR_PING);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK_EQ(f.type, PFS_FR_ACK);
	CHECK_EQ(f.u.ack.n, 3);
	CHECK_EQ(f.u.ack.delay_us, 250);
	for (int i = 0; i < 3; i++)
		CHECK(f.u.ack.r[i].lo == a.r[i].lo && f.u.ack.r[i].hi == a.r[i].hi);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK_EQ(f.type, PFS_FR_BLOCK);
	CHECK(f.u.block.block_id == b.block_id && f.u.block.block_len == b.block_len);
	CHECK(f.u.block.offset == b.offset && f.u.block.len == b.len);
	CHECK(memcmp(f.u.block.data, data, b.len) == 0);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_LOG_ACK && f.u.log_ack.log == 1 && f.u.log_ack.contig == l.contig);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_CLOSE && f.u.close.code == 10013 && f.u.close.reason_len == 5);
	CHECK(memcmp(f.u.close.reason, "bad p", 5) == 0);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK_EQ(f.type, PFS_FR_PADDING);
	CHECK_EQ(at + used, pos);
}

PFS_TEST(stream_flow_and_repair_frames_round_trip)
{
	struct pfs_wire_frame f;
	size_t used, pos = 0, n;
	uint8_t digest[PFS_FR_DIGEST_BYTES];
	const char *path = "images/base-2026.qcow2";
	struct pfs_fr_stream_open o = { .stream_id = 70000, .size = 1ull << 40,
					.path_len = (uint32_t)strlen(path),
					.path = (const uint8_t *)path };
	struct pfs_fr_stream_fin fin = { .stream_id = 70000, .digest = digest };
	struct pfs_fr_stream_done d = { .stream_id = 70000, .code = 10008 };
	struct pfs_fr_max_blocks m = { .max_block = 123456 };
	struct pfs_fr_repair r = { .block_id = 99, .stream_id = 3, .stream_off = 1ull << 33,
				   .out_len = 1u << 22, .log_off = 77777, .logged = 1 };

	fill_random(digest, sizeof(digest));
	pos += (n = pfs_frame_put_stream_open(buf + pos, sizeof(buf) - pos, &o));
	CHECK(n > 0);
	pos += (n = pfs_frame_put_stream_fin(buf + pos, sizeof(buf) - pos, &fin));
	CHECK(n > 0);
	pos += (n = pfs_frame_put_stream_done(buf + pos, sizeof(buf) - pos, &d));
	CHECK(n > 0);
	pos += (n = pfs_frame_put_max_blocks(buf + pos, sizeof(buf) - pos, &m));
	CHECK(n > 0);
	pos += (n = pfs_frame_put_repair(buf + pos, sizeof(buf) - pos, &r));
	CHECK(n > 0);

	size_t at = 0;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_STREAM_OPEN && f.u.open.stream_id == o.stream_id &&
	      f.u.open.size == o.size && f.u.open.path_len == o.path_len);
	CHECK(memcmp(f.u.open.path, path, o.path_len) == 0);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_STREAM_FIN && f.u.fin.stream_id == 70000);
	CHECK(memcmp(f.u.fin.digest, digest, sizeof(digest)) == 0);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_STREAM_DONE && f.u.done.stream_id == 70000 &&
	      f.u.done.code == 10008);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_MAX_BLOCKS && f.u.max_blocks.max_block == 123456);
	at += used;
	CHECK_EQ(pfs_frame_parse(buf + at, pos - at, &used, &f), 0);
	CHECK(f.type == PFS_FR_REPAIR && f.u.repair.block_id == 99 && f.u.repair.stream_id == 3 &&
	      f.u.repair.stream_off == r.stream_off && f.u.repair.out_len == r.out_len &&
	      f.u.repair.log_off == 77777 && f.u.repair.logged == 1);
	at += used;
	CHECK_EQ(at, pos);
	/* every truncation of the lot is an error */
	for (size_t k = 0; k < pos; k++) {
		size_t a2 = 0;
		int failed = 0;
		while (a2 < k) {
			if (pfs_frame_parse(buf + a2, k - a2, &used, &f) != 0) {
				failed = 1;
				break;
			}
			a2 += used;
		}
		/* a cut on a frame boundary parses whole frames; elsewhere it fails */
		CHECK(failed || a2 == k);
	}
}

PFS_TEST(stream_frames_with_hostile_fields_are_refused)
{
	struct pfs_wire_frame f;
	size_t used;
	/* a path with a NUL inside, an empty path, a path over the limit */
	uint8_t o1[] = { PFS_FR_STREAM_OPEN, 1, 5, 3, 'a', 0, 'b' };
	CHECK_EQ(pfs_frame_parse(o1, sizeof(o1), &used, &f), PFS_ERR_MALFORMED);
	uint8_t o2[] = { PFS_FR_STREAM_OPEN, 1, 5, 0 };
	CHECK_EQ(pfs_frame_parse(o2, sizeof(o2), &used, &f), PFS_ERR_LIMIT);
	uint8_t o3[] = { PFS_FR_STREAM_OPEN, 1, 5, 0x81, 0x20 }; /* 4097 */
	CHECK_EQ(pfs_frame_parse(o3, sizeof(o3), &used, &f), PFS_ERR_LIMIT);
	/* a path longer than the bytes present */
	uint8_t o4[] = { PFS_FR_STREAM_OPEN, 1, 5, 9, 'a', 'b' };
	CHECK_EQ(pfs_frame_parse(o4, sizeof(o4), &used, &f), PFS_ERR_TRUNCATED);
	/* a digest cut short */
	uint8_t d1[10] = { PFS_FR_STREAM_FIN, 1 };
	CHECK_EQ(pfs_frame_parse(d1, sizeof(d1), &used, &f), PFS_ERR_TRUNCATED);
	/* DONE: a code beyond 32 bits */
	uint8_t d2[] = { PFS_FR_STREAM_DONE, 1, 0x80, 0x80, 0x80, 0x80, 0x10 };
	CHECK_EQ(pfs_frame_parse(d2, sizeof(d2), &used, &f), PFS_ERR_LIMIT);
	/* REPAIR: a block bigger than blocks can be, a log flag that is not 0/1,
	 * an offset that wraps */
	uint8_t r1[] = { PFS_FR_REPAIR, 1, 1, 0, 0x81, 0x80, 0x80, 0x02, 0, 1 };
	CHECK_EQ(pfs_frame_parse(r1, sizeof(r1), &used, &f), PFS_ERR_LIMIT);
	uint8_t r2[] = { PFS_FR_REPAIR, 1, 1, 0, 5, 0, 2 };
	CHECK_EQ(pfs_frame_parse(r2, sizeof(r2), &used, &f), PFS_ERR_LIMIT);
	uint8_t r3[] = { PFS_FR_REPAIR, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			 0xff, 0x01, 5, 0, 1 };
	CHECK_EQ(pfs_frame_parse(r3, sizeof(r3), &used, &f), PFS_ERR_MALFORMED);
	/* writers refuse what parsers would refuse */
	struct pfs_fr_stream_open bad = { .path_len = 3, .path = (const uint8_t *)"a\0b" };
	CHECK_EQ(pfs_frame_put_stream_open(buf, sizeof(buf), &bad), 0);
	struct pfs_fr_repair big = { .out_len = (1u << 22) + 1 };
	CHECK_EQ(pfs_frame_put_repair(buf, sizeof(buf), &big), 0);
}

PFS_TEST(random_ack_sets_round_trip_as_ranges)
{
	rng_seed(11);
	for (int round = 0; round < 2000; round++) {
		struct pfs_fr_ack a = { .delay_us = rnd_below(100000) }, back;
		struct pfs_wire_frame f;
		uint64_t hi = rnd_below(1ull << 40) + 1000000;
		size_t n, used;

		/* descending ranges with gaps of at least one */
		a.n = 1 + (uint32_t)rnd_below(PFS_ACK_RANGES_MAX);
		for (uint32_t i = 0; i < a.n; i++) {
			uint64_t len = rnd_below(50), gap = 1 + rnd_below(20);
			a.r[i] = (struct pfs_ack_range){ .lo = hi - len, .hi = hi };
			hi = hi - len - gap - 1;
		}
		n = pfs_frame_put_ack(buf, sizeof(buf), &a);
		CHECK(n > 0);
		CHECK_EQ(pfs_frame_parse(buf, n, &used, &f), 0);
		CHECK_EQ(used, n);
		back = f.u.ack;
		CHECK_EQ(back.n, a.n);
		for (uint32_t i = 0; i < a.n; i++)
			CHECK(back.r[i].lo == a.r[i].lo && back.r[i].hi == a.r[i].hi);
		/* and the writer refuses what the parser could not represent */
		CHECK_EQ(pfs_frame_put_ack(buf, n - 1, &a), 0);
	}
}

PFS_TEST(writers_refuse_frames_that_break_the_rules)
{
	uint8_t d[4] = { 1, 2, 3, 4 };
	struct pfs_fr_ack touching = { .n = 2, .r = { { 10, 20 }, { 5, 9 } } }; /* no gap */
	struct pfs_fr_block past = { .block_len = 100, .offset = 98, .len = 4, .data = d };
	struct pfs_fr_block empty = { .block_len = 100, .offset = 0, .len = 0, .data = d };
	struct pfs_fr_log_ack badlog = { .log = 2 };
	struct pfs_fr_close longreason = { .reason_len = PFS_CLOSE_REASON_MAX + 1, .reason = buf };

	CHECK_EQ(pfs_frame_put_ack(buf, sizeof(buf), &touching), 0);
	CHECK_EQ(pfs_frame_put_block(buf, sizeof(buf), &past), 0);
	CHECK_EQ(pfs_frame_put_block(buf, sizeof(buf), &empty), 0);
	CHECK_EQ(pfs_frame_put_log_ack(buf, sizeof(buf), &badlog), 0);
	CHECK_EQ(pfs_frame_put_close(buf, sizeof(buf), &longreason), 0);
	CHECK_EQ(pfs_frame_put_simple(buf, sizeof(buf), PFS_FR_ACK), 0);
	CHECK_EQ(pfs_frame_put_simple(buf, 0, PFS_FR_PING), 0);
}

PFS_TEST(every_truncation_of_a_frame_is_an_error)
{
	uint8_t data[40];
	struct pfs_fr_block b = { .block_id = 7, .block_len = 1000, .offset = 10, .len = 40,
				  .data = data };
	struct pfs_fr_ack a = { .n = 2, .r = { { 1000, 2000 }, { 10, 500 } } };
	struct pfs_fr_close c = { .code = 1, .reason_len = 3, .reason = (const uint8_t *)"abc" };
	struct pfs_fr_log_ack l = { .contig = 1ull << 50 };
	uint8_t frames[4][128];
	size_t lens[4], used;
	struct pfs_wire_frame f;

	lens[0] = pfs_frame_put_block(frames[0], 128, &b);
	lens[1] = pfs_frame_put_ack(frames[1], 128, &a);
	lens[2] = pfs_frame_put_close(frames[2], 128, &c);
	lens[3] = pfs_frame_put_log_ack(frames[3], 128, &l);
	for (int k = 0; k < 4; k++) {
		CHECK(lens[k] > 0);
		CHECK_EQ(pfs_frame_parse(frames[k], lens[k], &used, &f), 0);
		for (size_t n = 0; n < lens[k]; n++)
			CHECK(pfs_frame_parse(frames[k], n, &used, &f) != 0);
	}
}

PFS_TEST(hostile_fields_are_refused_with_the_right_error)
{
	struct pfs_wire_frame f;
	size_t used;
	/* unknown type */
	uint8_t unknown[] = { 0x7f };
	CHECK_EQ(pfs_frame_parse(unknown, 1, &used, &f), PFS_ERR_MALFORMED);
	/* ACK: first range longer than largest */
	uint8_t ack1[] = { PFS_FR_ACK, 5, 0, 0, 6 };
	CHECK_EQ(pfs_frame_parse(ack1, sizeof(ack1), &used, &f), PFS_ERR_MALFORMED);
	/* ACK: gap below zero */
	uint8_t ack2[] = { PFS_FR_ACK, 10, 0, 1, 2, 9, 0 };
	CHECK_EQ(pfs_frame_parse(ack2, sizeof(ack2), &used, &f), PFS_ERR_MALFORMED);
	/* ACK: too many ranges */
	uint8_t ack3[] = { PFS_FR_ACK, 10, 0, PFS_ACK_RANGES_MAX, 0 };
	CHECK_EQ(pfs_frame_parse(ack3, sizeof(ack3), &used, &f), PFS_ERR_LIMIT);
	/* BLOCK: piece beyond the block, empty piece, zero-length block */
	uint8_t b1[] = { PFS_FR_BLOCK, 1, 10, 8, 4, 1, 2, 3, 4 };
	CHECK_EQ(pfs_frame_parse(b1, sizeof(b1), &used, &f), PFS_ERR_MALFORMED);
	uint8_t b2[] = { PFS_FR_BLOCK, 1, 10, 0, 0 };
	CHECK_EQ(pfs_frame_parse(b2, sizeof(b2), &used, &f), PFS_ERR_MALFORMED);
	uint8_t b3[] = { PFS_FR_BLOCK, 1, 0, 0, 1, 9 };
	CHECK_EQ(pfs_frame_parse(b3, sizeof(b3), &used, &f), PFS_ERR_MALFORMED);
	/* BLOCK: length claims more bytes than the packet has */
	uint8_t b4[] = { PFS_FR_BLOCK, 1, 10, 0, 5, 1, 2 };
	CHECK_EQ(pfs_frame_parse(b4, sizeof(b4), &used, &f), PFS_ERR_TRUNCATED);
	/* LOG_ACK: unknown log */
	uint8_t l1[] = { PFS_FR_LOG_ACK, 2, 0 };
	CHECK_EQ(pfs_frame_parse(l1, sizeof(l1), &used, &f), PFS_ERR_MALFORMED);
	/* CLOSE: reason too long */
	uint8_t c1[] = { PFS_FR_CLOSE, 0, 0x81, 0x02 };
	CHECK_EQ(pfs_frame_parse(c1, sizeof(c1), &used, &f), PFS_ERR_LIMIT);
	/* overlong varint */
	uint8_t v1[] = { PFS_FR_LOG_ACK, 0x80, 0x00, 0 };
	CHECK_EQ(pfs_frame_parse(v1, sizeof(v1), &used, &f), PFS_ERR_TRUNCATED);
	CHECK_EQ(pfs_frame_parse(v1, 0, &used, &f), PFS_ERR_TRUNCATED);
}

PFS_TEST_MAIN()
