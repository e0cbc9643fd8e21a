// The "sidecar / warm container" peer of the benchmark: the order-tax logic
// of examples/order-tax/order_tax.c as a native HTTP/1.1 server (Boost.Beast,
// synchronous, one thread per connection, keep-alive).
// Usage: backend PORT (0: any free port; the bound port is printed on stdout).
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// The raw JSON token after "key": in body (number, "string", true...), or "".
std::string_view token(std::string_view body, std::string_view key) {
  std::string pat = "\"" + std::string(key) + "\"";
  for (size_t at = body.find(pat); at != std::string_view::npos; at = body.find(pat, at + 1)) {
    size_t p = body.find_first_not_of(" \t\r\n", at + pat.size());
    if (p == std::string_view::npos || body[p] != ':') continue;
    p = body.find_first_not_of(" \t\r\n", p + 1);
    if (p == std::string_view::npos) return {};
    size_t e = p;
    if (body[p] == '"') {
      for (++e; e < body.size() && body[e] != '"'; ++e)
        if (body[e] == '\\') ++e;
      if (e >= body.size()) return {};
      ++e;
    } else {
      e = body.find_first_of(",}] \t\r\n", p);
      if (e == std::string_view::npos) e = body.size();
    }
    return body.substr(p, e - p);
  }
  return {};
}

http::response<http::string_body> orderTax(const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  std::string_view body = req.body();
  std::string_view id = token(body, "id");
  std::string value_text(token(body, "value"));
  char* end = nullptr;
  double value = std::strtod(value_text.c_str(), &end);
  if (value_text.empty() || end == value_text.c_str()) {
    res.result(http::status::bad_request);
    res.set(http::field::content_type, "text/plain");
    res.body() = "expected {\"id\": ..., \"value\": number}\n";
  } else {
    char out[256];
    std::snprintf(out, sizeof out, ",\"value\":%.15g,\"tax\":%.15g,\"total\":%.15g}", value,
                  value * 0.15, value * 1.15);
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"id\":" + (id.empty() ? std::string("null") : std::string(id)) + out;
  }
  res.prepare_payload();
  return res;
}

void serve(tcp::socket socket) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) break;
    auto res = orderTax(req);
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

int main(int argc, char** argv) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"),
                              static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 0)});
  std::cout << acceptor.local_endpoint().port() << std::endl;
  for (;;) {
    tcp::socket socket(io);
    acceptor.accept(socket);
    socket.set_option(tcp::no_delay(true));
    std::thread(serve, std::move(socket)).detach();
  }
}
