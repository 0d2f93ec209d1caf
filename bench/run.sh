#!/usr/bin/env bash
# Assemble the datasets (cached in bench/data/) and run the codec benchmark.
# Every argument goes to bench/codec.mjs, e.g.
#   bench/run.sh --quick
#   bench/run.sh --tool build/pfs-codec-bench --out bench/results -- --log-size 30
# To refetch the datasets first: bench/datasets.sh --force
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/datasets.sh"
exec node "$here/codec.mjs" "$@"
