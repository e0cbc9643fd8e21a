#!/usr/bin/env bash
# CTest bench_guests: the benchmark's guests are built from source
# (bench/guests/build.sh) and answer as their references do: the Rust and
# AssemblyScript order-tax functions give the C example's exact HTTP answer
# (`jinn call`) for ordinary, escaped, tiny and invalid orders, and the
# compute program prints the same digest as wasm under jinn and natively.
# Usage: check.sh JINN OUT. Exit 77 (skipped) without node and npm, which
# the AssemblyScript guest needs.
set -euo pipefail
JINN=$1
OUT=$2
export JINN
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "bench_guests: node/npm not found (sudo apt-get install nodejs npm): skipped" >&2
  exit 77
fi
bash "$(dirname "${BASH_SOURCE[0]}")/build.sh" "$OUT"

fails=0
# expect GUEST BODY WANT: the guest's answer to POST /order with BODY.
expect() {
  local got
  got=$("$JINN" call "$OUT/order_tax_$1.wasm" --method POST --path /order -H 'Content-Type: application/json' \
    --body "$2" | tr -d '\r' | grep -v '^Date: ')
  if [ "$got" != "$3" ]; then
    echo "FAIL order_tax_$1 for $2:" >&2
    diff <(echo "$3") <(echo "$got") >&2 || true
    fails=$((fails + 1))
  fi
}
answer() { printf 'HTTP/1.1 %s\nContent-Type: %s\nContent-Length: %s\n\n%s' "$1" "$2" "${#3}" "$3"; }
ok() { answer "200 OK" application/json "$1"; }
bad=$(answer "400 Bad Request" text/plain $'expected {"id": ..., "value": number}\n')
for g in c rs as; do
  expect "$g" '{"id":42,"value":100}' "$(ok '{"id":42,"value":100,"tax":15,"total":115}')"
  expect "$g" '{"id":"a\"b","value":99.99}' "$(ok '{"id":"a\"b","value":99.99,"tax":14.9985,"total":114.9885}')"
  expect "$g" '{"value":1e-7}' "$(ok '{"id":null,"value":1e-07,"tax":1.5e-08,"total":1.15e-07}')"
  expect "$g" '{"id":1,"value":123456789012345678}' \
    "$(ok '{"id":1,"value":1.23456789012346e+17,"tax":1.85185183518519e+16,"total":1.41975307364198e+17}')"
  expect "$g" '{"id":7}' "$bad"
  expect "$g" 'not json' "$bad"
done

native=$("$OUT/compute" 50000 2)
clang_native=$("$OUT/compute_clang" 50000 2)
wasm=$("$JINN" run "$OUT/compute.wasm" 50000 2)
digest() { sed -n 's/.*"digest":"\([0-9a-f]*\)".*/\1/p' <<<"$1"; }
if [ -z "$(digest "$native")" ] || [ "$(digest "$native")" != "$(digest "$wasm")" ] ||
  [ "$(digest "$native")" != "$(digest "$clang_native")" ]; then
  echo "FAIL compute: native $native, clang $clang_native, wasm $wasm" >&2
  fails=$((fails + 1))
fi
[ "$fails" = 0 ] || exit 1
echo "bench_guests: all answers as expected"
