#!/usr/bin/env bash
# OFREP on loopback: requests per second and latency of flagd-serve's single-flag and bulk
# endpoints, under wrk (Debian's package, installed if missing), against the real daemon on
# bench/targeting_flags.json. One wrk thread per core, 64 kept-alive connections, 10 s each.
#   bench/ofrep_load.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
seconds=${2:-10}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
dir=$(mktemp -d)
segment="ofrep-bench-$$"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; rm -rf "$dir" /dev/shm/"$segment" /dev/shm/."$segment".*; }
trap cleanup EXIT
"$build/daemon/flagd" --flags bench/targeting_flags.json --segment "$segment" --ofrep-port "$port" \
  --sync-document "$dir/sync.json" 2>"$dir/daemon.log" &
daemon=$!
for _ in $(seq 100); do curl -s -o /dev/null -X POST "http://127.0.0.1:$port/ofrep/v1/evaluate/flags" -d '{}' && break; sleep 0.1; done
flag=$(python3 -c 'import json; print(next(iter(json.load(open("bench/targeting_flags.json"))["flags"])))')
cat > "$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"context":{"targetingKey":"user-42","email":"ann@example.com","tier":"gold","country":"de"}}'
LUA
echo "== single flag: POST /ofrep/v1/evaluate/flags/$flag"
wrk -t"$(nproc)" -c64 -d"${seconds}s" --latency -s "$dir/post.lua" "http://127.0.0.1:$port/ofrep/v1/evaluate/flags/$flag"
echo "== bulk: POST /ofrep/v1/evaluate/flags ($(python3 -c 'import json; print(len(json.load(open("bench/targeting_flags.json"))["flags"]))') flags)"
wrk -t"$(nproc)" -c64 -d"${seconds}s" --latency -s "$dir/post.lua" "http://127.0.0.1:$port/ofrep/v1/evaluate/flags"
