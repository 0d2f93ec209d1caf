#!/usr/bin/env bash
# Format the sources that exist: C and BPF with clang-format (.clang-format, kernel
# style), TypeScript and test scripts with prettier. A formatter that is not
# installed is reported and skipped rather than failing the whole run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
shopt -s nullglob

c_files=(dataplane/*.[ch] dataplane/tools/*.c dataplane/addon/*.cc test/dataplane/*.[ch] test/fuzz/*.c bpf/*.[ch])
if ((${#c_files[@]} > 0)); then
	if command -v clang-format >/dev/null 2>&1; then
		clang-format -i "${c_files[@]}"
		echo "fmt: clang-format: ${#c_files[@]} C files"
	else
		echo "fmt: clang-format not found (apt-get install clang-format): C files left as they are" >&2
	fi
fi

js_files=(ts test/*.mjs vitest.config.ts)
if command -v prettier >/dev/null 2>&1; then
	prettier --write --log-level warn "${js_files[@]}"
	echo "fmt: prettier: ts/, test/*.mjs, vitest.config.ts"
else
	echo "fmt: prettier not found: run npm install (it is a dev dependency)" >&2
fi
