#include "http/wire.h"

#include <charconv>

namespace jinn::http {

namespace {

void appendNumber(std::string& out, uint64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

bool statusAllowsBody(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

}  // namespace

void serializeResponse(const Response& res, bool head_only, std::string& out) {
  const unsigned status = res.result_int();
  const auto reason = res.reason();
  out += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  appendNumber(out, status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\n";
  bool has_length = false;
  for (const auto& field : res) {
    if (field.name() == bhttp::field::content_length) has_length = true;
    const auto name = field.name_string();
    const auto value = field.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  const std::string& body = res.body();
  if (!has_length && statusAllowsBody(status)) {
    out += "Content-Length: ";
    appendNumber(out, body.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (!head_only && statusAllowsBody(status)) out += body;
}

}  // namespace jinn::http
