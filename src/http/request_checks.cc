#include "http/request_checks.h"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cctype>
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

namespace {

// A byte of a reg-name or IPv4 host (RFC 3986 3.2.2: unreserved,
// pct-encoded, sub-delims).
bool isHostByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != 0 && std::strchr("-._~%!$&'()*+,;=", c) != nullptr);
}

// Whether `authority` is host[:port], host a reg-name, IPv4 or bracketed
// IPv6 literal and port at most 65535 (userinfo is refused before).
bool validAuthority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (unsigned char c : host.substr(1, close - 1)) {
      if (!std::isxdigit(c) && c != ':' && c != '.') return false;
    }
    std::string_view after = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    const size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (unsigned char c : host) {
      if (!isHostByte(c)) return false;
    }
  }
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (unsigned char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value <= 65535;
}

}  // namespace

std::optional<std::string> normalizeTarget(bhttp::request_header<>& head) {
  const std::string_view target(head.target().data(), head.target().size());
  // Origin-form, nearly every request: one comparison.
  if (target.empty() || target.front() == '/') return std::nullopt;
  const size_t sep = target.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = target.substr(0, sep);
  if (!beast::iequals(scheme, "http") && !beast::iequals(scheme, "https")) {
    return "unsupported scheme in request target";
  }
  const std::string_view rest = target.substr(sep + 3);
  const size_t end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty()) return "no host in request target";
  if (authority.find('@') != std::string_view::npos) return "userinfo in request target";
  if (!validAuthority(authority)) return "bad host in request target";
  std::string path(rest.substr(end));
  if (path.empty() || path.front() != '/') path.insert(0, 1, '/');
  const std::string host(authority);
  head.target(path);
  head.set(bhttp::field::host, host);
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
