#include "http/wire.h"

#include <boost/container/small_vector.hpp>

#include <charconv>
#include <cstring>
#include <ctime>

#include "contract/request.h"

namespace jinn::http {

namespace {

void appendNumber(std::string& out, uint64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

// Two digits of n (0-99) at p.
void put2(char* p, int n) {
  p[0] = static_cast<char>('0' + n / 10);
  p[1] = static_cast<char>('0' + n % 10);
}


std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

std::string envelopeFor(const Request& req, std::string_view trace_id,
                        std::string_view remote_addr, std::string_view route,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  envelopeInto(req, trace_id, remote_addr, route, params, out);
  return out;
}

void envelopeInto(const Request& req, std::string_view trace_id, std::string_view remote_addr,
                  std::string_view route,
                  const std::vector<std::pair<std::string, std::string>>& params, std::string& out) {
  // Inline room for a usual request's headers: no allocation for the views.
  boost::container::small_vector<contract::NameValue, 24> headers;
  for (const auto& f : req) headers.emplace_back(sv(f.name_string()), sv(f.value()));
  boost::container::small_vector<contract::NameValue, 4> param_views;
  for (const auto& [name, value] : params) param_views.emplace_back(name, value);
  const std::string_view target = sv(req.target());
  const size_t q = target.find('?');
  contract::RequestView view;
  view.method = sv(req.method_string());
  view.uri = target;
  view.path = target.substr(0, q);
  view.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  view.headers = std::span<const contract::NameValue>(headers.data(), headers.size());
  view.body = req.body();
  view.trace_id = trace_id;
  view.remote_addr = remote_addr;
  view.route = route;
  view.params = std::span<const contract::NameValue>(param_views.data(), param_views.size());
  contract::encodeRequestTo(view, out);
}

Response toHttp(contract::FunctionResponse&& fr, unsigned version) {
  Response res{static_cast<bhttp::status>(fr.status), version};
  for (const auto& [name, value] : fr.headers) res.insert(name, value);
  // 204 and 304 carry no body: it is dropped, as Go's net/http does (Beast
  // would throw on a body there). No Content-Length field: the function
  // cannot set one (server-owned), and serializeResponse writes it from the
  // body, without a field allocated and formatted per request.
  if (statusAllowsBody(fr.status)) res.body() = std::move(fr.body);
  return res;
}

std::string_view httpDate() {
  // By hand rather than strftime, whose %a and %b follow the locale.
  static constexpr char kDays[] = "SunMonTueWedThuFriSat";
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  thread_local time_t formatted = -1;
  thread_local char text[29];  // "Sun, 06 Nov 1994 08:49:37 GMT"
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != formatted) {
    struct tm t;
    gmtime_r(&ts.tv_sec, &t);
    std::memcpy(text, kDays + 3 * t.tm_wday, 3);
    std::memcpy(text + 3, ", ", 2);
    put2(text + 5, t.tm_mday);
    text[7] = ' ';
    std::memcpy(text + 8, kMonths + 3 * t.tm_mon, 3);
    text[11] = ' ';
    const int year = t.tm_year + 1900;
    put2(text + 12, year / 100 % 100);
    put2(text + 14, year % 100);
    text[16] = ' ';
    put2(text + 17, t.tm_hour);
    text[19] = ':';
    put2(text + 20, t.tm_min);
    text[22] = ':';
    put2(text + 23, t.tm_sec);
    std::memcpy(text + 25, " GMT", 4);
    formatted = ts.tv_sec;
  }
  return {text, sizeof text};
}

namespace {

void appendField(const bhttp::fields::value_type& field, std::string& out) {
  const auto name = field.name_string();
  const auto value = field.value();
  out.append(name.data(), name.size());
  out += ": ";
  out.append(value.data(), value.size());
  out += "\r\n";
}

void appendFields(const bhttp::fields& fields, std::string& out) {
  for (const auto& field : fields) appendField(field, out);
  out += "\r\n";
}

void appendStatusLine(const bhttp::response_header<>& head, std::string& out) {
  const auto reason = head.reason();
  out += head.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  appendNumber(out, head.result_int());
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\n";
}

}  // namespace

bool statusAllowsBody(unsigned status) {
  return status >= 200 && status != 204 && status != 304;
}

void serializeHead(const bhttp::request_header<>& head, std::string& out) {
  const auto method = head.method_string();
  const auto target = head.target();
  out.append(method.data(), method.size());
  out += ' ';
  out.append(target.data(), target.size());
  out += head.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  appendFields(head, out);
}

void serializeHead(const bhttp::response_header<>& head, std::string& out) {
  appendStatusLine(head, out);
  appendFields(head, out);
}

void appendHex(std::string& out, uint64_t n) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, n, 16);
  out.append(buf, r.ptr);
}

void serializeResponse(const Response& res, bool head_only, std::string& out) {
  const unsigned status = res.result_int();
  appendStatusLine(res.base(), out);
  bool has_length = false;
  bool has_date = false;
  for (const auto& field : res) {
    if (field.name() == bhttp::field::content_length) has_length = true;
    if (field.name() == bhttp::field::date) has_date = true;
    appendField(field, out);
  }
  // An origin server with a clock sends Date (RFC 9110 6.6.1), unless the
  // function chose one.
  if (!has_date) {
    out += "Date: ";
    out += httpDate();
    out += "\r\n";
  }
  // A function's response has no Content-Length field (toHttp): it is
  // written here, from the body.
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
