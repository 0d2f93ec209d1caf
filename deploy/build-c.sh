#!/usr/bin/env bash
# Configure and build the C library, tools and tests with CMake.
#
#   PFS_BUILD_DIR   build directory (default: build)
#   extra arguments are passed to the cmake configure step, e.g.
#     PFS_BUILD_DIR=build-asan bash deploy/build-c.sh -DPFS_SANITIZE=ON
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${PFS_BUILD_DIR:-build}"

if ! command -v cmake >/dev/null 2>&1; then
	echo "build-c: cmake not found: run deploy/install-deps.sh (as root) first" >&2
	exit 1
fi

if ! cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"; then
	echo "build-c: cmake configure failed in $build_dir (see the messages above)" >&2
	exit 1
fi
if ! cmake --build "$build_dir" -j2; then
	echo "build-c: C build failed in $build_dir (see the compiler errors above)" >&2
	exit 1
fi
echo "build-c: C library, tools and tests built in $build_dir"
