// Types shared by the server, the application and the proxy.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace jinn::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// One request as the application sees it: fully read (the body is bounded
// by the server's max_body_bytes) and validated.
struct Exchange {
  Request request;
  std::string remote_ip;
  uint16_t remote_port = 0;
  bool tls = false;
  std::string trace_id;
  // Values of the route's {parameters}, in path order.
  std::vector<std::pair<std::string, std::string>> params;
  // Filled by the application for logs and metrics.
  std::string route = "-";
  std::string outcome;  // function outcome name, when a function ran
  // Keeps alive what a Decision points into (the application's State).
  std::shared_ptr<const void> pin;
  const void* app_route = nullptr;  // the application's route record, within `pin`
  bool inline_timed_out = false;     // handleNow's inline call needed more than its budget
};

struct Upstream {
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // prefix added to the request target ("" or "/base")
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};
  std::string name;  // "host:port", for metrics and as the connection pool's key
};

// What the application decided: answer with `response`, or relay the
// (possibly rewritten) request to `upstream`.
struct Decision {
  std::optional<Response> response;
  const Upstream* upstream = nullptr;
};

// A plain response with a short text body.
Response textResponse(unsigned status, std::string_view body, unsigned version = 11);

}  // namespace jinn::http
