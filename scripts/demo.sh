#!/usr/bin/env bash
# Quick start, part 1: build everything, start flagd on examples/flags.json, and show a reader
# evaluating the flags, before and after a reload.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
flagd_install_deps

echo "==> building (build/demo)"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DFLAGD_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" >/dev/null
bin=build/demo

segment="flagd-demo-$$"
work=$(mktemp -d)
cp examples/flags.json "$work/flags.json"
cleanup() {
  [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
  rm -f "/dev/shm/$segment" "/dev/shm/$segment.lock"
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> flagctl validate"
$bin/tools/flagctl validate "$work/flags.json"

echo "==> starting flagd on segment '$segment'"
$bin/daemon/flagd --flags "$work/flags.json" --segment "$segment" &
daemon=$!
for _ in $(seq 100); do
  $bin/tools/flagctl --segment "$segment" status >/dev/null 2>&1 && break
  sleep 0.05
done

echo "==> a reader evaluates the flags"
$bin/examples/reader_demo "$segment"

echo "==> halting FX quotes: edit the file, send SIGHUP"
sed -i 's/"defaultVariant": "trading"/"defaultVariant": "halted"/' "$work/flags.json"
kill -HUP "$daemon"
for _ in $(seq 100); do
  $bin/tools/flagctl --segment "$segment" status | grep -q '^generation:    2' && break
  sleep 0.05
done
$bin/tools/flagctl --segment "$segment" get kill-switch-fx-quotes
$bin/examples/reader_demo "$segment"

echo "==> flagctl status"
$bin/tools/flagctl --segment "$segment" status
