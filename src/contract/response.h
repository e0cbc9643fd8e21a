// Parsing what a function or a middleware printed on stdout. Strict: anything
// the server cannot send faithfully and safely is an error (a 502 for the
// client, the reason for the function's author), never a guess.
// The rules, with examples: docs/function-contract.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "jinn/jinn.h"

namespace jinn::contract {

struct ResponseLimits {
  size_t max_headers = 100;             // header values, after splitting arrays; dropped ones count
  size_t max_header_bytes = 64u << 10;  // sum of names and values
  size_t max_body_bytes = 16u << 20;    // the decoded body
};

using Header = std::pair<std::string, std::string>;

struct FunctionResponse {
  int status = 200;             // 200..599
  std::vector<Header> headers;  // canonical names, valid values, server-owned ones dropped
  std::string body;             // decoded bytes
};

// Error messages are short, fixed phrases (plus a limit, a byte offset or a
// plain key name): safe to put in a 502 body or a log line.
using ParseResult = jinn::Result<FunctionResponse>;

// Parses a function's stdout. Never throws.
ParseResult parseResponse(std::string_view stdout_bytes, const ResponseLimits& limits = {});

// The middleware lets the request go on, possibly changed. Apply in this
// order: remove_headers, then set_headers (each name set replaces all values
// of that name), then the body if present.
struct MiddlewareContinue {
  std::vector<Header> set_headers;          // canonical names; repeated names in order
  std::vector<std::string> remove_headers;  // canonical names
  std::optional<std::string> body;          // replacement body, decoded; nullopt keeps it
};

// The middleware answers the client itself; the chain stops.
struct MiddlewareRespond {
  FunctionResponse response;
};

using MiddlewareDecision = std::variant<MiddlewareContinue, MiddlewareRespond>;
using MiddlewareResult = jinn::Result<MiddlewareDecision>;

// Parses a middleware's stdout. Never throws.
MiddlewareResult parseMiddleware(std::string_view stdout_bytes, const ResponseLimits& limits = {});

}  // namespace jinn::contract
