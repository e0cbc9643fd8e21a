// Writes a response head and body as HTTP/1.1 bytes into one buffer, so a
// response goes out in one write. beast's serializer walks a variant of
// buffer sequences per field and costs more than the rest of a small
// response's path; responses made here (function output, short error texts)
// have a string body and a Content-Length, which is all this handles.
#pragma once

#include <string>

#include <utility>
#include <vector>

#include "contract/response.h"
#include "http/http_types.h"

namespace jinn::http {

// Appends `res` to `out`: the status line, the fields, a Content-Length
// when the fields have none (and the status allows a body), the blank line,
// and the body unless `head_only` (the answer to HEAD keeps the length).
void serializeResponse(const Response& res, bool head_only, std::string& out);

// Appends a relayed message's head as HTTP/1.x bytes: the start line, the
// fields exactly as they are (nothing added), the blank line. The proxy's
// counterpart of serializeResponse, for heads it did not make.
void serializeHead(const bhttp::request_header<>& head, std::string& out);
void serializeHead(const bhttp::response_header<>& head, std::string& out);
// Whether a response with this status carries a body (not 1xx, 204, 304).
bool statusAllowsBody(unsigned status);
// Appends `n` in hexadecimal (a chunk size).
void appendHex(std::string& out, uint64_t n);

// The function's view of a request (the contract's envelope, stdin JSON).
// `params`: the route's {parameters} as (name, value), in path order.
std::string envelopeFor(const Request& req, std::string_view trace_id,
                        std::string_view remote_addr, std::string_view route,
                        const std::vector<std::pair<std::string, std::string>>& params = {});
// The same into `out` (replaced), reusing its buffer.
void envelopeInto(const Request& req, std::string_view trace_id, std::string_view remote_addr,
                  std::string_view route,
                  const std::vector<std::pair<std::string, std::string>>& params, std::string& out);

// Now as an HTTP date, IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC
// 9110 5.6.7), from the coarse real-time clock, formatted at most once a
// second per thread. Valid until the thread's next call.
std::string_view httpDate();

// A function's parsed response as an HTTP response; the body is moved, not
// copied (it can be megabytes).
Response toHttp(contract::FunctionResponse&& response, unsigned version);

}  // namespace jinn::http
