/* SPDX-License-Identifier: Apache-2.0 */
/* The SPSC record ring: messages come out whole and in order across many laps
 * of variable sizes; a full ring refuses instead of overwriting; hostile
 * indices and headers make the ring corrupt, never a read out of bounds; two
 * threads exchange messages through it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "harness.h"
#include "ring.h"
#include "test_rand.h"
#include "varint.h"

#define SMALL 1024u

struct shared {
	_Alignas(64) uint8_t mem[PFS_RING_CTL_BYTES + 65536];
};

static struct shared sh;

static void setup(struct pfs_ring *p, struct pfs_ring *c, uint64_t bytes)
{
	memset(&sh, 0xa5, sizeof(sh)); /* garbage in the data area, as after reuse */
	if (pfs_ring_format(sh.mem, bytes) ||
	    pfs_ring_attach(p, sh.mem, bytes, PFS_RING_PRODUCER) ||
	    pfs_ring_attach(c, sh.mem, bytes, PFS_RING_CONSUMER))
		abort();
}

/* Message k of a stream: length and bytes both derived from k. */
static size_t msg_of(uint64_t k, uint8_t *out, size_t max)
{
	uint64_t s = k * 0x9e3779b97f4a7c15ull + 1;
	size_t len = 1 + (size_t)(rnd_next(&s) % max);

	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)rnd_next(&s);
	return len;
}

PFS_TEST(messages_come_out_whole_and_in_order)
{
	struct pfs_ring p, c;
	uint8_t out[64];
	size_t n;

	setup(&p, &c, SMALL);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 0);
	CHECK_EQ(pfs_ring_push(&p, "one", 3), 0);
	CHECK_EQ(pfs_ring_push(&p, "second", 6), 0);
	CHECK_EQ(pfs_ring_push(&p, "exactly8", 8), 0);
	CHECK_EQ(pfs_ring_used(&p), (8 + 8) + (8 + 8) + (8 + 8));
	CHECK_EQ(pfs_ring_used(&c), pfs_ring_used(&p));
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(n == 3 && memcmp(out, "one", 3) == 0);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(n == 6 && memcmp(out, "second", 6) == 0);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(n == 8 && memcmp(out, "exactly8", 8) == 0);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 0);
	CHECK_EQ(pfs_ring_used(&p), 0);
}

PFS_TEST(full_ring_refuses_the_push_and_keeps_what_it_holds)
{
	struct pfs_ring p, c;
	uint8_t msg[56], out[64];
	size_t n;
	int pushed = 0;

	setup(&p, &c, SMALL);
	for (;;) {
		memset(msg, pushed, sizeof(msg));
		int rc = pfs_ring_push(&p, msg, sizeof(msg));
		if (rc == PFS_ERR_RING_FULL)
			break;
		CHECK_EQ(rc, 0);
		pushed++;
	}
	CHECK_EQ(pushed, SMALL / 64); /* 8-byte header + 56 bytes each */
	CHECK_EQ(pfs_ring_push(&p, msg, 1), PFS_ERR_RING_FULL);
	/* one pop makes room for one more, and nothing was overwritten */
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(n == 56 && out[0] == 0 && out[55] == 0);
	memset(msg, 0x77, sizeof(msg));
	CHECK_EQ(pfs_ring_push(&p, msg, sizeof(msg)), 0);
	for (int k = 1; k < pushed; k++) {
		CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
		CHECK(n == 56 && out[0] == k && out[55] == k);
	}
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(out[0] == 0x77);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 0);
}

PFS_TEST(variable_sizes_wrap_around_for_many_laps)
{
	struct pfs_ring p, c;
	uint8_t msg[512], want[512], out[512];
	uint64_t sent = 0, got = 0, fulls = 0;
	size_t max = pfs_ring_msg_max(SMALL), n;

	rng_seed(3);
	setup(&p, &c, SMALL);
	while (got < 20000) {
		/* push a random number, pop a random number: every fill level and
		 * every position of the wrap are met */
		for (int k = (int)rnd_below(6); k > 0; k--) {
			size_t len = msg_of(sent, msg, max);
			int rc = pfs_ring_push(&p, msg, len);
			if (rc == PFS_ERR_RING_FULL) {
				fulls++;
				break;
			}
			CHECK_EQ(rc, 0);
			sent++;
		}
		for (int k = (int)rnd_below(6); k > 0 && got < sent; k--) {
			size_t len = msg_of(got, want, max);
			CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
			CHECK_EQ(n, len);
			CHECK(memcmp(out, want, len) == 0);
			got++;
		}
		CHECK(pfs_ring_used(&p) <= SMALL);
	}
	CHECK(fulls > 0);
	CHECK(p.index > 100 * SMALL); /* many laps */
}

static void set_index(int which, uint64_t v);

PFS_TEST(largest_message_fits_the_empty_ring_at_every_position)
{
	struct pfs_ring p, c;
	uint8_t msg[SMALL], out[SMALL];
	size_t max = pfs_ring_msg_max(SMALL), n;

	CHECK_EQ(max, SMALL / 2 - 8);
	for (uint64_t pos = 0; pos < 2 * SMALL; pos += 8) {
		/* an empty ring whose indices stand at pos */
		setup(&p, &c, SMALL);
		set_index(0, pos);
		set_index(1, pos);
		CHECK_EQ(pfs_ring_attach(&p, sh.mem, SMALL, PFS_RING_PRODUCER), 0);
		CHECK_EQ(pfs_ring_attach(&c, sh.mem, SMALL, PFS_RING_CONSUMER), 0);
		memset(msg, (int)pos, max);
		CHECK_EQ(pfs_ring_push(&p, msg, max), 0);
		CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
		CHECK(n == max && out[0] == (uint8_t)pos && out[max - 1] == (uint8_t)pos);
		CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 0);
	}
}

PFS_TEST(empty_and_oversized_messages_are_refused)
{
	struct pfs_ring p, c;
	uint8_t msg[SMALL];

	setup(&p, &c, SMALL);
	CHECK_EQ(pfs_ring_push(&p, msg, 0), PFS_ERR_LIMIT);
	CHECK_EQ(pfs_ring_push(&p, msg, pfs_ring_msg_max(SMALL) + 1), PFS_ERR_LIMIT);
	CHECK_EQ(pfs_ring_used(&p), 0);
	/* each side only does its own part */
	CHECK_EQ(pfs_ring_push(&c, msg, 8), PFS_ERR_INVALID_ARG);
	size_t n;
	CHECK_EQ(pfs_ring_pop(&p, msg, sizeof(msg), &n), PFS_ERR_INVALID_ARG);
	/* sizes that are no ring */
	CHECK_EQ(pfs_ring_format(sh.mem, 1000), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_ring_format(sh.mem, 32), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_ring_format(sh.mem + 8, SMALL), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_ring_attach(&p, sh.mem, SMALL, 0), PFS_ERR_INVALID_ARG);
}

PFS_TEST(small_buffer_leaves_the_message_in_the_ring)
{
	struct pfs_ring p, c;
	uint8_t msg[100], out[100];
	size_t n = 0;

	setup(&p, &c, SMALL);
	memset(msg, 9, sizeof(msg));
	CHECK_EQ(pfs_ring_push(&p, msg, 100), 0);
	CHECK_EQ(pfs_ring_pop(&c, out, 99, &n), PFS_ERR_BUF_TOO_SMALL);
	CHECK_EQ(n, 100);
	CHECK_EQ(pfs_ring_pop(&c, out, 100, &n), 1);
	CHECK(n == 100 && out[99] == 9);
}

static uint8_t *hdr_at(uint64_t index)
{
	return sh.mem + PFS_RING_CTL_BYTES + (index & (SMALL - 1));
}

static void set_index(int which, uint64_t v)
{
	atomic_store((_Atomic uint64_t *)(sh.mem + (which ? 64 : 0)), v);
}

/* Pops once with the header at the consumer's position replaced; the ring
 * must then be corrupt for good. */
static int pop_with_header(uint32_t len, uint32_t check, uint64_t head)
{
	struct pfs_ring p, c;
	uint8_t out[SMALL];
	size_t n;
	int rc;

	setup(&p, &c, SMALL);
	pfs_put_le32(hdr_at(0), len);
	pfs_put_le32(hdr_at(0) + 4, check);
	set_index(0, head);
	rc = pfs_ring_pop(&c, out, sizeof(out), &n);
	if (rc == PFS_ERR_RING_CORRUPT && pfs_ring_pop(&c, out, sizeof(out), &n) != rc)
		return 999; /* not sticky */
	return rc;
}

PFS_TEST(hostile_headers_and_indices_make_the_ring_corrupt_for_good)
{
	uint32_t good = PFS_RING_CHECK; /* check word of index 0 */

	/* the producer's bytes as it would write them pass */
	CHECK_EQ(pop_with_header(8, good, 16), 1);
	/* zeroed or scribbled header */
	CHECK_EQ(pop_with_header(0, 0, 16), PFS_ERR_RING_CORRUPT);
	CHECK_EQ(pop_with_header(8, good ^ 1, 16), PFS_ERR_RING_CORRUPT);
	/* empty record, record longer than the published bytes, than the ring */
	CHECK_EQ(pop_with_header(0, good, 16), PFS_ERR_RING_CORRUPT);
	CHECK_EQ(pop_with_header(9, good, 16), PFS_ERR_RING_CORRUPT);
	CHECK_EQ(pop_with_header(SMALL, good, SMALL), PFS_ERR_RING_CORRUPT);
	/* a skip at offset 0 would skip a whole lap */
	CHECK_EQ(pop_with_header(PFS_RING_SKIP, good, 16), PFS_ERR_RING_CORRUPT);
	/* head more than a ring ahead, or misaligned */
	CHECK_EQ(pop_with_header(8, good, SMALL + 8), PFS_ERR_RING_CORRUPT);
	CHECK_EQ(pop_with_header(8, good, 12), PFS_ERR_RING_CORRUPT);

	/* a skip with nothing after it */
	{
		struct pfs_ring p, c;
		uint8_t out[SMALL], msg[24] = { 0 };
		size_t n;

		setup(&p, &c, SMALL);
		for (unsigned i = 0; i < SMALL / 32 - 1; i++) { /* 31 records of 32 bytes */
			CHECK_EQ(pfs_ring_push(&p, msg, 24), 0);
			CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
		}
		/* at offset SMALL - 32: a skip claiming the rest, and head just past it */
		pfs_put_le32(hdr_at(c.index), PFS_RING_SKIP);
		pfs_put_le32(hdr_at(c.index) + 4, (uint32_t)(c.index >> 3) ^ PFS_RING_CHECK);
		set_index(0, c.index + 32);
		CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), PFS_ERR_RING_CORRUPT);
	}
	/* the producer sees a tail ahead of its head */
	{
		struct pfs_ring p, c;

		setup(&p, &c, SMALL);
		set_index(1, 64);
		CHECK_EQ(pfs_ring_push(&p, "x", 1), PFS_ERR_RING_CORRUPT);
		set_index(1, 0);
		CHECK_EQ(pfs_ring_push(&p, "x", 1), PFS_ERR_RING_CORRUPT); /* sticky */
	}
	/* attaching to indices that break the rules */
	{
		struct pfs_ring p, c;

		setup(&p, &c, SMALL);
		set_index(0, 4 * SMALL);
		CHECK_EQ(pfs_ring_attach(&c, sh.mem, SMALL, PFS_RING_CONSUMER),
			 PFS_ERR_RING_CORRUPT);
	}
}

PFS_TEST(a_side_that_reattaches_goes_on_where_it_left_off)
{
	struct pfs_ring p, c, p2;
	uint8_t out[16];
	size_t n;

	setup(&p, &c, SMALL);
	CHECK_EQ(pfs_ring_push(&p, "a", 1), 0);
	CHECK_EQ(pfs_ring_push(&p, "b", 1), 0);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	/* the producer goes away and a new one attaches */
	CHECK_EQ(pfs_ring_attach(&p2, sh.mem, SMALL, PFS_RING_PRODUCER), 0);
	CHECK_EQ(pfs_ring_push(&p2, "c", 1), 0);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(out[0] == 'b');
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &n), 1);
	CHECK(out[0] == 'c');
}

/* --- two threads ---------------------------------------------------------- */

#define THREAD_MSGS 100000u
#define DEADLINE_S 60

struct thread_arg {
	struct pfs_ring *r;
	uint64_t count;
	atomic_int stop; /* the consumer gave up */
	int failed;
	uint64_t fulls;
};

static int past(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - start->tv_sec > DEADLINE_S;
}

static void *producer(void *arg)
{
	struct thread_arg *a = arg;
	uint8_t msg[2048];
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (uint64_t k = 0; k < a->count;) {
		size_t len = msg_of(k, msg, 2000);
		int rc = pfs_ring_push(a->r, msg, len);

		if (rc == 0) {
			k++;
		} else if (rc == PFS_ERR_RING_FULL) {
			a->fulls++;
			if (atomic_load(&a->stop) || past(&start)) {
				a->failed = 1;
				break;
			}
		} else {
			a->failed = 1;
			break;
		}
	}
	return NULL;
}

PFS_TEST(two_threads_exchange_messages_without_loss_or_reordering)
{
	struct pfs_ring p, c;
	struct thread_arg a = { .r = &p, .count = THREAD_MSGS };
	uint8_t out[2048], want[2048];
	struct timespec start;
	pthread_t t;
	uint64_t got = 0;
	int bad = 0;

	setup(&p, &c, 8192);
	clock_gettime(CLOCK_MONOTONIC, &start);
	CHECK_EQ(pthread_create(&t, NULL, producer, &a), 0);
	while (got < THREAD_MSGS && !bad) {
		size_t n;
		int rc = pfs_ring_pop(&c, out, sizeof(out), &n);

		if (rc == 1) {
			size_t len = msg_of(got, want, 2000);
			bad = n != len || memcmp(out, want, len) != 0;
			got++;
		} else if (rc != 0 || past(&start)) {
			bad = 1;
		}
	}
	atomic_store(&a.stop, 1);
	pthread_join(t, NULL);
	CHECK(!bad);
	CHECK(!a.failed);
	CHECK_EQ(got, THREAD_MSGS);
	CHECK_EQ(pfs_ring_pop(&c, out, sizeof(out), &got), 0);
}

PFS_TEST_MAIN()
