#include "http/request_checks.h"

#include <boost/beast/core/string.hpp>

#include <cstring>

namespace jinn::http {

std::optional<std::string> checkRawHead(std::string_view head) {
  // memchr, not a byte loop: every request's head passes here.
  if (head.empty()) return std::nullopt;
  if (std::memchr(head.data(), '\0', head.size()) != nullptr) return "NUL byte in request head";
  const char* const begin = head.data();
  const char* const end = begin + head.size();
  for (const char* p = begin; p < end;) {
    const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (lf == nullptr) break;
    if (lf == begin || lf[-1] != '\r') return "bare LF in request head";
    if (lf + 1 < end && (lf[1] == ' ' || lf[1] == '\t')) return "obsolete line folding in header";
    p = lf + 1;
  }
  return std::nullopt;
}

std::optional<std::string> checkParsedHead(const bhttp::request_header<>& head) {
  size_t hosts = 0;
  size_t transfer_encodings = 0;
  size_t content_lengths = 0;
  std::string_view te;
  for (const auto& field : head) {
    switch (field.name()) {
      case bhttp::field::host:
        ++hosts;
        break;
      case bhttp::field::transfer_encoding:
        ++transfer_encodings;
        te = std::string_view(field.value().data(), field.value().size());
        break;
      case bhttp::field::content_length:
        ++content_lengths;
        break;
      default:
        break;
    }
  }
  if (head.version() >= 11 && hosts == 0) return "missing Host header";
  if (hosts > 1) return "more than one Host header";
  if (transfer_encodings > 0) {
    if (transfer_encodings > 1 || !beast::iequals(te, "chunked")) {
      return "unsupported Transfer-Encoding";
    }
    if (content_lengths > 0) return "both Transfer-Encoding and Content-Length";
    if (head.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  }
  if (content_lengths > 1) return "more than one Content-Length header";
  return std::nullopt;
}

Response textResponse(unsigned status, std::string_view body, unsigned version) {
  Response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::string(body);
  if (!res.body().empty() && res.body().back() != '\n') res.body() += '\n';
  res.prepare_payload();
  return res;
}

}  // namespace jinn::http
