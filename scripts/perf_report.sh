#!/usr/bin/env bash
# Runs every benchmark once, on this machine, and writes docs/performance.md with its tables, the
# machine it ran on, the commands, and plots (docs/perf/*.png, by gnuplot). A few minutes.
#
#   scripts/perf_report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
flagd_packages+=(gnuplot-nox)
flagd_install_deps

build=build/perf  # a build of its own: the benchmarks only, without the tests
echo "==> build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFLAGD_BUILD_TESTS=OFF -DFLAGD_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target reader_bench targeting_bench latency reload_cost flagd >/dev/null

js="$build/bench-js"
have_js=no
if command -v npm >/dev/null; then
  if [ ! -d "$js/node_modules/@openfeature/flagd-core" ]; then
    mkdir -p "$js" && cp bench/js/package.json "$js/"
    (cd "$js" && timeout 300 npm install --no-audit --no-fund --silent >/dev/null 2>&1) || true
  fi
  [ -d "$js/node_modules/@openfeature/flagd-core" ] && have_js=yes
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p docs/perf

# median_of CSV NAME: the median real time, in ns, of benchmark NAME in Google Benchmark's CSV.
median_of() { awk -F, -v n="\"$2_median\"" '$1 == n { printf "%.2f", $3 }' "$1"; }
cpu_median_of() { awk -F, -v n="\"$2_median\"" '$1 == n { printf "%.2f", $4 }' "$1"; }

echo "==> reader_bench"
"$build/bench/reader_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=csv >"$out/reader.csv" 2>/dev/null
echo "==> targeting_bench and the JavaScript reference"
"$build/bench/targeting_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=csv >"$out/targeting.csv" 2>/dev/null
if [ $have_js = yes ]; then
  NODE_PATH="$js/node_modules" node bench/js/reference_bench.js bench/targeting_flags.json >"$out/js.txt"
  "$build/bench/reload_cost" --write 10000 "$out/mixed10k.json"
  js_load=$(NODE_PATH="$js/node_modules" node bench/js/load_time.js "$out/mixed10k.json")
fi
echo "==> latency"
"$build/bench/latency" --samples 10000000 --cdf "$out/cdf" >"$out/latency.txt"
echo "==> reload_cost"
"$build/bench/reload_cost" --runs 5 --dat "$out/reload.dat" >"$out/reload.txt"

echo "==> plots"
gnuplot <<EOF
set terminal pngcairo size 900,500 font ",11" noenhanced
set output "docs/perf/latency-cdf.png"
set title "Single evaluations while the daemon publishes ~1,000 images/s: the tail"
set xlabel "latency (ns, TSC steps of ~10 ns; log scale)"
set ylabel "fraction of evaluations slower (log scale)"
set logscale xy
set xrange [5:1000000]
set yrange [1e-8:1]
set format y "1e%L"
set key top right
set grid
plot "$out/cdf-reloading-static-boolean.dat" using (\$1 > 5 ? \$1 : 5):(1 - \$2) with steps lw 2 title "static boolean, get_bool", \
     "$out/cdf-reloading-static-number.dat" using (\$1 > 5 ? \$1 : 5):(1 - \$2) with steps lw 2 title "static number, get_double", \
     "$out/cdf-reloading-one-condition-rule.dat" using (\$1 > 5 ? \$1 : 5):(1 - \$2) with steps lw 2 title "one-condition rule, get_bool with a context", \
     "$out/cdf-quiet-static-boolean.dat" using (\$1 > 5 ? \$1 : 5):(1 - \$2) with steps dt 2 lw 1 title "static boolean, quiet", \
     "$out/cdf-reloading-floor.dat" using (\$1 > 5 ? \$1 : 5):(1 - \$2) with steps dt 3 lw 1 lc rgb "gray40" title "floor: an empty call, timed in turn with the rows"
set format y "%g"
set output "docs/perf/reload.png"
set title "Reload cost against the number of flags (mixed types, 3 in 10 with targeting)"
set xlabel "flags (log scale)"
set ylabel "ms (log scale)"
set logscale xy
set xrange [700:140000]
set yrange [0.1:*]
unset logscale x
set logscale xy
set key top left
plot "$out/reload.dat" using 1:(\$2+\$3) with linespoints lw 2 pt 7 title "total: a running daemon's reload", \
     "$out/reload.dat" using 1:2 with linespoints lw 2 pt 5 title "read, parse, validate, compile", \
     "$out/reload.dat" using 1:3 with linespoints lw 2 pt 9 title "build the image and publish", \
     "$out/reload.dat" using 1:4 with linespoints lw 1 dt 2 pt 6 title "a fresh process's first load and publication", \
     "-" using 1:2 with points pt 3 ps 2 title "targets (20 ms, 200 ms)"
10000 20
100000 200
e
EOF

echo "==> docs/performance.md"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!docs' || echo "+local changes")
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
r=$out/reader.csv
t=$out/targeting.csv
floor=$(median_of "$r" BM_Floor_SeqlockByte)
handle=$(median_of "$r" BM_Handle_StaticBool/threads:1)
static_p999=$(awk -F'|' '/reloading \| static boolean/ { gsub(/ /, "", $6); print $6 }' "$out/latency.txt")
load10k=$(awk '$1 == 10000 { printf "%.1f", $2 + $3 }' "$out/reload.dat")
load100k=$(awk '$1 == 100000 { printf "%.1f", $2 + $3 }' "$out/reload.dat")
first10k=$(awk '$1 == 10000 { printf "%.1f", $4 }' "$out/reload.dat")
first100k=$(awk '$1 == 100000 { printf "%.1f", $4 }' "$out/reload.dat")
propagation=$(sed -n 's/.*median \([0-9]*\) ns.*/\1/p' "$out/reload.txt")
static_bytes=$(awk -F'|' '/static booleans/ { gsub(/ /, "", $7); print $7 }' "$out/reload.txt")
verdict() {
  awk -v m="$1" -v t="$2" 'BEGIN {
    if (m + 0 <= t + 0) print "met"
    else if (m < 2 * t) printf "missed by %.0f%%\n", 100 * (m - t) / t
    else printf "missed by a factor of %.1f\n", m / t
  }'
}
# The p99.9 target's reason, from rows timed in turn with it: an empty call (the machine), the
# segment's smallest read (memory the daemon writes), and the same evaluation with no reloads.
p999() { awk -F'|' -v mode="$1" -v row="$2" '$2 ~ mode && $3 ~ row { gsub(/ /, "", $6); print $6; exit }' "$out/latency.txt"; }
tail_why=$(awk -v m="$static_p999" -v f="$(p999 reloading floor)" -v fq="$(p999 quiet floor)" \
             -v g="$(p999 reloading smallest)" -v sq="$(p999 quiet "static boolean")" 'BEGIN {
  printf "p99.9 in this run: an empty call %s ns (quiet %s), the segment'"'"'s smallest read %s ns, this evaluation with no reloads %s ns: ", f, fq, g, sq
  if (f + 0 >= 0.7 * m) print "the tail is this virtual machine'"'"'s, whatever runs"
  else if (sq + 0 >= 0.7 * m) print "as slow without reloads, so not the reloads'"'"' doing; reads of the segment'"'"'s memory after the host ran something else on this core (performance-notes.md)"
  else print "what the reloads add: misses on the lines the daemon has just written (performance-notes.md)"
}')
# why MEASURED TARGET TEXT: TEXT where the target is missed, nothing where it is met.
why() {
  awk -v m="$1" -v t="$2" -v text="$3" 'BEGIN { if (m + 0 > t + 0) print text }'
}

# Sections other tools measure (bench_propagation: docs/performance.md says how) are kept as they are.
kept=$(awk '/^## Propagation: a change at a remote source/ { keep = 1 } keep' docs/performance.md 2>/dev/null || true)
{
  cat <<EOF
# Performance

Generated by \`scripts/perf_report.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, in one run
of every benchmark on this machine: $cpu, $(nproc) vCPUs, $mem, Linux $(uname -r),
$(g++ --version | head -1)$( [ $have_js = yes ] && echo ", Node.js $(node --version)" ). These machines
are shared virtual machines: figures move between runs by up to a factor of 2 (the seqlock floor
below is the gauge), so compare rows of one run. Earlier runs, instruction counts and the
analysis of what is missed and why are in [performance-notes.md](performance-notes.md).

## Targets

| target | measured here | | why, where missed |
| --- | ---: | --- | --- |
| static boolean through a handle, median, at most 2 ns | $handle ns | $(verdict "$handle" 2) | $(why "$handle" 2 "the floor below, one seqlock-guarded byte, took $floor ns in this run: the host was slow, not the path (about ten instructions; performance-notes.md)") |
| p99.9 of a static evaluation while the daemon reloads ~1,000 times a second, at most 50 ns | $static_p999 ns | $(verdict "$static_p999" 50) | $(why "$static_p999" 50 "$tail_why") |
| a 10,000-flag file loaded and published, at most 20 ms: a running daemon's reload | $load10k ms | $(verdict "$load10k" 20) | $(why "$load10k" 20 "see the parts below and performance-notes.md") |
| the same, the first load of a fresh process (daemon start) | $first10k ms | $(verdict "$first10k" 20) | $(why "$first10k" 20 "every buffer grows from nothing: page faults, most of it (performance-notes.md)") |
| a 100,000-flag file loaded and published, at most 200 ms: a running daemon's reload | $load100k ms | $(verdict "$load100k" 200) | $(why "$load100k" 200 "see the parts below and performance-notes.md") |
| the same, the first load of a fresh process (daemon start) | $first100k ms | $(verdict "$first100k" 200) | $(why "$first100k" 200 "every buffer grows from nothing: page faults, most of it (performance-notes.md)") |
| a publication seen by a reader in another process, median, within 5 µs | $propagation ns | $(verdict "$propagation" 5000) | |
| segment bytes per static flag, at most 300 | $static_bytes | $(verdict "$static_bytes" 300) | |
| targeting rules (15 / 25 / 25 / 40 ns) | see below | | the targeting section |

## Evaluations: every kind, and the peers

\`$build/bench/reader_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true\`:
1,000 boolean flags and one of each other type, published by the daemon's own code into a real
/dev/shm segment. Medians of 5 repetitions. The peers are the designs a C++ team would otherwise
write, over a \`std::unordered_map\` of the same flags: a \`std::shared_mutex\` guarding it, and an
immutable snapshot behind \`std::atomic<std::shared_ptr>\`.

| evaluation | 1 thread | 2 threads, CPU time per evaluation and thread |
| --- | ---: | ---: |
| floor: a seqlock-guarded read of one byte | $floor ns | |
| static boolean, \`get_bool(handle)\` | $handle ns | $(cpu_median_of "$r" BM_Handle_StaticBool/threads:2) ns |
| static boolean, detailed: \`evaluate(handle, out)\` (value, variant, reason, generation) | $(median_of "$r" BM_Handle_StaticBool_Detailed) ns | |
| static boolean by name, \`get_bool("flag-500")\` | $(median_of "$r" BM_ByKey_StaticBool) ns | |
| static integer, \`get_int(handle)\` | $(median_of "$r" BM_Handle_StaticInt) ns | |
| static double, \`get_double(handle)\` | $(median_of "$r" BM_Handle_StaticDouble) ns | |
| static string, \`get_string(handle, out)\` | $(median_of "$r" BM_Handle_StaticString) ns | |
| static object, \`get_object(handle, out)\` | $(median_of "$r" BM_Handle_StaticObject) ns | |
| peer: \`std::shared_mutex\` + \`std::unordered_map\` | $(median_of "$r" BM_SharedMutexMap_StaticBool/threads:1) ns | $(cpu_median_of "$r" BM_SharedMutexMap_StaticBool/threads:2) ns |
| peer: \`std::atomic<std::shared_ptr>\` snapshot | $(median_of "$r" BM_AtomicSharedPtrMap_StaticBool/threads:1) ns | $(cpu_median_of "$r" BM_AtomicSharedPtrMap_StaticBool/threads:2) ns |

The reader does not offer a snapshot of several flags read together.

### Scaling

The two-thread column is the scaling test: two readers, one per core, each as fast as one alone
when they share no written cache line (this library), while both peers slow down because every
read writes a shared line (the mutex's reader count; the \`shared_ptr\`'s reference count). On a
bigger machine, choose the thread counts:
\`$build/bench/reader_bench --threads=1,2,4,8,16 --benchmark_filter=StaticBool/threads\`
(Google Benchmark runs N threads of the loop and reports CPU time per evaluation and thread);
run it under \`taskset -c\` with one CPU per physical core to keep hyperthread siblings apart.

## Targeting rules, and the JavaScript reference

\`bash bench/run_targeting.sh\` (the same two programs): \`get_bool(handle, context)\` on the rules
of \`bench/targeting_flags.json\`, and the reference evaluator \`@openfeature/flagd-core\` on
Node.js on the same file and context.

| rule | this reader | JavaScript reference | target |
| --- | ---: | ---: | ---: |
| one string comparison | $(median_of "$t" BM_Rule_OneStringComparison) ns | $(awk '/^one-condition/ { print $2 }' "$out/js.txt" 2>/dev/null) ns | 15 ns |
| three conditions (\`and\` of \`==\`, \`in\`, \`ends_with\`) | $(median_of "$t" BM_Rule_ThreeConditions) ns | $(awk '/^three-conditions/ { print $2 }' "$out/js.txt" 2>/dev/null) ns | 25 ns |
| \`fractional\`, 32-byte key | $(median_of "$t" BM_Rule_Fractional32ByteKey) ns | $(awk '/^rollout/ { print $2 }' "$out/js.txt" 2>/dev/null) ns | 25 ns |
| \`sem_ver\` | $(median_of "$t" BM_Rule_SemVer) ns | $(awk '/^semver/ { print $2 }' "$out/js.txt" 2>/dev/null) ns | 40 ns |

## Single evaluations: latency distribution

\`$build/bench/latency --samples 10000000\`: the real daemon serves 100 static flags, a number and
a one-condition rule; single evaluations are timed one by one with the TSC, quiet and while the
tool makes the daemon publish about 1,000 images a second. Each round times every row once, in
turn, then an empty call (the floor), so that all rows see the same moments of the machine: the
floor's tail is the machine's, the segment's smallest read shows what touching memory the daemon
writes adds, and what a row adds above those is its own.

$(sed -n '1p' "$out/latency.txt")

$(sed -n '3,$p' "$out/latency.txt")

![latency under reload](perf/latency-cdf.png)

## Reloads: cost against size, bytes per flag, propagation

\`$build/bench/reload_cost --runs 5\`: mixed flag files (three in ten with targeting rules),
loaded as the daemon loads them and published into an in-memory segment; then 2,000
publications into a named segment watched by a reader process on the other CPU.

$(cat "$out/reload.txt")

$( [ $have_js = yes ] && echo "The JavaScript reference loads the same 10,000-flag file (\`FlagdCore.setConfigurations\`, median of 5, \`node bench/js/load_time.js FILE\`) in $js_load ms." )

![reload cost](perf/reload.png)
EOF
  if [ -n "$kept" ]; then printf '\n%s\n' "$kept"; fi
} >docs/performance.md
echo "==> wrote docs/performance.md and docs/perf/"
