// Strict request rules on top of Beast's parser, as nginx applies them
// (RFC 9112 wants a 400 for each): Beast 1.81 accepts these, the server must
// not. Pure functions, so the fuzzer and the tests call them directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/http_types.h"

namespace jinn::http {

// On the raw header block (request line through the blank line): obs-fold
// (a header line starting with SP or HTAB), bare LF line ends, NUL bytes.
// Returns a short reason when the request must be refused with 400.
std::optional<std::string> checkRawHead(std::string_view head);

// On the parsed header: exactly one Host; Transfer-Encoding only exactly
// "chunked" and never with Content-Length; no Content-Length with a bad or
// repeated value (Beast checks most; kept here so the rule is in one place).
std::optional<std::string> checkParsedHead(const bhttp::request_header<>& head);

// An absolute-form target ("http://example.com:8080/a?b", RFC 9112 3.2.2),
// which a server must accept, becomes origin-form ("/a?b") with Host set to
// its authority: RFC 9112 has the origin server ignore the Host field sent
// with it. The rest of jinn (router, functions, upstreams, logs) then sees
// one form only. Other targets are left as they are (the router answers a
// target not starting with '/', such as "*", 400). Returns a short reason
// for a 400: a scheme other than http or https, no host, userinfo (RFC 9110
// 4.2.4 has it treated as an error), a bad port or a byte no host contains.
std::optional<std::string> normalizeTarget(bhttp::request_header<>& head);

}  // namespace jinn::http
