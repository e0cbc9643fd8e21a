#include "http/proxy.h"

#include <boost/asio/as_tuple.hpp>

#include <poll.h>

#include <algorithm>
#include <cctype>

#include "http/client_socket.h"

namespace jinn::http {
namespace {

// The pool's key: "host:port", made once per upstream (Upstream::name), so
// a lookup builds no string.
const std::string& key(const Upstream& u) { return u.name; }

bool isHopByHop(std::string_view name) {
  static constexpr std::string_view kHop[] = {"connection", "keep-alive",       "proxy-connection",
                                              "te",         "trailer",          "upgrade",
                                              "proxy-authenticate", "proxy-authorization"};
  for (auto h : kHop) {
    if (beast::iequals(name, h)) return true;
  }
  return false;
}

// Removes hop-by-hop fields and every field the Connection header names.
void removeHopByHop(bhttp::fields& fields) {
  std::vector<std::string> named;
  for (auto it = fields.find(bhttp::field::connection); it != fields.end() &&
                                                         it->name() == bhttp::field::connection;
       ++it) {
    std::string_view v(it->value().data(), it->value().size());
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string_view::npos) comma = v.size();
      std::string_view token = v.substr(start, comma - start);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty() && !beast::iequals(token, "close") && !beast::iequals(token, "keep-alive")) {
        named.emplace_back(token);
      }
      start = comma + 1;
    }
  }
  for (const auto& n : named) fields.erase(n);
  std::vector<std::string> hop;
  for (const auto& f : fields) {
    std::string_view n(f.name_string().data(), f.name_string().size());
    if (isHopByHop(n)) hop.emplace_back(n);
  }
  for (const auto& n : hop) fields.erase(n);
}

}  // namespace

RelayBuffers::Lease RelayBuffers::take() {
  if (spare_.empty()) return Lease(std::make_unique_for_overwrite<char[]>(kSize), this);
  std::unique_ptr<char[]> data = std::move(spare_.back());
  spare_.pop_back();
  return Lease(std::move(data), this);
}

void RelayBuffers::giveBack(std::unique_ptr<char[]> data) {
  if (spare_.size() < kMaxSpare) spare_.push_back(std::move(data));
}

asio::awaitable<std::unique_ptr<beast::tcp_stream>> UpstreamPool::acquire(const Upstream& upstream,
                                                                            bool trust_recent,
                                                                            bool* reused,
                                                                            beast::error_code& ec) {
  using asio::as_tuple;
  using asio::use_awaitable;
  auto& idle = idle_[key(upstream)];
  const auto now = coarseNow();
  while (!idle.empty()) {
    std::unique_ptr<beast::tcp_stream> conn = std::move(idle.back().conn);
    const bool trusted = trust_recent && now - idle.back().since < kTrustIdleFor;
    idle.pop_back();
    auto& sock = conn->socket();
    if (!sock.is_open()) continue;
    // A connection the upstream closed (or wrote to) while idle is
    // readable: drop it. One poll, no wait.
    pollfd pfd{sock.native_handle(), POLLIN | POLLRDHUP, 0};
    if (trusted || ::poll(&pfd, 1, 0) == 0) {
      *reused = true;
      co_return conn;
    }
  }
  *reused = false;
  asio::ip::tcp::resolver resolver(ctx_);
  auto [rec, results] = co_await resolver.async_resolve(upstream.host, std::to_string(upstream.port),
                                                         as_tuple(use_awaitable));
  if (rec) {
    ec = rec;
    co_return nullptr;
  }
  auto conn = std::make_unique<beast::tcp_stream>(ctx_);
  conn->expires_after(upstream.connect_timeout);
  auto [cec, ep] = co_await conn->async_connect(results, as_tuple(use_awaitable));
  if (cec) {
    ec = cec;
    co_return nullptr;
  }
  conn->socket().set_option(asio::ip::tcp::no_delay(true), ec);
  ec = {};
  co_return conn;
}

void UpstreamPool::release(const Upstream& upstream, std::unique_ptr<beast::tcp_stream> conn) {
  auto& idle = idle_[key(upstream)];
  if (idle.size() >= kMaxIdlePerUpstream) return;
  conn->expires_never();
  idle.push_back(Idle{std::move(conn), coarseNow()});
}

void prepareUpstreamHeader(bhttp::request_header<>& req, const Exchange& exchange,
                           const Upstream& upstream) {
  const std::string host(req[bhttp::field::host]);
  removeHopByHop(req);
  // jinn answered "Expect: 100-continue" itself before reading the body; an
  // upstream seeing it could send a 100 of its own, and an interim answer
  // is not relayed as if it were the response (as nginx, which drops it).
  req.erase(bhttp::field::expect);
  std::string xff(req["X-Forwarded-For"]);
  xff = xff.empty() ? exchange.remote_ip : xff + ", " + exchange.remote_ip;
  req.set("X-Forwarded-For", xff);
  req.set("X-Forwarded-Proto", exchange.tls ? "https" : "http");
  if (!host.empty()) req.set("X-Forwarded-Host", host);
  if (!upstream.base_path.empty()) {
    std::string target(req.target());
    req.target(upstream.base_path + target);
  }
  req.version(11);  // and no Connection header (removed above): keep-alive
}

void prepareUpstreamRequest(Exchange& exchange, const Upstream& upstream) {
  prepareUpstreamHeader(exchange.request.base(), exchange, upstream);
  exchange.request.keep_alive(true);
  exchange.request.prepare_payload();
}

void stripHopByHop(bhttp::fields& fields) { removeHopByHop(fields); }

bool retryable(bhttp::verb method) {
  switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
    case bhttp::verb::options:
    case bhttp::verb::trace:
      return true;
    default:
      return false;
  }
}

}  // namespace jinn::http
