#!/usr/bin/env bash
# What a file full of diagnostics costs: `flagctl validate` on 50,000 flags that each carry an
# unknown member (50,000 warnings), on 100,000 repetitions of one key (100,000 errors), and the
# daemon's start-up load and a SIGHUP reload of the first file, read from its log's timestamps.
#
#   bench/diagnostics_cost.sh [BUILD_DIR]    # default build/release
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target flagd flagctl >/dev/null
dir=$(mktemp -d)
segment="flagd-diagnostics-cost-$$"
cleanup() { rm -rf "$dir"; rm -f "/dev/shm/$segment" "/dev/shm/.$segment.lock" "/dev/shm/.$segment.segment"; }
trap cleanup EXIT
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
flags = {f"f{i}": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on",
                   "descriptionx": "x"} for i in range(50000)}
open(f"{d}/warnings.json", "w").write(json.dumps({"flags": flags}))
entry = '"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}'
open(f"{d}/duplicates.json", "w").write('{"flags": {' + ", ".join([entry] * 100000) + "}}")
PY
# Milliseconds the command takes (it exits 1 on the file with errors: that is the point).
milliseconds() { local start end; start=$(date +%s%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s%N); echo $(((end - start) / 1000000)); }
echo "flagctl validate, 50,000 warnings:        $(milliseconds "$build/tools/flagctl" validate "$dir/warnings.json") ms"
echo "flagctl validate, 100,000 duplicate keys: $(milliseconds "$build/tools/flagctl" validate "$dir/duplicates.json") ms"
"$build/daemon/flagd" --flags "$dir/warnings.json" --segment "$segment" --image-capacity 64 2>"$dir/daemon.log" &
daemon=$!
until grep -q "start-up load: published" "$dir/daemon.log"; do sleep 0.1; done
kill -HUP "$daemon"
until grep -q "reload on SIGHUP: published" "$dir/daemon.log"; do sleep 0.1; done
kill -TERM "$daemon"
wait "$daemon" || true
# "2026-12-01T20:18:26.389Z flagd[PID]: info: start-up load: loading ..." -> milliseconds between lines
python3 - "$dir/daemon.log" <<'PY'
import re, sys, datetime
times = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)Z flagd\[\d+\]: info: (start-up load|reload on SIGHUP): (loading|published)", line)
    if m:
        times[(m.group(2), m.group(3))] = datetime.datetime.fromisoformat(m.group(1))
for why in ("start-up load", "reload on SIGHUP"):
    ms = (times[(why, "published")] - times[(why, "loading")]).total_seconds() * 1000
    print(f"daemon {why}, 50,000 warnings: {ms:.0f} ms")
PY
