#!/usr/bin/env bash
# Assemble the datasets of the benchmark matrix (`pfs-dp bench matrix`) in
# bench/data/matrix/ (git-ignored) and describe them in MANIFEST.json.
#
# Real data only, except the random file. Each dataset is built once and kept;
# a later run only re-hashes the files and rewrites the manifest.
#   random      novel   64 MiB of /dev/urandom                   random.bin
#   text        novel   ~48 MiB of source text shipped on this machine
#                       (Python stdlib *.py, Perl modules, C headers) as a
#                       deterministic uncompressed tar             text.tar
#   typescript, react-dom, prettier
#               update  npm tarballs from bench/datasets.sh (run by this
#                       script; referenced in bench/data/, not copied)
#   image       update  debootstrap --variant=minbase bookworm (image-v1.tar),
#                       then the same tree plus a few packages installed with
#                       apt-get in a chroot (image-v2.tar); needs root
#   smallfiles  tree    ~14,000 real files of at most 64 KiB from /usr/share/doc,
#                       /usr/lib/python3, /usr/share/perl, /usr/share/icons and
#                       /usr/share/zoneinfo                        smallfiles/
#
# MANIFEST.json is an array of {id, kind, label, origin, path, bytes, files,
# sha256} (+ base, baseBytes, baseSha256 for updates), paths absolute. For the
# tree, bytes is the sum of file sizes and sha256 that of the lines
# "<sha256>  <relative path>\n" of its regular files in path order, each
# directory's entries sorted by name (as digestOf in ts/bench/matrix-measure.ts
# computes it; in shell, '/' sorting before every other byte):
#   cd smallfiles && find . -type f -printf '%P\n' | tr / '\001' |
#     LC_ALL=C sort | tr '\001' / | xargs -d '\n' sha256sum -- | sha256sum
#
# --quick: 16 MiB random (random-quick.bin), 12 MiB text (text-quick.tar),
# ~2,000 small files (smallfiles-quick/), manifest MANIFEST-quick.json; the npm
# pairs and the image are the same files.
# --force: rebuild this script's datasets (the npm tarballs are immutable and
# stay; use bench/datasets.sh --force for those).
#
# Usage: bench/matrix-datasets.sh [--quick] [--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
data="$here/data"
out="$data/matrix"
quick=0
force=0
for arg in "$@"; do
	case "$arg" in
	--quick) quick=1 ;;
	--force) force=1 ;;
	-h | --help)
		sed -n '2,/^# Usage/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "matrix-datasets.sh: unknown argument '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

MIB=$((1024 * 1024))
if [[ $quick -eq 1 ]]; then
	RANDOM_FILE=random-quick.bin RANDOM_BYTES=$((16 * MIB))
	TEXT_FILE=text-quick.tar TEXT_BYTES=$((12 * MIB))
	TREE_DIR=smallfiles-quick TREE_FILES=2000
	MANIFEST="MANIFEST-quick.json"
else
	RANDOM_FILE=random.bin RANDOM_BYTES=$((64 * MIB))
	TEXT_FILE=text.tar TEXT_BYTES=$((48 * MIB))
	TREE_DIR=smallfiles TREE_FILES=0 # 0 = every file the rule selects
	MANIFEST="MANIFEST.json"
fi

# text: sources in this order; each gets an equal share of what is left of the
# budget (a short source leaves its rest to the next ones).
TEXT_SOURCES=(
	"usr/lib/python3.11|*.py|Python 3.11 standard library"
	"usr/share/perl|*.pm *.pl *.pod|Perl core modules"
	"usr/include|*|C/C++ headers"
)
# smallfiles: regular files of at most TREE_MAX_BYTES under these directories.
TREE_ROOTS=(usr/share/doc usr/lib/python3 usr/share/perl usr/share/icons usr/share/zoneinfo)
TREE_MAX_BYTES=65536
# image: a minimal Debian, then the same tree with these packages added.
IMAGE_SUITE=bookworm
IMAGE_VARIANT=minbase
IMAGE_MIRROR=http://deb.debian.org/debian
IMAGE_PACKAGES=(less curl ca-certificates procps)
# npm pairs: id, requested base, requested new (file names from MANIFEST.tsv).
NPM_PAIRS=(
	"typescript typescript@5.6.2 typescript@5.6.3"
	"react-dom react-dom@18.2.0 react-dom@18.3.1"
	"prettier prettier@3.3.2 prettier@3.3.3"
)

die() {
	echo "matrix-datasets.sh: $*" >&2
	exit 1
}

for tool in node sha256sum tar find sort awk xargs grep numfmt; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found; install it (Debian: apt-get install -y nodejs coreutils tar findutils gawk grep)"
done

image_cached() {
	[[ $force -eq 0 && -f "$out/image-v1.tar" && -f "$out/image-v2.tar" && -f "$out/image.meta.json" ]]
}
# Check up front what building the image needs, before spending time elsewhere.
if ! image_cached; then
	if [[ $EUID -ne 0 ]]; then
		die "building the image (debootstrap, chroot, mount) needs root: run sudo $0 $*"
	fi
	if ! command -v debootstrap >/dev/null; then
		echo "  debootstrap not found; installing it: apt-get install -y debootstrap"
		apt-get -o DPkg::Lock::Timeout=300 install -y -q debootstrap >/dev/null ||
			die "could not install debootstrap; run: apt-get update && apt-get install -y debootstrap"
	fi
	for tool in chroot mount umount cp dpkg-query; do
		command -v "$tool" >/dev/null || die "'$tool' not found (needed for the image)"
	done
fi

mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pfs-matrix-datasets.XXXXXX")
tmp=$(realpath "$tmp")

# Mount points at or below a directory, deepest first.
mounts_under() { # dir
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
unmount_under() { # dir
	local m
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done < <(mounts_under "$1")
}
cleanup() {
	local rc=$?
	if [[ -d "$tmp" ]]; then
		unmount_under "$tmp"
		if [[ -n "$(mounts_under "$tmp")" ]]; then
			echo "matrix-datasets.sh: something is still mounted under $tmp; not deleting it:" >&2
			mounts_under "$tmp" >&2
		else
			rm -rf --one-file-system "$tmp"
		fi
	fi
	rm -rf "$out"/*.part
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step_t0=0
step() { # title
	echo "== $1"
	step_t0=$(date +%s.%N)
}
step_done() {
	awk -v a="$step_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "   (%.1f s)\n", b - a }'
}
human() { numfmt --to=iec-i --suffix=B --format=%.1f "$1"; }
size_of() { stat -c %s "$1"; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# A manifest must not describe files that are being replaced: drop it when a
# dataset is rebuilt (this run writes it again at the end).
stale() { # manifest...
	local m
	for m in "$@"; do
		rm -f "$out/$m"
	done
}

# One manifest entry per call: key value pairs; bytes, files, baseBytes are
# numbers; a key ending in ":json" is parsed as JSON.
entries="$tmp/entries.jsonl"
: >"$entries"
add_entry() {
	node -e '
		const a = process.argv.slice(1), o = {};
		for (let i = 0; i < a.length; i += 2) {
			let [k, v] = [a[i], a[i + 1]];
			if (k.endsWith(":json")) [k, v] = [k.slice(0, -5), JSON.parse(v)];
			else if (["bytes", "files", "baseBytes", "members"].includes(k)) v = Number(v);
			o[k] = v;
		}
		console.log(JSON.stringify(o));
	' -- "$@" >>"$entries"
}

# ---------------------------------------------------------------- random ----
step "random: $RANDOM_FILE"
f="$out/$RANDOM_FILE"
if [[ $force -eq 0 && -f "$f" && $(size_of "$f") -eq $RANDOM_BYTES ]]; then
	echo "   have  $RANDOM_FILE"
else
	stale "$MANIFEST"
	head -c "$RANDOM_BYTES" /dev/urandom >"$f.part"
	mv "$f.part" "$f"
	echo "   made  $RANDOM_FILE"
fi
made=$(date -u -d "@$(stat -c %Y "$f")" +%Y-%m-%d)
add_entry id random kind novel label "random bytes" \
	origin "$((RANDOM_BYTES / MIB)) MiB from /dev/urandom (head -c $RANDOM_BYTES /dev/urandom), made $made." \
	path "$f" bytes "$(size_of "$f")" files 1 sha256 "$(sha_of "$f")"
echo "   $RANDOM_FILE: $(human "$(size_of "$f")")"
step_done

# ------------------------------------------------------------------ text ----
# Prints, for each text source, its readable text files (no NUL byte) as
# "source-index<TAB>size<TAB>path" (relative to /), name-sorted per source.
text_candidates() {
	local i=0 spec dir pats pat
	local -a name_args patterns
	cd /
	for spec in "${TEXT_SOURCES[@]}"; do
		i=$((i + 1))
		IFS='|' read -r dir pats _ <<<"$spec"
		[[ -d "$dir" ]] || die "text source /$dir does not exist on this machine; edit TEXT_SOURCES in $0"
		name_args=()
		read -r -a patterns <<<"$pats"
		for pat in "${patterns[@]}"; do
			name_args+=(${name_args[@]:+-o} -name "$pat")
		done
		find "$dir" -type f \( "${name_args[@]}" \) ! -name $'*\n*' ! -name $'*\t*' |
			LC_ALL=C sort | xargs -d '\n' -r env LC_ALL=C grep -lI '' -- |
			xargs -d '\n' -r stat -c "$i"$'\t%s\t%n'
	done
}
# Reads text_candidates, prints the chosen paths: per source, name order, cut
# where its share of the budget (in tar bytes: header + data in 512-byte
# blocks, plus a GNU long-name entry for names of 100+ bytes) is reached.
text_select() { # budget
	awk -F'\t' -v budget="$1" -v nsrc="${#TEXT_SOURCES[@]}" '
		{ n[$1]++; sz[$1, n[$1]] = $2; p[$1, n[$1]] = $3 }
		END {
			left = budget - 1024
			for (s = 1; s <= nsrc; s++) {
				share = left / (nsrc - s + 1); used = 0
				for (i = 1; i <= n[s]; i++) {
					e = 512 + int((sz[s, i] + 511) / 512) * 512
					if (length(p[s, i]) >= 100) e += 512 + int((length(p[s, i]) + 512) / 512) * 512
					if (used + e > share) break
					used += e; print p[s, i]
				}
				left -= used
			}
		}'
}

step "text: $TEXT_FILE (~$((TEXT_BYTES / MIB)) MiB)"
f="$out/$TEXT_FILE"
if [[ $force -eq 0 && -f "$f" ]]; then
	echo "   have  $TEXT_FILE"
else
	stale "$MANIFEST"
	(text_candidates) >"$tmp/text.candidates"
	text_select "$TEXT_BYTES" <"$tmp/text.candidates" | LC_ALL=C sort >"$tmp/text.list"
	[[ -s "$tmp/text.list" ]] || die "found no text files for $TEXT_FILE (sources: ${TEXT_SOURCES[*]})"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
		-C / --no-recursion --verbatim-files-from -T "$tmp/text.list" -cf "$f.part"
	mv "$f.part" "$f"
	echo "   made  $TEXT_FILE"
fi
# Describe the tar from its contents (members per source), so a cached tar is
# described as exactly as a new one.
tar -tf "$f" >"$tmp/text.members"
text_parts=()
for spec in "${TEXT_SOURCES[@]}"; do
	IFS='|' read -r dir pats what <<<"$spec"
	count=$(awk -v d="$dir/" 'index($0, d) == 1 { n++ } END { print n + 0 }' "$tmp/text.members")
	text_parts+=("$count files ($pats) of /$dir ($what)")
done
text_members=$(wc -l <"$tmp/text.members")
text_origin="Text files shipped on this Debian machine: ${text_parts[0]}, ${text_parts[1]} and ${text_parts[2]}, each set name-sorted and cut at an equal share of $((TEXT_BYTES / MIB)) MiB, packed in name order with tar --format=gnu --mtime=@0 --owner=0 --group=0 --numeric-owner (bench/matrix-datasets.sh)."
add_entry id text kind novel label "text (source files)" origin "$text_origin" \
	path "$f" bytes "$(size_of "$f")" files 1 sha256 "$(sha_of "$f")" members "$text_members"
echo "   $TEXT_FILE: $(human "$(size_of "$f")"), $text_members files: ${text_parts[*]}"
step_done

# ------------------------------------------------------------ npm pairs -----
step "npm pairs (bench/datasets.sh)"
# (its fetches and notes; not the files it already had, nor its table)
"$here/datasets.sh" | awk '!done && !/^  have / { print "   | " $0 } /^wrote / { done = 1 }'
[[ -f "$data/MANIFEST.tsv" ]] || die "bench/datasets.sh wrote no $data/MANIFEST.tsv"
npm_file() { # requested pkg@ver -> file name in bench/data
	awk -F'\t' -v r="$1" 'NR > 1 && $5 == r { print $1; exit }' "$data/MANIFEST.tsv"
}
npm_version() { # file name -> version actually fetched (from the origin column)
	awk -F'\t' -v n="$1" 'NR > 1 && $1 == n { sub(/ via.*/, "", $2); sub(/.*@/, "", $2); print $2; exit }' "$data/MANIFEST.tsv"
}
for pair in "${NPM_PAIRS[@]}"; do
	read -r id old new <<<"$pair"
	bname=$(npm_file "$old")
	nname=$(npm_file "$new")
	[[ -n "$bname" && -f "$data/$bname" && -n "$nname" && -f "$data/$nname" ]] ||
		die "bench/datasets.sh did not provide $old and $new (see $data/MANIFEST.tsv); rerun bench/datasets.sh"
	base="$data/$bname" f="$data/$nname"
	add_entry id "$id" kind update label "$id $(npm_version "$bname") → $(npm_version "$nname")" \
		origin "npm registry tarballs ($(npm_version "$bname") and $(npm_version "$nname") via npm pack), unpacked to uncompressed tar (bench/datasets.sh)." \
		path "$f" bytes "$(size_of "$f")" files 1 sha256 "$(sha_of "$f")" \
		base "$base" baseBytes "$(size_of "$base")" baseSha256 "$(sha_of "$base")"
	echo "   $id: $bname ($(human "$(size_of "$base")")) -> $nname ($(human "$(size_of "$f")"))"
done
step_done

# ----------------------------------------------------------------- image ----
in_chroot() { # dir command...
	local dir="$1"
	shift
	chroot "$dir" /usr/bin/env -i HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
# Drop what apt can download again, so both trees differ only by the packages.
clean_tree() { # dir
	in_chroot "$1" apt-get clean
	find "$1/var/lib/apt/lists" -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
}
package_list() { # dir -> sorted name=version lines
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${db:Status-Abbrev}\t${Package}=${Version}\n' |
		awk -F'\t' '$1 ~ /^ii/ { print $2 }' | LC_ALL=C sort
}

build_image() {
	local root="$tmp/image" v1 v2 t
	v1="$root/v1" v2="$root/v2"
	mkdir -p "$root"
	t=$(date +%s)
	echo "   debootstrap --variant=$IMAGE_VARIANT $IMAGE_SUITE (from $IMAGE_MIRROR) -> v1"
	if ! debootstrap --variant="$IMAGE_VARIANT" "$IMAGE_SUITE" "$v1" "$IMAGE_MIRROR" >"$root/debootstrap.out" 2>&1; then
		tail -n 15 "$root/debootstrap.out" >&2
		[[ -f "$v1/debootstrap/debootstrap.log" ]] && tail -n 15 "$v1/debootstrap/debootstrap.log" >&2
		die "debootstrap failed (log above); check that $IMAGE_MIRROR is reachable (does apt-get update work?)"
	fi
	unmount_under "$v1" # debootstrap unmounts what it mounted; make sure
	clean_tree "$v1"
	# debootstrap copies the host's /etc/hostname and /etc/resolv.conf: use
	# neutral ones, so the image does not depend on the machine that built it.
	rm -f "$v1/etc/hostname" "$v1/etc/resolv.conf"
	echo debian >"$v1/etc/hostname"
	: >"$v1/etc/resolv.conf"
	chmod 644 "$v1/etc/hostname" "$v1/etc/resolv.conf"
	echo "   v1 done in $(($(date +%s) - t)) s; copying it to v2 and adding: ${IMAGE_PACKAGES[*]}"
	t=$(date +%s)
	cp -a "$v1" "$v2"
	# apt in the chroot: no services started, the host's DNS, /proc mounted.
	printf '#!/bin/sh\nexit 101\n' >"$v2/usr/sbin/policy-rc.d"
	chmod 755 "$v2/usr/sbin/policy-rc.d"
	rm -f "$v2/etc/resolv.conf"
	cp /etc/resolv.conf "$v2/etc/resolv.conf"
	mount -t proc proc "$v2/proc"
	if ! in_chroot "$v2" apt-get update -q >"$root/apt.out" 2>&1 ||
		! in_chroot "$v2" apt-get install -y -q --no-install-recommends "${IMAGE_PACKAGES[@]}" >>"$root/apt.out" 2>&1; then
		tail -n 20 "$root/apt.out" >&2
		die "apt-get in the image chroot failed (log above)"
	fi
	clean_tree "$v2"
	umount "$v2/proc"
	rm -f "$v2/usr/sbin/policy-rc.d" "$v2/etc/resolv.conf"
	if [[ -e "$v1/etc/resolv.conf" || -L "$v1/etc/resolv.conf" ]]; then
		cp -a "$v1/etc/resolv.conf" "$v2/etc/resolv.conf"
	fi
	[[ -z "$(mounts_under "$root")" ]] || die "still mounted under $root: $(mounts_under "$root")"
	echo "   v2 done in $(($(date +%s) - t)) s"

	package_list "$v1" >"$root/v1.pkgs"
	package_list "$v2" >"$root/v2.pkgs"
	LC_ALL=C comm -13 "$root/v1.pkgs" "$root/v2.pkgs" >"$root/added.pkgs"
	t=$(date +%s)
	tar --numeric-owner --sort=name -C "$v1" -cf "$out/image-v1.tar.part" .
	tar --numeric-owner --sort=name -C "$v2" -cf "$out/image-v2.tar.part" .
	node -e '
		const [ver, variant, suite, mirror, arch, v1n, req, added] = process.argv.slice(1);
		const lines = (s) => s.split("\n").filter(Boolean);
		console.log(JSON.stringify({
			debootstrap: { version: ver, variant, suite, mirror, arch },
			v1Packages: Number(v1n),
			packagesRequested: req.split(" "),
			packagesInstalled: lines(added),
			builtAt: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
		}, null, 2));
	' -- "$(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || debootstrap --version)" \
		"$IMAGE_VARIANT" "$IMAGE_SUITE" "$IMAGE_MIRROR" "$(dpkg --print-architecture)" \
		"$(wc -l <"$root/v1.pkgs")" "${IMAGE_PACKAGES[*]}" "$(cat "$root/added.pkgs")" >"$out/image.meta.json.part"
	mv "$out/image-v1.tar.part" "$out/image-v1.tar"
	mv "$out/image-v2.tar.part" "$out/image-v2.tar"
	mv "$out/image.meta.json.part" "$out/image.meta.json"
	echo "   tarred in $(($(date +%s) - t)) s; $(wc -l <"$root/added.pkgs") packages added in v2: $(tr '\n' ' ' <"$root/added.pkgs")"
	rm -rf --one-file-system "$root"
}

step "image: image-v1.tar, image-v2.tar"
if image_cached; then
	echo "   have  image-v1.tar, image-v2.tar"
else
	stale MANIFEST.json MANIFEST-quick.json # both use the image
	build_image
	echo "   made  image-v1.tar, image-v2.tar"
fi
meta=$(cat "$out/image.meta.json")
npkgs=$(node -e 'console.log(JSON.parse(process.argv[1]).packagesRequested.length)' -- "$meta")
pkgs=$(node -e 'console.log(JSON.parse(process.argv[1]).packagesRequested.join(" "))' -- "$meta")
f="$out/image-v2.tar" base="$out/image-v1.tar"
add_entry id image kind update label "Debian image + $npkgs packages" \
	origin "debootstrap --variant=$IMAGE_VARIANT $IMAGE_SUITE $IMAGE_MIRROR (v1), then a copy of that tree with apt-get install --no-install-recommends $pkgs run in a chroot (v2), apt caches and lists removed and /etc/hostname, /etc/resolv.conf made neutral in both, each tarred uncompressed with tar --numeric-owner --sort=name (bench/matrix-datasets.sh)." \
	path "$f" bytes "$(size_of "$f")" files 1 sha256 "$(sha_of "$f")" \
	base "$base" baseBytes "$(size_of "$base")" baseSha256 "$(sha_of "$base")" \
	image:json "$meta"
echo "   image-v1.tar: $(human "$(size_of "$base")"), image-v2.tar: $(human "$(size_of "$f")")"
step_done

# ------------------------------------------------------------ smallfiles ----
step "smallfiles: $TREE_DIR/"
d="$out/$TREE_DIR"
if [[ $force -eq 0 && -d "$d" ]]; then
	echo "   have  $TREE_DIR/"
else
	stale "$MANIFEST"
	rm -rf "$d" "$d.part"
	(
		cd /
		for r in "${TREE_ROOTS[@]}"; do
			[[ -d "$r" ]] || die "/$r does not exist on this machine; edit TREE_ROOTS in $0"
		done
		find "${TREE_ROOTS[@]}" -type f -size -$((TREE_MAX_BYTES + 1))c \
			! -name $'*\n*' ! -name $'*\t*'
	) | LC_ALL=C sort >"$tmp/tree.all"
	# Every k-th file for a target count (--quick), then the directories that
	# lead to the chosen files, so they are copied with their own metadata.
	awk -v want="$TREE_FILES" '
		NR == FNR { n++; next }
		FNR == 1 { k = (want > 0 && n > want) ? int(n / want) : 1 }
		(FNR - 1) % k == 0 {
			print
			p = $0
			while (sub(/\/[^\/]*$/, "", p) && !(p in seen)) { seen[p] = 1; print p }
		}' "$tmp/tree.all" "$tmp/tree.all" | LC_ALL=C sort >"$tmp/tree.list"
	mkdir "$d.part"
	tar -C / --no-recursion --verbatim-files-from -T "$tmp/tree.list" -cf - |
		tar -C "$d.part" -xpf -
	mv "$d.part" "$d"
	echo "   made  $TREE_DIR/"
fi
tree_files=$(find "$d" -type f | wc -l)
tree_bytes=$(find "$d" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
# The tree's digest exactly as the runner checks it (digestOf in
# ts/bench/matrix-measure.ts): each directory's entries sorted by name.
# shellcheck disable=SC2016 # JavaScript, not shell
tree_sha=$(node -e '
	const { readdirSync, lstatSync, readFileSync } = require("fs");
	const { join } = require("path");
	const { createHash } = require("crypto");
	const root = process.argv[1], h = createHash("sha256");
	const walk = (rel) => {
		for (const name of readdirSync(join(root, rel)).sort()) {
			const r = rel ? `${rel}/${name}` : name, st = lstatSync(join(root, r));
			if (st.isDirectory()) walk(r);
			else if (st.isFile()) h.update(`${createHash("sha256").update(readFileSync(join(root, r))).digest("hex")}  ${r}\n`);
		}
	};
	walk("");
	console.log(h.digest("hex"));
' -- "$d")
tree_from=""
for r in "${TREE_ROOTS[@]}"; do
	tree_from+="${tree_from:+, }/$r ($(find "$d/$r" -type f 2>/dev/null | wc -l))"
done
if [[ $quick -eq 1 ]]; then
	pick="every k-th file in name order for about $TREE_FILES files"
else
	pick="all of them"
fi
add_entry id smallfiles kind tree label "many small files" \
	origin "Regular files of at most $((TREE_MAX_BYTES / 1024)) KiB (no symlinks or special files) from this Debian machine's $tree_from, $pick, copied with their directories, modes and mtimes by a tar pipe (bench/matrix-datasets.sh)." \
	path "$d" bytes "$tree_bytes" files "$tree_files" sha256 "$tree_sha" \
	sha256Of "the lines '<sha256>  <relative path>\\n' of the regular files in path order, each directory's entries sorted by name (find . -type f -printf '%P\\n' | tr / '\\001' | LC_ALL=C sort | tr '\\001' / | xargs -d '\\n' sha256sum -- | sha256sum)"
echo "   $TREE_DIR/: $tree_files files, $(human "$tree_bytes"): $tree_from"
step_done

# -------------------------------------------------------------- manifest ----
node -e '
	const fs = require("fs");
	const [src, dst] = process.argv.slice(1);
	const order = ["random", "text", "typescript", "react-dom", "prettier", "image", "smallfiles"];
	const all = fs.readFileSync(src, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
	all.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
	if (all.map((e) => e.id).join() !== order.join()) throw new Error("missing datasets: " + all.map((e) => e.id));
	fs.writeFileSync(dst + ".part", JSON.stringify(all, null, 2) + "\n");
	fs.renameSync(dst + ".part", dst);
	for (const e of all)
		console.log([e.id.padEnd(11), e.kind.padEnd(7), (e.bytes / 1048576).toFixed(1).padStart(7) + " MiB",
			String(e.files).padStart(6) + " files", e.baseBytes ? "base " + (e.baseBytes / 1048576).toFixed(1) + " MiB" : ""].join("  "));
' -- "$entries" "$out/$MANIFEST"
echo "wrote $out/$MANIFEST"
