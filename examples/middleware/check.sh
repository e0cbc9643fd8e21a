#!/usr/bin/env bash
# CI check: each middleware refuses what it must and lets the rest through,
# changed as documented; the chained route applies all of them in order; and
# `jinn call --middleware` shows the same decisions without a server.
# Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"
command -v openssl >/dev/null || fail "openssl is needed (scripts/setup.sh installs it)"
rm -rf "$WORK/schemas" "$WORK/state"
cp -r "$HERE/schemas" "$WORK/schemas"
mkdir -p "$WORK/state"

export JWT_SECRET="jwt-secret-$RANDOM"
start_upstream "$WORK/upstream"
start_jinn

# --- JSON Schema ---
good='{"customer":"ada","currency":"EUR","items":[{"sku":"abc-1","qty":2}]}'
http POST /api/orders -H 'Content-Type: application/json' --data "$good"
expect_status 200 "valid order"
[[ "$HEADERS" == *"X-Served-By: legacy"* ]] || fail "valid order did not reach the upstream"
expect_body_contains "X-Schema-Valid: order.json" "valid order"
expect_body_contains "body: $good" "valid order"
pass "schema: a valid order reaches the upstream unchanged"

http POST /api/orders --data '{"customer":"ada","items":[{"sku":"abc-1","qty":0}]}'
expect_status 422 "qty 0"
expect_body_contains '"path":"$.items[0].qty"' "qty 0"
expect_body_contains '"reason":"must be >= 1"' "qty 0"
http POST /api/orders --data '{"customer":"ada","items":[],"extra":1}'
expect_status 422 "empty items"
http POST /api/orders --data '{"items":[{"sku":"abc","qty":1}]}'
expect_status 422 "no customer"
expect_body_contains 'missing required property \"customer\"' "no customer"
http POST /api/orders --data '{"customer":"ada","items":[{"sku":"abc","qty":1}],"currency":"GBP"}'
expect_status 422 "bad currency"
http POST /api/orders --data 'not json'
expect_status 400 "not json"
pass "schema: invalid orders get 422 with the JSON path and rule; non-JSON 400"

# --- JWT HS256 ---
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt() {  # jwt SECRET PAYLOAD [ALG]
  local h p s
  h=$(printf '{"alg":"%s","typ":"JWT"}' "${3:-HS256}" | b64url)
  p=$(printf '%s' "$2" | b64url)
  s=$(printf '%s' "$h.$p" | openssl dgst -sha256 -hmac "$1" -binary | b64url)
  echo "$h.$p.$s"
}
now=$(date +%s)
token=$(jwt "$JWT_SECRET" "{\"sub\":\"alice\",\"exp\":$((now + 300))}")
http GET /api/me/profile -H "Authorization: Bearer $token"
expect_status 200 "good token"
expect_body_contains "X-User: alice" "good token"
[[ "$BODY" != *"$token"* ]] || fail "the token reached the upstream"
pass "jwt: a good token passes, X-User set, Authorization removed"

http GET /api/me/profile
expect_status 401 "no token"
[[ "$HEADERS" == *'Www-Authenticate: Bearer error="invalid_token"'* ]] || fail "no WWW-Authenticate: $HEADERS"
http GET /api/me/profile -H "Authorization: Bearer $(jwt wrong-secret "{\"sub\":\"alice\",\"exp\":$((now + 300))}")"
expect_status 401 "wrong secret"
expect_body_contains "bad signature" "wrong secret"
http GET /api/me/profile -H "Authorization: Bearer $(jwt "$JWT_SECRET" "{\"sub\":\"alice\",\"exp\":$((now - 10))}")"
expect_status 401 "expired"
expect_body_contains "token expired" "expired"
http GET /api/me/profile -H "Authorization: Bearer $(jwt "$JWT_SECRET" "{\"sub\":\"alice\",\"exp\":$((now + 300))}" none)"
expect_status 401 "alg none"
expect_body_contains "alg must be HS256" "alg none"
pass "jwt: missing, wrongly signed, expired and alg=none tokens get 401"

# --- XML to JSON ---
xml='<?xml version="1.0"?><order id="7"><customer>Ada &amp; Co</customer><item sku="a">2</item><item sku="b">1</item></order>'
http POST /api/legacy/orders -H 'Content-Type: application/xml' --data "$xml"
expect_status 200 "xml"
expect_body_contains 'body: {"order":{"@id":"7","customer":"Ada & Co","item":[{"@sku":"a","#text":"2"},{"@sku":"b","#text":"1"}]}}' "xml"
expect_body_contains "X-Converted-From: xml" "xml"
http POST /api/legacy/orders -H 'Content-Type: application/xml' --data '<order><open></order>'
expect_status 400 "bad xml"
expect_body_contains "bad XML: mismatched closing tag" "bad xml"
http POST /api/legacy/orders -H 'Content-Type: application/json' --data '{"as":"is"}'
expect_status 200 "json passes"
expect_body_contains 'body: {"as":"is"}' "json passes"
pass "xml: converted to JSON; malformed XML 400; other bodies untouched"

# --- rate limiting ---
for i in 1 2 3; do
  http GET /api/limited/x -H 'X-Api-Key: k1'
  expect_status 200 "request $i of 3"
done
expect_body_contains "X-Ratelimit-Remaining: 0" "third request"
http GET /api/limited/x -H 'X-Api-Key: k1'
expect_status 429 "fourth request"
[[ "$HEADERS" == *"Retry-After: "* ]] || fail "429 without Retry-After"
http GET /api/limited/x -H 'X-Api-Key: k2'
expect_status 200 "another client"
pass "rate limit: 3 per window per key, then 429 with Retry-After; other keys unaffected"

# --- the chain ---
token=$(jwt "$JWT_SECRET" "{\"sub\":\"bob\",\"exp\":$((now + 300))}")
http POST /api/secure-orders -H "Authorization: Bearer $token" --data "$good"
expect_status 200 "chain ok"
expect_body_contains "X-User: bob" "chain ok"
expect_body_contains "X-Schema-Valid: order.json" "chain ok"
expect_body_contains "X-Ratelimit-Remaining: " "chain ok"
http POST /api/secure-orders --data "$good"
expect_status 401 "chain without token"
http POST /api/secure-orders -H "Authorization: Bearer $token" --data '{"customer":""}'
expect_status 422 "chain bad body"
pass "chain: rate limit, JWT and schema in order; the first refusal answers"

# --- the same without a server ---
out=$("$JINN" call "$WORK/xml_to_json.wasm" --middleware -H 'Content-Type: text/xml' --body '<a>1</a>')
[[ "$out" == *$'\r\n\r\n{"a":"1"}' ]] || fail "jinn call xml_to_json: $out"
out=$("$JINN" call "$WORK/verify_jwt.wasm" --middleware --env "JWT_SECRET=$JWT_SECRET" \
  -H "Authorization: Bearer $token")
[[ "$out" == *$'X-User: bob\r\n'* && "$out" != *Authorization* ]] || fail "jinn call verify_jwt: $out"
out=$("$JINN" call "$WORK/verify_jwt.wasm" --middleware --env "JWT_SECRET=$JWT_SECRET")
[[ "$out" == "HTTP/1.1 401 Unauthorized"* ]] || fail "jinn call verify_jwt without a token: $out"
pass "jinn call --middleware: the same decisions without a server"
