#!/usr/bin/env bash
# Installs what jinn needs to build, test and run on Debian 12 (packages only).
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

PACKAGES=(
  # build
  g++ cmake ninja-build pkg-config
  # engine: wasm2c + libwabt, OpenSSL (hashes)
  wabt libssl-dev
  # server (HTTP, config)
  libboost1.81-dev libtomlplusplus-dev
  # the jinn binary's allocator (docs/adr/0002)
  libjemalloc-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # serve_test: a self-signed certificate and an HTTPS client for the TLS test
  openssl curl
  # guest toolchains, used to build test guests and examples from source
  clang lld wasi-libc libclang-rt-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
  rustc libstd-rust-dev-wasm32
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
