#!/usr/bin/env bash
# Installs the Debian 12 packages flagd builds with, when any is missing. Sourced by the other
# scripts; needs root (or sudo) only when something has to be installed.
set -euo pipefail

# libgtest-dev: flagd/testing/gtest.hpp, the helper for applications tested with GoogleTest, is
# compiled and run by the test suite (examples/checkout).
# python3 and pkg-config: the tests run the Python ctypes example and build a consumer of the
# installed package with pkg-config.
# golang-1.19-go: builds ../shared/go-oracle, flagd's own Go engine, which the oracle comparison
# test checks every answer against.
flagd_packages=(cmake g++ make libboost-dev libsimdjson-dev catch2 libbenchmark-dev libgtest-dev python3 pkg-config
  libcurl4-openssl-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev nginx etcd-server etcd-client openssl
  libyaml-cpp-dev golang-1.19-go)

flagd_install_deps() {
  local missing=()
  for p in "${flagd_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing missing packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: run as root to install ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
