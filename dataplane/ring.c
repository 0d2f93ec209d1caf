/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SPSC record ring (ring.h).
 *
 * Memory ordering. Each index has one writer. The producer writes a record's
 * bytes with plain stores and then publishes them by storing head with
 * release; the consumer loads head with acquire, so every byte below the head
 * it saw is visible to it. Symmetrically the consumer copies a record out and
 * then frees its bytes by storing tail with release; the producer loads tail
 * with acquire before it writes into bytes below tail + size, so it never
 * overwrites a record the consumer is still copying. The two processes map the
 * same pages, so these orderings hold across them as they do across threads.
 * Each side keeps its own index in private memory too and never trusts the
 * shared copy of it after attaching: the other side can only hurt itself.
 */
#include <stdatomic.h>
#include <string.h>

#include "compiler.h"
#include "error.h"
#include "ring.h"
#include "varint.h"

_Static_assert(sizeof(_Atomic uint64_t) == 8, "ring indices must be plain 64-bit words");

static _Atomic uint64_t *head_of(const struct pfs_ring *r)
{
	return (_Atomic uint64_t *)r->ctl;
}

static _Atomic uint64_t *tail_of(const struct pfs_ring *r)
{
	return (_Atomic uint64_t *)((uint8_t *)r->ctl + 64);
}

static uint64_t round8(uint64_t n)
{
	return (n + 7) & ~UINT64_C(7);
}

static uint32_t check_word(uint64_t index)
{
	return (uint32_t)(index >> 3) ^ PFS_RING_CHECK;
}

static int valid_bytes(uint64_t bytes)
{
	return bytes >= PFS_RING_BYTES_MIN && bytes <= PFS_RING_BYTES_MAX &&
	       (bytes & (bytes - 1)) == 0;
}

/* head and tail as the other side left them: at most `bytes` apart, in
 * order, on 8-byte boundaries. */
static int valid_span(uint64_t head, uint64_t tail, uint64_t bytes)
{
	return head - tail <= bytes && ((head | tail) & 7) == 0;
}

static int corrupt(struct pfs_ring *r)
{
	r->broken = PFS_ERR_RING_CORRUPT;
	return r->broken;
}

int pfs_ring_format(void *mem, uint64_t bytes)
{
	if (!mem || !valid_bytes(bytes) || ((uintptr_t)mem & (PFS_CACHELINE - 1)))
		return PFS_ERR_INVALID_ARG;
	memset(mem, 0, PFS_RING_CTL_BYTES);
	atomic_init((_Atomic uint64_t *)mem, 0);
	atomic_init((_Atomic uint64_t *)((uint8_t *)mem + 64), 0);
	return 0;
}

int pfs_ring_attach(struct pfs_ring *r, void *mem, uint64_t bytes, enum pfs_ring_side side)
{
	uint64_t head, tail;

	memset(r, 0, sizeof(*r));
	if (!mem || !valid_bytes(bytes) || ((uintptr_t)mem & (PFS_CACHELINE - 1)) ||
	    (side != PFS_RING_PRODUCER && side != PFS_RING_CONSUMER))
		return PFS_ERR_INVALID_ARG;
	r->ctl = mem;
	r->data = (uint8_t *)mem + PFS_RING_CTL_BYTES;
	r->bytes = bytes;
	r->side = side;
	/* acquire on both: whichever is the other side's, we must see the
	 * records (or the freed space) it published with it */
	head = atomic_load_explicit(head_of(r), memory_order_acquire);
	tail = atomic_load_explicit(tail_of(r), memory_order_acquire);
	if (!valid_span(head, tail, bytes))
		return corrupt(r);
	r->index = side == PFS_RING_PRODUCER ? head : tail;
	return 0;
}

static void put_header(uint8_t *p, uint32_t len, uint64_t index)
{
	pfs_put_le32(p, len);
	pfs_put_le32(p + 4, check_word(index));
}

int pfs_ring_push(struct pfs_ring *r, const void *msg, size_t len)
{
	uint64_t mask = r->bytes - 1, head = r->index, tail, pos, contig, rec, need;

	if (unlikely(r->broken))
		return r->broken;
	if (r->side != PFS_RING_PRODUCER)
		return PFS_ERR_INVALID_ARG;
	if (len == 0 || len > pfs_ring_msg_max(r->bytes))
		return PFS_ERR_LIMIT;
	/* acquire: pairs with the consumer's release of tail, so its copies out
	 * of the bytes it freed are done before we write over them */
	tail = atomic_load_explicit(tail_of(r), memory_order_acquire);
	if (unlikely(!valid_span(head, tail, r->bytes)))
		return corrupt(r);
	pos = head & mask;
	contig = r->bytes - pos;
	rec = PFS_RING_HEADER_BYTES + round8(len);
	need = rec <= contig ? rec : contig + rec;
	if (need > r->bytes - (head - tail))
		return PFS_ERR_RING_FULL;
	if (rec > contig) {
		put_header(r->data + pos, PFS_RING_SKIP, head);
		head += contig;
		pos = 0;
	}
	put_header(r->data + pos, (uint32_t)len, head);
	memcpy(r->data + pos + PFS_RING_HEADER_BYTES, msg, len);
	memset(r->data + pos + PFS_RING_HEADER_BYTES + len, 0, round8(len) - len);
	head += rec;
	r->index = head;
	/* release: the skip, header and message bytes above are visible to a
	 * consumer that sees this head */
	atomic_store_explicit(head_of(r), head, memory_order_release);
	return 0;
}

int pfs_ring_pop(struct pfs_ring *r, void *buf, size_t cap, size_t *len)
{
	uint64_t mask = r->bytes - 1, tail = r->index, head, pos, contig, rec;
	uint32_t n, check;

	if (unlikely(r->broken))
		return r->broken;
	if (r->side != PFS_RING_CONSUMER)
		return PFS_ERR_INVALID_ARG;
	/* acquire: pairs with the producer's release of head, so the bytes of
	 * every record below it are visible before we read them */
	head = atomic_load_explicit(head_of(r), memory_order_acquire);
	if (unlikely(!valid_span(head, tail, r->bytes)))
		return corrupt(r);
	for (;;) {
		if (head == tail)
			return 0;
		pos = tail & mask;
		contig = r->bytes - pos;
		/* head - tail >= 8 here: both are multiples of 8 and differ */
		n = pfs_get_le32(r->data + pos);
		check = pfs_get_le32(r->data + pos + 4);
		if (unlikely(check != check_word(tail)))
			return corrupt(r);
		if (n != PFS_RING_SKIP)
			break;
		/* a skip runs to the end of the data area and a record follows it
		 * at offset 0: a skip at offset 0 would skip a whole lap */
		if (unlikely(pos == 0 || contig >= head - tail))
			return corrupt(r);
		tail += contig;
	}
	rec = PFS_RING_HEADER_BYTES + round8(n);
	if (unlikely(n == 0 || n > pfs_ring_msg_max(r->bytes) || rec > contig || rec > head - tail))
		return corrupt(r);
	*len = n;
	if (n > cap) {
		/* a skip consumed above is kept: it frees space and is not a message */
		if (tail != r->index) {
			r->index = tail;
			atomic_store_explicit(tail_of(r), tail, memory_order_release);
		}
		return PFS_ERR_BUF_TOO_SMALL;
	}
	memcpy(buf, r->data + pos + PFS_RING_HEADER_BYTES, n);
	tail += rec;
	r->index = tail;
	/* release: our copy above is complete before the producer may reuse
	 * these bytes */
	atomic_store_explicit(tail_of(r), tail, memory_order_release);
	return 1;
}

uint64_t pfs_ring_used(const struct pfs_ring *r)
{
	uint64_t head, tail;

	if (r->side == PFS_RING_PRODUCER) {
		head = r->index;
		tail = atomic_load_explicit(tail_of(r), memory_order_acquire);
	} else {
		head = atomic_load_explicit(head_of(r), memory_order_acquire);
		tail = r->index;
	}
	return head - tail <= r->bytes ? head - tail : r->bytes;
}
