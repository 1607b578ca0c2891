#!/usr/bin/env bash
# Instructions per targeted evaluation, counted by callgrind: steadier than times on shared VMs.
# For each rule of bench/targeting_flags.json, the instructions of Reader::slow_bool (inclusive)
# divided by its calls.
#
#   bench/count_instructions.sh [BUILD_DIR]    # default build/release; needs valgrind
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
cmake --build "$build" --target targeting_bench >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for rule in OneStringComparison ThreeConditions Fractional32ByteKey SemVer; do
  valgrind --tool=callgrind --callgrind-out-file="$out/$rule" "$build/bench/targeting_bench" \
    --benchmark_filter="$rule" --benchmark_min_time=0.02 >/dev/null 2>&1
  callgrind_annotate --tree=calling "$out/$rule" 2>/dev/null | grep -E '> .*Reader::slow_bool' | head -1 |
    sed -E 's/^ *([0-9,]+).*\(([0-9,]+)x\).*/\1 \2/' | tr -d , |
    awk -v r="$rule" '{ printf "%-22s %5.0f instructions per evaluation\n", r, $1 / $2 }'
done
