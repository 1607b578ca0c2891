#!/usr/bin/env bash
# Quick start, part 2: build and run every test, as CI does.
#   1. optimized build, warnings as errors, the whole suite (benchmarks are built, not run)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, the whole suite
#   3. ThreadSanitizer build, the concurrency tests (CTest label "concurrency"), the remote
#      sources' threads among them (the gRPC one is not: libgrpc is not instrumented)
#   4. the libFuzzer targets (clang), 60 s each from the seed corpora (scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
flagd_install_deps

jobs=$(nproc)

# build NAME TARGET... -- CMAKE_ARG...
build() {
  local name=$1; shift
  local targets=()
  while [ "$1" != "--" ]; do targets+=(--target "$1"); shift; done
  shift
  echo "==> [$name] build (at ${SECONDS} s)"
  cmake -S . -B "build/$name" -DFLAGD_WERROR=ON "$@" >/dev/null
  if ! cmake --build "build/$name" -j"$jobs" "${targets[@]}" >"build/$name.log" 2>&1; then
    cat "build/$name.log"
    echo "==> [$name] build failed" >&2
    exit 1
  fi
}

# check NAME CTEST_ARG...
check() {
  local name=$1; shift
  echo "==> [$name] tests (at ${SECONDS} s)"
  (cd "build/$name" && ctest --output-on-failure --no-tests=error -j"$jobs" "$@")
}

# flagd's own Go engine (../shared/go-oracle) is built by CMake into the build tree with Debian's
# golang-1.19-go, offline, for the comparison tests (label "oracle"); without Go or those
# sources they say so and are skipped.
if [ ! -x /usr/lib/go-1.19/bin/go ] && ! command -v go >/dev/null; then
  echo "==> Go not found: the comparison with flagd's Go engine (label oracle) will be skipped"
elif [ ! -f ../shared/go-oracle/build.sh ]; then
  echo "==> ../shared/go-oracle not found: the comparison with flagd's Go engine (label oracle) will be skipped"
fi
build release all -- -DCMAKE_BUILD_TYPE=Release -DFLAGD_BUILD_TESTS=ON -DFLAGD_BUILD_BENCH=ON

# The reference JavaScript evaluator for the differential test, from the npm registry. Without
# Node.js or the registry, the test says so and is skipped.
if command -v npm >/dev/null; then
  mkdir -p build/release/differential
  cp tests/differential/package.json build/release/differential/
  if ! (cd build/release/differential && timeout 300 npm install --no-audit --no-fund --silent >/dev/null 2>&1); then
    echo "==> npm install of @openfeature/flagd-core failed: the differential test will be skipped"
  fi
  mkdir -p build/release/serve_clients
  cp tests/serve_clients/package.json build/release/serve_clients/
  if ! (cd build/release/serve_clients && timeout 300 npm install --no-audit --no-fund --silent >/dev/null 2>&1); then
    echo "==> npm install of the OpenFeature clients failed: the serve_*_js tests will be skipped"
  fi
else
  echo "==> npm not found: the differential and serve_*_js tests will be skipped"
fi
check release

build asan-ubsan all -- -DCMAKE_BUILD_TYPE=Debug -DFLAGD_SANITIZE=address,undefined -DFLAGD_BUILD_BENCH=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 check asan-ubsan

build tsan test_concurrent_threads flagd_torture test_reload_stop test_http_source test_etcd_source test_http_server flagd -- \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLAGD_SANITIZE=thread -DFLAGD_BUILD_BENCH=OFF
TSAN_OPTIONS=halt_on_error=1 check tsan -L concurrency

./scripts/fuzz.sh "${FLAGD_FUZZ_SECONDS:-60}"

echo "==> all test suites passed (in ${SECONDS} s)"
