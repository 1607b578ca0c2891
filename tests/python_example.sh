#!/usr/bin/env bash
# Runs examples/python/flags.py (ctypes over the C ABI) on examples/flags.json and compares its
# output with what the flags say.
#   tests/python_example.sh LIBFLAGD_C SOURCE_DIR
set -euo pipefail
expected='new-checkout: True
order-router: router-v2
max-order-qty: 5000
risk-limit-ratio: 0.25
fx-spread in eu-west: 0.5 variant tight reason TARGETING_MATCH
fx-spread with no region: 1.5'
actual=$(python3 "$2/examples/python/flags.py" "$1" "$2/examples/flags.json")
if [ "$actual" != "$expected" ]; then
  diff <(echo "$expected") <(echo "$actual") || true
  exit 1
fi
echo "the Python example printed what the flags say"
