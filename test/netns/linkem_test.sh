#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The link emulator against what ping and TCP observe through it. Each case
# builds its own topology (test/netns/linkem_lib.sh draws it), starts
# pfs-linkem in the middle namespace, measures from A to B, stops the
# emulator with SIGTERM and reads the stats it wrote:
#
#   ${P}a: ping, socat -> ${P}a0 ==veth== ${P}m0 [pfs-linkem] ${P}m1 ==veth== ${P}b0 :${P}b
#
# Usage: linkem_test.sh CASE   (each case_* function below; ctest runs each
# as linkem_netns.CASE, cmake/linkem_tests.cmake reads the names from this
# file). The emulator comes from $PFS_LINKEM. Exit 0 pass, 1 fail, 77 skip.
# Every process runs under a time bound; namespaces, files and processes are
# removed on every exit path.
set -Euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=linkem_lib.sh
source "$here/linkem_lib.sh"

MiB=$((1 << 20))
RUN_LIMIT=60 # seconds, around every ping and socat
PORT=5201

PIDS=()  # background processes (the emulator, socat receivers)
FILES=() # files made in /dev/shm
WORK=""
LINKEM_PID=""

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

on_err() {
	[[ $BASHPID == "$$" ]] || exit 1
	echo "FAIL: command failed (status $1) at line $2: $3" >&2
	exit 1
}

alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [[ -n $st && $st != Z && $st != X ]]
}

cleanup() {
	local rc=$? pid i
	[[ $BASHPID == "$$" ]] || exit "$rc"
	trap - EXIT ERR INT TERM
	set +e
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for ((i = 0; i < 20; i++)); do
		local any=0
		for pid in "${PIDS[@]}"; do alive "$pid" && any=1; done
		((any)) || break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
	netns_cleanup
	((${#FILES[@]})) && rm -f "${FILES[@]}"
	[[ -n $WORK ]] && rm -rf "$WORK"
	exit "$rc"
}

# spawn OUT ERR CMD...: CMD in the background without this script's traps;
# its pid in SPAWNED.
spawn() {
	local out=$1 err=$2
	shift 2
	(
		trap - EXIT ERR INT TERM
		exec "$@"
	) >"$out" 2>"$err" &
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}

# start_linkem ARGS...: pfs-linkem between m0 and m1 with ARGS, bounded by
# its own --time-limit; returns once it says it forwards.
start_linkem() {
	local i
	spawn "$WORK/linkem.out" "$WORK/linkem.err" ip netns exec "$LK_NS_M" "$LINKEM" \
		--if-a "$LK_IF_M0" --if-b "$LK_IF_M1" --stats "$WORK/stats.json" --time-limit 100 "$@"
	LINKEM_PID=$SPAWNED
	for ((i = 0; i < 50; i++)); do
		grep -q forwarding "$WORK/linkem.err" 2>/dev/null && return 0
		alive "$LINKEM_PID" || break
		sleep 0.1
	done
	cat "$WORK/linkem.err" >&2
	fail "pfs-linkem did not start forwarding within 5 s"
}

# stop_linkem: SIGTERM, then it must exit 0 within 5 s having written its stats.
stop_linkem() {
	local i rc=0
	kill -TERM "$LINKEM_PID"
	for ((i = 0; i < 50; i++)); do
		alive "$LINKEM_PID" || break
		sleep 0.1
	done
	alive "$LINKEM_PID" && fail "pfs-linkem still runs 5 s after SIGTERM"
	wait "$LINKEM_PID" || rc=$?
	((rc == 0)) || { cat "$WORK/linkem.err" >&2; fail "pfs-linkem exited $rc after SIGTERM"; }
	[[ -s $WORK/stats.json ]] || fail "pfs-linkem wrote no stats"
	echo "stats: $(cat "$WORK/stats.json")"
}

in_a() { ip netns exec "$LK_NS_A" timeout "$RUN_LIMIT" "$@"; }
in_b() { ip netns exec "$LK_NS_B" timeout "$RUN_LIMIT" "$@"; }

random_file() {
	FILE=/dev/shm/pfs-linkem-$$-${#FILES[@]}.bin
	FILES+=("$FILE")
	head -c "$1" /dev/urandom >"$FILE"
}

# tcp_copy SRC: SRC from A to a file in B over one TCP connection through the
# emulator; sets ELAPSED (seconds, the receiver's end minus the sender's
# start) and checks the copy byte for byte.
tcp_copy() {
	local src=$1 dst=/dev/shm/pfs-linkem-$$-rx.bin i t0 t1 rx rc=0
	FILES+=("$dst")
	spawn "$WORK/rx.out" "$WORK/rx.err" ip netns exec "$LK_NS_B" timeout "$RUN_LIMIT" \
		socat -u "TCP-LISTEN:$PORT,reuseaddr" "OPEN:$dst,creat,trunc"
	rx=$SPAWNED
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$LK_NS_B" ss -Hltn "sport = :$PORT" | grep -q . && break
		sleep 0.1
	done
	t0=$(date +%s%N)
	in_a socat -u "OPEN:$src" "TCP:$LK_IP_B:$PORT" || fail "the sender failed"
	wait "$rx" || rc=$?
	t1=$(date +%s%N)
	((rc == 0)) || { cat "$WORK/rx.err" >&2; fail "the receiver exited $rc"; }
	cmp -s "$src" "$dst" || fail "the copy differs from the original"
	ELAPSED=$(python3 -c "print(($t1 - $t0) / 1e9)")
}

# json EXPR: a Python expression over the stats as `s`.
json() {
	python3 -c "import json; s = json.load(open('$WORK/stats.json')); print($1)"
}

# binomial_bounds N P: the 0.05% and 99.95% quantiles of Binomial(N, P).
binomial_bounds() {
	python3 - "$1" "$2" <<'PY'
import math, sys
n, p = int(sys.argv[1]), float(sys.argv[2])
cdf, lo, hi = 0.0, None, None
for k in range(n + 1):
    cdf += math.comb(n, k) * p**k * (1 - p) ** (n - k)
    if lo is None and cdf >= 0.0005:
        lo = k
    if hi is None and cdf >= 0.9995:
        hi = k
print(lo, hi)
PY
}

# --- cases -------------------------------------------------------------------

case_ping_rtt_through_the_emulator_matches_the_configured_delay() {
	start_linkem --delay 10ms
	in_a ping -c 1 -W 2 "$LK_IP_B" >/dev/null || fail "no reply through the emulator (ARP included)"
	in_a ping -c 20 -i 0.05 -W 2 "$LK_IP_B" >"$WORK/ping.out" || { cat "$WORK/ping.out" >&2; fail "ping lost replies"; }
	local median
	median=$(python3 -c "
import re, statistics
rtts = [float(x) for x in re.findall(r'time=([0-9.]+) ms', open('$WORK/ping.out').read())]
assert len(rtts) == 20, rtts
print(statistics.median(rtts))")
	echo "median RTT of 20 pings with 10 ms each way: $median ms"
	python3 -c "import sys; sys.exit(not (17 <= $median <= 23))" ||
		fail "median RTT $median ms, expected 20 ms +- 3 ms"
	stop_linkem
}

case_per_direction_delay_and_jitter_apply_to_their_direction_only() {
	start_linkem --delay 5ms --a-to-b-jitter 4ms --b-to-a-delay 1ms
	in_a ping -c 1 -W 2 "$LK_IP_B" >/dev/null || fail "no reply through the emulator (ARP included)"
	in_a ping -c 40 -i 0.02 -W 2 "$LK_IP_B" >"$WORK/ping.out" || { cat "$WORK/ping.out" >&2; fail "ping lost replies"; }
	# requests take 5 ms + [0, 4 ms), replies 1 ms: RTTs in [6, 10) ms, spread
	python3 -c "
import re, sys
rtts = [float(x) for x in re.findall(r'time=([0-9.]+) ms', open('$WORK/ping.out').read())]
print(f'RTT of 40 pings, 5 ms + [0, 4) ms there, 1 ms back: min {min(rtts)} max {max(rtts)} ms')
sys.exit(not (len(rtts) == 40 and min(rtts) >= 5.9 and max(rtts) <= 11.5 and max(rtts) - min(rtts) >= 2))" ||
		fail "RTTs outside [6, 10) ms + scheduling, or not spread by the jitter"
	stop_linkem
	[[ $(json "(s['a_to_b']['config']['delay_ns'], s['a_to_b']['config']['jitter_ns'], s['b_to_a']['config']['delay_ns'], s['b_to_a']['config']['jitter_ns'])") == \
		"(5000000, 4000000, 1000000, 0)" ]] || fail "the stats do not show the per-direction settings"
}

case_tcp_throughput_through_the_emulator_matches_the_configured_rate() {
	local size=$((32 * MiB)) ratio
	start_linkem --rate 100mbit --delay 1ms
	random_file "$size"
	tcp_copy "$FILE"
	# the rate counts whole frames: a 1448-byte segment is a 1514-byte frame,
	# so the best time is 4.6 % above size/rate
	ratio=$(python3 -c "print($ELAPSED / ($size * 8 / 100e6))")
	echo "32 MiB at 100 Mbit/s + 1 ms: $ELAPSED s, $ratio x size/rate" \
		"($(python3 -c "print(round($size * 8 / $ELAPSED / 1e6, 1))") Mbit/s of payload)"
	python3 -c "import sys; sys.exit(not (1.0 <= $ratio <= 1.15))" ||
		fail "the transfer took $ratio x size/rate, expected 1.0-1.15"
	stop_linkem
	[[ $(json "s['a_to_b']['dropped']['too_big']") == 0 ]] || fail "frames too big: offloads on?"
}

case_loss_seen_by_ping_matches_the_configured_loss() {
	local n=500 got lo hi
	linkem_static_neigh || fail "cannot set the neighbour entries"
	start_linkem --loss 10% --seed 7
	in_a ping -q -c "$n" -i 0.002 -W 1 "$LK_IP_B" >"$WORK/ping.out" || true
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.out")
	[[ -n $got ]] || { cat "$WORK/ping.out" >&2; fail "no ping summary"; }
	read -r lo hi < <(binomial_bounds "$n" 0.19)
	echo "10 % loss each way: $((n - got)) of $n round trips lost (99.9 % bounds $lo-$hi)"
	((n - got >= lo && n - got <= hi)) || fail "$((n - got)) lost, expected $lo-$hi"
	stop_linkem
	# what the emulator says it did is exactly what ping saw
	[[ $(json "s['a_to_b']['in_packets']") == "$n" ]] || fail "a_to_b saw not $n requests"
	[[ $(json "s['a_to_b']['in_packets'] - s['a_to_b']['dropped']['loss'] == s['a_to_b']['out_packets'] == s['b_to_a']['in_packets']") == True ]] ||
		fail "a_to_b's counts do not add up"
	[[ $(json "s['b_to_a']['out_packets']") == "$got" ]] || fail "b_to_a delivered not the $got replies ping got"
	local d
	for d in a_to_b b_to_a; do
		read -r lo hi < <(binomial_bounds "$(json "s['$d']['in_packets']")" 0.1)
		local l
		l=$(json "s['$d']['dropped']['loss']")
		((l >= lo && l <= hi)) || fail "$d dropped $l, expected $lo-$hi"
	done
}

case_the_emulator_reports_what_it_did() {
	local n=400 got dups d1 d2 lo hi
	linkem_static_neigh || fail "cannot set the neighbour entries"
	start_linkem --duplicate 5% --seed 3
	in_a ping -q -c "$n" -i 0.002 -W 1 "$LK_IP_B" >"$WORK/ping.out" || true
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.out")
	dups=$(sed -n 's/.*+\([0-9]*\) duplicates.*/\1/p' "$WORK/ping.out")
	dups=${dups:-0}
	stop_linkem
	d1=$(json "s['a_to_b']['duplicated']")
	d2=$(json "s['b_to_a']['duplicated']")
	echo "5 % duplication: ping saw $got replies and $dups DUPs; the emulator duplicated $d1 requests, $d2 replies"
	((got == n)) || fail "ping got $got of $n replies with no loss configured"
	# every request and every copy of it is answered, and each answer may
	# itself be duplicated: ping's DUPs are exactly the two counts' sum
	((dups == d1 + d2)) || fail "ping saw $dups DUPs, the emulator reports $d1 + $d2"
	[[ $(json "(s['a_to_b']['in_packets'], s['a_to_b']['out_packets'], s['b_to_a']['in_packets'], s['b_to_a']['out_packets'])") == \
		"($n, $((n + d1)), $((n + d1)), $((n + d1 + d2)))" ]] || fail "in/out counts do not match what was sent"
	[[ $(json "sum(s[d]['dropped'][r] for d in ('a_to_b', 'b_to_a') for r in s[d]['dropped'])") == 0 ]] ||
		fail "drops reported with none configured"
	read -r lo hi < <(binomial_bounds $((2 * n + d1)) 0.05)
	((d1 + d2 >= lo && d1 + d2 <= hi)) || fail "$((d1 + d2)) duplicates of $((2 * n + d1)), expected $lo-$hi"
}

case_tcp_through_reordering_duplication_corruption_and_loss_arrives_intact() {
	local size=$((16 * MiB)) d
	start_linkem --rate 200mbit --delay 5ms --jitter 1ms --loss 0.5% --reorder 1% \
		--duplicate 1% --corrupt 1% --seed 11
	random_file "$size"
	tcp_copy "$FILE" # TCP's checksum catches every flipped bit: cmp must pass
	echo "16 MiB through 200 Mbit/s, 5 ms +- 1 ms, 0.5 % loss, 1 % reorder/dup/corrupt: $ELAPSED s"
	stop_linkem
	for d in a_to_b b_to_a; do
		[[ $(json "all(s['$d'][k] > 0 for k in ('duplicated', 'corrupted', 'reordered')) and s['$d']['dropped']['loss'] > 0") == True ]] ||
			fail "$d did not report loss, duplication, corruption and reordering"
	done
}

case_a_shaped_gigabit_with_a_20ms_round_trip_is_filled() {
	local size=$((256 * MiB)) mbit
	start_linkem --rate 1gbit --delay 10ms
	random_file "$size"
	tcp_copy "$FILE"
	mbit=$(python3 -c "print(round($size * 8 / $ELAPSED / 1e6))")
	echo "256 MiB at 1 Gbit/s, 10 ms each way: $ELAPSED s, $mbit Mbit/s of payload"
	stop_linkem
	# at most 1 Gbit/s of frames (95.6 % payload), at least 80 % of that
	# once slow start and the first round trips are paid
	((mbit <= 1000)) || fail "$mbit Mbit/s is above the configured rate"
	((mbit >= 800)) || fail "$mbit Mbit/s, expected at least 800"
}

case_interfaces_with_offloads_on_are_refused() {
	ip netns exec "$LK_NS_M" ethtool -K "$LK_IF_M0" gro on >/dev/null
	local rc=0
	ip netns exec "$LK_NS_M" timeout 10 "$LINKEM" --if-a "$LK_IF_M0" --if-b "$LK_IF_M1" \
		--time-limit 5 >"$WORK/out" 2>"$WORK/err" || rc=$?
	((rc == 1)) || fail "pfs-linkem exited $rc with GRO on $LK_IF_M0, expected 1"
	grep -q "ethtool -K $LK_IF_M0 tso off gso off gro off" "$WORK/err" ||
		{ cat "$WORK/err" >&2; fail "the refusal does not say what to run"; }
	echo "refused: $(cat "$WORK/err")"
}

case_unshaped_forwarding_reaches_a_gigabit() {
	local size=$((256 * MiB)) mbit
	start_linkem
	random_file "$size"
	tcp_copy "$FILE"
	mbit=$(python3 -c "print(round($size * 8 / $ELAPSED / 1e6))")
	echo "256 MiB unshaped through the emulator: $ELAPSED s, $mbit Mbit/s"
	stop_linkem
	# the issue asks for 1 Gbit/s; the 2-core machine this was written on
	# measured 1.4-2.3 Gbit/s (docs/linkem.md), the emulator using one core
	((mbit >= MIN_UNSHAPED_MBIT)) || fail "$mbit Mbit/s, expected at least $MIN_UNSHAPED_MBIT"
}
MIN_UNSHAPED_MBIT=1000

# --- main --------------------------------------------------------------------

mapfile -t CASES < <(declare -F | sed -n 's/^declare -f case_//p')
name=${1:-}
index=-1
for i in "${!CASES[@]}"; do [[ ${CASES[$i]} == "$name" ]] && index=$i; done
if ((index < 0)); then
	echo "usage: $0 CASE, one of:" >&2
	printf '  %s\n' "${CASES[@]}" >&2
	exit 2
fi

trap cleanup EXIT
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM
linkem_require
for tool in python3 ping socat ss cmp; do
	command -v "$tool" >/dev/null || netns_skip "no $tool"
done
LINKEM=${PFS_LINKEM:-$here/../../build/pfs-linkem}
[[ -x $LINKEM ]] || fail "no pfs-linkem at $LINKEM (set PFS_LINKEM)"
WORK=$(mktemp -d /tmp/pfs-linkem-XXXXXX)
# unique per process and case: lk<index>x<pid>{a,m,b}; subnet 198.19.(100+index).0/24
linkem_topology "lk${index}x$$" $((100 + index)) || fail "cannot build the topology"
"case_$name"
echo "ok: $name"
