#!/usr/bin/env bash
# CI check: a function stuck in an infinite loop is stopped at its 50 ms
# timeout with 504, and another route keeps answering 200 during and after.
# Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"
start_jinn

# Warm-up: the first call of each function may include loading it.
http GET /ok
expect_status 200 "/ok"
http GET /spin
expect_status 504 "/spin"

http GET /spin
expect_status 504 "/spin"
awk -v t="$TIME" 'BEGIN { exit !(t < 0.5) }' || fail "/spin took ${TIME}s (limit 0.5 s)"
expect_body_contains "timed out" "/spin"
pass "/spin stopped with 504 in ${TIME}s"

# Four spinning calls at once; /ok must answer while they run.
spinners=()
for i in 1 2 3 4; do
  curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{time_total}\n' "$URL/spin" >"$WORK/spin.$i" &
  spinners+=("$!")
done
http GET /ok
expect_status 200 "/ok during the loops"
pass "/ok answered 200 in ${TIME}s while /spin calls were running"
for i in 1 2 3 4; do
  wait "${spinners[$((i - 1))]}" || fail "curl /spin #$i failed"
  read -r code took <"$WORK/spin.$i"
  [ "$code" = 504 ] || fail "concurrent /spin #$i: status $code"
  awk -v t="$took" 'BEGIN { exit !(t < 0.5) }' || fail "concurrent /spin #$i took ${took}s"
done
pass "4 concurrent /spin calls: all 504 in < 0.5 s"

for i in 1 2 3; do
  http GET /ok
  expect_status 200 "/ok after the loops"
done
kill -0 "$JINN_PID" || fail "jinn exited"
pass "/ok still answers 200 afterwards"

# Without a server: the same limit, the same 504.
out=$("$JINN" call "$WORK/spin.wasm" --timeout 50ms)
[[ "$out" == "HTTP/1.1 504 Gateway Timeout"* && "$out" == *"function timed out"* ]] ||
  fail "jinn call spin: $out"
pass "jinn call spin.wasm --timeout 50ms: 504"
