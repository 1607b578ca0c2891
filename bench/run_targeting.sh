#!/usr/bin/env bash
# Targeting rules, this project's reader and the reference JavaScript evaluator side by side, in
# one run, on bench/targeting_flags.json. Needs a Release build in build/release (scripts/test.sh
# makes one) and npm for @openfeature/flagd-core.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build/release --target targeting_bench >/dev/null
js=build/release/bench-js
if [ ! -d "$js/node_modules/@openfeature/flagd-core" ]; then
  mkdir -p "$js"
  cp bench/js/package.json "$js/"
  (cd "$js" && npm install --no-audit --no-fund --silent >/dev/null)
fi
echo "== flagd reader (C++), median of 5 repetitions"
build/release/bench/targeting_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true 2>/dev/null |
  grep median
echo "== @openfeature/flagd-core (JavaScript, Node.js $(node --version)), median of 9 samples"
NODE_PATH="$js/node_modules" node bench/js/reference_bench.js bench/targeting_flags.json
