#!/usr/bin/env bash
# Assemble the datasets (cached in bench/data/) and run the benchmarks: the codec
# (bench/codec.mjs) and the transport on loopback (bench/transport.mjs).
# Arguments go to the codec benchmark, e.g.
#   bench/run.sh --quick
#   bench/run.sh --tool build/pfs-codec-bench --out bench/results -- --log-size 1G
# With --quick the transport benchmark runs its quick subset too.
# To refetch the datasets first: bench/datasets.sh --force
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/datasets.sh"
node "$here/codec.mjs" "$@"
quick=()
for a in "$@"; do [[ "$a" == --quick ]] && quick=(--quick); done
node "$here/transport.mjs" "${quick[@]}"
