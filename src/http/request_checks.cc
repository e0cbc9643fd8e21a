#include "http/request_checks.h"

#include <boost/beast/core/string.hpp>

namespace jinn::http {

std::optional<std::string> checkRawHead(std::string_view head) {
  for (size_t i = 0; i < head.size(); ++i) {
    const char c = head[i];
    if (c == '\0') return "NUL byte in request head";
    if (c == '\n') {
      if (i == 0 || head[i - 1] != '\r') return "bare LF in request head";
      if (i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
        return "obsolete line folding in header";
      }
    }
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
