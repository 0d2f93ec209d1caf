/* SPDX-License-Identifier: Apache-2.0 */
/* The packet envelope: sealing, authentication, header binding, replay window. */
#include <string.h>

#include "error.h"
#include "harness.h"
#include "packet.h"
#include "test_rand.h"

static const enum pfs_aead_alg algs[] = { PFS_AEAD_AES256GCM, PFS_AEAD_CHACHA20POLY1305 };
#define NALGS (sizeof(algs) / sizeof(algs[0]))

static uint8_t key[PFS_AEAD_KEY_BYTES], iv[PFS_AEAD_IV_BYTES];
static uint8_t frames[PFS_PACKET_MAX], pkt[PFS_PACKET_MAX], back[PFS_PACKET_MAX];

static int setup(struct pfs_aead *a, enum pfs_aead_alg alg)
{
	rng_seed(42);
	fill_random(key, sizeof(key));
	fill_random(iv, sizeof(iv));
	return pfs_aead_init(a, alg, key, iv);
}

PFS_TEST(sealed_packets_open_to_the_same_frames_and_header)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 1400, 8972,
					PFS_PACKET_MAX - PFS_PACKET_OVERHEAD };
	for (size_t k = 0; k < NALGS; k++) {
		struct pfs_aead a;
		CHECK_EQ(setup(&a, algs[k]), 0);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct pfs_packet_header h = { PFS_PACKET_DATA, 0x1122334455667788ull,
						       1000 + i },
						 g;
			size_t n, m;
			fill_random(frames, sizes[i]);
			CHECK_EQ(pfs_packet_seal(&a, &h, frames, sizes[i], pkt, sizeof(pkt), &n), 0);
			CHECK_EQ(n, sizes[i] + PFS_PACKET_OVERHEAD);
			CHECK_EQ(pfs_packet_open(&a, pkt, n, &g, back, sizeof(back), &m), 0);
			CHECK_EQ(m, sizes[i]);
			CHECK(memcmp(back, frames, m) == 0);
			CHECK(g.type == h.type && g.conn_id == h.conn_id && g.pn == h.pn);
		}
		pfs_aead_wipe(&a);
	}
}

PFS_TEST(auto_picks_aes_gcm_when_the_cpu_has_it)
{
	struct pfs_aead a;
	CHECK_EQ(setup(&a, PFS_AEAD_AUTO), 0);
	CHECK_EQ(a.alg, crypto_aead_aes256gcm_is_available() ? PFS_AEAD_AES256GCM
							       : PFS_AEAD_CHACHA20POLY1305);
	CHECK(strcmp(pfs_aead_name(a.alg), "auto") != 0);
	CHECK_EQ(pfs_aead_init(&a, (enum pfs_aead_alg)7, key, iv), PFS_ERR_INVALID_ARG);
}

PFS_TEST(every_bit_flip_fails_authentication_or_framing)
{
	for (size_t k = 0; k < NALGS; k++) {
		struct pfs_aead a;
		struct pfs_packet_header h = { PFS_PACKET_DATA, 7, 99 }, g;
		size_t n, m;
		CHECK_EQ(setup(&a, algs[k]), 0);
		fill_random(frames, 64);
		CHECK_EQ(pfs_packet_seal(&a, &h, frames, 64, pkt, sizeof(pkt), &n), 0);
		for (size_t bit = 0; bit < n * 8; bit++) {
			pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			int rc = pfs_packet_open(&a, pkt, n, &g, back, sizeof(back), &m);
			pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			/* header bits covered by the AD fail AUTH; framing bits fail earlier */
			CHECK(rc == PFS_ERR_AUTH || rc == PFS_ERR_BAD_MAGIC || rc == PFS_ERR_MALFORMED);
		}
		CHECK_EQ(pfs_packet_open(&a, pkt, n, &g, back, sizeof(back), &m), 0);
	}
}

PFS_TEST(another_key_or_iv_cannot_open_the_packet)
{
	struct pfs_aead a, b;
	struct pfs_packet_header h = { PFS_PACKET_DATA, 7, 5 }, g;
	uint8_t other[PFS_AEAD_KEY_BYTES];
	size_t n, m;

	CHECK_EQ(setup(&a, PFS_AEAD_CHACHA20POLY1305), 0);
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, 100, pkt, sizeof(pkt), &n), 0);
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	CHECK_EQ(pfs_aead_init(&b, PFS_AEAD_CHACHA20POLY1305, other, iv), 0);
	CHECK_EQ(pfs_packet_open(&b, pkt, n, &g, back, sizeof(back), &m), PFS_ERR_AUTH);
	iv[11] ^= 1;
	CHECK_EQ(pfs_aead_init(&b, PFS_AEAD_CHACHA20POLY1305, key, iv), 0);
	CHECK_EQ(pfs_packet_open(&b, pkt, n, &g, back, sizeof(back), &m), PFS_ERR_AUTH);
	/* and the same algorithm under AES cannot read ChaCha packets */
	iv[11] ^= 1;
	if (crypto_aead_aes256gcm_is_available()) {
		CHECK_EQ(pfs_aead_init(&b, PFS_AEAD_AES256GCM, key, iv), 0);
		CHECK_EQ(pfs_packet_open(&b, pkt, n, &g, back, sizeof(back), &m), PFS_ERR_AUTH);
	}
}

PFS_TEST(packet_numbers_give_distinct_ciphertexts_for_equal_frames)
{
	struct pfs_aead a;
	uint8_t first[256];
	size_t n;

	CHECK_EQ(setup(&a, PFS_AEAD_AUTO), 0);
	memset(frames, 0xab, 200);
	struct pfs_packet_header h = { PFS_PACKET_DATA, 1, 1 };
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, 200, first, sizeof(first), &n), 0);
	h.pn = 2;
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, 200, pkt, sizeof(pkt), &n), 0);
	CHECK(memcmp(first + PFS_PACKET_HEADER_BYTES, pkt + PFS_PACKET_HEADER_BYTES,
		     200 + PFS_PACKET_TAG_BYTES) != 0);
}

PFS_TEST(short_wrong_and_oversize_packets_are_refused)
{
	struct pfs_aead a;
	struct pfs_packet_header h = { PFS_PACKET_DATA, 3, 4 }, g;
	size_t n, m;

	CHECK_EQ(setup(&a, PFS_AEAD_AUTO), 0);
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, 32, pkt, sizeof(pkt), &n), 0);
	for (size_t len = 0; len < n; len++)
		CHECK(pfs_packet_open(&a, pkt, len, &g, back, sizeof(back), &m) != 0);
	CHECK_EQ(pfs_packet_open(&a, pkt, n, &g, back, 31, &m), PFS_ERR_BUF_TOO_SMALL);
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, 32, pkt, n - 1, &n), PFS_ERR_BUF_TOO_SMALL);
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, PFS_PACKET_MAX, pkt, sizeof(pkt), &n),
		 PFS_ERR_INVALID_ARG);
	h.type = 0;
	CHECK_EQ(pfs_packet_seal(&a, &h, frames, 1, pkt, sizeof(pkt), &n), PFS_ERR_INVALID_ARG);
	/* peek alone: framing errors by kind */
	uint8_t hdr[PFS_PACKET_HEADER_BYTES] = { PFS_PACKET_MAGIC, PFS_PACKET_VERSION,
						 PFS_PACKET_DATA, 0 };
	CHECK_EQ(pfs_packet_peek(hdr, sizeof(hdr), &g), 0);
	CHECK_EQ(pfs_packet_peek(hdr, sizeof(hdr) - 1, &g), PFS_ERR_TRUNCATED);
	hdr[3] = 1;
	CHECK_EQ(pfs_packet_peek(hdr, sizeof(hdr), &g), PFS_ERR_MALFORMED);
	hdr[3] = 0;
	hdr[2] = PFS_PACKET_TYPE_MAX + 1;
	CHECK_EQ(pfs_packet_peek(hdr, sizeof(hdr), &g), PFS_ERR_MALFORMED);
	hdr[2] = PFS_PACKET_DATA;
	hdr[1] = PFS_PACKET_VERSION + 1;
	CHECK_EQ(pfs_packet_peek(hdr, sizeof(hdr), &g), PFS_ERR_BAD_MAGIC);
}

PFS_TEST(replay_window_accepts_each_number_once_and_refuses_the_too_old)
{
	struct pfs_replay r = { 0 };

	CHECK_EQ(pfs_replay_check(&r, 0), 0);
	pfs_replay_commit(&r, 0);
	CHECK_EQ(pfs_replay_check(&r, 0), PFS_ERR_REPLAY);
	/* reordering inside the window is fine, once */
	pfs_replay_commit(&r, 10);
	CHECK_EQ(pfs_replay_check(&r, 5), 0);
	pfs_replay_commit(&r, 5);
	CHECK_EQ(pfs_replay_check(&r, 5), PFS_ERR_REPLAY);
	/* a jump forward: the window's far end moves with it */
	pfs_replay_commit(&r, 10 + PFS_REPLAY_WINDOW);
	CHECK_EQ(pfs_replay_check(&r, 10), PFS_ERR_REPLAY);     /* too old */
	CHECK_EQ(pfs_replay_check(&r, 11), 0);                  /* oldest inside */
	CHECK_EQ(pfs_replay_check(&r, 10 + PFS_REPLAY_WINDOW), PFS_ERR_REPLAY);
	CHECK_EQ(pfs_replay_check(&r, UINT64_MAX), PFS_ERR_REPLAY);
}

PFS_TEST(replay_window_matches_a_reference_model_under_random_order)
{
	static uint8_t accepted[1 << 16];
	struct pfs_replay r = { 0 };
	uint64_t top = 0;

	rng_seed(7);
	memset(accepted, 0, sizeof(accepted));
	for (int i = 0; i < 200000; i++) {
		/* mostly ascending with reordering, duplicates and stragglers */
		uint64_t pn = top + rnd_below(64);
		pn = pn > 2000 ? pn - rnd_below(2000) : pn;
		if (pn >= sizeof(accepted))
			break;
		int fresh = !accepted[pn] && (pn >= top || top - pn <= PFS_REPLAY_WINDOW);
		CHECK_EQ(pfs_replay_check(&r, pn) == 0, fresh);
		if (fresh) {
			pfs_replay_commit(&r, pn);
			accepted[pn] = 1;
			if (pn + 1 > top)
				top = pn + 1;
		}
	}
	CHECK(top > 10000);
}

PFS_TEST_MAIN()
