#!/usr/bin/env bash
# Instructions per targeted evaluation, counted by callgrind: steadier than times on shared VMs.
# For each rule of bench/targeting_flags.json, targeting_bench runs twice under callgrind with
# different minimum times; the difference in the program's instructions divided by the difference
# in evaluations (calls of detail::targeted_bool, one per get_bool; Reader::slow_bool in versions
# before it) is the cost of one iteration of the measuring loop: the inline get_bool, the fast
# form or the general path, the loop itself. Set-up (loading the flags) cancels out.
#
#   bench/count_instructions.sh [BUILD_DIR]    # default build/release; needs valgrind
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
cmake --build "$build" --target targeting_bench >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Prints "<program instructions> <evaluations>" for one callgrind run.
measure() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$build/bench/targeting_bench" \
    --benchmark_filter="$1" --benchmark_min_time="$2" >/dev/null 2>&1
  local tree total calls
  tree=$(callgrind_annotate --tree=calling "$out/cg" 2>/dev/null)
  total=$(grep -E 'PROGRAM TOTALS' <<<"$tree" | sed -E 's/^ *([0-9,]+).*/\1/' | tr -d ,)
  # One call per evaluation: detail::targeted_bool, or Reader::slow_bool in versions before it.
  calls=$(grep -E '> .*flagd::(detail::targeted_bool|Reader::slow_bool)\(' <<<"$tree" |
    sed -E 's/.*\(([0-9,]+)x\).*/\1/' | tr -d , | sort -n | tail -1)
  echo "$total $calls"
}
for rule in OneStringComparison ThreeConditions Fractional32ByteKey SemVer; do
  read -r t1 c1 < <(measure "$rule" 0.01)
  read -r t2 c2 < <(measure "$rule" 0.05)
  awk -v r="$rule" -v t1="$t1" -v c1="$c1" -v t2="$t2" -v c2="$c2" \
    'BEGIN { printf "%-22s %5.0f instructions per evaluation\n", r, (t2 - t1) / (c2 - c1) }'
done
