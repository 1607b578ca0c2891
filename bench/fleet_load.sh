#!/usr/bin/env bash
# A fleet of polling daemons against one origin: DAEMONS real flagd processes (each its own
# segment fleet-N, --image-capacity 1, its own cache directory) started together, polling one
# nginx on 127.0.0.1 every INTERVAL seconds for DURATION seconds. Reports, from nginx's access log
# and /proc: the origin's requests and bytes per second, the 304/200 share, nginx's worker CPU,
# each daemon's CPU and memory (min / median / max), how the polls spread over the interval
# (requests per 100 ms window against the mean, per stretch of the run, and a histogram of the
# request times modulo the interval); then changes the document once and measures how long until
# every daemon published it (each daemon's log: "reload on a new document: published").
#
#   bench/fleet_load.sh [BUILD_DIR] [DAEMONS] [INTERVAL] [DURATION] [FLAGS]
#   # defaults: build/release 200 5 120 10
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
daemons=${2:-200}
interval=${3:-5}
duration=${4:-120}
flags=${5:-10}
cmake --build "$build" --target flagd >/dev/null
source bench/nginx_origin.sh
for i in $(seq "$daemons"); do
  if [ -e "/dev/shm/fleet-$i" ] || [ -e "/dev/shm/.fleet-$i.lock" ]; then
    echo "/dev/shm/fleet-$i exists: another fleet runs, or one was left behind" >&2
    exit 1
  fi
done
dir=$(mktemp -d /tmp/flagd-fleet-XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  origin_stop
  for i in $(seq "$daemons"); do rm -f "/dev/shm/fleet-$i" "/dev/shm/.fleet-$i.lock" "/dev/shm/.fleet-$i.segment"; done
  rm -rf "$dir"
}
trap cleanup EXIT
origin_start "$dir/origin"
flag_document "$flags" 0 >"$dir/doc.json"
origin_publish flags.json "$dir/doc.json"
mkdir -p "$dir/logs" "$dir/cache"
echo "commit $(git rev-parse --short HEAD), $(nproc) CPUs; $daemons daemons, --poll-interval $interval, ${duration} s, $flags flags; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

launched=$(date +%s.%N)
for i in $(seq "$daemons"); do
  "$build/daemon/flagd" --uri "http://127.0.0.1:$ORIGIN_PORT/flags.json" --poll-interval "$interval" \
    --segment "fleet-$i" --image-capacity 1 --cache-dir "$dir/cache/$i" 2>"$dir/logs/$i.log" &
  pids+=($!)
done
launched_all=$(date +%s.%N)
deadline=$((SECONDS + 120))
until [ "$(grep -l "start-up load: published" "$dir"/logs/*.log 2>/dev/null | wc -l)" -ge "$daemons" ]; do
  if [ $SECONDS -gt $deadline ]; then echo "not every daemon published its start-up load" >&2; exit 1; fi
  sleep 0.2
done
serving=$(date +%s.%N)

worker=$(origin_worker_pid)
snapshot() {  # one line per daemon: "TICKS NS", then nginx's worker
  local pid
  for pid in "${pids[@]}"; do cpu_of "$pid"; done
  cpu_of "$worker"
}
snapshot >"$dir/cpu.before"
start=$(date +%s.%N)
sleep "$duration"
end=$(date +%s.%N)
snapshot >"$dir/cpu.after"
for pid in "${pids[@]}"; do
  awk '/^VmRSS:/ {rss = $2} /^Threads:/ {threads = $2} END {printf "%s %s ", rss, threads}' "/proc/$pid/status"
  awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup"
done >"$dir/memory"
load=$(cut -d' ' -f1-3 /proc/loadavg)

# One change; every daemon's next poll fetches it.
flag_document "$flags" 1 >"$dir/next.json"
changed=$(date +%s.%N)
origin_publish flags.json "$dir/next.json"
deadline=$((SECONDS + 3 * interval + 30))
until [ "$(grep -l "reload on a new document: published generation" "$dir"/logs/*.log 2>/dev/null | wc -l)" -ge "$daemons" ]; do
  if [ $SECONDS -gt $deadline ]; then echo "not every daemon published the change" >&2; break; fi
  sleep 0.2
done

python3 - "$dir" "$daemons" "$interval" "$launched" "$launched_all" "$serving" "$start" "$end" "$changed" "$load" <<'PY'
import glob, os, re, statistics, sys, datetime
d, n, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
launched, launched_all, serving, start, end, changed = map(float, sys.argv[4:10])
load = sys.argv[10]
span = end - start
rows = [l.split() for l in open(f"{d}/origin/access.log")]
rows = [(float(r[0]), r[1], int(r[2]), int(r[3])) for r in rows if len(r) == 6 and r[5] == "/flags.json"]
window = [r for r in rows if start <= r[0] < end]
ok = [r for r in window if r[1] == "200"]; nm = [r for r in window if r[1] == "304"]
sent = sum(r[2] for r in window); received = sum(r[3] for r in window)
def mmm(xs, fmt="{:.0f}"):
    xs = sorted(xs)
    return " / ".join(fmt.format(v) for v in (xs[0], statistics.median(xs), xs[-1]))
print()
print(f"started {n} daemons in {launched_all - launched:.2f} s; all served their start-up load {serving - launched:.2f} s after the first was started")
print(f"load average at the end of the window: {load}")
print()
print("| measured over the window (after every daemon served) | |")
print("| --- | ---: |")
print(f"| window | {span:.1f} s |")
print(f"| origin requests per second | {len(window) / span:.2f} (expected {n / interval:.2f} = {n} / {interval:g} s) |")
print(f"| 304 / 200 | {len(nm)} / {len(ok)} ({100.0 * len(nm) / max(1, len(window)):.1f}% 304) |")
print(f"| origin bytes sent per second ($bytes_sent) | {sent / span:.0f} ({sent / max(1, len(window)):.0f} per request) |")
print(f"| origin bytes received per second ($request_length) | {received / span:.0f} ({received / max(1, len(window)):.0f} per request) |")
before = [tuple(map(int, l.split())) for l in open(f"{d}/cpu.before")]
after = [tuple(map(int, l.split())) for l in open(f"{d}/cpu.after")]
ticks = [a[0] - b[0] for a, b in zip(after, before)]; ns = [a[1] - b[1] for a, b in zip(after, before)]
wt, wn = ticks[-1], ns[-1]
print(f"| nginx worker CPU | {wn / 1e6:.0f} ms in {span:.0f} s = {100.0 * wn / 1e9 / span:.2f}% of a CPU, {wn / 1e3 / max(1, len(window)):.1f} µs per request (/proc stat: {wt} ticks) |")
dt, dn = ticks[:-1], ns[:-1]
print(f"| each daemon's CPU in the window, min / median / max (schedstat) | {mmm([v / 1e6 for v in dn], '{:.1f}')} ms, i.e. {mmm([100 * v / 1e9 / span for v in dn], '{:.3f}')}% of a CPU |")
print(f"| each daemon's CPU in the window, min / median / max (/proc stat ticks of 10 ms) | {mmm(dt)} ticks |")
print(f"| the fleet's CPU in the window | {sum(dn) / 1e9:.2f} s = {100.0 * sum(dn) / 1e9 / span:.1f}% of a CPU |")
mem = [tuple(map(int, l.split())) for l in open(f"{d}/memory")]
print(f"| each daemon's RSS, min / median / max | {mmm([m[0] / 1024 for m in mem], '{:.1f}')} MiB |")
print(f"| each daemon's PSS (shared pages divided among sharers), min / median / max | {mmm([m[2] / 1024 for m in mem], '{:.1f}')} MiB |")
print(f"| threads per daemon | {mmm([m[1] for m in mem])} |")

# Spread: requests per 100 ms window against the mean, by stretch of the run since the launch.
print()
print(f"requests per 100 ms window against the mean ({n / interval / 10:.1f}), by stretch of the run since the launch:")
print()
print("| seconds since launch | requests | mean per 100 ms | max in one 100 ms | max / mean |")
print("| --- | ---: | ---: | ---: | ---: |")
everything = [r for r in rows if r[0] < end]
stretch = max(2 * interval, 10.0)
t = launched
while t < end:
    part = [r[0] for r in everything if t <= r[0] < min(t + stretch, end)]
    length = min(t + stretch, end) - t
    if part and length > 1:
        buckets = {}
        for x in part: buckets[int((x - t) * 10)] = buckets.get(int((x - t) * 10), 0) + 1
        mean = len(part) / (length * 10)
        print(f"| {t - launched:.0f}-{t - launched + length:.0f} | {len(part)} | {mean:.2f} | {max(buckets.values())} | {max(buckets.values()) / mean:.1f} |")
    t += stretch
print()
print(f"request times modulo the interval ({interval:g} s), the window's requests, in 10 bins of {interval / 10:g} s:")
bins = [0] * 10
for r in window: bins[int((r[0] % interval) / interval * 10) % 10] += 1
print("  " + "  ".join(str(b) for b in bins) + f"   (uniform: {len(window) / 10:.0f} each)")

# The change: each daemon's first "reload on a new document: published" stamp.
stamp = re.compile(r"^(\S+)Z flagd\[\d+\]: info: reload on a new document: published generation \d+ ")
delays = []
for path in glob.glob(f"{d}/logs/*.log"):
    for line in open(path):
        m = stamp.match(line)
        if m:
            t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
            delays.append(t - changed)
            break
delays.sort()
print()
if delays:
    q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]
    print(f"one change -> published by {len(delays)} of {n} daemons: median {statistics.median(delays):.2f} s, "
          f"p90 {q(0.9):.2f} s, max {delays[-1]:.2f} s (poll interval {interval:g} s)")
after_change = [r for r in rows if r[0] >= changed and r[1] == "200"]
print(f"200s after the change: {len(after_change)}, {sum(r[2] for r in after_change)} bytes")
PY
