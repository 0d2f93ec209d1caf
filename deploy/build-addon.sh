#!/usr/bin/env bash
# Build the Node addon (dataplane/addon, over pfs_core) with cmake-js into
# $PFS_BUILD_DIR/addon (default build/addon); the addon lands at
# build/addon/Release/pfs_addon.node, where ts/dataplane/native.ts loads it.
#
# Offline: package.json declares a Node-API addon ("binary.napi_versions"), so
# cmake-js takes the headers from the node-api-headers and node-addon-api npm
# packages instead of downloading Node's; nothing is fetched at build time.
#
#   PFS_BUILD_DIR   build directory (default: build)
#   extra arguments are passed to cmake-js, e.g. --debug
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${PFS_BUILD_DIR:-build}"
cmake_js=node_modules/.bin/cmake-js

if [[ ! -x "$cmake_js" ]]; then
	echo "build-addon: cmake-js is not installed: run npm install" >&2
	exit 1
fi
if ! "$cmake_js" build --directory . --out "$build_dir/addon" --parallel 2 --log-level warn "$@"; then
	echo "build-addon: addon build failed in $build_dir/addon (see the messages above)" >&2
	exit 1
fi
echo "build-addon: Node addon built in $build_dir/addon/Release/pfs_addon.node"
