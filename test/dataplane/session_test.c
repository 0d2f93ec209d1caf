/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two session engines joined by the in-process backend, with seeded faults on
 * each direction, in virtual time: streams must arrive byte-identical whatever
 * the link does, and a second send of the same bytes must travel as pointers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "filesink.h"
#include "harness.h"
#include "io.h"
#include "session.h"
#include "test_rand.h"

#define US 1000ull
#define MTU 1400u
#define LOG_CAP (UINT64_C(64) << 20)

#define NSTREAMS 32			 /* streams whose bytes and verdicts tests check */
#define RS_MAX (2 * PFS_SESSION_STREAMS) /* streams the test sink can take */

/* What one end received on a stream, and what it heard about its own. */
struct rx_stream {
	uint8_t *buf;
	uint64_t size, written;
	int opened, finished, aborted;
	char path[128];
};

struct peer {
	struct pfs_log *tx, *rx;
	struct pfs_index txi;
	struct pfs_session *s;
	struct pfs_io *io;
	struct rx_stream rs[RS_MAX];
	int sent_status[NSTREAMS], nsent;
	int bad_write;
};

static struct pfs_codec_keys keys;

/* Test sink: streams land in memory; a path starting "refuse" is refused, one
 * starting "tamper" gets a byte flipped on its way to "disk". */
static int sink_open(void *ctx, uint64_t id, const char *path, uint64_t size)
{
	struct peer *pe = ctx;
	struct rx_stream *r = &pe->rs[id % RS_MAX];

	if (id >= RS_MAX || r->opened)
		return PFS_ERR_LIMIT;
	if (!strncmp(path, "refuse", 6))
		return PFS_ERR_INVALID_ARG;
	r->buf = calloc(1, size ? size : 1);
	r->size = size;
	r->opened = 1;
	snprintf(r->path, sizeof(r->path), "%s", path);
	return r->buf ? 0 : PFS_ERR_NOMEM;
}

static int sink_write(void *ctx, uint64_t id, uint64_t off, const uint8_t *p, uint32_t len)
{
	struct peer *pe = ctx;
	struct rx_stream *r = &pe->rs[id % RS_MAX];

	if (id >= RS_MAX || !r->opened || off + len > r->size) {
		pe->bad_write = 1;
		return PFS_ERR_LIMIT;
	}
	memcpy(r->buf + off, p, len);
	if (off == 0 && len && !strncmp(r->path, "tamper", 6))
		r->buf[0] ^= 1;
	r->written += len;
	return 0;
}

static int sink_finish(void *ctx, uint64_t id, const uint8_t digest[PFS_STREAM_DIGEST_BYTES])
{
	struct peer *pe = ctx;
	struct rx_stream *r = &pe->rs[id % RS_MAX];
	uint8_t got[PFS_FILE_DIGEST_BYTES];

	pfs_file_digest(r->buf, r->size, got);
	if (memcmp(got, digest, sizeof(got)) != 0)
		return PFS_ERR_CHECKSUM;
	r->finished = 1;
	return 0;
}

static void sink_abort(void *ctx, uint64_t id)
{
	struct peer *pe = ctx;

	pe->rs[id % RS_MAX].aborted = 1;
}

static void sink_sent(void *ctx, uint64_t id, int status)
{
	struct peer *pe = ctx;

	if (id < NSTREAMS)
		pe->sent_status[id] = status;
	pe->nsent++;
}

/* Stream id of pe received byte-identical to data and committed. */
static int received(const struct peer *pe, uint64_t id, const uint8_t *data, uint64_t size)
{
	const struct rx_stream *r = &pe->rs[id];

	return r->opened && r->finished && r->size == size && r->written == size &&
	       (size == 0 || memcmp(r->buf, data, size) == 0);
}

static void config(struct pfs_session_config *c, int side)
{
	memset(c, 0, sizeof(*c));
	c->local_cid = 100 + side;
	c->peer_cid = 100 + !side;
	c->aead = PFS_AEAD_AUTO;
	/* A's tx key is B's rx key and the other way round */
	memset(c->tx_key, 0x10 + side, sizeof(c->tx_key));
	memset(c->rx_key, 0x10 + !side, sizeof(c->rx_key));
	memset(c->tx_iv, 0x20 + side, sizeof(c->tx_iv));
	memset(c->rx_iv, 0x20 + !side, sizeof(c->rx_iv));
	c->cc = PFS_CC_BBR;
	c->mtu = MTU;
	c->window_blocks = 16;
	c->max_ack_delay_ns = 200 * US;
	pfs_codec_config_default(&c->codec);
	c->codec.block_max = 256 << 10;
	c->codec.lit_max = 64 << 10;
}

/* A peer with memory logs and the test sink; tune (may be NULL) adjusts the
 * session configuration first. */
static int make_peer_tuned(struct peer *p, int side, struct pfs_io *io,
			   void (*tune)(struct pfs_session_config *))
{
	struct pfs_log_config lc = { .capacity = LOG_CAP, .huge = PFS_HUGE_NEVER };
	struct pfs_session_config c;
	char err[256];

	memset(p, 0, sizeof(*p));
	config(&c, side);
	if (tune)
		tune(&c);
	if (pfs_log_open(&p->tx, &lc, err, sizeof(err)) ||
	    pfs_log_open(&p->rx, &lc, err, sizeof(err)) ||
	    pfs_index_init(&p->txi, pfs_index_bytes_for(LOG_CAP, c.codec.avg_chunk)))
		return -1;
	struct pfs_session_logs logs = {
		.tx = p->tx, .rx = p->rx, .tx_index = &p->txi, .keys = &keys
	};
	struct pfs_session_sink sink = { .ctx = p,
					 .open = sink_open,
					 .write = sink_write,
					 .finish = sink_finish,
					 .abort = sink_abort,
					 .sent = sink_sent };
	if (pfs_session_new(&p->s, &c, &logs, &sink, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	p->io = io;
	return 0;
}

static int make_peer(struct peer *p, int side, struct pfs_io *io)
{
	return make_peer_tuned(p, side, io, NULL);
}

static void free_peer(struct peer *p)
{
	pfs_session_free(p->s);
	pfs_io_close(p->io);
	pfs_index_free(&p->txi);
	pfs_log_close(p->tx);
	pfs_log_close(p->rx);
	for (int i = 0; i < RS_MAX; i++)
		free(p->rs[i].buf);
}

/* Moves packets both ways in virtual time until both sides have nothing left
 * to send or settle, or the time limit. Returns the time used. */
static uint64_t vclock; /* virtual time carries on from one run to the next */
/* if set, called once per step of run() (tests that watch the engine's state) */
static void (*on_step)(struct peer *a, struct peer *b);

static uint64_t run(struct peer *a, struct peer *b, uint64_t limit_ns)
{
	struct peer *side[2] = { a, b };
	uint64_t now = vclock, start = vclock;
	uint8_t pkt[MTU];

	limit_ns += start;
	for (;; vclock = now) {
		if (now >= limit_ns)
			return limit_ns - start;
		uint64_t wake = now + 200 * US;
		for (int k = 0; k < 2; k++) {
			for (int burst = 0; burst < 64; burst++) {
				size_t len;
				uint64_t w;
				struct pfs_iobuf f;
				if (pfs_session_next_packet(side[k]->s, pkt, sizeof(pkt), &len, now,
							    &w))
					return UINT64_MAX;
				if (len == 0) {
					if (w < wake)
						wake = w;
					break;
				}
				if (pfs_io_alloc(side[k]->io, &f, 1) == 1) {
					memcpy(f.data, pkt, len);
					f.len = (uint32_t)len;
					pfs_io_tx(side[k]->io, &f, 1, now);
				}
			}
		}
		for (int k = 0; k < 2; k++) {
			struct pfs_iobuf f[PFS_IO_BURST_MAX];
			int n = pfs_io_rx(side[k]->io, f, PFS_IO_BURST_MAX, now);
			for (int i = 0; i < n; i++)
				if (pfs_session_on_packet(side[k]->s, f[i].data, f[i].len, now))
					return UINT64_MAX;
			pfs_io_release(side[k]->io, f, n);
			if (n)
				wake = now;
		}
		if (on_step)
			on_step(a, b);
		if (pfs_session_idle(a->s) && pfs_session_idle(b->s))
			return now - start;
		now = wake > now ? wake : now + 1;
	}
}

static void make_data(uint8_t *p, size_t n)
{
	/* half random, half text, with repeats: all three codec paths */
	fill_random(p, n / 2);
	fill_text(p + n / 2, n - n / 2);
	for (size_t i = 0; i + 8192 < n / 2; i += 65536)
		memcpy(p + i + 4096, p + i, 4096);
}

/* A link pair with faults on both directions (cfg may be NULL: clean). */
static int link_pair(struct pfs_io **ia, struct pfs_io **ib, const struct pfs_fault_config *cfg)
{
	struct pfs_io *a, *b;
	if (pfs_io_mem_pair(&a, &b, 8192, 2048, 250 * US))
		return -1;
	if (!cfg) {
		*ia = a;
		*ib = b;
		return 0;
	}
	struct pfs_fault_config cb = *cfg;
	cb.seed ^= 0x5555;
	if (pfs_io_fault_wrap(ia, a, cfg) || pfs_io_fault_wrap(ib, b, &cb))
		return -1;
	return 0;
}

/* A pair over a link with faults (NULL: clean) sends size bytes of test data
 * from a to b as stream 0, named "data". */
static int transfer(const struct pfs_fault_config *faults, size_t size, struct peer *a,
		    struct peer *b, uint8_t **data_out)
{
	struct pfs_io *ia, *ib;
	uint8_t *data = malloc(size ? size : 1);
	uint64_t id;

	rng_seed(1234);
	make_data(data, size);
	if (link_pair(&ia, &ib, faults) || make_peer(a, 0, ia) || make_peer(b, 1, ib))
		return -1;
	if (pfs_session_send_stream(a->s, data, size, "data", &id) || id != 0)
		return -1;
	if (run(a, b, 120ull * 1000000000) == UINT64_MAX)
		return -1;
	*data_out = data;
	return 0;
}

static void setup_keys(void)
{
	uint8_t pair[PFS_PAIR_KEY_BYTES];
	memset(pair, 7, sizeof(pair));
	pfs_keys_derive(&keys, pair);
}

PFS_TEST(stream_arrives_byte_identical_over_a_clean_link)
{
	struct peer a, b;
	uint8_t *data;
	size_t size = 3u << 20;

	setup_keys();
	CHECK_EQ(transfer(NULL, size, &a, &b, &data), 0);
	CHECK(pfs_session_sent_all(a.s));
	CHECK(received(&b, 0, data, size));
	CHECK(!strcmp(b.rs[0].path, "data"));
	CHECK_EQ(a.sent_status[0], 0);
	CHECK_EQ(a.nsent, 1);
	CHECK_EQ(pfs_session_stats(a.s)->pieces_retransmitted, 0);
	CHECK_EQ(pfs_session_stats(a.s)->streams_committed, 1);
	CHECK_EQ(pfs_session_stats(b.s)->streams_received, 1);
	CHECK_EQ(pfs_session_stats(b.s)->malformed, 0);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

/* Sizes at and around every boundary the engine has: empty, one byte, one
 * piece, a block's literal limit and input limit. */
static const size_t edge_sizes[] = {
	0,
	1,
	2,
	1000,
	1270,
	1271,
	1272,
	4095,
	4096,
	4097,
	(64 << 10) - 1,
	64 << 10,
	(64 << 10) + 1,
	(256 << 10) - 1,
	256 << 10,
	(256 << 10) + 1,
	3 * (256 << 10) + 7,
};
#define NEDGE (sizeof(edge_sizes) / sizeof(edge_sizes[0]))

static int edge_streams(const struct pfs_fault_config *f)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	uint8_t *data[NEDGE];
	int ok = 1;

	setup_keys();
	rng_seed(4321);
	if (link_pair(&ia, &ib, f) || make_peer(&a, 0, ia) || make_peer(&b, 1, ib))
		return 0;
	for (size_t i = 0; i < NEDGE; i++) {
		char name[32];
		uint64_t id;
		data[i] = malloc(edge_sizes[i] + 1);
		make_data(data[i], edge_sizes[i]);
		snprintf(name, sizeof(name), "dir/size-%zu", edge_sizes[i]);
		ok &= pfs_session_send_stream(a.s, data[i], edge_sizes[i], name, &id) == 0 &&
		      id == i;
	}
	ok &= run(&a, &b, 120ull * 1000000000) != UINT64_MAX;
	for (size_t i = 0; i < NEDGE; i++) {
		if (!received(&b, i, data[i], edge_sizes[i]) || a.sent_status[i] != 0) {
			fprintf(stderr, "stream of %zu bytes did not arrive intact\n",
				edge_sizes[i]);
			ok = 0;
		}
		free(data[i]);
	}
	ok &= a.nsent == (int)NEDGE && !b.bad_write;
	free_peer(&a);
	free_peer(&b);
	return ok;
}

PFS_TEST(streams_of_every_boundary_size_arrive_byte_identical_and_committed)
{
	CHECK(edge_streams(NULL));
}

PFS_TEST(streams_of_every_boundary_size_survive_loss_reordering_duplication_and_corruption)
{
	struct pfs_fault_config f = { .seed = 21,
				      .loss_ppm = 50000,
				      .reorder_ppm = 20000,
				      .reorder_depth = 4,
				      .duplicate_ppm = 10000,
				      .corrupt_ppm = 5000,
				      .jitter_ns = 100 * US };
	CHECK(edge_streams(&f));
}

static void lossy(uint32_t loss_ppm, int *ok, uint64_t *retrans, uint64_t *auth)
{
	struct pfs_fault_config f = { .seed = 9,
				      .loss_ppm = loss_ppm,
				      .reorder_ppm = 20000,
				      .reorder_depth = 4,
				      .duplicate_ppm = 10000,
				      .corrupt_ppm = 5000,
				      .jitter_ns = 100 * US };
	struct peer a, b;
	uint8_t *data;
	size_t size = 2u << 20;

	*ok = 0;
	setup_keys();
	if (transfer(&f, size, &a, &b, &data))
		return;
	*ok = received(&b, 0, data, size) && pfs_session_sent_all(a.s) && a.sent_status[0] == 0 &&
	      !b.bad_write;
	*retrans = pfs_session_stats(a.s)->pieces_retransmitted;
	*auth = pfs_session_stats(b.s)->auth_failed + pfs_session_stats(a.s)->auth_failed;
	free(data);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(stream_arrives_byte_identical_through_loss_reordering_duplication_and_corruption)
{
	static const uint32_t losses[] = { 10000, 50000, 200000 };
	for (int i = 0; i < 3; i++) {
		int ok;
		uint64_t retrans = 0, auth = 0;
		lossy(losses[i], &ok, &retrans, &auth);
		printf("loss %u ppm: %s, %lu pieces resent, %lu corrupted packets refused\n",
		       losses[i], ok ? "identical" : "FAILED", (unsigned long)retrans,
		       (unsigned long)auth);
		CHECK(ok);
		CHECK(retrans > 0);
		CHECK(auth > 0);
	}
}

PFS_TEST(sending_the_same_bytes_again_costs_almost_nothing_on_the_wire)
{
	struct peer a, b;
	uint8_t *data;
	size_t size = 2u << 20;
	uint64_t id;

	setup_keys();
	CHECK_EQ(transfer(NULL, size, &a, &b, &data), 0);
	uint64_t first = pfs_session_stats(a.s)->bytes_sent;
	/* the same bytes as a second stream, after the first was acknowledged */
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "again", &id), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	uint64_t second = pfs_session_stats(a.s)->bytes_sent - first;
	printf("first send %lu wire bytes, second %lu\n", (unsigned long)first,
	       (unsigned long)second);
	CHECK(received(&b, id, data, size));
	CHECK(second < first / 50);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(a_refused_stream_is_reported_to_the_sender_and_the_logs_stay_in_step)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t size = 1u << 20;
	uint8_t *data = malloc(size);
	uint64_t id[3];

	setup_keys();
	rng_seed(55);
	make_data(data, size);
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "refuse/me", &id[0]), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "tamper/me", &id[1]), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	/* the receiver's verdicts reach the sender, with their reasons */
	CHECK_EQ(a.sent_status[0], PFS_ERR_INVALID_ARG);
	CHECK_EQ(a.sent_status[1], PFS_ERR_CHECKSUM);
	CHECK(!b.rs[0].opened && !b.rs[1].finished);
	CHECK_EQ(pfs_session_stats(a.s)->streams_failed, 2);
	CHECK_EQ(pfs_session_stats(b.s)->streams_refused, 2);
	/* the refused stream's blocks still went into the log: sending the
	 * bytes again, under a good name, costs pointers */
	uint64_t before = pfs_session_stats(a.s)->bytes_sent;
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "good", &id[2]), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, id[2], data, size));
	CHECK(pfs_session_stats(a.s)->bytes_sent - before < size / 50);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(a_block_that_fails_on_a_diverged_log_is_repaired_and_the_stream_arrives)
{
	struct peer a, b;
	uint8_t *data;
	size_t size = 2u << 20;
	uint64_t id;

	setup_keys();
	CHECK_EQ(transfer(NULL, size, &a, &b, &data), 0);
	/* a byte of the receiver's rx log goes bad after it was written */
	b.rx->ring[(pfs_log_lower(b.rx) + size / 3) & b.rx->mask] ^= 0x10;
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "again", &id), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, id, data, size));
	CHECK_EQ(a.sent_status[id], 0);
	CHECK(pfs_session_stats(b.s)->repairs_requested >= 1);
	CHECK(pfs_session_stats(a.s)->repair_blocks_sent >= 1);
	/* the logs end in the same place: nothing is left waiting */
	CHECK(a.tx->tail == b.rx->tail && b.rx->contig == b.rx->tail);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

/* A session between two existing peers' logs, with keys of generation gen
 * (a new session after a restart never reuses the old keys: nonces). */
static int new_session(struct peer *p, int side, int gen)
{
	struct pfs_session_config c;
	char err[256];

	config(&c, side);
	c.tx_key[0] ^= (uint8_t)gen;
	c.rx_key[0] ^= (uint8_t)gen;
	struct pfs_session_logs logs = {
		.tx = p->tx, .rx = p->rx, .tx_index = &p->txi, .keys = &keys
	};
	struct pfs_session_sink sink = { .ctx = p,
					 .open = sink_open,
					 .write = sink_write,
					 .finish = sink_finish,
					 .abort = sink_abort,
					 .sent = sink_sent };
	return pfs_session_new(&p->s, &c, &logs, &sink, err, sizeof(err));
}

static int copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[65536];
	size_t n;
	int ok = a && b;

	while (ok && (n = fread(buf, 1, sizeof(buf), a)) > 0)
		ok = fwrite(buf, 1, n, b) == n;
	if (a)
		fclose(a);
	if (b)
		fclose(b);
	return ok ? 0 : -1;
}

/* Runs until b has written at least `want` bytes of stream 0. */
static int run_until_written(struct peer *a, struct peer *b, uint64_t want)
{
	for (int k = 0; k < 200 && b->rs[0].written < want; k++)
		if (run(a, b, 2000 * US) == UINT64_MAX)
			return -1;
	return b->rs[0].written >= want ? 0 : -1;
}

PFS_TEST(a_killed_receiver_resumes_without_resending_what_its_log_had_made_durable)
{
	char dir[] = "/tmp/pfs-resume-XXXXXX", path[4][128];
	struct pfs_log_config lc = { .capacity = LOG_CAP, .huge = PFS_HUGE_NEVER, .epoch = 77 };
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t size = 8u << 20;
	uint8_t *data = malloc(size);
	char err[256];
	uint64_t id;

	setup_keys();
	rng_seed(99);
	fill_random(data, size);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path[0], sizeof(path[0]), "%s/a-tx", dir);
	snprintf(path[1], sizeof(path[1]), "%s/b-rx", dir);
	snprintf(path[2], sizeof(path[2]), "%s/b-rx.crash", dir);
	snprintf(path[3], sizeof(path[3]), "%s/b-rx.crash.meta", dir);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* the pair's logs: file-backed, one epoch agreed between them */
	lc.path = path[0];
	CHECK_EQ(pfs_log_open(&a.tx, &lc, err, sizeof(err)), 0);
	lc.path = path[1];
	CHECK_EQ(pfs_log_open(&b.rx, &lc, err, sizeof(err)), 0);
	lc.path = NULL;
	CHECK_EQ(pfs_log_open(&a.rx, &lc, err, sizeof(err)), 0);
	CHECK_EQ(pfs_log_open(&b.tx, &lc, err, sizeof(err)), 0);
	CHECK_EQ(pfs_index_init(&a.txi, pfs_index_bytes_for(LOG_CAP, 256)), 0);
	CHECK_EQ(pfs_index_init(&b.txi, pfs_index_bytes_for(LOG_CAP, 256)), 0);
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	a.io = ia;
	b.io = ib;
	CHECK_EQ(new_session(&a, 0, 0), 0);
	CHECK_EQ(new_session(&b, 1, 0), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "big", &id), 0);

	/* the receiver makes its log durable at half way, runs on, and dies:
	 * the crash leaves the mapped pages and the last metadata it synced */
	CHECK_EQ(run_until_written(&a, &b, size / 2), 0);
	CHECK_EQ(pfs_log_sync(b.rx), 0);
	uint64_t durable = b.rx->contig;
	CHECK_EQ(run_until_written(&a, &b, size * 3 / 4), 0);
	CHECK_EQ(copy_file(path[1], path[2]), 0);
	snprintf(path[1] + strlen(path[1]), 16, ".meta");
	CHECK_EQ(copy_file(path[1], path[3]), 0);
	pfs_session_free(a.s);
	pfs_session_free(b.s);
	for (int i = 0; i < NSTREAMS; i++) {
		free(b.rs[i].buf);
		b.rs[i] = (struct rx_stream){ 0 };
	}
	pfs_log_close(b.rx);

	/* restart: the receiver reopens what the crash left */
	lc.path = path[2];
	CHECK_EQ(pfs_log_open(&b.rx, &lc, err, sizeof(err)), 0);
	CHECK_EQ(b.rx->contig, durable);
	CHECK(a.tx->contig > durable);
	/* the handshake (the control plane's) agrees on what both hold */
	uint64_t point = a.tx->contig < b.rx->contig ? a.tx->contig : b.rx->contig;
	CHECK_EQ(pfs_log_resume(a.tx, point, 1), 0);
	CHECK_EQ(pfs_log_resume(b.rx, point, 0), 0);
	pfs_io_close(ia);
	pfs_io_close(ib);
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	a.io = ia;
	b.io = ib;
	CHECK_EQ(new_session(&a, 0, 1), 0);
	CHECK_EQ(new_session(&b, 1, 1), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "big", &id), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, 0, data, size));
	uint64_t resent = pfs_session_stats(a.s)->bytes_sent;
	printf("durable before the crash: %lu of %zu bytes; the resumed send put %lu bytes on "
	       "the wire\n",
	       (unsigned long)durable, size, (unsigned long)resent);
	/* what the log held durably travels as pointers; the rest again */
	CHECK(resent < size - durable + size / 20);
	CHECK(resent > size - durable);
	free_peer(&a);
	free_peer(&b);
	free(data);
	for (int i = 0; i < 4; i++) {
		unlink(path[i]);
		snprintf(path[i] + strlen(path[i]), 16, ".meta");
		unlink(path[i]);
	}
	snprintf(path[1], sizeof(path[1]), "%s/b-rx", dir);
	unlink(path[1]);
	rmdir(dir);
}

PFS_TEST(a_restarted_sender_finds_what_it_sent_before_in_its_reopened_log)
{
	char dir[] = "/tmp/pfs-restart-XXXXXX", path[2][128];
	struct pfs_log_config lc = { .capacity = LOG_CAP, .huge = PFS_HUGE_NEVER, .epoch = 78 };
	struct pfs_session_config c;
	struct peer a, b;
	uint8_t *data;
	size_t size = 2u << 20;
	char err[256];
	uint64_t id;

	setup_keys();
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path[0], sizeof(path[0]), "%s/a-tx", dir);
	snprintf(path[1], sizeof(path[1]), "%s/a-tx.meta", dir);
	CHECK_EQ(transfer(NULL, size, &a, &b, &data), 0);
	/* the sender's tx log as a file-backed log would have persisted it */
	pfs_session_free(a.s);
	pfs_session_free(b.s);
	for (int i = 0; i < NSTREAMS; i++) {
		free(b.rs[i].buf);
		b.rs[i] = (struct rx_stream){ 0 };
	}
	lc.path = path[0];
	struct pfs_log *saved;
	CHECK_EQ(pfs_log_open(&saved, &lc, err, sizeof(err)), 0);
	uint64_t off;
	uint8_t *tmp = malloc(a.tx->contig);
	pfs_log_read(a.tx, 0, tmp, a.tx->contig);
	CHECK_EQ(pfs_log_append(saved, tmp, a.tx->contig, &off), 0);
	free(tmp);
	pfs_log_close(saved);
	pfs_log_close(a.tx);
	pfs_index_free(&a.txi);
	/* restart: reopen, rebuild the index from the log, resume */
	CHECK_EQ(pfs_log_open(&a.tx, &lc, err, sizeof(err)), 0);
	CHECK_EQ(a.tx->contig, b.rx->contig);
	config(&c, 0);
	CHECK_EQ(pfs_index_init(&a.txi, pfs_index_bytes_for(LOG_CAP, c.codec.avg_chunk)), 0);
	CHECK_EQ(pfs_codec_index_log(&a.txi, &c.codec, &keys, a.tx), 0);
	CHECK_EQ(pfs_log_resume(a.tx, b.rx->contig, 1), 0);
	CHECK_EQ(new_session(&a, 0, 1), 0);
	CHECK_EQ(new_session(&b, 1, 1), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "again", &id), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, id, data, size));
	CHECK_EQ(a.sent_status[id], 0);
	printf("after the restart the same %zu bytes cost %lu on the wire\n", size,
	       (unsigned long)pfs_session_stats(a.s)->bytes_sent);
	CHECK(pfs_session_stats(a.s)->bytes_sent < size / 50);
	free(data);
	free_peer(&a);
	free_peer(&b);
	unlink(path[0]);
	unlink(path[1]);
	rmdir(dir);
}

PFS_TEST(policy_changes_apply_mid_transfer_and_a_window_beyond_the_start_is_refused)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t size = 2u << 20;
	uint8_t *data = malloc(size);
	char err[256] = "";
	uint64_t id;

	setup_keys();
	rng_seed(5);
	make_data(data, size);
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	struct pfs_session_policy p = { .window_blocks = 17, .cc = PFS_CC_CUBIC };
	CHECK_EQ(pfs_session_set_policy(a.s, &p, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "1..16") != NULL);
	p.window_blocks = 0;
	CHECK_EQ(pfs_session_set_policy(a.s, &p, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	p = (struct pfs_session_policy){ .window_blocks = 1, .cc = PFS_CC_FIXED };
	CHECK_EQ(pfs_session_set_policy(a.s, &p, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	/* one block at a time, at a fixed 20 MB/s */
	p.fixed_rate = 20000000;
	CHECK_EQ(pfs_session_set_policy(a.s, &p, err, sizeof(err)), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "policy", &id), 0);
	uint64_t t = run(&a, &b, 60ull * 1000000000);
	CHECK(received(&b, id, data, size));
	/* 2 MiB of half-random data at 20 MB/s takes at least ~60 ms */
	CHECK(t > 50 * 1000 * US);
	/* and back to the full window with BBR */
	p = (struct pfs_session_policy){ .window_blocks = 16, .cc = PFS_CC_BBR };
	CHECK_EQ(pfs_session_set_policy(a.s, &p, err, sizeof(err)), 0);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(a_silent_peer_fails_the_session_after_the_policys_probe_timeouts)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	uint8_t data[4096], pkt[MTU];
	char err[256];
	uint64_t id, now = 0, wake;
	size_t len;
	int rc = 0, packets = 0;

	setup_keys();
	fill_random(data, sizeof(data));
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	struct pfs_session_policy p = {
		.window_blocks = 16, .cc = PFS_CC_BBR, .max_retries = 3, .max_pto_backoff = 2
	};
	CHECK_EQ(pfs_session_set_policy(a.s, &p, err, sizeof(err)), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, sizeof(data), "x", &id), 0);
	/* nothing a sends is ever answered */
	while (rc == 0 && now < 60ull * 1000000000) {
		rc = pfs_session_next_packet(a.s, pkt, sizeof(pkt), &len, now, &wake);
		packets += len > 0;
		now = len ? now : wake;
	}
	CHECK_EQ(rc, PFS_ERR_PEER_SILENT);
	/* the backoff cap keeps the wait short: before any RTT sample a PTO is
	 * ~300 ms (RFC 9002's initial RTT and variance), doubled at most twice:
	 * 0.3 + 0.6 + 1.2 + 1.2 s; without the cap the fourth would be 2.4 s */
	CHECK(now < 4ull * 1000000000);
	CHECK(packets > 3);
	/* the session stays failed */
	CHECK_EQ(pfs_session_next_packet(a.s, pkt, sizeof(pkt), &len, now, &wake),
		 PFS_ERR_PEER_SILENT);
	free_peer(&a);
	free_peer(&b);
}

/* a deep window of small random blocks, each writing its own log range, and
 * a pointer margin as deep, so that all of them may be in flight */
static void deep_window(struct pfs_session_config *c)
{
	c->window_blocks = 512;
	c->margin_blocks = 512;
	c->codec.block_max = 16 << 10;
	c->codec.lit_max = 4 << 10;
}

PFS_TEST(blocks_beyond_the_logs_out_of_order_limit_wait_for_the_hole_instead_of_failing)
{
	struct pfs_fault_config f = {
		.seed = 31, .loss_ppm = 300000, .reorder_ppm = 20000, .reorder_depth = 8
	};
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t size = 8u << 20;
	uint8_t *data = malloc(size);
	uint64_t id;

	setup_keys();
	rng_seed(8);
	fill_random(data, size);
	/* heavy loss leaves many complete blocks above one missing block */
	CHECK_EQ(link_pair(&ia, &ib, &f), 0);
	CHECK_EQ(make_peer_tuned(&a, 0, ia, deep_window), 0);
	CHECK_EQ(make_peer_tuned(&b, 1, ib, deep_window), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "deep", &id), 0);
	CHECK(run(&a, &b, 120ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, id, data, size));
	printf("%lu blocks waited for the log\n",
	       (unsigned long)pfs_session_stats(b.s)->blocks_waited_for_log);
	CHECK(pfs_session_stats(b.s)->blocks_waited_for_log > 0);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(many_streams_queue_up_to_the_limit_and_all_arrive)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	uint8_t data[5000];
	uint64_t id;

	setup_keys();
	fill_random(data, sizeof(data));
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	for (int i = 0; i < NSTREAMS; i++)
		CHECK_EQ(pfs_session_send_stream(a.s, data, 100 + (size_t)i * 150, "f", &id), 0);
	/* the test sink refuses these by name: they come back refused */
	for (int i = NSTREAMS; i < PFS_SESSION_STREAMS; i++)
		CHECK_EQ(pfs_session_send_stream(a.s, data, 10, "refuse", &id), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, 10, "h", &id), PFS_ERR_LIMIT);
	CHECK_EQ(pfs_session_send_stream(a.s, data, 10, "", &id), PFS_ERR_INVALID_ARG);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	for (int i = 0; i < NSTREAMS; i++)
		CHECK(received(&b, (uint64_t)i, data, 100 + (size_t)i * 150));
	CHECK_EQ(a.nsent, PFS_SESSION_STREAMS);
	CHECK_EQ(a.sent_status[NSTREAMS - 1], 0);
	CHECK_EQ(pfs_session_stats(a.s)->streams_failed, PFS_SESSION_STREAMS - NSTREAMS);
	/* room again once they are committed */
	CHECK_EQ(pfs_session_send_stream(a.s, data, 10, "h", &id), 0);
	free_peer(&a);
	free_peer(&b);
}

static void window_256(struct pfs_session_config *c)
{
	c->window_blocks = 256;
}

static void window_64(struct pfs_session_config *c)
{
	c->window_blocks = 64;
}

/* Virtual time for a to send n streams of 100 bytes to b, all committed, once
 * a first 4 MiB have opened the congestion window (*t stays UINT64_MAX if
 * they were not). */
static void small_streams_time(void (*tune)(struct pfs_session_config *), int n, uint64_t *t)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t warm = 4u << 20;
	uint8_t *data = malloc(warm);
	uint64_t id, used;

	*t = UINT64_MAX;
	CHECK(data != NULL);
	fill_random(data, warm);
	CHECK_EQ(pfs_io_mem_pair(&ia, &ib, 8192, 2048, 10000 * US), 0); /* 20 ms round trip */
	CHECK_EQ(make_peer_tuned(&a, 0, ia, tune), 0);
	CHECK_EQ(make_peer_tuned(&b, 1, ib, tune), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, warm, "warm", &id), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	for (int i = 0; i < n; i++)
		CHECK_EQ(pfs_session_send_stream(a.s, data + i * 100, 100, "small", &id), 0);
	used = run(&a, &b, 60ull * 1000000000);
	CHECK(used != UINT64_MAX);
	CHECK_EQ(a.nsent, n + 1);
	CHECK_EQ(pfs_session_stats(a.s)->streams_committed, (uint64_t)n + 1);
	free(data);
	free_peer(&a);
	free_peer(&b);
	*t = used;
}

PFS_TEST(a_wide_window_settles_far_more_than_64_small_files_per_round_trip)
{
	uint64_t narrow, wide;

	setup_keys();
	small_streams_time(window_64, 250, &narrow);
	small_streams_time(window_256, 250, &wide);
	CHECK(narrow != UINT64_MAX && wide != UINT64_MAX);
	printf("250 files of 100 bytes, 20 ms round trip: %.0f ms with a 64-block window, "
	       "%.0f ms with 256\n",
	       narrow / 1e6, wide / 1e6);
	/* 64 at a time takes four round trips or more; 256 at a time, one or two */
	CHECK(narrow >= 4 * 20000 * US);
	CHECK(wide * 2 < narrow);
}

static uint64_t max_log_in_flight, max_blocks_in_flight;

static void watch_in_flight(struct peer *a, struct peer *b)
{
	const struct pfs_session_stats *st = pfs_session_stats(a->s);

	(void)b;
	if (st->log_bytes_in_flight > max_log_in_flight)
		max_log_in_flight = st->log_bytes_in_flight;
	if (st->blocks_in_flight > max_blocks_in_flight)
		max_blocks_in_flight = st->blocks_in_flight;
}

static void wide_literal_blocks(struct pfs_session_config *c)
{
	c->window_blocks = 256;
	c->codec.lit_max = c->codec.block_max; /* random data: every block block_max bytes */
}

PFS_TEST(a_wide_window_never_puts_more_log_bytes_in_flight_than_the_pointer_margin)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t size = 48u << 20;
	uint8_t *data = malloc(size);
	const uint64_t margin = 64ull * (256 << 10); /* 64 blocks of block_max */
	uint64_t id;

	CHECK(data != NULL);
	setup_keys();
	fill_random(data, size);
	CHECK_EQ(pfs_io_mem_pair(&ia, &ib, 8192, 2048, 10000 * US), 0);
	CHECK_EQ(make_peer_tuned(&a, 0, ia, wide_literal_blocks), 0);
	CHECK_EQ(make_peer_tuned(&b, 1, ib, wide_literal_blocks), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "data", &id), 0);
	max_log_in_flight = max_blocks_in_flight = 0;
	on_step = watch_in_flight;
	CHECK(run(&a, &b, 120ull * 1000000000) != UINT64_MAX);
	on_step = NULL;
	CHECK(received(&b, id, data, size));
	printf("at most %lu blocks and %.1f MiB of log in flight (margin %.1f MiB)\n",
	       (unsigned long)max_blocks_in_flight, max_log_in_flight / 1048576.0,
	       margin / 1048576.0);
	CHECK(max_log_in_flight <= margin);
	/* the limit was reached: without it the 256-block window would have let more fly */
	CHECK(max_log_in_flight + (256 << 10) > margin - (256 << 10));
	CHECK(max_blocks_in_flight <= 64);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(both_directions_carry_streams_at_once)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	size_t size = 1u << 20;
	uint8_t *da = malloc(size), *db = malloc(size);
	uint64_t id;

	setup_keys();
	rng_seed(77);
	make_data(da, size);
	make_data(db, size);
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, da, size, "a-to-b", &id), 0);
	CHECK_EQ(pfs_session_send_stream(b.s, db, size, "b-to-a", &id), 0);
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, 0, da, size));
	CHECK(received(&a, 0, db, size));
	free(da);
	free(db);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(packets_from_a_stranger_change_nothing)
{
	struct peer a, b;
	uint8_t *data, junk[MTU], forged[MTU + 64];
	size_t size = 256u << 10, n;
	struct pfs_aead wrong;
	uint8_t k[PFS_AEAD_KEY_BYTES], iv[PFS_AEAD_IV_BYTES];

	setup_keys();
	CHECK_EQ(transfer(NULL, size, &a, &b, &data), 0);
	const struct pfs_session_stats before = *pfs_session_stats(b.s);
	/* random bytes, and a well-formed packet sealed with another key */
	fill_random(junk, sizeof(junk));
	CHECK_EQ(pfs_session_on_packet(b.s, junk, sizeof(junk), 1), 0);
	memset(k, 0x99, sizeof(k));
	memset(iv, 0x98, sizeof(iv));
	CHECK_EQ(pfs_aead_init(&wrong, PFS_AEAD_AUTO, k, iv), 0);
	struct pfs_packet_header h = { PFS_PACKET_DATA, 101, 5 };
	CHECK_EQ(pfs_packet_seal(&wrong, &h, junk, 100, forged, sizeof(forged), &n), 0);
	CHECK_EQ(pfs_session_on_packet(b.s, forged, n, 2), 0);
	const struct pfs_session_stats *after = pfs_session_stats(b.s);
	CHECK_EQ(after->auth_failed, before.auth_failed + 1);
	CHECK_EQ(after->foreign_cid, before.foreign_cid + 1);
	CHECK_EQ(after->blocks_applied, before.blocks_applied);
	CHECK(received(&b, 0, data, size));
	free(data);
	free_peer(&a);
	free_peer(&b);
}

/* --- key rotation ------------------------------------------------------------ */

/* The key and IV of generation gen of the direction side sends (generation
 * 0: config()'s). */
static void gen_key(int side, int gen, uint8_t key[PFS_AEAD_KEY_BYTES],
		    uint8_t iv[PFS_AEAD_IV_BYTES])
{
	memset(key, 0x10 + side, PFS_AEAD_KEY_BYTES);
	memset(iv, 0x20 + side, PFS_AEAD_IV_BYTES);
	key[1] ^= (uint8_t)gen;
	iv[1] ^= (uint8_t)gen;
}

/* p, the end on side, seals with generation txg and accepts generation rxg. */
static int set_keys(struct peer *p, int side, int txg, int rxg)
{
	uint8_t tk[PFS_AEAD_KEY_BYTES], ti[PFS_AEAD_IV_BYTES];
	uint8_t rk[PFS_AEAD_KEY_BYTES], ri[PFS_AEAD_IV_BYTES];

	gen_key(side, txg, tk, ti);
	gen_key(!side, rxg, rk, ri);
	return pfs_session_update_keys(p->s, tk, ti, rk, ri);
}

enum order {
	/* the controller's order (ts/daemon/daemon.ts): the initiator accepts
	 * the new key, the other end accepts it and seals with it, then the
	 * initiator seals with it — neither seals before the other accepts */
	ORDER_PROTOCOL,
	ORDER_AT_ONCE,	   /* both ends in the same instant */
	ORDER_SENDER_FIRST /* careless: the initiator seals before the other accepts */
};

/* Rotates both ends to generation g, started by p[init], moving packets for
 * step_ns between the steps. 0, or -1 if a step or the session failed. */
static int rotate(struct peer *p[2], int init, int g, enum order order, uint64_t step_ns)
{
	struct peer *x = p[init], *y = p[!init];

	switch (order) {
	case ORDER_PROTOCOL:
		if (set_keys(x, init, g - 1, g) || run(p[0], p[1], step_ns) == UINT64_MAX ||
		    set_keys(y, !init, g, g) || run(p[0], p[1], step_ns) == UINT64_MAX)
			return -1;
		return set_keys(x, init, g, g) ? -1 : 0;
	case ORDER_AT_ONCE:
		return set_keys(x, init, g, g) || set_keys(y, !init, g, g) ? -1 : 0;
	default:
		if (set_keys(x, init, g, g) || run(p[0], p[1], step_ns) == UINT64_MAX)
			return -1;
		return set_keys(y, !init, g, g) ? -1 : 0;
	}
}

/* Streams both ways, keys rotated `rotations` times while they run (in the
 * orders given, cycling, the initiator alternating). ok: both arrived intact
 * and committed, each rotation happened mid-transfer, no session failed. */
static void rotating_transfer(const struct pfs_fault_config *f, const enum order *orders,
			      int norders, int rotations, int *ok, struct peer *a, struct peer *b)
{
	/* 100 MB/s each way: 4 MiB take ~40 ms, a rotation's steps 0.6 ms */
	struct pfs_session_policy pol = { .window_blocks = 16,
					  .cc = PFS_CC_FIXED,
					  .fixed_rate = 100000000 };
	struct pfs_io *ia, *ib;
	struct peer *p[2] = { a, b };
	size_t size = 4u << 20;
	uint8_t *da = malloc(size), *db = malloc(size);
	char err[256];
	uint64_t id;

	*ok = 0;
	setup_keys();
	rng_seed(2024);
	make_data(da, size);
	make_data(db, size);
	if (link_pair(&ia, &ib, f) || make_peer(a, 0, ia) || make_peer(b, 1, ib) ||
	    pfs_session_set_policy(a->s, &pol, err, sizeof(err)) ||
	    pfs_session_set_policy(b->s, &pol, err, sizeof(err)) ||
	    pfs_session_send_stream(a->s, da, size, "a-to-b", &id) ||
	    pfs_session_send_stream(b->s, db, size, "b-to-a", &id))
		goto out;
	for (int g = 1; g <= rotations; g++) {
		uint64_t want = size * (uint64_t)g / (rotations + 1);
		for (int k = 0; k < 10000 && b->rs[0].written < want; k++)
			if (run(a, b, 100 * US) == UINT64_MAX)
				goto out;
		if (b->rs[0].finished || a->rs[0].finished) {
			fprintf(stderr, "rotation %d would not be mid-transfer\n", g);
			goto out;
		}
		if (rotate(p, g % 2, g, orders[g % norders], 300 * US))
			goto out;
	}
	if (run(a, b, 120ull * 1000000000) == UINT64_MAX)
		goto out;
	*ok = received(b, 0, da, size) && received(a, 0, db, size) && a->sent_status[0] == 0 &&
	      b->sent_status[0] == 0 && !a->bad_write && !b->bad_write;
out:
	free(da);
	free(db);
}

PFS_TEST(keys_rotated_on_both_sides_mid_transfer_over_a_lossy_reordering_link_lose_nothing)
{
	struct pfs_fault_config f = { .seed = 31,
				      .loss_ppm = 50000,
				      .reorder_ppm = 50000,
				      .reorder_depth = 8,
				      .duplicate_ppm = 10000,
				      .corrupt_ppm = 5000,
				      .jitter_ns = 200 * US };
	static const enum order orders[] = { ORDER_PROTOCOL, ORDER_AT_ONCE, ORDER_SENDER_FIRST };
	struct peer a, b;
	int ok;

	rotating_transfer(&f, orders, 3, 6, &ok, &a, &b);
	CHECK(ok);
	for (int k = 0; k < 2; k++) {
		const struct pfs_session_stats *st = pfs_session_stats(k ? b.s : a.s);
		printf("%s: %lu key updates, %lu packets opened by the next key, %lu by the "
		       "retired one, %lu refused\n",
		       k ? "b" : "a", (unsigned long)st->key_updates,
		       (unsigned long)st->next_key_auth, (unsigned long)st->prev_key_auth,
		       (unsigned long)st->auth_failed);
		CHECK(st->key_updates >= 6);
		CHECK(st->next_key_auth >= 1);
	}
	/* reordering delivered some packets of an old key after the new one */
	CHECK(pfs_session_stats(a.s)->prev_key_auth + pfs_session_stats(b.s)->prev_key_auth > 0);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST(keys_rotated_in_the_controllers_order_cost_not_one_packet)
{
	static const enum order orders[] = { ORDER_PROTOCOL };
	struct peer a, b;
	int ok;

	rotating_transfer(NULL, orders, 1, 5, &ok, &a, &b);
	CHECK(ok);
	for (int k = 0; k < 2; k++) {
		const struct pfs_session_stats *st = pfs_session_stats(k ? b.s : a.s);
		/* each end took every new key from the peer's first packet under it,
		 * and no packet failed authentication, so none was resent for it */
		CHECK_EQ(st->next_key_auth, 5);
		CHECK_EQ(st->auth_failed, 0);
		CHECK_EQ(st->pieces_retransmitted, 0);
	}
	/* the initiator installs twice (accept, then seal), the other end once */
	CHECK_EQ(pfs_session_stats(a.s)->key_updates + pfs_session_stats(b.s)->key_updates, 15);
	free_peer(&a);
	free_peer(&b);
}

/* Asks p for its next packet, moving time on until it has one. */
static int take_packet(struct peer *p, uint8_t *out, size_t *len)
{
	for (int k = 0; k < 100; k++) {
		uint64_t wake;
		if (pfs_session_next_packet(p->s, out, MTU, len, vclock, &wake))
			return -1;
		if (*len)
			return 0;
		vclock = wake > vclock ? wake : vclock + 1;
	}
	return -1;
}

PFS_TEST(a_straggler_under_the_retired_key_is_let_in_during_its_grace_and_refused_after)
{
	struct pfs_io *ia, *ib;
	struct peer a, b, *p[2] = { &a, &b };
	size_t size = 1u << 20, len[2];
	uint8_t *data = malloc(size), held[2][MTU];
	char err[256];
	uint64_t id;

	setup_keys();
	rng_seed(8);
	make_data(data, size);
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	/* 10 MB/s: a handful of packets per step below, far from a replay window */
	struct pfs_session_policy pol = { .window_blocks = 16,
					  .cc = PFS_CC_FIXED,
					  .fixed_rate = 10000000 };
	CHECK_EQ(pfs_session_set_policy(a.s, &pol, err, sizeof(err)), 0);
	CHECK_EQ(pfs_session_send_stream(a.s, data, size, "s", &id), 0);
	CHECK_EQ(run_until_written(&a, &b, size / 4), 0);
	/* two packets sealed under generation 0 that the path holds back */
	CHECK_EQ(take_packet(&a, held[0], &len[0]), 0);
	CHECK_EQ(take_packet(&a, held[1], &len[1]), 0);
	CHECK_EQ(rotate(p, 0, 1, ORDER_PROTOCOL, 200 * US), 0);
	for (int k = 0; k < 100 && !pfs_session_stats(b.s)->next_key_auth; k++)
		CHECK(run(&a, &b, 50 * US) != UINT64_MAX);
	CHECK_EQ(pfs_session_stats(b.s)->next_key_auth, 1);

	/* the first arrives just after b took the new key: let in */
	struct pfs_session_stats before = *pfs_session_stats(b.s);
	CHECK_EQ(pfs_session_on_packet(b.s, held[0], len[0], vclock), 0);
	CHECK_EQ(pfs_session_stats(b.s)->packets_received, before.packets_received + 1);
	CHECK_EQ(pfs_session_stats(b.s)->prev_key_auth, before.prev_key_auth + 1);
	CHECK_EQ(pfs_session_stats(b.s)->auth_failed, before.auth_failed);

	/* the stream completes under the new key; long after, the second is
	 * refused: the retired key is gone */
	CHECK(run(&a, &b, 60ull * 1000000000) != UINT64_MAX);
	CHECK(received(&b, 0, data, size));
	vclock += PFS_SESSION_KEY_GRACE_MAX_NS + 1;
	before = *pfs_session_stats(b.s);
	CHECK_EQ(pfs_session_on_packet(b.s, held[1], len[1], vclock), 0);
	CHECK_EQ(pfs_session_stats(b.s)->auth_failed, before.auth_failed + 1);
	CHECK_EQ(pfs_session_stats(b.s)->packets_received, before.packets_received);
	CHECK_EQ(pfs_session_stats(b.s)->prev_key_auth, before.prev_key_auth);
	free(data);
	free_peer(&a);
	free_peer(&b);
}

/* A PING packet from side to the other, sealed under generation gen. */
static size_t forge(int side, int gen, uint64_t pn, uint8_t *out)
{
	uint8_t key[PFS_AEAD_KEY_BYTES], iv[PFS_AEAD_IV_BYTES], ping[1];
	struct pfs_packet_header h = { PFS_PACKET_DATA, 100 + !side, pn };
	struct pfs_aead k;
	size_t n = 0;

	gen_key(side, gen, key, iv);
	pfs_frame_put_simple(ping, sizeof(ping), PFS_FR_PING);
	if (pfs_aead_init(&k, PFS_AEAD_AUTO, key, iv) ||
	    pfs_packet_seal(&k, &h, ping, sizeof(ping), out, MTU, &n))
		n = 0;
	pfs_aead_wipe(&k);
	return n;
}

/* b receives a's packet of generation gen and number pn; returns 1 if it was
 * let in (counted as received), 0 if not. */
static int let_in(struct peer *b, int gen, uint64_t pn)
{
	uint8_t pkt[MTU];
	uint64_t got = pfs_session_stats(b->s)->packets_received;
	size_t n = forge(0, gen, pn, pkt);

	if (!n || pfs_session_on_packet(b->s, pkt, n, 1000 + pn) != 0)
		return -1;
	return pfs_session_stats(b->s)->packets_received == got + 1;
}

PFS_TEST(an_update_before_the_last_was_used_keeps_every_key_the_peer_may_hold)
{
	struct pfs_io *ia, *ib;
	struct peer a, b;
	const struct pfs_session_stats *st;
	uint8_t junk[MTU], k[PFS_AEAD_KEY_BYTES] = { 1 }, iv[PFS_AEAD_IV_BYTES] = { 0 };

	setup_keys();
	CHECK_EQ(link_pair(&ia, &ib, NULL), 0);
	CHECK_EQ(make_peer(&a, 0, ia), 0);
	CHECK_EQ(make_peer(&b, 1, ib), 0);
	st = pfs_session_stats(b.s);
	CHECK_EQ(pfs_session_update_keys(b.s, NULL, iv, k, iv), PFS_ERR_INVALID_ARG);
	CHECK_EQ(let_in(&b, 0, 10), 1);
	/* generation 1 installed, and 2 before a packet of 1 arrived: 1 is
	 * taken as current, 0 retired, 2 next */
	CHECK_EQ(set_keys(&b, 1, 0, 1), 0);
	CHECK_EQ(set_keys(&b, 1, 0, 2), 0);
	CHECK_EQ(st->key_updates, 2);

	/* strangers change nothing, with three keys to try */
	fill_random(junk, sizeof(junk));
	CHECK_EQ(pfs_session_on_packet(b.s, junk, sizeof(junk), 1), 0);
	CHECK_EQ(let_in(&b, 3, 11), 0); /* a generation not installed */
	CHECK_EQ(let_in(&b, 0x55, 12), 0);
	CHECK_EQ(st->auth_failed, 2);
	CHECK_EQ(st->foreign_cid, 1);
	CHECK_EQ(st->packets_received, 1);
	CHECK_EQ(st->next_key_auth + st->prev_key_auth, 0);

	/* every key a may still use is let in; 2 becomes current, 1 retired,
	 * 0 (retired before) wiped at once */
	CHECK_EQ(let_in(&b, 1, 20), 1);
	CHECK_EQ(let_in(&b, 0, 21), 1);
	CHECK_EQ(st->prev_key_auth, 1);
	CHECK_EQ(let_in(&b, 2, 22), 1);
	CHECK_EQ(st->next_key_auth, 1);
	CHECK_EQ(let_in(&b, 0, 23), 0);
	CHECK_EQ(st->auth_failed, 3);
	CHECK_EQ(let_in(&b, 1, 19), 1); /* a straggler under the retired key */
	CHECK_EQ(st->prev_key_auth, 2);

	/* the key in place again changes nothing on the receive side */
	CHECK_EQ(set_keys(&b, 1, 1, 2), 0);
	CHECK_EQ(st->key_updates, 3);
	CHECK_EQ(let_in(&b, 2, 24), 1);
	CHECK_EQ(let_in(&b, 1, 18), 1);
	CHECK_EQ(st->next_key_auth, 1);
	CHECK_EQ(st->prev_key_auth, 3);
	CHECK_EQ(let_in(&b, 2, 24), 0); /* replayed */
	CHECK_EQ(st->replayed, 1);

	/* once the window is PFS_REPLAY_WINDOW numbers past the first packet of
	 * the new key, the retired key is wiped: an old number fails
	 * authentication instead of reaching the replay check */
	CHECK_EQ(let_in(&b, 2, 22 + PFS_REPLAY_WINDOW), 1);
	uint64_t failed = st->auth_failed, replayed = st->replayed;
	CHECK_EQ(let_in(&b, 1, 30 + PFS_REPLAY_WINDOW / 2), 0);
	CHECK_EQ(st->auth_failed, failed + 1);
	CHECK_EQ(st->replayed, replayed);
	free_peer(&a);
	free_peer(&b);
}

PFS_TEST_MAIN()
