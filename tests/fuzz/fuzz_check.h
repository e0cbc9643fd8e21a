// Shared by the contract fuzz targets: invariants every parse result must
// keep (check() is invariant.h's).
#pragma once

#include <string_view>

#include "contract/headers.h"
#include "contract/response.h"
#include "invariant.h"

namespace jinn::contract::fuzz {

using jinn::fuzz::check;

// Parse errors go into 502 bodies and logs: short printable ASCII only.
inline void checkErrorMessage(std::string_view message) {
  check(!message.empty(), "error message is empty");
  check(message.size() < 200, "error message is long");
  for (char c : message) check(c >= 0x20 && c < 0x7F, "error message has a non-printable byte");
}

inline void checkHeaders(const std::vector<Header>& headers, const ResponseLimits& limits) {
  check(headers.size() <= limits.max_headers, "more headers than the limit");
  for (const auto& [name, value] : headers) {
    check(isHeaderToken(name), "header name is not a token");
    check(canonicalHeaderKey(name) == name, "header name is not canonical");
    check(!isServerOwnedHeader(name), "server-owned header kept");
    check(isValidHeaderValue(value), "header value has a control character");
    check(trimOws(value) == value, "header value not trimmed");
  }
}

inline void checkResponse(const FunctionResponse& response, const ResponseLimits& limits) {
  check(response.status >= 100 && response.status <= 599, "status out of range");
  checkHeaders(response.headers, limits);
  check(response.body.size() <= limits.max_body_bytes, "body larger than the limit");
}

// Small limits, so the fuzzer reaches them.
inline ResponseLimits fuzzLimits() {
  ResponseLimits limits;
  limits.max_headers = 16;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 256;
  return limits;
}

}  // namespace jinn::contract::fuzz
