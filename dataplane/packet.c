/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "error.h"
#include "packet.h"
#include "varint.h"

int pfs_aead_init(struct pfs_aead *a, enum pfs_aead_alg alg, const uint8_t key[PFS_AEAD_KEY_BYTES],
		  const uint8_t iv[PFS_AEAD_IV_BYTES])
{
	if (sodium_init() < 0)
		return PFS_ERR_CRYPTO;
	memset(a, 0, sizeof(*a));
	if (alg == PFS_AEAD_AUTO)
		alg = crypto_aead_aes256gcm_is_available() ? PFS_AEAD_AES256GCM
							    : PFS_AEAD_CHACHA20POLY1305;
	switch (alg) {
	case PFS_AEAD_AES256GCM:
		if (!crypto_aead_aes256gcm_is_available())
			return PFS_ERR_CRYPTO;
		if (crypto_aead_aes256gcm_beforenm(&a->aes, key) != 0)
			return PFS_ERR_CRYPTO;
		break;
	case PFS_AEAD_CHACHA20POLY1305:
		memcpy(a->key, key, PFS_AEAD_KEY_BYTES);
		break;
	default:
		return PFS_ERR_INVALID_ARG;
	}
	memcpy(a->iv, iv, PFS_AEAD_IV_BYTES);
	a->alg = alg;
	return 0;
}

void pfs_aead_wipe(struct pfs_aead *a)
{
	sodium_memzero(a, sizeof(*a));
}

const char *pfs_aead_name(enum pfs_aead_alg alg)
{
	switch (alg) {
	case PFS_AEAD_AES256GCM:
		return "aes-256-gcm";
	case PFS_AEAD_CHACHA20POLY1305:
		return "chacha20-poly1305";
	default:
		return "auto";
	}
}

static void make_nonce(const struct pfs_aead *a, uint64_t pn, uint8_t nonce[PFS_AEAD_IV_BYTES])
{
	memcpy(nonce, a->iv, PFS_AEAD_IV_BYTES);
	for (int i = 0; i < 8; i++)
		nonce[PFS_AEAD_IV_BYTES - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

static void put_header(uint8_t *p, const struct pfs_packet_header *h)
{
	p[0] = PFS_PACKET_MAGIC;
	p[1] = PFS_PACKET_VERSION;
	p[2] = h->type;
	p[3] = 0;
	pfs_put_le64(p + 4, h->conn_id);
	pfs_put_le64(p + 12, h->pn);
}

int pfs_packet_seal(const struct pfs_aead *a, const struct pfs_packet_header *h,
		    const uint8_t *frames, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t nonce[PFS_AEAD_IV_BYTES];
	unsigned long long clen;
	int rc;

	if (h->type == 0 || h->type > PFS_PACKET_TYPE_MAX ||
	    len > PFS_PACKET_MAX - PFS_PACKET_OVERHEAD)
		return PFS_ERR_INVALID_ARG;
	if (cap < len + PFS_PACKET_OVERHEAD)
		return PFS_ERR_BUF_TOO_SMALL;
	put_header(out, h);
	make_nonce(a, h->pn, nonce);
	if (a->alg == PFS_AEAD_AES256GCM)
		rc = crypto_aead_aes256gcm_encrypt_afternm(out + PFS_PACKET_HEADER_BYTES, &clen, frames,
							    len, out, PFS_PACKET_HEADER_BYTES, NULL,
							    nonce, &a->aes);
	else
		rc = crypto_aead_chacha20poly1305_ietf_encrypt(out + PFS_PACKET_HEADER_BYTES, &clen,
							       frames, len, out,
							       PFS_PACKET_HEADER_BYTES, NULL, nonce,
							       a->key);
	if (rc != 0)
		return PFS_ERR_CRYPTO;
	*out_len = PFS_PACKET_HEADER_BYTES + (size_t)clen;
	return 0;
}

int pfs_packet_peek(const uint8_t *pkt, size_t len, struct pfs_packet_header *h)
{
	if (len < PFS_PACKET_HEADER_BYTES)
		return PFS_ERR_TRUNCATED;
	if (pkt[0] != PFS_PACKET_MAGIC || pkt[1] != PFS_PACKET_VERSION)
		return PFS_ERR_BAD_MAGIC;
	if (pkt[2] == 0 || pkt[2] > PFS_PACKET_TYPE_MAX || pkt[3] != 0)
		return PFS_ERR_MALFORMED;
	h->type = pkt[2];
	h->conn_id = pfs_get_le64(pkt + 4);
	h->pn = pfs_get_le64(pkt + 12);
	return 0;
}

int pfs_packet_open(const struct pfs_aead *a, const uint8_t *pkt, size_t len,
		    struct pfs_packet_header *h, uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t nonce[PFS_AEAD_IV_BYTES];
	unsigned long long mlen;
	int rc;

	rc = pfs_packet_peek(pkt, len, h);
	if (rc)
		return rc;
	if (len < PFS_PACKET_OVERHEAD || len > PFS_PACKET_MAX)
		return PFS_ERR_TRUNCATED;
	if (cap < len - PFS_PACKET_OVERHEAD)
		return PFS_ERR_BUF_TOO_SMALL;
	make_nonce(a, h->pn, nonce);
	if (a->alg == PFS_AEAD_AES256GCM)
		rc = crypto_aead_aes256gcm_decrypt_afternm(out, &mlen, NULL,
							    pkt + PFS_PACKET_HEADER_BYTES,
							    len - PFS_PACKET_HEADER_BYTES, pkt,
							    PFS_PACKET_HEADER_BYTES, nonce, &a->aes);
	else
		rc = crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL,
							       pkt + PFS_PACKET_HEADER_BYTES,
							       len - PFS_PACKET_HEADER_BYTES, pkt,
							       PFS_PACKET_HEADER_BYTES, nonce, a->key);
	if (rc != 0)
		return PFS_ERR_AUTH;
	*out_len = (size_t)mlen;
	return 0;
}

/* The window covers [top - WINDOW, top); bit pn % WINDOW marks pn as seen. */
static int seen(const struct pfs_replay *r, uint64_t pn)
{
	return (r->seen[(pn % PFS_REPLAY_WINDOW) / 64] >> (pn % 64)) & 1;
}

int pfs_replay_check(const struct pfs_replay *r, uint64_t pn)
{
	if (pn >= r->top)
		return pn == UINT64_MAX ? PFS_ERR_REPLAY : 0; /* top must stay representable */
	if (r->top - pn > PFS_REPLAY_WINDOW || seen(r, pn))
		return PFS_ERR_REPLAY;
	return 0;
}

void pfs_replay_commit(struct pfs_replay *r, uint64_t pn)
{
	if (pn >= r->top) {
		/* forget the numbers that slide out: they now stand for newer ones */
		uint64_t gap = pn + 1 - r->top;
		if (gap >= PFS_REPLAY_WINDOW) {
			memset(r->seen, 0, sizeof(r->seen));
		} else {
			for (uint64_t p = r->top; p <= pn; p++)
				r->seen[(p % PFS_REPLAY_WINDOW) / 64] &= ~(UINT64_C(1) << (p % 64));
		}
		r->top = pn + 1;
	}
	r->seen[(pn % PFS_REPLAY_WINDOW) / 64] |= UINT64_C(1) << (pn % 64);
}
