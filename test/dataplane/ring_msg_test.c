/* SPDX-License-Identifier: Apache-2.0 */
/* Control messages: every type round-trips to the same bytes; truncated,
 * oversized and hostile messages get the right error, never a read past the
 * end; the encoder refuses what the decoder would. */
#include <string.h>

#include "error.h"
#include "harness.h"
#include "ring_msg.h"
#include "ring_msg_samples.h"

static uint8_t buf[PFS_MSG_MAX + 64], again[PFS_MSG_MAX + 64];

static int str_is(struct pfs_msg_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

PFS_TEST(every_message_type_round_trips_to_the_same_bytes)
{
	for (size_t i = 0; i < SAMPLE_TYPES; i++) {
		struct pfs_msg m, back;
		size_t n, n2;

		sample_msg(sample_types[i], &m);
		CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
		CHECK(n >= PFS_MSG_HEADER_BYTES);
		CHECK_EQ(buf[0] | buf[1] << 8, sample_types[i]);
		CHECK_EQ(buf[2] | buf[3] << 8, PFS_MSG_VERSION);
		CHECK_EQ(pfs_msg_decode(buf, n, &back), 0);
		CHECK_EQ(back.type, m.type);
		/* every field has one encoding, so equal bytes are equal fields */
		CHECK_EQ(pfs_msg_encode(&back, again, sizeof(again), &n2), 0);
		CHECK_EQ(n2, n);
		CHECK(memcmp(again, buf, n) == 0);
		CHECK(strcmp(pfs_msg_name(m.type), "UNKNOWN") != 0);
		CHECK_EQ(pfs_msg_is_command(m.type), m.type < 0x80);
	}
}

PFS_TEST(decoded_fields_hold_the_values_sent)
{
	struct pfs_msg m, back;
	size_t n;

	sample_msg(PFS_MSG_ADD_SESSION, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(pfs_msg_decode(buf, n, &back), 0);
	CHECK(back.u.add_session.session_id == 0x0102030405060708ull);
	CHECK(back.u.add_session.peer_conn_id == 0xfedcba9876543210ull);
	CHECK_EQ(back.u.add_session.port, 4433);
	CHECK(memcmp(back.u.add_session.rx_key, m.u.add_session.rx_key, 32) == 0);
	CHECK(memcmp(back.u.add_session.tx_iv, m.u.add_session.tx_iv, 12) == 0);
	CHECK(back.u.add_session.tx_log_capacity == 1ull << 34);
	CHECK(str_is(back.u.add_session.rx_log_path, "/var/lib/pfs/logs/peer-a.rx"));
	CHECK_EQ(back.u.add_session.policy.cc, PFS_MSG_CC_BBR);
	CHECK_EQ(back.u.add_session.policy.rate_cap, 125000000);
	/* strings point into the buffer decoded, not at the sender's memory */
	CHECK(back.u.add_session.rx_log_path.p >= buf &&
	      back.u.add_session.rx_log_path.p < buf + n);

	sample_msg(PFS_MSG_START_TRANSFER, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(pfs_msg_decode(buf, n, &back), 0);
	CHECK_EQ(back.u.start_transfer.nsources, 3);
	CHECK(str_is(back.u.start_transfer.sources[2], "relative/dir with spaces/é"));
	CHECK(str_is(back.u.start_transfer.dest, "incoming/today"));

	sample_msg(PFS_MSG_SESSION_STATE, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(pfs_msg_decode(buf, n, &back), 0);
	CHECK_EQ(back.u.session_state.error, -10019);
	CHECK_EQ(back.u.session_state.state, PFS_SSTATE_FAILED);

	sample_msg(PFS_MSG_SET_KEYS, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(n, 4 + 8 + 2 * (PFS_MSG_KEY_BYTES + PFS_MSG_IV_BYTES));
	CHECK_EQ(pfs_msg_decode(buf, n, &back), 0);
	CHECK(back.u.set_keys.session_id == 42);
	CHECK(memcmp(back.u.set_keys.tx_key, m.u.set_keys.tx_key, PFS_MSG_KEY_BYTES) == 0);
	CHECK(memcmp(back.u.set_keys.tx_iv, m.u.set_keys.tx_iv, PFS_MSG_IV_BYTES) == 0);
	CHECK(memcmp(back.u.set_keys.rx_key, m.u.set_keys.rx_key, PFS_MSG_KEY_BYTES) == 0);
	CHECK(memcmp(back.u.set_keys.rx_iv, m.u.set_keys.rx_iv, PFS_MSG_IV_BYTES) == 0);
	/* the fields sit where docs/protocol.md says */
	CHECK_EQ(buf[4], 42);
	CHECK_EQ(buf[4 + 8], 0x10);
	CHECK_EQ(buf[4 + 8 + 32], 0x50);
	CHECK_EQ(buf[4 + 8 + 44], 0x90);
	CHECK_EQ(buf[4 + 8 + 44 + 32], 0xd0);
	CHECK_EQ(pfs_msg_is_command(PFS_MSG_SET_KEYS), 1);
	CHECK(strcmp(pfs_msg_name(PFS_MSG_SET_KEYS), "SET_KEYS") == 0);
}

PFS_TEST(every_truncation_of_every_message_is_truncated)
{
	for (size_t i = 0; i < SAMPLE_TYPES; i++) {
		struct pfs_msg m;
		size_t n;

		sample_msg(sample_types[i], &m);
		CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
		for (size_t k = 0; k < n; k++) {
			/* exactly k bytes in a buffer of its own: ASan sees any over-read */
			uint8_t *cut = malloc(k ? k : 1);

			memcpy(cut, buf, k);
			int rc = pfs_msg_decode(cut, k, &m);
			free(cut);
			CHECK_EQ(rc, PFS_ERR_TRUNCATED);
			sample_msg(sample_types[i], &m);
		}
	}
}

PFS_TEST(trailing_bytes_unknown_types_and_versions_are_refused)
{
	struct pfs_msg m;
	size_t n;

	sample_msg(PFS_MSG_CANCEL_TRANSFER, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[n] = 0;
	CHECK_EQ(pfs_msg_decode(buf, n + 1, &m), PFS_ERR_MALFORMED);

	static const uint16_t unknown[] = { 0, 8, 0x80, 0x88, 0xffff };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		uint8_t b[12] = { (uint8_t)unknown[i], (uint8_t)(unknown[i] >> 8), 1, 0 };
		CHECK_EQ(pfs_msg_decode(b, sizeof(b), &m), PFS_ERR_MALFORMED);
	}
	/* a known type of version 2 (or 0) is another version, not garbage */
	uint8_t v2[12] = { PFS_MSG_CANCEL_TRANSFER, 0, 2, 0 };
	CHECK_EQ(pfs_msg_decode(v2, sizeof(v2), &m), PFS_ERR_MSG_VERSION);
	uint8_t v0[12] = { PFS_MSG_READY, 0, 0, 0 };
	CHECK_EQ(pfs_msg_decode(v0, sizeof(v0), &m), PFS_ERR_MSG_VERSION);
	CHECK(strcmp(pfs_msg_name(0x7777), "UNKNOWN") == 0);
}

/* Encodes the sample of `type`, lets edit() change the bytes at the offset of
 * a field, and returns what the decoder says. */
static int decode_edited(uint16_t type, size_t at, const uint8_t *bytes, size_t nbytes)
{
	struct pfs_msg m;
	size_t n;

	sample_msg(type, &m);
	if (pfs_msg_encode(&m, buf, sizeof(buf), &n) != 0 || at + nbytes > n)
		return 12345;
	memcpy(buf + at, bytes, nbytes);
	return pfs_msg_decode(buf, n, &m);
}

/* ADD_SESSION field offsets (docs/protocol.md). */
#define AS_FAMILY (4 + 24)
#define AS_ADDR (AS_FAMILY + 1)
#define AS_PORT (AS_ADDR + 16)
#define AS_AEAD (AS_PORT + 2)
#define AS_TX_CAP (AS_AEAD + 1 + 32 + 12 + 32 + 12 + 32 + 8) /* keys, ivs, pair key, log id */
#define AS_TX_PATH (AS_TX_CAP + 8 + 8 + 8) /* capacity, epoch, resume point */

PFS_TEST(hostile_field_values_are_refused_with_the_right_error)
{
	uint8_t b5 = 5, zero2[2] = { 0, 0 }, aead3 = 3, cap3[8] = { 3 }, nul = 0;
	uint8_t big_len[2] = { 0xff, 0xff };

	CHECK_EQ(decode_edited(PFS_MSG_ADD_SESSION, AS_FAMILY, &b5, 1), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_ADD_SESSION, AS_PORT, zero2, 2), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_ADD_SESSION, AS_AEAD, &aead3, 1), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_ADD_SESSION, AS_TX_CAP, cap3, 8), PFS_ERR_MALFORMED);
	/* a NUL inside a path would cut it short for C: refused */
	CHECK_EQ(decode_edited(PFS_MSG_ADD_SESSION, AS_TX_PATH + 2 + 3, &nul, 1),
		 PFS_ERR_MALFORMED);
	/* a string length past the end */
	CHECK_EQ(decode_edited(PFS_MSG_ADD_SESSION, AS_TX_PATH, big_len, 2), PFS_ERR_TRUNCATED);
	/* IPv4 with bytes past the first four: not canonical */
	{
		struct pfs_msg m;
		size_t n;

		sample_msg(PFS_MSG_ADD_SESSION, &m);
		m.u.add_session.family = PFS_FAMILY_IPV4;
		CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
		memset(m.u.add_session.addr + 4, 0, 12);
		CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
		buf[AS_ADDR + 9] = 1;
		CHECK_EQ(pfs_msg_decode(buf, n, &m), PFS_ERR_MALFORMED);
	}
	/* SESSION_STATE: state FREE and a positive error code */
	uint8_t free_state = PFS_SSTATE_FREE, positive[4] = { 1, 0, 0, 0 };
	CHECK_EQ(decode_edited(PFS_MSG_SESSION_STATE, 4 + 8, &free_state, 1), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_SESSION_STATE, 4 + 9, positive, 4), PFS_ERR_MALFORMED);
	/* LOG level, SHUTDOWN mode out of range */
	uint8_t level9 = 9, mode2 = 2;
	CHECK_EQ(decode_edited(PFS_MSG_LOG, 4, &level9, 1), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_SHUTDOWN, 4, &mode2, 1), PFS_ERR_MALFORMED);
	/* START_TRANSFER: no source, too many sources */
	size_t nsrc_at = 4 + 16 + 2 + strlen("incoming/today");
	uint8_t none[2] = { 0, 0 }, many[2] = { PFS_MSG_SOURCES_MAX + 1, 0 };
	CHECK_EQ(decode_edited(PFS_MSG_START_TRANSFER, nsrc_at, none, 2), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_START_TRANSFER, nsrc_at, many, 2), PFS_ERR_LIMIT);
	/* READY with more workers than a region has */
	uint8_t workers[4] = { PFS_REGION_WORKERS_MAX + 1, 0, 0, 0 };
	CHECK_EQ(decode_edited(PFS_MSG_READY, 8, workers, 4), PFS_ERR_LIMIT);
}

PFS_TEST(set_keys_with_a_key_of_zeros_is_refused_both_ways_and_never_read_past_its_end)
{
	static const uint8_t zeros[PFS_MSG_KEY_BYTES];
	struct pfs_msg m;
	size_t n;

	/* a key of zeros is a key nobody set: the encoder refuses to write it */
	sample_msg(PFS_MSG_SET_KEYS, &m);
	memset(m.u.set_keys.tx_key, 0, sizeof(m.u.set_keys.tx_key));
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	sample_msg(PFS_MSG_SET_KEYS, &m);
	memset(m.u.set_keys.rx_key, 0, sizeof(m.u.set_keys.rx_key));
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	/* IVs of zeros are fine (the packet number makes the nonce) */
	sample_msg(PFS_MSG_SET_KEYS, &m);
	memset(m.u.set_keys.tx_iv, 0, sizeof(m.u.set_keys.tx_iv));
	memset(m.u.set_keys.rx_iv, 0, sizeof(m.u.set_keys.rx_iv));
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(pfs_msg_decode(buf, n, &m), 0);
	/* and the decoder refuses the same made by hand */
	CHECK_EQ(decode_edited(PFS_MSG_SET_KEYS, 4 + 8, zeros, sizeof(zeros)), PFS_ERR_MALFORMED);
	CHECK_EQ(decode_edited(PFS_MSG_SET_KEYS, 4 + 8 + 44, zeros, sizeof(zeros)),
		 PFS_ERR_MALFORMED);
	/* one key byte set is a key */
	uint8_t one[PFS_MSG_KEY_BYTES] = { 0 };
	one[31] = 1;
	CHECK_EQ(decode_edited(PFS_MSG_SET_KEYS, 4 + 8, one, sizeof(one)), 0);
	/* a byte past the end, and a version this side does not speak */
	sample_msg(PFS_MSG_SET_KEYS, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[n] = 0;
	CHECK_EQ(pfs_msg_decode(buf, n + 1, &m), PFS_ERR_MALFORMED);
	buf[2] = 2;
	CHECK_EQ(pfs_msg_decode(buf, n, &m), PFS_ERR_MSG_VERSION);
}

PFS_TEST(policy_rules_hold_in_both_directions)
{
	struct pfs_msg m;
	size_t n;

	sample_msg(PFS_MSG_SET_POLICY, &m);
	m.u.set_policy.policy.fixed_rate = 0; /* fixed rate of nothing */
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	sample_msg(PFS_MSG_SET_POLICY, &m);
	m.u.set_policy.policy.window_blocks = 0;
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	sample_msg(PFS_MSG_SET_POLICY, &m);
	m.u.set_policy.policy.max_pto_backoff = PFS_MSG_PTO_BACKOFF_MAX + 1;
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_LIMIT);
	sample_msg(PFS_MSG_SET_POLICY, &m);
	m.u.set_policy.policy.cc = 3;
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	/* and the same bytes, made by hand, are refused by the decoder */
	sample_msg(PFS_MSG_SET_POLICY, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	buf[4 + 8 + 4] = 3; /* cc */
	CHECK_EQ(pfs_msg_decode(buf, n, &m), PFS_ERR_MALFORMED);
}

PFS_TEST(strings_and_messages_over_their_limits_are_refused)
{
	static char longpath[PFS_MSG_PATH_MAX + 2], longtext[PFS_MSG_TEXT_MAX + 2];
	struct pfs_msg m;
	size_t n;

	memset(longpath, 'p', PFS_MSG_PATH_MAX + 1);
	memset(longtext, 't', PFS_MSG_TEXT_MAX + 1);
	sample_msg(PFS_MSG_LOG, &m);
	m.u.log.message = sample_str(longtext);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_LIMIT);
	m.u.log.message.len = PFS_MSG_TEXT_MAX; /* exactly at the limit: fine */
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(pfs_msg_decode(buf, n, &m), 0);
	/* a text one byte over the limit, made by hand */
	buf[5] = (PFS_MSG_TEXT_MAX + 1) & 0xff;
	buf[6] = (PFS_MSG_TEXT_MAX + 1) >> 8;
	buf[n] = 't';
	CHECK_EQ(pfs_msg_decode(buf, n + 1, &m), PFS_ERR_LIMIT);

	sample_msg(PFS_MSG_FILE_RECEIVED, &m);
	m.u.file.path = sample_str(longpath);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_LIMIT);

	/* 64 sources of the longest path: every field in range, the whole over
	 * PFS_MSG_MAX */
	sample_msg(PFS_MSG_START_TRANSFER, &m);
	m.u.start_transfer.nsources = PFS_MSG_SOURCES_MAX;
	for (unsigned i = 0; i < PFS_MSG_SOURCES_MAX; i++) {
		m.u.start_transfer.sources[i] = sample_str(longpath);
		m.u.start_transfer.sources[i].len = PFS_MSG_PATH_MAX;
	}
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_LIMIT);
	CHECK_EQ(pfs_msg_decode(buf, PFS_MSG_MAX + 1, &m), PFS_ERR_LIMIT);
	/* 15 of them fit */
	sample_msg(PFS_MSG_START_TRANSFER, &m);
	m.u.start_transfer.nsources = 15;
	for (int i = 0; i < 15; i++) {
		m.u.start_transfer.sources[i] = sample_str(longpath);
		m.u.start_transfer.sources[i].len = PFS_MSG_PATH_MAX;
	}
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK(n <= PFS_MSG_MAX);
	CHECK_EQ(pfs_msg_decode(buf, n, &m), 0);
}

PFS_TEST(encoder_reports_a_small_buffer_and_writes_nothing_past_it)
{
	struct pfs_msg m;
	size_t n, full;

	sample_msg(PFS_MSG_ADD_SESSION, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &full), 0);
	for (size_t cap = 0; cap < full; cap++) {
		memset(again, 0xee, sizeof(again));
		CHECK_EQ(pfs_msg_encode(&m, again, cap, &n), PFS_ERR_BUF_TOO_SMALL);
		CHECK_EQ(again[cap], 0xee);
	}
	m.type = 0x40;
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
}

PFS_TEST(backend_events_that_contradict_themselves_are_refused)
{
	struct pfs_msg m, back;
	size_t n;

	/* the UDP backend: no mode, interface, zero-copy or hugepages */
	sample_msg(PFS_MSG_BACKEND, &m);
	m.u.backend = (struct pfs_msg_backend){ .kind = PFS_BACKEND_UDP, .queues = 1 };
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	CHECK_EQ(pfs_msg_decode(buf, n, &back), 0);
	CHECK_EQ(back.u.backend.nreasons, 0);
	m.u.backend.xdp_mode = PFS_MSG_XDP_NATIVE;
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);

	sample_msg(PFS_MSG_BACKEND, &m);
	m.u.backend.xdp_mode = PFS_MSG_XDP_NONE; /* XDP without a mode */
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	sample_msg(PFS_MSG_BACKEND, &m);
	m.u.backend.kind = 3;
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	sample_msg(PFS_MSG_BACKEND, &m);
	m.u.backend.ifname = sample_str("");
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_MALFORMED);
	sample_msg(PFS_MSG_BACKEND, &m);
	m.u.backend.ifname = sample_str("sixteen-bytes-if");
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), PFS_ERR_LIMIT);

	/* a count over PFS_MSG_COUNTS_MAX stops the decoder */
	sample_msg(PFS_MSG_BACKEND, &m);
	CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
	size_t at = PFS_MSG_HEADER_BYTES + 4 + 4 + 2 + 4 + 4 * 8; /* nreasons */
	CHECK_EQ(buf[at], 10);
	buf[at] = PFS_MSG_COUNTS_MAX + 1;
	CHECK(pfs_msg_decode(buf, n, &back) != 0);
}

PFS_TEST_MAIN()
