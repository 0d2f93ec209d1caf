/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ethernet / 802.1Q / IPv4 or IPv6 / UDP framing (ethframe.h).
 *
 * The parser walks the headers front to back with one offset into the frame,
 * and checks that the bytes a read needs are there before it reads them; a
 * length that a header states is believed only once it is known to fit the
 * frame. Fields are read byte by byte in network order, never through a
 * struct laid over packet memory (the frame may sit at any alignment).
 *
 * Order of the checks, cheapest first: the headers' shape and lengths, the
 * IPv4 header checksum (20 to 60 bytes), the destination (so that frames for
 * someone else cost no payload checksum), and last the UDP checksum over the
 * whole datagram.
 *
 * Checksums are the Internet checksum (RFC 1071), summed as 64-bit host-order
 * words: the one's-complement sum does not depend on byte order (RFC 1071
 * §2(B)), so a sum of host-order words, folded to 16 bits and stored back in
 * host order, gives the bytes a big-endian sum would.
 */
#include <string.h>

#include "compiler.h"
#include "ethframe.h"

enum {
	HLEN_ETH = 14,
	HLEN_VLAN = 4,
	HLEN_IP4 = 20,
	HLEN_IP6 = 40,
	HLEN_UDP = 8,
	ETYPE_IP4 = 0x0800,
	ETYPE_IP6 = 0x86dd,
	ETYPE_VLAN = 0x8100,
	VLAN_VID_MASK = 0x0fff,
	VLAN_VID_MAX = 4094, /* 4095 is reserved (IEEE 802.1Q) */
	IP4_DF = 0x4000,
	IP4_FRAG_MASK = 0x3fff, /* MF and the fragment offset */
	PROTO_UDP = 17,
	IP_LEN_MAX = 65535, /* IPv4 total length, IPv6 payload length */
	HOP_LIMIT_DEFAULT = 64,
};

_Static_assert(HLEN_ETH + HLEN_VLAN + HLEN_IP6 + HLEN_UDP == PFS_ETH_HDR_MAX,
	       "PFS_ETH_HDR_MAX must be the largest header built here");

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Adds p[0, n) to the running sum acc as 16-bit words in host order, each
 * carry out of bit 63 added back in (end-around carry; 2^64 = 1 modulo
 * 0xffff). p needs no alignment (memcpy loads). Only the last piece of a sum
 * may have an odd n: its odd byte is the high byte of a word padded with zero.
 */
static uint64_t csum_add(uint64_t acc, const uint8_t *p, size_t n)
{
	uint64_t w;
	uint32_t d;
	uint16_t h;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		acc += w;
		acc += acc < w;
	}
	if (n >= 4) {
		memcpy(&d, p, 4);
		acc += d;
		acc += acc < d;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		acc += acc < h;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
		acc += acc < h;
	}
	return acc;
}

/* The 16-bit one's-complement sum of acc, in host order. */
static uint16_t csum_fold(uint64_t acc)
{
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/*
 * The sum of the UDP pseudo-header (RFC 768 for IPv4, RFC 8200 §8.1 for
 * IPv6) for addresses of alen bytes. The two differ in layout only: IPv4's
 * zero byte, protocol and 16-bit length sum to the same words as IPv6's 32-bit
 * length (whose high half is 0 for UDP), three zero bytes and next header.
 */
static uint64_t csum_pseudo(const uint8_t *src, const uint8_t *dst, size_t alen, uint16_t udp_len)
{
	const uint8_t tail[4] = { 0, PROTO_UDP, (uint8_t)(udp_len >> 8), (uint8_t)udp_len };
	uint64_t acc = csum_add(0, src, alen);

	acc = csum_add(acc, dst, alen);
	return csum_add(acc, tail, sizeof(tail));
}

static int path_valid(const struct pfs_eth_path *path)
{
	return (path->src.family == 4 || path->src.family == 6) &&
	       path->dst.family == path->src.family && path->vlan_id <= VLAN_VID_MAX;
}

size_t pfs_eth_hdr_len(const struct pfs_eth_path *path)
{
	if (!path_valid(path))
		return 0;
	return HLEN_ETH + (path->vlan_id ? HLEN_VLAN : 0) +
	       (path->src.family == 4 ? HLEN_IP4 : HLEN_IP6) + HLEN_UDP;
}

/* Writes the Ethernet header (and tag); returns its length. */
static size_t put_eth(uint8_t *p, const struct pfs_eth_path *path)
{
	size_t off = 2 * PFS_ETH_ALEN;

	memcpy(p, path->dst_mac, PFS_ETH_ALEN);
	memcpy(p + PFS_ETH_ALEN, path->src_mac, PFS_ETH_ALEN);
	if (path->vlan_id) {
		put16(p + off, ETYPE_VLAN);
		put16(p + off + 2, path->vlan_id); /* PCP 0, DEI 0 */
		off += HLEN_VLAN;
	}
	put16(p + off, path->src.family == 4 ? ETYPE_IP4 : ETYPE_IP6);
	return off + 2;
}

static void put_ip4(uint8_t *p, const struct pfs_eth_path *path, uint8_t ttl, size_t udp_len)
{
	uint16_t sum;

	p[0] = 0x45; /* version 4, IHL 5 */
	p[1] = 0;    /* DSCP, ECN */
	put16(p + 2, (uint16_t)(HLEN_IP4 + udp_len));
	put16(p + 4, 0); /* identification: unused with DF (RFC 6864) */
	put16(p + 6, IP4_DF);
	p[8] = ttl;
	p[9] = PROTO_UDP;
	put16(p + 10, 0);
	memcpy(p + 12, path->src.ip, 4);
	memcpy(p + 16, path->dst.ip, 4);
	sum = (uint16_t)~csum_fold(csum_add(0, p, HLEN_IP4));
	memcpy(p + 10, &sum, 2); /* host order, as summed */
}

static void put_ip6(uint8_t *p, const struct pfs_eth_path *path, uint8_t hop_limit, size_t udp_len)
{
	p[0] = 0x60; /* version 6, traffic class 0, flow label 0 */
	p[1] = p[2] = p[3] = 0;
	put16(p + 4, (uint16_t)udp_len);
	p[6] = PROTO_UDP;
	p[7] = hop_limit;
	memcpy(p + 8, path->src.ip, 16);
	memcpy(p + 24, path->dst.ip, 16);
}

size_t pfs_eth_build(uint8_t *hdr, const struct pfs_eth_path *path, size_t payload_len)
{
	size_t hlen = pfs_eth_hdr_len(path), off, udp_len = HLEN_UDP + payload_len;
	uint8_t ttl = path->hop_limit ? path->hop_limit : HOP_LIMIT_DEFAULT;
	int v4 = path->src.family == 4;
	uint8_t *udp;
	uint16_t sum;

	if (!hlen || payload_len > (size_t)(IP_LEN_MAX - HLEN_UDP - (v4 ? HLEN_IP4 : 0)))
		return 0;
	off = put_eth(hdr, path);
	if (v4)
		put_ip4(hdr + off, path, ttl, udp_len);
	else
		put_ip6(hdr + off, path, ttl, udp_len);
	udp = hdr + off + (v4 ? HLEN_IP4 : HLEN_IP6);
	put16(udp, path->src.port);
	put16(udp + 2, path->dst.port);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0); /* IPv4: no checksum (the payload is AEAD-sealed) */
	if (!v4) {
		/* over the pseudo-header, the header (checksum 0) and the payload */
		sum = (uint16_t)~csum_fold(
			csum_add(csum_pseudo(path->src.ip, path->dst.ip, 16, (uint16_t)udp_len),
				 udp, udp_len));
		/* a computed 0 is sent as 0xffff, its other form (RFC 768): 0 is "none" */
		if (!sum)
			sum = 0xffff;
		memcpy(udp + 6, &sum, 2); /* host order, as summed */
	}
	return hlen + payload_len;
}

/* What the IP layer tells the UDP layer. */
struct ip_view {
	const uint8_t *src, *dst; /* addresses, alen bytes each, in the frame */
	size_t alen;
	size_t udp_off, udp_max; /* where the IP payload starts, and its length */
	uint8_t family;
};

static enum pfs_eth_verdict parse_ip4(const uint8_t *ip, size_t avail, struct ip_view *v)
{
	size_t ihl, tot;

	if (avail < HLEN_IP4)
		return PFS_ETH_TRUNCATED;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ip[0] >> 4 != 4 || ihl < HLEN_IP4)
		return PFS_ETH_BAD_IP;
	if (avail < ihl)
		return PFS_ETH_TRUNCATED;
	if (csum_fold(csum_add(0, ip, ihl)) != 0xffff)
		return PFS_ETH_BAD_IP;
	tot = get16(ip + 2);
	if (tot < ihl)
		return PFS_ETH_BAD_IP;
	if (tot > avail)
		return PFS_ETH_TRUNCATED;
	if (get16(ip + 6) & IP4_FRAG_MASK)
		return PFS_ETH_FRAGMENT;
	if (ip[9] != PROTO_UDP)
		return PFS_ETH_NOT_UDP;
	v->src = ip + 12;
	v->dst = ip + 16;
	v->alen = 4;
	v->udp_off = ihl;
	v->udp_max = tot - ihl; /* bytes past tot are Ethernet padding */
	v->family = 4;
	return PFS_ETH_OK;
}

/* Extension headers, even ones a UDP datagram may follow, are refused: the
 * peers never send them, and skipping them is work a hostile frame chooses. */
static enum pfs_eth_verdict parse_ip6(const uint8_t *ip, size_t avail, struct ip_view *v)
{
	size_t plen;

	if (avail < HLEN_IP6)
		return PFS_ETH_TRUNCATED;
	if (ip[0] >> 4 != 6)
		return PFS_ETH_BAD_IP;
	plen = get16(ip + 4); /* 0 with a jumbogram's hop-by-hop header: refused below */
	if (plen > avail - HLEN_IP6)
		return PFS_ETH_TRUNCATED;
	if (ip[6] != PROTO_UDP)
		return PFS_ETH_NOT_UDP;
	v->src = ip + 8;
	v->dst = ip + 24;
	v->alen = 16;
	v->udp_off = HLEN_IP6;
	v->udp_max = plen;
	v->family = 6;
	return PFS_ETH_OK;
}

static int is_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* Whether the datagram to (dst, port) is for local. */
static int local_match(const struct pfs_addr *local, const struct ip_view *v, uint16_t port)
{
	if (local->family && local->family != v->family)
		return 0;
	if (local->port && local->port != port)
		return 0;
	return is_zero(local->ip, v->alen) || !memcmp(local->ip, v->dst, v->alen);
}

/* IPv4 allows 0 for "no checksum"; IPv6 does not (RFC 8200 §8.1). */
static int udp_csum_ok(const struct ip_view *v, const uint8_t *udp, size_t udp_len)
{
	uint64_t acc;

	if (get16(udp + 6) == 0)
		return v->family == 4;
	acc = csum_pseudo(v->src, v->dst, v->alen, (uint16_t)udp_len);
	return csum_fold(csum_add(acc, udp, udp_len)) == 0xffff;
}

enum pfs_eth_verdict pfs_eth_parse(const uint8_t *frame, size_t len, const struct pfs_addr *local,
				   unsigned flags, struct pfs_eth_rx *out)
{
	size_t off = 2 * PFS_ETH_ALEN, udp_len;
	uint16_t etype, vlan_id = 0;
	enum pfs_eth_verdict r;
	struct ip_view v;
	const uint8_t *udp;

	if (unlikely(len < HLEN_ETH))
		return PFS_ETH_TRUNCATED;
	etype = get16(frame + off);
	if (etype == ETYPE_VLAN) {
		if (unlikely(len < HLEN_ETH + HLEN_VLAN))
			return PFS_ETH_TRUNCATED;
		/* a VID of 0 is a priority tag only: reported as untagged */
		vlan_id = get16(frame + off + 2) & VLAN_VID_MASK;
		if (unlikely(vlan_id > VLAN_VID_MAX))
			return PFS_ETH_NOT_IP;
		off += HLEN_VLAN;
		etype = get16(frame + off);
	}
	off += 2;
	/* a second tag (0x8100 again, or QinQ's 0x88a8 outside) lands here */
	if (etype == ETYPE_IP4)
		r = parse_ip4(frame + off, len - off, &v);
	else if (etype == ETYPE_IP6)
		r = parse_ip6(frame + off, len - off, &v);
	else
		r = PFS_ETH_NOT_IP;
	if (r != PFS_ETH_OK)
		return r;

	off += v.udp_off;
	udp = frame + off;
	if (unlikely(v.udp_max < HLEN_UDP))
		return PFS_ETH_BAD_UDP;
	udp_len = get16(udp + 4);
	if (unlikely(udp_len < HLEN_UDP || udp_len > v.udp_max))
		return PFS_ETH_BAD_UDP;
	if (local && !local_match(local, &v, get16(udp + 2)))
		return PFS_ETH_WRONG_DEST;
	if (!(flags & PFS_ETH_NO_UDP_CSUM) && unlikely(!udp_csum_ok(&v, udp, udp_len)))
		return PFS_ETH_BAD_UDP;

	out->payload_off = (uint32_t)(off + HLEN_UDP);
	out->payload_len = (uint32_t)(udp_len - HLEN_UDP);
	memset(&out->src, 0, sizeof(out->src));
	out->src.family = v.family;
	out->src.port = get16(udp);
	memcpy(out->src.ip, v.src, v.alen);
	memcpy(out->src_mac, frame + PFS_ETH_ALEN, PFS_ETH_ALEN);
	out->vlan_id = vlan_id;
	return PFS_ETH_OK;
}

const char *pfs_eth_verdict_name(enum pfs_eth_verdict v)
{
	static const char *const names[PFS_ETH_VERDICT_MAX] = {
		[PFS_ETH_OK] = "ok",
		[PFS_ETH_TRUNCATED] = "truncated",
		[PFS_ETH_NOT_IP] = "not_ip",
		[PFS_ETH_BAD_IP] = "bad_ip",
		[PFS_ETH_FRAGMENT] = "fragment",
		[PFS_ETH_NOT_UDP] = "not_udp",
		[PFS_ETH_BAD_UDP] = "bad_udp",
		[PFS_ETH_WRONG_DEST] = "wrong_dest",
	};

	if ((unsigned)v >= PFS_ETH_VERDICT_MAX || !names[v])
		return "unknown";
	return names[v];
}
