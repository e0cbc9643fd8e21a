#!/bin/sh
# Builds {{name}}.wasm from function.c with clang --target=wasm32-wasi and
# Debian's wasi-libc. Installs nothing: a missing tool is named with its package.
set -eu
cd "$(dirname "$0")"
need() { echo "build.sh: $1 not found; install it with: sudo apt-get install $2" >&2; exit 1; }
CLANG=${CLANG:-$(command -v clang-14 || command -v clang || true)}
[ -n "$CLANG" ] || need clang clang
command -v wasm-ld >/dev/null 2>&1 || need wasm-ld lld
[ -f /usr/lib/wasm32-wasi/libc.a ] || need "wasi-libc (/usr/lib/wasm32-wasi)" wasi-libc
[ -f "$("$CLANG" --target=wasm32-wasi -print-libgcc-file-name)" ] ||
  need "the wasm32 compiler runtime" libclang-rt-dev-wasm32
"$CLANG" --target=wasm32-wasi -O2 -Wall -Wl,--strip-all function.c -o {{name}}.wasm
echo "built {{name}}.wasm"
