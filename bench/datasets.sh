#!/usr/bin/env bash
# Assemble the codec benchmark's datasets in bench/data/ (git-ignored).
#
# Real public data only: published npm package tarballs, fetched with the
# ordinary client (`npm pack pkg@ver`) and stored as *uncompressed* tars, so the
# codec sees the bytes a package tree really has (a .tgz would hide all
# redundancy behind gzip). Plus 64 MiB from /dev/urandom for the incompressible
# case. Each file is fetched once; existing files are kept unless --force.
#
# Output: bench/data/<pkg>-<ver>.tar, bench/data/random-64M.bin and
# bench/data/MANIFEST.tsv (name, origin, bytes, sha256, requested). "requested"
# is the pkg@ver that bench/codec.mjs asks for; "origin" the version actually
# fetched — the same unless the requested version does not exist on the
# registry, in which case the closest existing version is taken (and said).
#
# Usage: bench/datasets.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data="$here/data"
force=0
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "datasets.sh: unknown argument '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

# Every package version any case in bench/codec.mjs uses. Update pairs (old ->
# new) are: typescript 5.6.2->5.6.3 and 5.5.4->5.6.3, react-dom 18.2.0->18.3.1,
# lodash 4.17.20->4.17.21, @babel/parser 7.25.0->7.26.0, prettier 3.3.2->3.3.3
# (and 3.3.1, 3.3.2 -> 3.3.3 as a multi-base case).
PACKAGES=(
	typescript@5.5.4 typescript@5.6.2 typescript@5.6.3
	react-dom@18.2.0 react-dom@18.3.1
	lodash@4.17.20 lodash@4.17.21
	@babel/parser@7.25.0 @babel/parser@7.26.0
	prettier@3.3.1 prettier@3.3.2 prettier@3.3.3
)
RANDOM_NAME=random-64M.bin
RANDOM_BYTES=$((64 * 1024 * 1024))

for tool in npm gunzip sha256sum node; do
	command -v "$tool" >/dev/null || {
		echo "datasets.sh: '$tool' not found" >&2
		exit 1
	}
done

mkdir -p "$data"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pfs-datasets.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

manifest_tmp="$tmp/MANIFEST.tsv"
printf 'name\torigin\tbytes\tsha256\trequested\n' >"$manifest_tmp"

# Keep what a previous manifest said about a file's origin (a random file's
# origin cannot be re-derived from its bytes).
old_manifest_field() { # name column
	[[ -f "$data/MANIFEST.tsv" ]] || return 0
	awk -F'\t' -v n="$1" -v c="$2" 'NR > 1 && $1 == n { print $c; exit }' "$data/MANIFEST.tsv"
}

add_manifest() { # name origin requested
	local f="$data/$1"
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(stat -c %s "$f")" \
		"$(sha256sum "$f" | cut -d' ' -f1)" "$3" >>"$manifest_tmp"
}

# Prints an existing version of pkg: the requested one if the registry has it,
# else the closest one (the highest release below it, or failing that the
# lowest above it).
resolve_version() { # pkg ver
	local got
	got=$(npm view "$1@$2" version 2>/dev/null | tail -n 1 || true)
	if [[ "$got" == "$2" ]]; then
		echo "$2"
		return
	fi
	npm view "$1" versions --json 2>/dev/null | node -e '
		const want = process.argv[1].split(".").map(Number);
		const cmp = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
		let all = JSON.parse(require("fs").readFileSync(0, "utf8"));
		if (!Array.isArray(all)) all = [all];
		const rel = all.filter((v) => /^\d+\.\d+\.\d+$/.test(v)).map((v) => v.split(".").map(Number));
		const below = rel.filter((v) => cmp(v, want) < 0).sort(cmp);
		const above = rel.filter((v) => cmp(v, want) > 0).sort(cmp);
		const pick = below.length ? below[below.length - 1] : above[0];
		if (!pick) process.exit(1);
		console.log(pick.join("."));
	' "$2"
}

fetch_package() { # pkg@ver
	local spec="$1" pkg ver name
	pkg="${spec%@*}"
	ver="${spec##*@}"
	# Name the file after the requested spec when a previous run fetched it.
	name=$(awk -F'\t' -v r="$spec" 'NR > 1 && $5 == r { print $1; exit }' "$data/MANIFEST.tsv" 2>/dev/null || true)
	if [[ -n "$name" && -f "$data/$name" && $force -eq 0 ]]; then
		echo "  have  $name"
		add_manifest "$name" "$(old_manifest_field "$name" 2)" "$spec"
		return
	fi
	local got
	if ! got=$(resolve_version "$pkg" "$ver"); then
		echo "datasets.sh: no version of $pkg near $ver on the registry" >&2
		exit 1
	fi
	[[ "$got" == "$ver" ]] || echo "  note  $spec does not exist; using $pkg@$got" >&2
	name="$(echo "${pkg#@}" | tr '/' '-')-$got.tar"
	if [[ -f "$data/$name" && $force -eq 0 ]]; then
		echo "  have  $name"
	else
		local dir="$tmp/pack" tgz
		rm -rf "$dir" && mkdir -p "$dir"
		tgz=$(cd "$dir" && npm pack "$pkg@$got" --silent 2>/dev/null | tail -n 1)
		if [[ -z "$tgz" || ! -f "$dir/$tgz" ]]; then
			echo "datasets.sh: npm pack $pkg@$got produced no tarball" >&2
			exit 1
		fi
		gunzip -c "$dir/$tgz" >"$data/$name.part"
		mv "$data/$name.part" "$data/$name"
		echo "  got   $name ($(stat -c %s "$data/$name") bytes) from npm pack $pkg@$got"
	fi
	add_manifest "$name" "$pkg@$got via npm pack" "$spec"
}

echo "datasets in $data"
for spec in "${PACKAGES[@]}"; do
	fetch_package "$spec"
done

if [[ -f "$data/$RANDOM_NAME" && $force -eq 0 &&
	$(stat -c %s "$data/$RANDOM_NAME") -eq $RANDOM_BYTES ]]; then
	echo "  have  $RANDOM_NAME"
	origin=$(old_manifest_field "$RANDOM_NAME" 2)
else
	head -c "$RANDOM_BYTES" /dev/urandom >"$data/$RANDOM_NAME.part"
	mv "$data/$RANDOM_NAME.part" "$data/$RANDOM_NAME"
	origin="/dev/urandom via head -c $RANDOM_BYTES, made $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "  made  $RANDOM_NAME ($RANDOM_BYTES bytes)"
fi
add_manifest "$RANDOM_NAME" "${origin:-/dev/urandom via head -c $RANDOM_BYTES}" random

mv "$manifest_tmp" "$data/MANIFEST.tsv"
echo "wrote $data/MANIFEST.tsv"
column -t -s $'\t' "$data/MANIFEST.tsv" 2>/dev/null || cat "$data/MANIFEST.tsv"
