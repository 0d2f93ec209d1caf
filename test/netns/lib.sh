# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# Helpers for the network-namespace integration tests (sourced, not run).
# netns_pair PREFIX [QUEUES] builds this, with names unique to the caller:
#
#   namespace ${PREFIX}a                          namespace ${PREFIX}b
#   ${PREFIX}a0                  ------veth------  ${PREFIX}b0
#   198.18.N.1/24                                  198.18.N.2/24
#   2001:2:0:N::1/64 (nodad)                       2001:2:0:N::2/64 (nodad)
#
# Addresses come only from the benchmarking ranges 198.18.0.0/15 and
# 2001:2::/48. The caller registers cleanup at once:
#
#   source test/netns/lib.sh
#   trap netns_cleanup EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
#   netns_require                       # exit 77 "skip: ..." without root, ip, veth, netns
#   netns_pair "nx1x$$"                 # sets NS_A NS_B IF_A IF_B IP4_A IP4_B IP6_A IP6_B
#
# netns_cleanup removes only what this process recorded as made, so it never
# touches a namespace of the same name made by someone else, and it may run
# more than once.

NETNS_MADE=()                    # namespaces this process created, in order
NETNS_OWNER=$BASHPID             # the shell that sourced this: only it removes them
NETNS_SUBNET=${NETNS_SUBNET:-10} # N of the next pair's 198.18.N.0/24 and 2001:2:0:N::/64
NETNS_LOCK_DIR=/run/packetfs     # the data plane's per-interface lock files (io_xdp.c)
NETNS_BPFFS_XDP=/sys/fs/bpf/xdp  # where libxdp pins its dispatchers

netns_skip() {
	echo "skip: $*"
	exit 77
}

# Exits 77 unless this process can build namespaces joined by veth.
netns_require() {
	[[ $(id -u) == 0 ]] || netns_skip "needs root (network namespaces, veth, XDP)"
	command -v ip >/dev/null || netns_skip "no ip (apt-get install iproute2)"
	local probe="nxprobe$$"
	ip netns add "$probe" 2>/dev/null || netns_skip "the kernel refuses network namespaces (ip netns add failed)"
	NETNS_MADE+=("$probe") # netns_cleanup removes it if we are stopped here
	ip -n "$probe" link add "${probe}0" type veth peer name "${probe}1" 2>/dev/null ||
		netns_skip "the kernel lacks veth (ip link add type veth failed)"
	netns_cleanup
}

# netns_pair PREFIX [QUEUES]: two namespaces ${PREFIX}a, ${PREFIX}b joined by
# a veth pair ${PREFIX}a0 -- ${PREFIX}b0 with QUEUES transmit and receive
# queues per end (default 1). Sets NS_A NS_B IF_A IF_B IP4_A IP4_B IP6_A
# IP6_B NET (the N above). Returns non-zero on any failure (what was made is
# recorded for netns_cleanup either way).
netns_pair() {
	local prefix=$1 queues=${2:-1}
	if ((${#prefix} + 2 > 15)); then
		echo "netns_pair: prefix '$prefix' too long: interface names are at most 15 bytes" >&2
		return 1
	fi
	NET=$NETNS_SUBNET
	NETNS_SUBNET=$((NETNS_SUBNET + 1))
	NS_A=${prefix}a NS_B=${prefix}b IF_A=${prefix}a0 IF_B=${prefix}b0
	IP4_A=198.18.$NET.1 IP4_B=198.18.$NET.2
	IP6_A=2001:2:0:$NET::1 IP6_B=2001:2:0:$NET::2
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns add "$ns" || return 1
		NETNS_MADE+=("$ns")
		ip -n "$ns" link set lo up || return 1
	done
	ip -n "$NS_A" link add "$IF_A" numtxqueues "$queues" numrxqueues "$queues" type veth \
		peer name "$IF_B" netns "$NS_B" numtxqueues "$queues" numrxqueues "$queues" || return 1
	ip -n "$NS_A" addr add "$IP4_A/24" dev "$IF_A" &&
		ip -n "$NS_B" addr add "$IP4_B/24" dev "$IF_B" &&
		ip -n "$NS_A" addr add "$IP6_A/64" dev "$IF_A" nodad &&
		ip -n "$NS_B" addr add "$IP6_B/64" dev "$IF_B" nodad &&
		ip -n "$NS_A" link set "$IF_A" up &&
		ip -n "$NS_B" link set "$IF_B" up
}

# netns_xdp_prog_ids NS IF: the ids of the XDP programs attached to IF in NS
# (the dispatcher's, for libxdp), one per line; nothing when none.
netns_xdp_prog_ids() {
	ip -n "$1" -d link show dev "$2" 2>/dev/null |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'
}

# netns_has_xdp NS IF: true when some XDP program (any mode) is attached.
netns_has_xdp() {
	ip -n "$1" -d link show dev "$2" 2>/dev/null | grep -q 'prog/xdp'
}

# netns_wait_xdp SECONDS NS IF [NS IF ...]: true once every listed interface
# has an XDP program, polled every 0.1 s for at most SECONDS.
netns_wait_xdp() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		local all=1 k
		for ((k = 1; k <= $#; k += 2)); do
			local ns=${!k} j=$((k + 1))
			netns_has_xdp "$ns" "${!j}" || all=0
		done
		((all)) && return 0
		sleep 0.1
	done
	return 1
}

# netns_rx_packets NS IF: the packets IF in NS has received (its counter).
netns_rx_packets() {
	ip -n "$1" -s link show dev "$2" 2>/dev/null | awk '/RX:/ { getline; print $2; exit }'
}

# Detaches whatever XDP program a crashed data plane left on IF in NS, and
# unpins libxdp's dispatcher for it, so that no program outlives the test.
netns_detach_xdp() {
	local ns=$1 dev=$2 id
	for id in $(netns_xdp_prog_ids "$ns" "$dev"); do
		ip -n "$ns" link set dev "$dev" xdpgeneric off 2>/dev/null
		ip -n "$ns" link set dev "$dev" xdpdrv off 2>/dev/null
		# libxdp pins the dispatcher as dispatch-IFINDEX-PROGID: the prog
		# id is global, so this matches only ours
		rm -rf "$NETNS_BPFFS_XDP"/dispatch-*-"$id"
	done
}

# Removes every namespace this process made (with its veth ends and any XDP
# program on them) and the data plane's lock files for them. Idempotent.
netns_cleanup() {
	local ns dev ino
	# a subshell or a background child that inherited the EXIT trap must not
	# delete what its parent is still using
	[[ $BASHPID == "$NETNS_OWNER" ]] || return 0
	for ns in "${NETNS_MADE[@]}"; do
		for dev in $(ip -n "$ns" -o link show 2>/dev/null | sed -n 's/^[0-9]*: \([^:@]*\).*/\1/p'); do
			netns_detach_xdp "$ns" "$dev"
		done
		ino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null) &&
			rm -f "$NETNS_LOCK_DIR"/xdp-"$ino"-*.lock
		ip netns del "$ns" 2>/dev/null
	done
	NETNS_MADE=()
}
