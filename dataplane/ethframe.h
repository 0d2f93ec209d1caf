/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Link-layer framing of PacketFS datagrams for the AF_XDP backend: the
 * Ethernet (+ at most one 802.1Q tag) / IPv4 or IPv6 / UDP headers that the
 * kernel's stack would otherwise write and strip. Sans-IO: bytes in, bytes
 * out, no system calls, so it runs the same in unit tests, the fuzzer and
 * io_xdp.
 *
 * Parsing is hostile-input safe: any frame a wire can carry is either
 * accepted with every length consistent with the buffer, or refused with the
 * reason (never read past len).
 */
#ifndef PFS_ETHFRAME_H
#define PFS_ETHFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

#define PFS_ETH_ALEN 6
/* Ethernet 14 + one VLAN tag 4 + IPv6 40 + UDP 8: the most headroom a frame
 * built here needs before its UDP payload. */
#define PFS_ETH_HDR_MAX 66

/* One direction of a flow: what frames a datagram (addresses in pfs_addr
 * form: IP bytes in network order, port in host order). */
struct pfs_eth_path {
	uint8_t src_mac[PFS_ETH_ALEN], dst_mac[PFS_ETH_ALEN];
	uint16_t vlan_id;	  /* 0: untagged; 1..4094: one 802.1Q tag (priority 0) */
	uint8_t hop_limit;	  /* IPv4 TTL / IPv6 hop limit; 0 means 64 */
	struct pfs_addr src, dst; /* same family, 4 or 6 */
};

/* Bytes of headers that pfs_eth_build writes before the payload for path; 0
 * when the path is invalid (as pfs_eth_build defines it). */
size_t pfs_eth_hdr_len(const struct pfs_eth_path *path);

/*
 * Writes the headers for a payload of payload_len bytes that already sits at
 * hdr + pfs_eth_hdr_len(path), so the frame is contiguous from hdr. IPv4: the
 * header checksum is computed, DF is set, the identification is 0 (DF
 * datagrams are never fragmented, RFC 6864) and the UDP checksum is 0
 * (optional in IPv4; the payload is AEAD-authenticated end to end). IPv6: the
 * UDP checksum (mandatory) is computed over the pseudo-header and payload.
 * Returns the frame's total length, or 0 when the path is invalid (families
 * differ or unset, VLAN id out of range) or the datagram would exceed 65535
 * bytes of IP payload (IPv4: the total length, header included, is at most
 * 65535; IPv6: the payload length, UDP header included).
 */
size_t pfs_eth_build(uint8_t *hdr, const struct pfs_eth_path *path, size_t payload_len);

/* Why a frame was refused (a counter index in io_xdp: never renumber). */
enum pfs_eth_verdict {
	PFS_ETH_OK = 0,
	PFS_ETH_TRUNCATED = 1,	/* ends inside a header, or before the length a header states */
	PFS_ETH_NOT_IP = 2,	/* ethertype not IPv4/IPv6 (after at most one VLAN tag:
				 * QinQ, a second tag and the reserved VLAN id 4095
				 * land here) */
	PFS_ETH_BAD_IP = 3,	/* version/IHL wrong, IPv4 header checksum wrong, total
				 * length below the header */
	PFS_ETH_FRAGMENT = 4,	/* IPv4 fragment */
	PFS_ETH_NOT_UDP = 5,	/* next protocol not UDP (IPv6 extension headers included) */
	PFS_ETH_BAD_UDP = 6,	/* IP payload too short for a UDP header; UDP length
				 * below 8 or beyond the IP payload; or a UDP checksum
				 * present and wrong; or zero for IPv6 */
	PFS_ETH_WRONG_DEST = 7, /* destination address or port is not ours */
	PFS_ETH_VERDICT_MAX
};

/* A parsed frame: where its UDP payload is and who sent it. */
struct pfs_eth_rx {
	uint32_t payload_off, payload_len; /* within the frame; the trailer (Ethernet
					    * padding) is excluded */
	struct pfs_addr src;		   /* the sender's IP and UDP port */
	uint8_t src_mac[PFS_ETH_ALEN];
	uint16_t vlan_id; /* 0: untagged */
};

/*
 * Parses an Ethernet frame of len bytes. local: when not NULL, the frame's
 * destination IP (same family) and UDP port must equal it (a port of 0 or an
 * all-zero IP in local matches any; so does a family of 0). IPv4 UDP checksums
 * of 0 are accepted; non-zero ones are verified, as IPv6 ones always are —
 * unless flags has PFS_ETH_NO_UDP_CSUM. IPv4
 * options are skipped; bytes after the IP datagram (Ethernet padding) and after
 * the UDP datagram within it are ignored. A VLAN tag with id 0 (priority tag)
 * reads as untagged. out is written only when the verdict is PFS_ETH_OK.
 */
enum pfs_eth_verdict pfs_eth_parse(const uint8_t *frame, size_t len, const struct pfs_addr *local,
				   unsigned flags, struct pfs_eth_rx *out);

/*
 * pfs_eth_parse flag: leave UDP checksums unchecked. For payloads that are
 * authenticated above UDP (PacketFS's are AEAD-sealed, and the source address
 * is not trusted) arriving where a checksum may legitimately be unfinished: a
 * virtual device such as veth hands over the kernel's CHECKSUM_PARTIAL
 * datagrams with only the pseudo-header sum in the field, since no NIC ever
 * completes it.
 */
#define PFS_ETH_NO_UDP_CSUM 1u

/* A short stable name of a verdict ("truncated", "not_ip", ...), never NULL. */
const char *pfs_eth_verdict_name(enum pfs_eth_verdict v);

#endif
