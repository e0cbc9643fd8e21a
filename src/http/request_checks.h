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

}  // namespace jinn::http
