/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The packet envelope: one UDP payload (or one AF_XDP frame's payload) is a
 * cleartext header followed by AEAD-sealed frames. Sans-IO: buffers in,
 * buffers out. Format in docs/protocol.md.
 *
 *  0  u8   magic PFS_PACKET_MAGIC
 *  1  u8   version
 *  2  u8   type (enum pfs_packet_type)
 *  3  u8   reserved, 0
 *  4  u64  connection id, little-endian: names the receiver's session
 * 12  u64  packet number, little-endian: never repeats within a key
 * 20  ...  ciphertext of the frames, then a 16-byte tag
 *
 * The 20 header bytes are the associated data, so a changed header fails
 * authentication like a changed payload. The nonce is the key's 12-byte IV with
 * the packet number, big-endian, XORed into its last 8 bytes (as TLS 1.3 and
 * QUIC do): distinct packet numbers give distinct nonces.
 *
 * Receiving is three steps, in this order: pfs_packet_peek (cleartext header, to
 * find the session by connection id), pfs_packet_open (authenticate and
 * decrypt), then pfs_replay_check + pfs_replay_commit. A packet that fails any
 * step is dropped and counted by the caller; nothing of it is parsed further.
 */
#ifndef PFS_PACKET_H
#define PFS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define PFS_PACKET_MAGIC 0xB8u
#define PFS_PACKET_VERSION 1u
#define PFS_PACKET_HEADER_BYTES 20u
#define PFS_PACKET_TAG_BYTES 16u
#define PFS_PACKET_OVERHEAD (PFS_PACKET_HEADER_BYTES + PFS_PACKET_TAG_BYTES)
#define PFS_PACKET_MAX 65507u /* largest UDP payload over IPv4 */
#define PFS_AEAD_KEY_BYTES 32u
#define PFS_AEAD_IV_BYTES 12u
#define PFS_REPLAY_WINDOW 1024u /* packet numbers tracked behind the highest */

enum pfs_packet_type {
	PFS_PACKET_DATA = 1, /* frames of an established session */
	PFS_PACKET_TYPE_MAX = 1,
};

enum pfs_aead_alg {
	PFS_AEAD_AUTO = 0,              /* AES-256-GCM where the CPU has AES, else ChaCha20 */
	PFS_AEAD_AES256GCM = 1,
	PFS_AEAD_CHACHA20POLY1305 = 2,  /* IETF variant, 96-bit nonce */
};

struct pfs_aead {
	crypto_aead_aes256gcm_state aes; /* expanded key (AES-256-GCM only) */
	uint8_t key[PFS_AEAD_KEY_BYTES];  /* ChaCha20-Poly1305 only */
	uint8_t iv[PFS_AEAD_IV_BYTES];
	enum pfs_aead_alg alg;
};

struct pfs_packet_header {
	uint8_t type;
	uint64_t conn_id;
	uint64_t pn;
};

struct pfs_replay {
	uint64_t top; /* highest packet number accepted + 1; 0: none yet */
	uint64_t seen[PFS_REPLAY_WINDOW / 64];
};

/*
 * Sets up one direction's key. AUTO picks AES-256-GCM when the CPU supports it.
 * Returns 0, PFS_ERR_CRYPTO (libsodium failed to start, or AES-256-GCM was
 * asked for on a CPU without it) or PFS_ERR_INVALID_ARG.
 */
int pfs_aead_init(struct pfs_aead *a, enum pfs_aead_alg alg, const uint8_t key[PFS_AEAD_KEY_BYTES],
		  const uint8_t iv[PFS_AEAD_IV_BYTES]);
void pfs_aead_wipe(struct pfs_aead *a);
const char *pfs_aead_name(enum pfs_aead_alg alg);

/*
 * Seals len bytes of frames into out as one packet of len + PFS_PACKET_OVERHEAD
 * bytes. The caller guarantees pn was never used with this key. Returns 0,
 * PFS_ERR_INVALID_ARG (unknown type, or the packet would exceed PFS_PACKET_MAX)
 * or PFS_ERR_BUF_TOO_SMALL.
 */
int pfs_packet_seal(const struct pfs_aead *a, const struct pfs_packet_header *h,
		    const uint8_t *frames, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Parses the cleartext header. Returns 0, PFS_ERR_TRUNCATED, PFS_ERR_BAD_MAGIC
 * (magic or version) or PFS_ERR_MALFORMED (type or reserved byte). */
int pfs_packet_peek(const uint8_t *pkt, size_t len, struct pfs_packet_header *h);

/*
 * Authenticates and decrypts a packet into out (cap >= len - OVERHEAD); *out_len
 * is the frames' length. Returns 0, a pfs_packet_peek error, PFS_ERR_BUF_TOO_SMALL
 * or PFS_ERR_AUTH; on error out holds nothing usable.
 */
int pfs_packet_open(const struct pfs_aead *a, const uint8_t *pkt, size_t len,
		    struct pfs_packet_header *h, uint8_t *out, size_t cap, size_t *out_len);

/* 0 if pn is new and inside the window, else PFS_ERR_REPLAY. Changes nothing. */
int pfs_replay_check(const struct pfs_replay *r, uint64_t pn);

/* Records pn as seen; call only after the packet authenticated and passed
 * pfs_replay_check, so forged packets cannot move the window. */
void pfs_replay_commit(struct pfs_replay *r, uint64_t pn);

#endif
