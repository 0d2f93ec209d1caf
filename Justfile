# PacketFS tasks. Thin wrappers over the npm scripts, so `just X` and `npm run X`
# always do the same thing. `npx just --list` shows them (just ships with npm install).

# list the recipes
default:
    @{{just_executable()}} --list --justfile {{justfile()}}

# build the C library, tools and tests (CMake) and the TypeScript CLI
build:
    npm run build

# run the C tests (ctest) and the TypeScript tests (vitest)
test:
    npm test

# run the benchmarks; figures go to bench/results/
bench:
    npm run bench

# the benchmark matrix (root): PacketFS against TCP, rsync and zstd on emulated links;
# e.g. `just bench-matrix --quick`
bench-matrix *ARGS:
    npm run bench:matrix -- {{ARGS}}

# format C (clang-format) and TypeScript (prettier)
fmt:
    npm run fmt

# build the C tests with ASan/UBSan in build-asan and run them
asan:
    PFS_BUILD_DIR=build-asan bash deploy/build-c.sh -DPFS_SANITIZE=ON && ctest --test-dir build-asan --output-on-failure -j2
