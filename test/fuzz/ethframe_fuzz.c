/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the Ethernet/IP/UDP parser over whatever a wire can carry.
 * An accepted frame's payload lies within the input; a filtered parse accepts
 * only what the unfiltered one accepts, and the same way; and what a parse
 * returns can be framed again by pfs_eth_build into a frame that parses back
 * to the same sender and payload.
 *
 * The filters are the destinations most committed seeds are addressed to
 * (192.0.2.2:4434 and [2001:db8::2]:4434), so the fuzzer starts from frames
 * that pass them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ethframe.h"

static const struct pfs_addr local4 = { .family = 4, .port = 4434, .ip = { 192, 0, 2, 2 } };
static const struct pfs_addr local6 = { .family = 6,
					.port = 4434,
					.ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };

static int same_rx(const struct pfs_eth_rx *a, const struct pfs_eth_rx *b)
{
	return a->payload_off == b->payload_off && a->payload_len == b->payload_len &&
	       a->src.family == b->src.family && a->src.port == b->src.port &&
	       !memcmp(a->src.ip, b->src.ip, 16) && !memcmp(a->src_mac, b->src_mac, 6) &&
	       a->vlan_id == b->vlan_id;
}

/* Frames rx's payload again, from rx's sender to local, and parses it back. */
static void rebuild(const uint8_t *data, const struct pfs_eth_rx *rx, const struct pfs_addr *local)
{
	static uint8_t again[PFS_ETH_HDR_MAX + 65536];
	struct pfs_eth_path path = { .vlan_id = rx->vlan_id, .src = rx->src, .dst = *local };
	struct pfs_eth_rx rx2;
	size_t hlen, len;

	memcpy(path.src_mac, rx->src_mac, PFS_ETH_ALEN);
	memcpy(path.dst_mac, data, PFS_ETH_ALEN);
	hlen = pfs_eth_hdr_len(&path);
	if (!hlen)
		abort();
	memcpy(again + hlen, data + rx->payload_off, rx->payload_len);
	len = pfs_eth_build(again, &path, rx->payload_len);
	if (len != hlen + rx->payload_len)
		abort();
	if (pfs_eth_parse(again, len, local, 0, &rx2) != PFS_ETH_OK)
		abort();
	if (rx2.payload_off != hlen || rx2.payload_len != rx->payload_len ||
	    memcmp(again + hlen, data + rx->payload_off, rx->payload_len) != 0)
		abort();
	if (rx2.src.family != rx->src.family || rx2.src.port != rx->src.port ||
	    memcmp(rx2.src.ip, rx->src.ip, 16) != 0 || memcmp(rx2.src_mac, rx->src_mac, 6) != 0 ||
	    rx2.vlan_id != rx->vlan_id)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pfs_addr *const locals[] = { &local4, &local6 };
	struct pfs_eth_rx rx, rxl;
	enum pfs_eth_verdict v, vl;

	v = pfs_eth_parse(data, size, NULL, 0, &rx);
	if ((unsigned)v >= PFS_ETH_VERDICT_MAX || !pfs_eth_verdict_name(v))
		abort();
	if (v == PFS_ETH_OK) {
		if ((size_t)rx.payload_off + rx.payload_len > size)
			abort();
		if (rx.src.family != 4 && rx.src.family != 6)
			abort();
	}
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++) {
		vl = pfs_eth_parse(data, size, locals[i], 0, &rxl);
		/* the filter only ever adds WRONG_DEST to the verdicts */
		if (vl == PFS_ETH_OK && (v != PFS_ETH_OK || !same_rx(&rx, &rxl)))
			abort();
		if (vl != PFS_ETH_OK && vl != PFS_ETH_WRONG_DEST && vl != v)
			abort();
		if (v == PFS_ETH_OK && rx.src.family == locals[i]->family)
			rebuild(data, &rx, locals[i]);
	}
	/* leaving UDP checksums unchecked accepts a superset, with the same
	 * result, and only BAD_UDP can turn into OK */
	vl = pfs_eth_parse(data, size, NULL, PFS_ETH_NO_UDP_CSUM, &rxl);
	if (v == PFS_ETH_OK && (vl != PFS_ETH_OK || !same_rx(&rx, &rxl)))
		abort();
	if (vl != v && !(v == PFS_ETH_BAD_UDP && (vl == PFS_ETH_OK || vl == PFS_ETH_BAD_UDP)))
		abort();
	if (vl == PFS_ETH_OK && (size_t)rxl.payload_off + rxl.payload_len > size)
		abort();
	return 0;
}
