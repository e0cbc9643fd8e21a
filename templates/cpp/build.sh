#!/bin/sh
# Builds {{name}}.wasm from function.cc with clang++ --target=wasm32-wasi,
# Debian's wasi-libc and libc++ for wasm32 (no exceptions: WASI preview1 has
# no unwinding). Installs nothing: a missing tool is named with its package.
set -eu
cd "$(dirname "$0")"
need() { echo "build.sh: $1 not found; install it with: sudo apt-get install $2" >&2; exit 1; }
CLANGXX=${CLANGXX:-$(command -v clang++-14 || command -v clang++ || true)}
[ -n "$CLANGXX" ] || need clang++ clang
command -v wasm-ld >/dev/null 2>&1 || need wasm-ld lld
[ -f /usr/lib/wasm32-wasi/libc.a ] || need "wasi-libc (/usr/lib/wasm32-wasi)" wasi-libc
[ -f /usr/lib/wasm32-wasi/libc++.a ] || need "libc++ for wasm32" "libc++-14-dev-wasm32 libc++abi-14-dev-wasm32"
[ -f "$("$CLANGXX" --target=wasm32-wasi -print-libgcc-file-name)" ] ||
  need "the wasm32 compiler runtime" libclang-rt-dev-wasm32
"$CLANGXX" --target=wasm32-wasi -std=c++17 -O2 -Wall -fno-exceptions -stdlib=libc++ \
  -Wl,--strip-all function.cc -o {{name}}.wasm
echo "built {{name}}.wasm"
