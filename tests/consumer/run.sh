#!/usr/bin/env bash
# Installs a flagd build into a fresh prefix and builds two consumers against it: a CMake
# project (find_package(flagd), flagd::reader, flagd::local) and a program built with
# pkg-config alone. Runs both.
#
#   tests/consumer/run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/flagd-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"

export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
g++ "$here/pkgconfig_consumer.cpp" -o "$work/pkgconfig_consumer" $(pkg-config --cflags --libs flagd)
"$work/pkgconfig_consumer"
echo "consumers built against the installed package and run"
