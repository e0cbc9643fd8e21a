#!/bin/sh
# Builds {{name}}.wasm from main.rs with Debian's rustc and its wasm32-wasi
# standard library (no cargo, no crates: jinn.rs needs none). Installs
# nothing: a missing tool is named with its package.
set -eu
cd "$(dirname "$0")"
need() { echo "build.sh: $1 not found; install it with: sudo apt-get install $2" >&2; exit 1; }
# Debian's rustc, not a rustup one earlier on PATH: only it has the wasm32-wasi std.
RUSTC=${RUSTC:-/usr/bin/rustc}
[ -x "$RUSTC" ] || need rustc rustc
[ -d /usr/lib/rustlib/wasm32-wasi ] || need "the Rust standard library for wasm32-wasi" libstd-rust-dev-wasm32
command -v wasm-ld >/dev/null 2>&1 || need wasm-ld lld
"$RUSTC" --edition 2021 --target wasm32-wasi -O -C strip=symbols main.rs -o {{name}}.wasm
echo "built {{name}}.wasm"
