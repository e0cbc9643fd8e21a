// libFuzzer target for the HTTP request path of src/http/server.cc: find the
// end of the head (readHead), the raw checks (checkRawHead), Beast's
// request_parser with the server's header and body limits on exactly that
// head, the parsed-head checks (checkParsedHead), the Content-Length limit,
// the body, then the next pipelined request from the same buffer.
//
// serveRequests reads from a socket inside a coroutine and is not callable
// without one, so this target runs the same sequence over the input bytes.
// The server's read buffer holds at most max_header_bytes; the first input
// byte chooses how many bytes "arrive" at a time (1..max), so the parser also
// sees the request cut at every possible place. The rest is the byte stream.
//
// Besides not crashing: every refusal has a status and a printable reason;
// every accepted request has token names, values without CR/LF/NUL, at most
// one Host (exactly one for HTTP/1.1), no Transfer-Encoding other than a lone
// "chunked", a body within the limit and as long as its Content-Length.
// A head the parser finds incomplete although readHead found its end is a
// 400 at once (regression_short_version: it used to wait for the timeout).
#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/request_checks.h"
#include "invariant.h"

namespace {

using namespace jinn::http;
using jinn::fuzz::check;

// Small, so the fuzzer reaches them (the server's defaults are 16 KiB / 8 MiB).
constexpr size_t kMaxHeaderBytes = 512;
constexpr uint64_t kMaxBodyBytes = 256;
constexpr int kMaxRequests = 8;  // per connection (input)

// server.cc's statusForParseError.
unsigned statusForParseError(const beast::error_code& ec) {
  if (ec == bhttp::error::body_limit) return 413;
  if (ec == bhttp::error::header_limit) return 431;
  return 400;
}

// server.cc's readHead over bytes already received: the length of the head
// (through CRLF CRLF, or through a bare LF so checkRawHead refuses it), 0 when
// more bytes are needed, nullopt when the head does not fit the buffer (431).
std::optional<size_t> findHeadEnd(std::string_view have, size_t max) {
  const size_t at = have.find("\r\n\r\n");
  if (at != std::string_view::npos) return at + 4;
  for (size_t lf = have.find('\n'); lf != std::string_view::npos; lf = have.find('\n', lf + 1)) {
    if (lf == 0 || have[lf - 1] != '\r') return lf + 1;
  }
  if (have.size() >= max) return std::nullopt;
  return 0;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                        std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

void checkRefusal(unsigned status, std::string_view reason) {
  check(status == 400 || status == 408 || status == 413 || status == 431, "unexpected status");
  jinn::fuzz::checkPrintable(reason, 100);
  const Response res = textResponse(status, reason);
  check(res.result_int() == status, "refusal has another status");
}

void checkAccepted(const Request& req, std::string_view head) {
  check(isToken(sv(req.method_string())), "method is not a token");
  const std::string_view target = sv(req.target());
  check(!target.empty(), "empty request target");
  // normalizeTarget leaves no absolute-form target behind.
  check(target.front() == '/' || target.find("://") == std::string_view::npos,
        "absolute-form target left as it came");
  for (unsigned char c : target) check(c > 0x20 && c != 0x7F, "request target has a control");
  size_t hosts = 0;
  size_t te = 0;
  for (const auto& field : req) {
    check(isToken(sv(field.name_string())), "field name is not a token");
    for (char c : sv(field.value())) {
      check(c != '\r' && c != '\n' && c != '\0', "field value has CR, LF or NUL");
    }
    if (field.name() == bhttp::field::host) ++hosts;
    if (field.name() == bhttp::field::transfer_encoding) {
      ++te;
      check(beast::iequals(field.value(), "chunked"), "Transfer-Encoding other than chunked");
    }
  }
  check(hosts <= 1, "more than one Host");
  check(req.version() < 11 || hosts == 1, "HTTP/1.1 without Host");
  check(te <= 1, "more than one Transfer-Encoding");
  check(te == 0 || req.find(bhttp::field::content_length) == req.end(), "both TE and CL");
  check(head.find('\0') == std::string_view::npos, "NUL in an accepted head");
  check(req.body().size() <= kMaxBodyBytes, "body larger than the limit");
}

// One connection: returns after a refusal, a close, or when the input ends.
void serveConnection(std::string_view stream, size_t step) {
  size_t pos = 0;  // start of unconsumed bytes
  for (int n = 0; n < kMaxRequests; ++n) {
    // 1. The head: readHead sees the buffered bytes (at most the buffer's
    // capacity), growing by `step` as they arrive.
    const std::string_view rest = stream.substr(pos);
    if (rest.empty()) return;
    std::optional<size_t> head_bytes;
    for (size_t have = std::min(step, rest.size());; have = std::min(have + step, rest.size())) {
      head_bytes = findHeadEnd(rest.substr(0, std::min(have, kMaxHeaderBytes)), kMaxHeaderBytes);
      if (!head_bytes || *head_bytes > 0 || have == rest.size()) break;
    }
    if (!head_bytes) return checkRefusal(431, "request header too large");
    if (*head_bytes == 0) return checkRefusal(408, "request timeout");  // never completed
    const std::string_view head = rest.substr(0, *head_bytes);
    if (auto why = checkRawHead(head)) return checkRefusal(400, *why);

    // 2. The parser with the server's limits, then the strict rules.
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(kMaxHeaderBytes));
    parser.body_limit(kMaxBodyBytes);
    // The server parses exactly the buffered head, without reading on.
    beast::error_code head_ec;
    size_t used = parser.put(asio::buffer(head.data(), head.size()), head_ec);
    if (!head_ec && (!parser.is_header_done() || used != head.size())) {
      head_ec = bhttp::error::partial_message;
    }
    if (head_ec) return checkRefusal(statusForParseError(head_ec), "bad request");
    // Then the body, from bytes that arrive `step` at a time.
    size_t have = std::max(*head_bytes, std::min(step, rest.size()));
    auto feedBody = [&]() -> std::optional<beast::error_code> {
      while (!parser.is_done()) {
        beast::error_code ec;
        // The buffer never holds more than its capacity of unconsumed bytes.
        const size_t window = std::min(have - used, kMaxHeaderBytes);
        const size_t n = parser.put(asio::buffer(rest.data() + used, window), ec);
        used += n;
        // A body takes what there is without need_more, so no progress
        // also means waiting for the next bytes.
        if (ec == bhttp::error::need_more || (!ec && n == 0)) {
          if (have == rest.size()) return std::nullopt;  // the client stopped sending
          have = std::min(have + step, rest.size());
          continue;
        }
        if (ec) return ec;
      }
      return beast::error_code{};
    };
    if (auto why = checkParsedHead(parser.get())) return checkRefusal(400, *why);
    if (auto why = normalizeTarget(parser.get())) return checkRefusal(400, *why);
    std::optional<bhttp::request_header<>> checked_head;
    if (parser.chunked()) checked_head = parser.get().base();
    if (parser.content_length() && *parser.content_length() > kMaxBodyBytes) {
      return checkRefusal(413, "request body too large");
    }

    // 3. The body.
    std::optional<beast::error_code> ec = feedBody();
    if (!ec) return checkRefusal(408, "request timeout");
    if (*ec) return checkRefusal(statusForParseError(*ec), "bad request body");
    const bool keep_alive = parser.keep_alive();
    const auto content_length = parser.content_length();
    Request req = parser.release();
    // The server keeps the checked header, dropping the trailer fields Beast
    // merges into it (regression_trailer_host: a second Host in a trailer).
    if (checked_head) req.base() = std::move(*checked_head);
    checkAccepted(req, head);
    if (content_length) check(req.body().size() == *content_length, "body is not Content-Length long");
    if (!keep_alive) return;
    pos += used;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] == 0 ? kMaxHeaderBytes : data[0];
  serveConnection(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), step);
  return 0;
}
