#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs each for a bounded time, starting from the seed corpora in fuzz/corpus. New inputs the
# fuzzer keeps go to build/fuzz/corpus-NAME; the repository's seeds are not changed. A crash,
# hang (over 10 s) or leak fails the run and leaves the input in build/fuzz/NAME-crash-* etc.
#
#   scripts/fuzz.sh             # 60 s per target, as .ci/run (scripts/test.sh) runs it
#   scripts/fuzz.sh 3600        # the long mode: an hour per target (docs/reliability.md)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# libFuzzer and the sanitizer runtimes are only a recommendation of clang-14, which deps.sh does not install.
flagd_packages+=(clang libclang-rt-14-dev)
flagd_install_deps

seconds=${1:-60}
build=build/fuzz
echo "==> [fuzz] build"
CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLAGD_WERROR=ON -DFLAGD_BUILD_FUZZERS=ON \
  -DFLAGD_BUILD_TESTS=OFF -DFLAGD_BUILD_BENCH=OFF >/dev/null
if ! cmake --build "$build" -j"$(nproc)" --target fuzz_load fuzz_slot >"$build.log" 2>&1; then
  cat "$build.log"
  echo "==> [fuzz] build failed" >&2
  exit 1
fi

# run NAME MAX_LEN
run() {
  local name=$1 max_len=$2
  local corpus="$build/corpus-${name#fuzz_}"
  mkdir -p "$corpus"
  echo "==> [fuzz] $name for $seconds s"
  # -timeout: one input running longer is a hang; -error_exitcode: any finding fails the run.
  (cd "$build" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "./fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
      -print_final_stats=1 -artifact_prefix="$name-" "corpus-${name#fuzz_}" "../../fuzz/corpus/${name#fuzz_}" \
      >"$name.log" 2>&1) || { tail -60 "$build/$name.log"; echo "==> [fuzz] $name found a problem" >&2; exit 1; }
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' "$build/$name.log" |
    sed 's/^/    /'
}
run fuzz_load 16384
run fuzz_slot 65600
echo "==> [fuzz] no crash, hang or leak"
