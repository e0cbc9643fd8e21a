#!/usr/bin/env bash
# CI check: `jinn call` prints the response of hello.wasm, and `jinn run`
# shows its raw output. Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JINN=$1
WORK=$2
[ -x "$JINN" ] || { echo "FAIL: jinn binary not found: $JINN" >&2; exit 1; }
export JINN_CACHE_DIR="$WORK/cache"
out=$("$JINN" call "$WORK/hello.wasm" --path /hello)
[[ "$out" == "HTTP/1.1 200 OK"* && "$out" == *"hello from WebAssembly, you sent "* ]] || { echo "FAIL: jinn call hello: $out" >&2; exit 1; }
echo "ok: jinn call hello.wasm: $(head -n 1 <<<"$out" | tr -d '\r')"
raw=$(echo '{}' | "$JINN" run "$WORK/hello.wasm")
[[ "$raw" == "{"* ]] || { echo "FAIL: jinn run hello: $raw" >&2; exit 1; }
echo "ok: jinn run hello.wasm prints a JSON response"
