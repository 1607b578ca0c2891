#!/usr/bin/env bash
# What one poll costs: one daemon polls an nginx on 127.0.0.1 every second for DURATION seconds,
# first while the document stays the same (every poll a 304), then while it changes before every
# poll (every poll a 200, a load and a publication), with 10 and 1,000 flags, and the 1,000 served
# gzip-compressed. Reports the daemon's CPU per poll (utime+stime from /proc/PID/stat, and its
# threads' time on a CPU from schedstat, in ns) and the origin's bytes per request (nginx's
# $bytes_sent, headers included; $request_length for what the daemon sent).
#
#   bench/poll_cost.sh [BUILD_DIR] [DURATION]    # defaults: build/release, 60
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${2:-60}
cmake --build "$build" --target flagd >/dev/null
source bench/nginx_origin.sh
dir=$(mktemp -d /tmp/flagd-poll-cost-XXXXXX)
segment="flagd-poll-cost-$$"
daemon=""
cleanup() {
  if [ -n "$daemon" ]; then kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  origin_stop
  rm -rf "$dir"
  rm -f "/dev/shm/$segment" "/dev/shm/.$segment.lock" "/dev/shm/.$segment.segment"
}
trap cleanup EXIT
origin_start "$dir/origin"
echo "commit $(git rev-parse --short HEAD), $(nproc) CPUs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| document | flags | each poll | polls | 200 | 304 | daemon CPU per poll, /proc stat | per poll, schedstat | bytes sent per 200 | per 304 | request bytes | load average |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"

# run FLAGS unchanged|changed PATH_PREFIX
run() {
  local flags=$1 mode=$2 prefix=$3 name="flags-$1.json" probe=0 before after start end changer=""
  flag_document "$flags" 0 >"$dir/doc.json"
  origin_publish "$name" "$dir/doc.json"
  rm -f "/dev/shm/$segment" "/dev/shm/.$segment.lock" "/dev/shm/.$segment.segment"
  "$build/daemon/flagd" --uri "http://127.0.0.1:$ORIGIN_PORT$prefix/$name" --poll-interval 1 --segment "$segment" \
    --cache-dir "$dir/cache" 2>"$dir/daemon.log" &
  daemon=$!
  until grep -q "start-up load: published" "$dir/daemon.log"; do sleep 0.05; done
  sleep 1.5
  if [ "$mode" = changed ]; then
    # A new document every half second, so every poll (about a second apart) finds one it has not seen.
    # nginx's ETag is the mtime in whole seconds and the size: consecutive documents differ in
    # size, so that two written within one second differ in ETag too.
    (
      n=0
      while :; do
        n=$((n + 1))
        if ((n % 2)); then probe=$((10000 + n)); else probe=$((100000 + n)); fi
        flag_document "$flags" "$probe" >"$dir/next.json"
        origin_publish "$name" "$dir/next.json"
        sleep 0.5
      done
    ) &
    changer=$!
  fi
  before=$(cpu_of "$daemon")
  start=$(date +%s.%N)
  sleep "$duration"
  end=$(date +%s.%N)
  after=$(cpu_of "$daemon")
  [ -n "$changer" ] && { kill "$changer"; wait "$changer" 2>/dev/null || true; }
  kill -TERM "$daemon"
  wait "$daemon" || true
  daemon=""
  python3 - "$dir/origin/access.log" "$start" "$end" "$before" "$after" "$prefix/$name" "$flags" "$mode" \
    "${prefix:+gzip}" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys
log, start, end, before, after, uri, flags, mode, gz, load = sys.argv[1:11]
start, end = float(start), float(end)
rows = [l.split() for l in open(log)]
rows = [r for r in rows if len(r) == 6 and r[5] == uri and start <= float(r[0]) <= end]
ok = [r for r in rows if r[1] == "200"]
nm = [r for r in rows if r[1] == "304"]
bt, bn = map(int, before.split()); at, an = map(int, after.split())
polls = len(rows)
mean = lambda xs: sum(xs) / len(xs) if xs else 0
per_poll_ticks = (at - bt) * 10.0 / polls if polls else 0  # ms: 100 ticks a second
per_poll_ns = (an - bn) / polls if polls else 0
print(f"| {'gzip' if gz else 'plain'} | {flags} | {mode} | {polls} | {len(ok)} | {len(nm)} | "
      f"{per_poll_ticks:.2f} ms ({at - bt} ticks) | {per_poll_ns / 1e6:.3f} ms | "
      f"{mean([int(r[2]) for r in ok]):.0f} | {mean([int(r[2]) for r in nm]):.0f} | "
      f"{mean([int(r[3]) for r in rows]):.0f} | {load} |")
PY
}

run 10 unchanged ""
run 10 changed ""
run 1000 unchanged ""
run 1000 changed ""
run 1000 changed "/gz"
