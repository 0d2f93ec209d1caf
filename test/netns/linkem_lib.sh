# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# The link emulator's topology (sourced, not run; on top of lib.sh, whose
# netns_require, netns_skip and netns_cleanup it uses). linkem_topology
# PREFIX N builds, with names unique to the caller:
#
#   ns ${PREFIX}a           ns ${PREFIX}m (pfs-linkem here)          ns ${PREFIX}b
#   ${PREFIX}a0 ==veth== ${PREFIX}m0         ${PREFIX}m1 ==veth== ${PREFIX}b0
#   198.19.N.1/24          (no addresses: L2 forwarding)           198.19.N.2/24
#
# A and B share one subnet and find each other by ARP through the emulator.
# TSO, GSO and GRO are off on all four ends (the emulator must see wire-sized
# frames), and IPv6 is off in all three namespaces, so that what crosses M is
# only what a case sends (and ARP); TCP buffers in A and B may grow to 32 MB
# (a long fat link's window). N is 100..120: the cases' share of the
# benchmarking range 198.18.0.0/15. The caller registers cleanup at once:
#
#   source test/netns/lib.sh; source test/netns/linkem_lib.sh
#   trap netns_cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
#   linkem_require                  # exit 77 "skip: ..." without root, ip, ethtool, veth
#   linkem_topology "lk1x$$" 101    # sets LK_NS_{A,M,B} LK_IF_{A,M0,M1,B} LK_IP_{A,B}

linkem_require() {
	netns_require
	command -v ethtool >/dev/null || netns_skip "no ethtool (apt-get install ethtool)"
}

# linkem_offloads_off NS IF: what pfs-linkem asks of every interface on the path.
linkem_offloads_off() {
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx-udp-segmentation off >/dev/null 2>&1 ||
		{ echo "linkem_topology: ethtool -K $2 tso off gso off gro off tx-udp-segmentation off failed in $1" >&2; return 1; }
}

linkem_topology() {
	local prefix=$1 n=$2 ns
	if ((${#prefix} + 2 > 15)); then
		echo "linkem_topology: prefix '$prefix' too long: interface names are at most 15 bytes" >&2
		return 1
	fi
	if ((n < 100 || n > 120)); then
		echo "linkem_topology: subnet $n outside 198.19.100.0/24 - 198.19.120.0/24" >&2
		return 1
	fi
	LK_NS_A=${prefix}a LK_NS_M=${prefix}m LK_NS_B=${prefix}b
	LK_IF_A=${prefix}a0 LK_IF_M0=${prefix}m0 LK_IF_M1=${prefix}m1 LK_IF_B=${prefix}b0
	LK_IP_A=198.19.$n.1 LK_IP_B=198.19.$n.2
	for ns in "$LK_NS_A" "$LK_NS_M" "$LK_NS_B"; do
		ip netns add "$ns" || return 1
		NETNS_MADE+=("$ns")
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 || return 1
		ip -n "$ns" link set lo up || return 1
	done
	# without segmentation offloads a 1448-byte segment costs ~2.3 KB of
	# buffer: the default 4 MB send buffer would cap a 1 Gbit/s, 20 ms
	# round trip below its bandwidth-delay product
	for ns in "$LK_NS_A" "$LK_NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 65536 33554432" \
			net.ipv4.tcp_rmem="4096 131072 33554432" || return 1
	done
	ip -n "$LK_NS_A" link add "$LK_IF_A" type veth peer name "$LK_IF_M0" netns "$LK_NS_M" &&
		ip -n "$LK_NS_B" link add "$LK_IF_B" type veth peer name "$LK_IF_M1" netns "$LK_NS_M" &&
		linkem_offloads_off "$LK_NS_A" "$LK_IF_A" &&
		linkem_offloads_off "$LK_NS_M" "$LK_IF_M0" &&
		linkem_offloads_off "$LK_NS_M" "$LK_IF_M1" &&
		linkem_offloads_off "$LK_NS_B" "$LK_IF_B" &&
		ip -n "$LK_NS_A" addr add "$LK_IP_A/24" dev "$LK_IF_A" &&
		ip -n "$LK_NS_B" addr add "$LK_IP_B/24" dev "$LK_IF_B" &&
		ip -n "$LK_NS_A" link set "$LK_IF_A" up &&
		ip -n "$LK_NS_M" link set "$LK_IF_M0" up &&
		ip -n "$LK_NS_M" link set "$LK_IF_M1" up &&
		ip -n "$LK_NS_B" link set "$LK_IF_B" up
}

# linkem_static_neigh: A and B know each other's MAC address, so that no ARP
# crosses the emulator (cases that count frames exactly).
linkem_static_neigh() {
	local mac_a mac_b
	mac_a=$(ip -n "$LK_NS_A" -o link show dev "$LK_IF_A" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	mac_b=$(ip -n "$LK_NS_B" -o link show dev "$LK_IF_B" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[[ -n $mac_a && -n $mac_b ]] || return 1
	ip -n "$LK_NS_A" neigh replace "$LK_IP_B" lladdr "$mac_b" dev "$LK_IF_A" nud permanent &&
		ip -n "$LK_NS_B" neigh replace "$LK_IP_A" lladdr "$mac_a" dev "$LK_IF_B" nud permanent
}
