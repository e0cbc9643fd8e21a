#!/usr/bin/env bash
# CI check: requests without a valid X-Signature are refused with 401 by the
# middleware; signed ones reach the upstream. Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"
command -v openssl >/dev/null || fail "openssl is needed (scripts/setup.sh installs it)"

export HMAC_SECRET="example-secret-$RANDOM"
start_upstream "$WORK/upstream"
start_jinn

body='{"order":42,"amount":"19.99"}'
sign() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$2" | sed 's/^.*= //'; }
good=$(sign "$body" "$HMAC_SECRET")
bad=$(sign "$body" "wrong-secret")

http POST /api/orders --data "$body"
expect_status 401 "no signature"
expect_body_contains "missing X-Signature" "no signature"
pass "no signature: 401"

http POST /api/orders -H "X-Signature: $bad" --data "$body"
expect_status 401 "bad signature"
expect_body_contains "bad signature" "bad signature"
pass "signature with the wrong secret: 401"

http POST /api/orders -H "X-Signature: $good" --data "${body} "
expect_status 401 "signature of another body"
pass "signature of a different body: 401"

http POST /api/orders -H "X-Signature: $good" --data "$body"
expect_status 200 "good signature"
[[ "$HEADERS" == *"X-Served-By: legacy"* ]] || fail "good signature did not reach the upstream: $HEADERS"
expect_body_contains "body: $body" "good signature"
expect_body_contains "X-Signature-Verified: true" "good signature"
pass "good signature: passed through to the upstream"

# An empty body is signed too (HMAC of zero bytes).
http GET /anything -H "X-Signature: $(sign '' "$HMAC_SECRET")"
expect_status 200 "good signature, empty body"
pass "good signature on an empty body: 200"

# The middleware alone: `jinn call --middleware` prints the request that goes
# on (or the 401), without a server or an upstream.
out=$("$JINN" call "$WORK/verify_hmac.wasm" --middleware --env "HMAC_SECRET=$HMAC_SECRET" \
  -H "X-Signature: $good" --body "$body")
[[ "$out" == "POST / HTTP/1.1"* && "$out" == *$'X-Signature-Verified: true\r\n'* ]] ||
  fail "jinn call verify_hmac, good signature: $out"
out=$("$JINN" call "$WORK/verify_hmac.wasm" --middleware --env "HMAC_SECRET=$HMAC_SECRET" \
  -H "X-Signature: $bad" --body "$body")
[[ "$out" == "HTTP/1.1 401 Unauthorized"* ]] || fail "jinn call verify_hmac, bad signature: $out"
pass "jinn call --middleware verify_hmac.wasm: continue with a good signature, 401 with a bad one"
