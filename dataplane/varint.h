/* SPDX-License-Identifier: Apache-2.0 */
/*
 * LEB128 varints and little-endian fixed-width fields. Readers check every
 * length against the bytes present and reject overlong encodings, so each
 * value has exactly one encoding on the wire.
 */
#ifndef PFS_VARINT_H
#define PFS_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define PFS_VARINT_MAX 10

struct pfs_reader {
	const uint8_t *p;
	size_t len, pos;
	int bad; /* sticky: set by the first failed read */
};

static inline size_t pfs_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t pfs_read_varint(struct pfs_reader *r)
{
	uint64_t v = 0;

	for (unsigned i = 0, shift = 0; i < PFS_VARINT_MAX; i++, shift += 7) {
		uint8_t b;

		if (r->pos >= r->len)
			break;
		b = r->p[r->pos++];
		/* the 10th byte may only carry bit 63; a final zero byte would be overlong */
		if ((i == PFS_VARINT_MAX - 1 && b > 1) || (i > 0 && b == 0))
			break;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static inline void pfs_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void pfs_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t pfs_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t pfs_get_le64(const uint8_t *p)
{
	return (uint64_t)pfs_get_le32(p) | (uint64_t)pfs_get_le32(p + 4) << 32;
}

static inline uint64_t pfs_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t pfs_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
