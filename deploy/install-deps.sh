#!/usr/bin/env bash
# Install the Debian 12 system packages that building and testing PacketFS needs.
#
# Idempotent: asks dpkg which packages are missing and does nothing when none are.
# Runs from `npm install` (preinstall), so it must never prompt: it either installs
# non-interactively or stops with the exact command a person should run.
#
#   PFS_SKIP_SYSTEM_DEPS=1   skip this step (you installed the packages yourself)
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config     # C toolchain and build
	libzstd-dev libxxhash-dev libsodium-dev # libraries linked by pfs_core
	clang llvm libclang-rt-14-dev         # BPF programs, libFuzzer, sanitizers
	libbpf-dev libxdp-dev xdp-tools       # AF_XDP backend
	bpftool                               # BPF skeletons (bpftool gen skeleton)
	zstd rsync                            # reference points in the benchmarks
	debootstrap                           # the benchmark matrix's Debian image dataset
	socat iproute2                        # network-namespace integration tests
	ethtool                               # offloads off on the link emulator's veth
)

say() { printf 'install-deps: %s\n' "$*" >&2; }

if [[ "${PFS_SKIP_SYSTEM_DEPS:-0}" == "1" ]]; then
	say "PFS_SKIP_SYSTEM_DEPS=1: skipping system packages (${PACKAGES[*]})"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
	say "this is not a Debian-family system (no apt-get/dpkg-query)."
	say "install the equivalents of these Debian 12 packages with your package manager:"
	say "  ${PACKAGES[*]}"
	say "then re-run with PFS_SKIP_SYSTEM_DEPS=1 npm install"
	exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	say "system packages: all present"
	exit 0
fi

install_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"

fail() {
	say "$1"
	say "missing system packages: ${missing[*]}"
	say "run as root:"
	say "  sudo sh -c '$install_cmd'"
	say "or, if you installed them another way: PFS_SKIP_SYSTEM_DEPS=1 npm install"
	exit 1
}

# Run as root directly, or through sudo only when it needs no password: an
# `npm install` must never stop at a password prompt.
if [[ $(id -u) -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	fail "installing system packages needs root (and sudo needs a password or is absent)."
fi

say "installing missing system packages: ${missing[*]}"
if ! "${as_root[@]}" apt-get update; then
	fail "apt-get update failed."
fi
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"; then
	fail "apt-get install failed."
fi
say "system packages: installed ${missing[*]}"
