#!/usr/bin/env bash
# Builds the benchmark's guests from source into OUT (default: a directory
# given by the caller; bench/run.sh passes its scratch directory):
#   order_tax_c.wasm   examples/order-tax/order_tax.c (clang --target=wasm32-wasi)
#   order_tax_rs.wasm  order_tax.rs (Debian's rustc, wasm32-wasi, the jinn Rust SDK)
#   order_tax_as.wasm  order_tax.ts (AssemblyScript + WASI shim from npm, the jinn SDK)
#   compute.wasm, compute, compute_clang   compute.c as wasm32-wasi and natively (cc -O2, clang -O2)
#   mem_<KiB>k.wat     a minimal function with that much initial linear memory
# npm packages go to BENCH_TOOLS (default ~/.cache/jinn-bench), outside the
# repository; versions are the ones templates/assemblyscript/package.json pins.
# Usage: bench/guests/build.sh OUT
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
OUT=${1:?usage: build.sh OUT}
HERE=$ROOT/bench/guests
TOOLS=${BENCH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/jinn-bench}
mkdir -p "$OUT"
WASI_CFLAGS=(--target=wasm32-wasi -O2 -Wl,--strip-all)

log "guests: C"
clang "${WASI_CFLAGS[@]}" "$ROOT/examples/order-tax/order_tax.c" -o "$OUT/order_tax_c.wasm"
clang "${WASI_CFLAGS[@]}" -Wall -Wno-unused-function -Werror "$HERE/compute.c" -o "$OUT/compute.wasm"
cc -O2 -Wall -Wno-unused-function -Werror "$HERE/compute.c" -o "$OUT/compute"
clang -O2 -Wall -Wno-unused-function -Werror "$HERE/compute.c" -o "$OUT/compute_clang"

log "guests: Rust"
/usr/bin/rustc --edition 2021 --target wasm32-wasi -O -C strip=symbols -D warnings \
  "$HERE/order_tax.rs" -o "$OUT/order_tax_rs.wasm"

log "guests: AssemblyScript"
AS=$TOOLS/assemblyscript
mkdir -p "$AS"
sed 's/{{name}}/jinn-bench-guests/' "$ROOT/templates/assemblyscript/package.json" >"$AS/package.json.new"
if ! cmp -s "$AS/package.json.new" "$AS/package.json" || ! [ -x "$AS/node_modules/.bin/asc" ]; then
  mv "$AS/package.json.new" "$AS/package.json"
  (cd "$AS" && npm install --no-audit --no-fund --loglevel=error) >&2
fi
rm -f "$AS/package.json.new"
mkdir -p "$BENCH_TMP/as"
cp "$ROOT/sdk/assemblyscript/jinn.ts" "$HERE/order_tax.ts" "$BENCH_TMP/as/"
# asc resolves the shim's "lib" relative to the working directory.
(cd "$AS" && node_modules/.bin/asc "$BENCH_TMP/as/order_tax.ts" --config node_modules/@assemblyscript/wasi-shim/asconfig.json \
  -O3 --shrinkLevel 1 -o "$OUT/order_tax_as.wasm") >&2

# mem_<KiB>k.wat: reads its stdin into memory and answers 200 "ok", with an
# initial (and maximum) linear memory of that size. Only a few pages are
# ever touched; what grows is what the sandbox reserves and maps.
for kib in ${MEMORY_SIZES_KIB:-64 1024 4096 16384 65536}; do
  pages=$((kib / 64))
  cat >"$OUT/mem_${kib}k.wat" <<WAT
(module
  (import "wasi_snapshot_preview1" "fd_read" (func \$fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func \$fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") $pages $pages)
  (data (i32.const 256) "{\"status\":200,\"body\":\"ok\"}\n")
  (func (export "_start")
    (local \$n i32)
    ;; read stdin into [1024, 5120) until EOF (iovec at 0, count at 8)
    (loop \$more
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 4096))
      (drop (call \$fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br_if \$more (i32.gt_u (i32.load (i32.const 8)) (i32.const 0))))
    (i32.store (i32.const 16) (i32.const 256))
    (i32.store (i32.const 20) (i32.const 27))
    (drop (call \$fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))
WAT
done
ls -l "$OUT" >&2
