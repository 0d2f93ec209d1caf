/* SPDX-License-Identifier: Apache-2.0 */
/* Ethernet/IP/UDP framing: what is built parses back; the checksums agree
 * with a plain RFC 1071 sum; every malformed or truncated frame is refused
 * with its reason, never read past its end. */
#include <stdlib.h>
#include <string.h>

#include "ethframe.h"
#include "harness.h"
#include "test_rand.h"

#define BUF_LEN (PFS_ETH_HDR_MAX + 65536 + 64)
static uint8_t buf[BUF_LEN];
static uint8_t payload[65536];

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* 192.0.2.1:4433 -> 192.0.2.2:4434 (TEST-NET-1) */
static struct pfs_eth_path path4(void)
{
	struct pfs_eth_path p = { .src = { .family = 4, .port = 4433, .ip = { 192, 0, 2, 1 } },
				  .dst = { .family = 4, .port = 4434, .ip = { 192, 0, 2, 2 } } };

	memcpy(p.src_mac, mac_a, 6);
	memcpy(p.dst_mac, mac_b, 6);
	return p;
}

/* [2001:db8::1]:4433 -> [2001:db8::2]:4434 (documentation prefix) */
static struct pfs_eth_path path6(void)
{
	struct pfs_eth_path p = {
		.src = { .family = 6, .port = 4433, .ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		.dst = { .family = 6, .port = 4434, .ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } }
	};

	memcpy(p.src_mac, mac_a, 6);
	memcpy(p.dst_mac, mac_b, 6);
	return p;
}

/* Builds a frame at f around payload[0, n); returns its length. */
static size_t build(uint8_t *f, const struct pfs_eth_path *p, size_t n)
{
	memcpy(f + pfs_eth_hdr_len(p), payload, n);
	return pfs_eth_build(f, p, n);
}

/* RFC 1071 the plain way: big-endian 16-bit words one at a time, an odd last
 * byte padded with zero, carries folded at the end; the complement. */
static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP checksum of the datagram at udp (its checksum field taken as 0), with
 * the pseudo-header written out in full: RFC 768 (IPv4: src, dst, zero,
 * protocol, UDP length) or RFC 8200 §8.1 (IPv6: src, dst, 32-bit length, three
 * zero bytes, next header). */
static uint16_t ref_udp_csum(int family, const uint8_t *src, const uint8_t *dst, const uint8_t *udp,
			     size_t udp_len)
{
	static uint8_t tmp[40 + 65536];
	size_t alen = family == 4 ? 4 : 16, n = 0;

	memcpy(tmp + n, src, alen);
	n += alen;
	memcpy(tmp + n, dst, alen);
	n += alen;
	if (family == 4) {
		tmp[n++] = 0;
		tmp[n++] = 17;
		tmp[n++] = (uint8_t)(udp_len >> 8);
		tmp[n++] = (uint8_t)udp_len;
	} else {
		tmp[n++] = (uint8_t)(udp_len >> 24);
		tmp[n++] = (uint8_t)(udp_len >> 16);
		tmp[n++] = (uint8_t)(udp_len >> 8);
		tmp[n++] = (uint8_t)udp_len;
		tmp[n++] = 0;
		tmp[n++] = 0;
		tmp[n++] = 0;
		tmp[n++] = 17;
	}
	memcpy(tmp + n, udp, udp_len);
	tmp[n + 6] = tmp[n + 7] = 0;
	return ref_csum(tmp, n + udp_len);
}

/* Recomputes the IPv4 header checksum after a test changed the header. */
static void fix_ip4_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = ref_csum(ip, ihl);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* Gives the untagged IPv4 frame f a correct non-zero UDP checksum. */
static void set_udp4_csum(uint8_t *f)
{
	uint8_t *ip = f + 14, *udp = ip + (ip[0] & 15) * 4;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	uint16_t c = ref_udp_csum(4, ip + 12, ip + 16, udp, ulen);

	if (!c)
		c = 0xffff;
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;
}

static enum pfs_eth_verdict parse(const uint8_t *f, size_t len, struct pfs_eth_rx *rx)
{
	return pfs_eth_parse(f, len, NULL, 0, rx);
}

PFS_TEST(built_ipv4_frame_parses_back_to_the_same_payload_and_sender)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len;

	fill_random(payload, 1400);
	len = build(buf, &p, 1400);
	CHECK_EQ(len, 14 + 20 + 8 + 1400);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_off, 42);
	CHECK_EQ(rx.payload_len, 1400);
	CHECK(memcmp(buf + rx.payload_off, payload, 1400) == 0);
	CHECK_EQ(rx.src.family, 4);
	CHECK_EQ(rx.src.port, 4433);
	CHECK(memcmp(rx.src.ip, p.src.ip, 16) == 0); /* bytes 4..15 zeroed */
	CHECK(memcmp(rx.src_mac, mac_a, 6) == 0);
	CHECK_EQ(rx.vlan_id, 0);
}

PFS_TEST(built_ipv6_frame_parses_back_to_the_same_payload_and_sender)
{
	struct pfs_eth_path p = path6();
	struct pfs_eth_rx rx;
	size_t len;

	fill_random(payload, 1401);
	len = build(buf, &p, 1401);
	CHECK_EQ(len, 14 + 40 + 8 + 1401);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_off, 62);
	CHECK_EQ(rx.payload_len, 1401);
	CHECK(memcmp(buf + rx.payload_off, payload, 1401) == 0);
	CHECK_EQ(rx.src.family, 6);
	CHECK_EQ(rx.src.port, 4433);
	CHECK(memcmp(rx.src.ip, p.src.ip, 16) == 0);
	CHECK(memcmp(rx.src_mac, mac_a, 6) == 0);
	CHECK_EQ(rx.vlan_id, 0);
}

PFS_TEST(built_ipv4_frame_is_byte_identical_to_a_hand_written_one)
{
	/*
	 * 02:00:00:00:00:01 192.0.2.1:4433 -> 02:00:00:00:00:02 192.0.2.2:4434,
	 * payload "hello". The IPv4 header checksum 0xb6c8 was summed by hand
	 * (4500+0021+0000+4000+4011+0000+c000+0201+c000+0202 = 0x24935, folded
	 * 0x4937, complemented 0xb6c8) and checked with python3's
	 * struct.unpack('!10H') over the same 20 bytes.
	 */
	static const uint8_t want[] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, /* destination MAC */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* source MAC */
		0x08, 0x00,			    /* IPv4 */
		0x45, 0x00, 0x00, 0x21,		    /* v4, IHL 5, total length 33 */
		0x00, 0x00, 0x40, 0x00,		    /* ident 0, DF */
		0x40, 0x11, 0xb6, 0xc8,		    /* TTL 64, UDP, header checksum */
		0xc0, 0x00, 0x02, 0x01,		    /* 192.0.2.1 */
		0xc0, 0x00, 0x02, 0x02,		    /* 192.0.2.2 */
		0x11, 0x51, 0x11, 0x52,		    /* ports 4433, 4434 */
		0x00, 0x0d, 0x00, 0x00,		    /* UDP length 13, no checksum */
		'h',  'e',  'l',  'l',	'o',
	};
	struct pfs_eth_path p = path4();

	memcpy(payload, "hello", 5);
	CHECK_EQ(build(buf, &p, 5), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK_EQ(ref_csum(buf + 14, 20), 0); /* the independent sum agrees */
}

PFS_TEST(header_lengths_match_what_build_writes)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();

	CHECK_EQ(pfs_eth_hdr_len(&p4), 42);
	CHECK_EQ(pfs_eth_hdr_len(&p6), 62);
	p4.vlan_id = p6.vlan_id = 7;
	CHECK_EQ(pfs_eth_hdr_len(&p4), 46);
	CHECK_EQ(pfs_eth_hdr_len(&p6), PFS_ETH_HDR_MAX);
	CHECK_EQ(build(buf, &p6, 10), PFS_ETH_HDR_MAX + 10);
}

PFS_TEST(ttl_and_hop_limit_default_to_64_and_follow_the_path)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();

	build(buf, &p4, 3);
	CHECK_EQ(buf[14 + 8], 64);
	build(buf, &p6, 3);
	CHECK_EQ(buf[14 + 7], 64);
	CHECK(buf[14] == 0x60 && buf[15] == 0 && buf[16] == 0 && buf[17] == 0); /* TC, flow 0 */
	p4.hop_limit = p6.hop_limit = 3;
	build(buf, &p4, 3);
	CHECK_EQ(buf[14 + 8], 3);
	build(buf, &p6, 3);
	CHECK_EQ(buf[14 + 7], 3);
}

PFS_TEST(ipv6_udp_checksum_matches_an_independent_computation)
{
	struct pfs_eth_path p = path6();
	struct pfs_eth_rx rx;

	fill_random(payload, 600);
	/* every length (odd ones too) at every alignment of the frame */
	for (size_t n = 0; n <= 600; n++) {
		for (size_t a = 0; a < 8; a++) {
			uint8_t *f = buf + a, *udp = f + 14 + 40;
			size_t len = build(f, &p, n);
			uint16_t want = ref_udp_csum(6, p.src.ip, p.dst.ip, udp, 8 + n);

			CHECK_EQ(len, 62 + n);
			CHECK_EQ(udp[6] << 8 | udp[7], want ? want : 0xffff);
			CHECK_EQ(parse(f, len, &rx), PFS_ETH_OK);
			CHECK_EQ(rx.payload_len, n);
		}
	}
}

PFS_TEST(nonzero_ipv4_udp_checksum_is_verified_at_any_alignment)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;

	fill_random(payload, 300);
	for (size_t n = 0; n <= 300; n++) {
		for (size_t a = 0; a < 8; a++) {
			uint8_t *f = buf + a;
			size_t len = build(f, &p, n);

			set_udp4_csum(f);
			CHECK_EQ(parse(f, len, &rx), PFS_ETH_OK);
			if (n)
				f[len - 1 - n / 2] ^= 0x10; /* a payload byte */
			else
				f[14 + 20 + 1] ^= 0x10; /* the source port */
			CHECK_EQ(parse(f, len, &rx), PFS_ETH_BAD_UDP);
		}
	}
}

/* Each prefix sits in a heap block of exactly its length, so ASan builds
 * catch a read past the end. */
static int refuses_every_prefix(const uint8_t *f, size_t len)
{
	struct pfs_eth_rx rx;

	for (size_t l = 0; l <= len; l++) {
		uint8_t *copy = malloc(l ? l : 1);
		enum pfs_eth_verdict v;

		if (!copy)
			return 0;
		memcpy(copy, f, l);
		v = parse(copy, l, &rx);
		free(copy);
		if ((l < len && v == PFS_ETH_OK) || (l == len && v != PFS_ETH_OK)) {
			fprintf(stderr, "prefix %zu of %zu: %s\n", l, len, pfs_eth_verdict_name(v));
			return 0;
		}
	}
	return 1;
}

PFS_TEST(every_truncation_of_a_valid_frame_is_refused_without_reading_past_it)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	size_t len;

	fill_random(payload, 64);
	for (int vlan = 0; vlan < 2; vlan++) {
		p4.vlan_id = p6.vlan_id = vlan ? 42 : 0;
		for (size_t n = 0; n < 64; n += 21) {
			len = build(buf, &p4, n);
			CHECK(refuses_every_prefix(buf, len));
			len = build(buf, &p6, n);
			CHECK(refuses_every_prefix(buf, len));
		}
	}
	p4.vlan_id = 0;
	len = build(buf, &p4, 33);
	set_udp4_csum(buf);
	CHECK(refuses_every_prefix(buf, len));
}

PFS_TEST(vlan_tagged_frame_parses)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len;

	p.vlan_id = 4094;
	fill_random(payload, 100);
	len = build(buf, &p, 100);
	CHECK_EQ(len, 46 + 100);
	CHECK(buf[12] == 0x81 && buf[13] == 0x00 && buf[14] == 0x0f && buf[15] == 0xfe);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.vlan_id, 4094);
	CHECK_EQ(rx.payload_off, 46);
	CHECK(memcmp(buf + 46, payload, 100) == 0);

	buf[14] |= 0xe0; /* priority 7 is not part of the id */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.vlan_id, 4094);

	p = path6();
	p.vlan_id = 1;
	len = build(buf, &p, 100);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.vlan_id, 1);
	CHECK_EQ(rx.payload_off, 66);
}

PFS_TEST(priority_tag_reads_as_untagged)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len;

	p.vlan_id = 5;
	len = build(buf, &p, 20);
	buf[14] = 0xa0; /* PCP 5, VID 0 */
	buf[15] = 0;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.vlan_id, 0);
	CHECK_EQ(rx.payload_off, 46);
}

PFS_TEST(other_ethertypes_second_tags_qinq_and_vlan_4095_are_not_ip)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len;

	len = build(buf, &p, 20);
	buf[12] = 0x08; /* ARP */
	buf[13] = 0x06;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_NOT_IP);

	p.vlan_id = 10;
	len = build(buf, &p, 20);
	buf[12] = 0x88; /* QinQ outer tag */
	buf[13] = 0xa8;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_NOT_IP);

	/* 0x8100 0x000a 0x8100 0x000b 0x0800 ...: two tags */
	len = build(buf + 4, &p, 20);
	memmove(buf, buf + 4, 16);
	CHECK_EQ(parse(buf, len + 4, &rx), PFS_ETH_NOT_IP);

	len = build(buf, &p, 20);
	buf[14] = 0x0f; /* VID 4095, reserved */
	buf[15] = 0xff;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_NOT_IP);
}

PFS_TEST(ipv4_fragment_is_refused)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len = build(buf, &p, 50);
	uint8_t *ip = buf + 14;

	ip[6] = 0x20; /* MF, offset 0: the first fragment */
	ip[7] = 0;
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_FRAGMENT);
	ip[6] = 0x00; /* the last fragment: offset 185 * 8 */
	ip[7] = 185;
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_FRAGMENT);
	ip[6] = 0x40; /* DF and offset 0: whole */
	ip[7] = 0;
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
}

PFS_TEST(ipv4_options_are_skipped)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len;
	uint8_t *ip = buf + 14;

	fill_random(payload, 77);
	len = build(buf, &p, 77);
	/* 8 bytes of options after the 20-byte header: NOP x7, End */
	memmove(ip + 28, ip + 20, len - 34);
	memset(ip + 20, 1, 7);
	ip[27] = 0;
	ip[0] = 0x47;
	ip[3] += 8; /* total length 105 + 8: no carry */
	fix_ip4_csum(ip);
	len += 8;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_off, 14 + 28 + 8);
	CHECK_EQ(rx.payload_len, 77);
	CHECK(memcmp(buf + rx.payload_off, payload, 77) == 0);
	set_udp4_csum(buf); /* the pseudo-header ignores the options */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);

	ip[0] = 0x4f; /* a 60-byte header in a frame that ends 50 bytes into it */
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, 14 + 50, &rx), PFS_ETH_TRUNCATED);
}

PFS_TEST(corrupted_ipv4_header_checksum_is_refused)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx;
	size_t len = build(buf, &p, 30);

	buf[14 + 8]--; /* TTL, as a router would, without fixing the checksum */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_IP);
	buf[14 + 8]++;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	/* no single bit flip anywhere in the IP header gets through */
	for (int bit = 0; bit < 20 * 8; bit++) {
		enum pfs_eth_verdict v;

		buf[14 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
		v = parse(buf, len, &rx);
		buf[14 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK(v != PFS_ETH_OK);
	}
}

PFS_TEST(corrupted_udp_checksum_is_refused)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	size_t len;

	fill_random(payload, 200);
	len = build(buf, &p4, 200);
	set_udp4_csum(buf);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	buf[100] ^= 1;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	buf[100] ^= 1;
	buf[14 + 20 + 7] ^= 0x80; /* the checksum itself */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);

	len = build(buf, &p6, 200);
	buf[len - 1] ^= 0x40;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	len = build(buf, &p6, 200);
	buf[14 + 8 + 3] ^= 1; /* a source address byte: in the pseudo-header */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	len = build(buf, &p6, 200);
	buf[14 + 40 + 1] ^= 1; /* the source port */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
}

/* veth hands over kernel-sent datagrams with only the pseudo-header sum in
 * the checksum field (CHECKSUM_PARTIAL, never finished by a NIC) */
PFS_TEST(unfinished_udp_checksum_is_accepted_only_when_checksums_are_not_checked)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	size_t len;

	fill_random(payload, 300);
	len = build(buf, &p4, 300);
	buf[14 + 20 + 6] = 0x12; /* a partial sum, not the checksum */
	buf[14 + 20 + 7] = 0x34;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	CHECK_EQ(pfs_eth_parse(buf, len, NULL, PFS_ETH_NO_UDP_CSUM, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 300);
	CHECK(!memcmp(buf + rx.payload_off, payload, 300));

	len = build(buf, &p6, 300);
	buf[14 + 40 + 6] ^= 0x5a;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	CHECK_EQ(pfs_eth_parse(buf, len, NULL, PFS_ETH_NO_UDP_CSUM, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 300);
	/* the other checks still hold: a bad IPv4 header checksum is refused */
	len = build(buf, &p4, 300);
	buf[14 + 10] ^= 1;
	CHECK_EQ(pfs_eth_parse(buf, len, NULL, PFS_ETH_NO_UDP_CSUM, &rx), PFS_ETH_BAD_IP);
}

PFS_TEST(zero_udp_checksum_is_accepted_for_ipv4_and_refused_for_ipv6)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	size_t len;

	fill_random(payload, 64);
	len = build(buf, &p4, 64);
	CHECK(buf[14 + 20 + 6] == 0 && buf[14 + 20 + 7] == 0);
	buf[len - 1] ^= 0xff; /* nothing covers the payload without a checksum */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);

	len = build(buf, &p6, 64);
	CHECK(buf[14 + 40 + 6] != 0 || buf[14 + 40 + 7] != 0);
	buf[14 + 40 + 6] = buf[14 + 40 + 7] = 0;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
}

PFS_TEST(ethernet_padding_after_the_datagram_is_excluded_from_the_payload)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	size_t len;

	/* a 4-byte payload makes a 46-byte frame, padded to the 60-byte minimum */
	memcpy(payload, "abcd", 4);
	len = build(buf, &p4, 4);
	CHECK_EQ(len, 46);
	memset(buf + len, 0xee, 60 - len);
	CHECK_EQ(parse(buf, 60, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 4);
	CHECK(memcmp(buf + rx.payload_off, "abcd", 4) == 0);
	set_udp4_csum(buf); /* the padding is outside the checksum too */
	CHECK_EQ(parse(buf, 60, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 4);

	len = build(buf, &p6, 4);
	memset(buf + len, 0xee, 20);
	CHECK_EQ(parse(buf, len + 20, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 4);
}

PFS_TEST(ip_and_udp_lengths_that_disagree_with_the_frame_are_refused)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	uint8_t *ip = buf + 14, *udp4 = ip + 20, *udp6 = ip + 40;
	size_t len;

	len = build(buf, &p4, 40);
	ip[3] = 19; /* total length below the header */
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_IP);
	ip[3] = 27; /* room for the IP header only, not UDP's */
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	ip[3] = 20 + 8 + 41; /* one byte more than the frame holds */
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_TRUNCATED);
	ip[3] = 20 + 8 + 40;
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);

	ip[0] = 0x44; /* IHL 4 */
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_IP);
	ip[0] = 0x65; /* version 6 behind an IPv4 ethertype */
	fix_ip4_csum(ip);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_IP);
	ip[0] = 0x45;
	fix_ip4_csum(ip);

	udp4[5] = 7; /* UDP length below its header */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	udp4[5] = 8 + 41; /* beyond the IP payload */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	udp4[5] = 8 + 10; /* shorter than the IP payload: the rest is ignored */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 10);

	len = build(buf, &p6, 40);
	ip[5] = 8 + 41; /* payload length beyond the frame */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_TRUNCATED);
	ip[5] = 7; /* too short for UDP */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	ip[5] = 8 + 40;
	udp6[5] = 8 + 41;
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_UDP);
	ip[0] = 0x40; /* version 4 behind an IPv6 ethertype */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_BAD_IP);
}

PFS_TEST(non_udp_protocols_and_ipv6_extension_headers_are_not_udp)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	size_t len;

	len = build(buf, &p4, 40);
	buf[14 + 9] = 6; /* TCP */
	fix_ip4_csum(buf + 14);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_NOT_UDP);
	len = build(buf, &p6, 40);
	buf[14 + 6] = 0; /* hop-by-hop options header first */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_NOT_UDP);
	buf[14 + 6] = 44; /* fragment header */
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_NOT_UDP);
}

PFS_TEST(frame_for_another_address_or_port_is_refused_when_local_is_given)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	struct pfs_addr l;
	size_t len4, len6;

	len4 = build(buf, &p4, 40);
	l = p4.dst;
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_OK);
	l.port = 4433;
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_WRONG_DEST);
	l.port = 0; /* any port */
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_OK);
	l.ip[3] = 3;
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_WRONG_DEST);
	memset(l.ip, 0, sizeof(l.ip)); /* any address */
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_OK);
	l.family = 6; /* another family, even with wildcards */
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_WRONG_DEST);
	l.family = 0;
	CHECK_EQ(pfs_eth_parse(buf, len4, &l, 0, &rx), PFS_ETH_OK);

	len6 = build(buf, &p6, 40);
	l = p6.dst;
	CHECK_EQ(pfs_eth_parse(buf, len6, &l, 0, &rx), PFS_ETH_OK);
	l.ip[15] = 1; /* the sender's address, not ours */
	CHECK_EQ(pfs_eth_parse(buf, len6, &l, 0, &rx), PFS_ETH_WRONG_DEST);
	l = p6.dst;
	l.port = 1;
	CHECK_EQ(pfs_eth_parse(buf, len6, &l, 0, &rx), PFS_ETH_WRONG_DEST);
	l = p4.dst;
	CHECK_EQ(pfs_eth_parse(buf, len6, &l, 0, &rx), PFS_ETH_WRONG_DEST);
}

PFS_TEST(invalid_paths_build_nothing)
{
	struct pfs_eth_path p = path4(), q;

	buf[0] = 0x5a;
	q = p;
	q.dst = path6().dst; /* mixed families */
	CHECK_EQ(pfs_eth_hdr_len(&q), 0);
	CHECK_EQ(pfs_eth_build(buf, &q, 10), 0);
	q = p;
	q.src.family = q.dst.family = 0;
	CHECK_EQ(pfs_eth_build(buf, &q, 10), 0);
	q.src.family = q.dst.family = 5;
	CHECK_EQ(pfs_eth_build(buf, &q, 10), 0);
	q = p;
	q.vlan_id = 4095;
	CHECK_EQ(pfs_eth_hdr_len(&q), 0);
	CHECK_EQ(pfs_eth_build(buf, &q, 10), 0);
	CHECK_EQ(buf[0], 0x5a); /* nothing written */

	/* IPv4: total length 20 + 8 + payload <= 65535 */
	CHECK_EQ(pfs_eth_build(buf, &p, 65508), 0);
	CHECK_EQ(pfs_eth_build(buf, &p, SIZE_MAX), 0);
	CHECK_EQ(build(buf, &p, 65507), 42 + 65507);
	CHECK(buf[16] == 0xff && buf[17] == 0xff);
	/* IPv6: payload length 8 + payload <= 65535 */
	q = path6();
	CHECK_EQ(pfs_eth_build(buf, &q, 65528), 0);
	CHECK_EQ(build(buf, &q, 65527), 62 + 65527);
	CHECK(buf[18] == 0xff && buf[19] == 0xff);
}

PFS_TEST(largest_datagrams_parse_back)
{
	struct pfs_eth_path p4 = path4(), p6 = path6();
	struct pfs_eth_rx rx;
	size_t len;

	fill_random(payload, 65527);
	len = build(buf, &p4, 65507);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 65507);
	set_udp4_csum(buf);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	len = build(buf, &p6, 65527);
	CHECK_EQ(parse(buf, len, &rx), PFS_ETH_OK);
	CHECK_EQ(rx.payload_len, 65527);
	CHECK(memcmp(buf + rx.payload_off, payload, 65527) == 0);
}

PFS_TEST(random_paths_round_trip_at_any_alignment)
{
	struct pfs_eth_rx rx;

	rng_seed(0xe7f4a3e);
	for (int i = 0; i < 2000; i++) {
		struct pfs_eth_path p;
		size_t n = rnd_below(2000), a = rnd_below(8), len;
		uint8_t *f = buf + a;

		memset(&p, 0, sizeof(p));
		p.src.family = p.dst.family = rnd_below(2) ? 4 : 6;
		fill_random(p.src.ip, p.src.family == 4 ? 4 : 16);
		fill_random(p.dst.ip, p.src.family == 4 ? 4 : 16);
		p.src.port = (uint16_t)rnd();
		p.dst.port = (uint16_t)rnd();
		fill_random(p.src_mac, 6);
		fill_random(p.dst_mac, 6);
		p.vlan_id = rnd_below(2) ? (uint16_t)rnd_below(4095) : 0;
		p.hop_limit = (uint8_t)rnd();
		fill_random(payload, n);
		len = build(f, &p, n);
		CHECK_EQ(len, pfs_eth_hdr_len(&p) + n);
		CHECK_EQ(pfs_eth_parse(f, len, &p.dst, 0, &rx), PFS_ETH_OK);
		CHECK_EQ(rx.payload_off, pfs_eth_hdr_len(&p));
		CHECK_EQ(rx.payload_len, n);
		CHECK(memcmp(f + rx.payload_off, payload, n) == 0);
		CHECK(memcmp(&rx.src.ip, p.src.ip, 16) == 0 && rx.src.port == p.src.port);
		CHECK(memcmp(rx.src_mac, p.src_mac, 6) == 0);
		CHECK_EQ(rx.vlan_id, p.vlan_id);
	}
}

PFS_TEST(refused_frame_leaves_out_untouched)
{
	struct pfs_eth_path p = path4();
	struct pfs_eth_rx rx, before;
	size_t len = build(buf, &p, 10);

	memset(&rx, 0xa5, sizeof(rx));
	memcpy(&before, &rx, sizeof(rx));
	CHECK_EQ(parse(buf, len - 1, &rx), PFS_ETH_TRUNCATED);
	CHECK(memcmp(&rx, &before, sizeof(rx)) == 0);
	CHECK_EQ(pfs_eth_parse(buf, len, &(struct pfs_addr){ .family = 6 }, 0, &rx),
		 PFS_ETH_WRONG_DEST);
	CHECK(memcmp(&rx, &before, sizeof(rx)) == 0);
}

PFS_TEST(verdict_names_are_distinct_and_non_null)
{
	for (int i = 0; i < PFS_ETH_VERDICT_MAX; i++) {
		const char *a = pfs_eth_verdict_name((enum pfs_eth_verdict)i);

		CHECK(a != NULL && a[0] != '\0');
		CHECK(strcmp(a, "unknown") != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(a, pfs_eth_verdict_name((enum pfs_eth_verdict)j)) != 0);
	}
	CHECK_EQ(strcmp(pfs_eth_verdict_name(PFS_ETH_OK), "ok"), 0);
	CHECK_EQ(strcmp(pfs_eth_verdict_name(PFS_ETH_TRUNCATED), "truncated"), 0);
	CHECK(pfs_eth_verdict_name(PFS_ETH_VERDICT_MAX) != NULL);
	CHECK(pfs_eth_verdict_name((enum pfs_eth_verdict) - 1) != NULL);
}

PFS_TEST_MAIN()
