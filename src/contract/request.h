// The request envelope: the one JSON object the server writes to a function's
// (or a middleware's) stdin. Field by field in docs/function-contract.md.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace jinn::contract {

using NameValue = std::pair<std::string_view, std::string_view>;

// Everything the envelope carries, borrowed from the caller for the duration
// of encodeRequest. Text fields are written as JSON strings; bytes that are
// not valid UTF-8 become U+FFFD there (as Go's encoding/json does). Only the
// body has a lossless binary form (body_base64).
struct RequestView {
  std::string_view method;             // "GET"
  std::string_view uri;                // path + "?" + query as received ("/a%20b?x=1")
  std::string_view path;               // "/a%20b", as received (not decoded)
  std::string_view query;              // "x=1", raw, without '?'
  std::span<const NameValue> headers;  // in arrival order; names may repeat, any case
  std::string_view body;               // raw bytes
  std::string_view trace_id;           // given by the caller; "" if none
  std::string_view remote_addr;        // "203.0.113.7:51234"
  std::string_view route;              // the matched route pattern ("/users/{id}")
  std::span<const NameValue> params;   // route parameters; omitted from JSON when empty.
                                       // A repeated name keeps its first value.
};

// Writes the envelope as one line of compact JSON (no trailing newline).
// Headers are grouped by their canonical name (Go's CanonicalHeaderKey) in
// order of first appearance, each with its values in arrival order. The body
// goes to "body" if it is valid UTF-8, else to "body_base64"; exactly one of
// the two is present. Never fails.
std::string encodeRequest(const RequestView& request);
// As encodeRequest, replacing the contents of `out` (reuses its capacity).
void encodeRequestTo(const RequestView& request, std::string& out);

}  // namespace jinn::contract
