// Template bodies of relay() and relayStreaming() (proxy.h); instantiated for
// plain and TLS clients.
#pragma once

#include <boost/asio/as_tuple.hpp>

#include "http/wire.h"

namespace jinn::http {
namespace proxy_detail {

template <class Stream>
void setClientDeadline(Stream& stream, std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
}

template <class ClientStream>
asio::awaitable<RelayResult> sendError(ClientStream& client, unsigned status,
                                       std::string_view reason, bool keep_alive,
                                       std::chrono::milliseconds write_timeout) {
  Response res = textResponse(status, reason);
  res.keep_alive(keep_alive);
  res.set(bhttp::field::date, httpDate());
  setClientDeadline(client, write_timeout);
  auto [ec, n] = co_await bhttp::async_write(client, res, asio::as_tuple(asio::use_awaitable));
  co_return RelayResult{status, res.body().size(), !ec && keep_alive};
}

// The error a failed upstream exchange becomes, before any response byte
// went to the client.
template <class ClientStream>
asio::awaitable<RelayResult> upstreamFailed(ClientStream& client, const Upstream& upstream,
                                            Application& app, const beast::error_code& ec,
                                            bool keep_alive,
                                            std::chrono::milliseconds write_timeout) {
  const bool timed_out = ec == beast::error::timeout;
  app.upstreamError(upstream, timed_out ? "timeout" : "protocol");
  co_return co_await sendError(client, timed_out ? 504 : 502,
                               timed_out ? "upstream timed out" : "bad response from upstream",
                               keep_alive, write_timeout);
}

// The answer when no connection to the upstream could be made.
template <class ClientStream>
asio::awaitable<RelayResult> connectFailed(ClientStream& client, const Upstream& upstream,
                                           Application& app, const beast::error_code& ec,
                                           bool keep_alive,
                                           std::chrono::milliseconds write_timeout) {
  const bool timed_out = ec == beast::error::timeout;
  app.upstreamError(upstream, timed_out ? "connect_timeout" : "connect");
  co_return co_await sendError(client, timed_out ? 504 : 502,
                               timed_out ? "upstream connect timed out" : "upstream unavailable",
                               keep_alive, write_timeout);
}

// Streams the upstream's response (its head already in `parser`) to the
// client in fixed-size pieces, then returns the connection to the pool when
// it can be reused.
template <class ClientStream>
asio::awaitable<RelayResult> forwardResponse(ClientStream& client,
                                             std::unique_ptr<beast::tcp_stream> conn,
                                             beast::flat_buffer& ubuf,
                                             bhttp::response_parser<bhttp::buffer_body>& parser,
                                             const Upstream& upstream, UpstreamPool& pool,
                                             Application& app, bool client_keep_alive,
                                             std::chrono::milliseconds write_timeout) {
  using asio::as_tuple;
  using asio::use_awaitable;
  auto& res = parser.get();
  const bool upstream_keep_alive = res.keep_alive();
  stripHopByHop(res.base());
  res.keep_alive(client_keep_alive);
  RelayResult result;
  result.status = res.result_int();

  bhttp::response_serializer<bhttp::buffer_body> sr{res};
  setClientDeadline(client, write_timeout);
  auto [whec, whn] = co_await bhttp::async_write_header(client, sr, as_tuple(use_awaitable));
  if (whec) {
    result.client_ok = false;
    co_return result;
  }
  char buf[16384];
  do {
    if (!parser.is_done()) {
      res.body().data = buf;
      res.body().size = sizeof(buf);
      auto [bec, bn] = co_await bhttp::async_read(*conn, ubuf, parser, as_tuple(use_awaitable));
      if (bec && bec != bhttp::error::need_buffer) {
        // The upstream broke off mid-body: the status line is already out,
        // so the only honest signal left is closing the connection.
        app.upstreamError(upstream, bec == beast::error::timeout ? "timeout" : "protocol");
        result.client_ok = false;
        co_return result;
      }
      res.body().size = sizeof(buf) - res.body().size;
      res.body().data = buf;
      res.body().more = !parser.is_done();
    } else {
      res.body().data = nullptr;
      res.body().size = 0;
    }
    result.bytes += res.body().size;
    setClientDeadline(client, write_timeout);
    auto [cec, cn] = co_await bhttp::async_write(client, sr, as_tuple(use_awaitable));
    if (cec && cec != bhttp::error::need_buffer) {
      result.client_ok = false;
      co_return result;
    }
  } while (!parser.is_done() || !sr.is_done());

  if (upstream_keep_alive && parser.is_done() && ubuf.size() == 0) {
    pool.release(upstream, std::move(conn));
  }
  result.client_ok = client_keep_alive;
  co_return result;
}

}  // namespace proxy_detail

template <class ClientStream>
asio::awaitable<RelayResult> relay(ClientStream& client, Exchange& exchange,
                                   const Upstream& upstream, UpstreamPool& pool, Application& app,
                                   bool client_keep_alive,
                                   std::chrono::milliseconds client_write_timeout) {
  using asio::as_tuple;
  using asio::use_awaitable;
  prepareUpstreamRequest(exchange, upstream);
  const bool head_request = exchange.request.method() == bhttp::verb::head;

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    beast::error_code ec;
    std::unique_ptr<beast::tcp_stream> conn = co_await pool.acquire(upstream, &reused, ec);
    if (!conn) {
      co_return co_await proxy_detail::connectFailed(client, upstream, app, ec, client_keep_alive,
                                                     client_write_timeout);
    }
    conn->expires_after(upstream.timeout);
    auto [wec, wn] =
        co_await bhttp::async_write(*conn, exchange.request, as_tuple(use_awaitable));
    beast::flat_buffer ubuf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    if (head_request) parser.skip(true);
    beast::error_code rec = wec;
    if (!wec) {
      auto [hec, hn] = co_await bhttp::async_read_header(*conn, ubuf, parser,
                                                          as_tuple(use_awaitable));
      rec = hec;
    }
    if (rec) {
      // A kept-alive connection the upstream closed meanwhile fails before
      // any response byte: retry once on a fresh connection (the whole
      // request is still in hand).
      if (reused && attempt == 0 && rec != beast::error::timeout) continue;
      co_return co_await proxy_detail::upstreamFailed(client, upstream, app, rec,
                                                      client_keep_alive, client_write_timeout);
    }
    co_return co_await proxy_detail::forwardResponse(client, std::move(conn), ubuf, parser,
                                                     upstream, pool, app, client_keep_alive,
                                                     client_write_timeout);
  }
}

template <class ClientStream>
asio::awaitable<RelayResult> relayStreaming(ClientStream& client, beast::flat_buffer& client_buf,
                                            bhttp::request_parser<bhttp::buffer_body>& in,
                                            Exchange& exchange, const Upstream& upstream,
                                            UpstreamPool& pool, Application& app,
                                            bool client_keep_alive,
                                            std::chrono::milliseconds client_read_timeout,
                                            std::chrono::milliseconds client_write_timeout) {
  using asio::as_tuple;
  using asio::use_awaitable;
  auto& req = in.get();
  prepareUpstreamHeader(req.base(), exchange, upstream);

  bool reused = false;
  beast::error_code ec;
  std::unique_ptr<beast::tcp_stream> conn = co_await pool.acquire(upstream, &reused, ec);
  if (!conn) {
    // The body was never read: the client connection cannot be reused.
    co_return co_await proxy_detail::connectFailed(client, upstream, app, ec, false,
                                                   client_write_timeout);
  }
  conn->expires_after(upstream.timeout);
  bhttp::request_serializer<bhttp::buffer_body> sr{req};
  auto [whec, whn] = co_await bhttp::async_write_header(*conn, sr, as_tuple(use_awaitable));
  if (whec) {
    co_return co_await proxy_detail::upstreamFailed(client, upstream, app, whec, false,
                                                    client_write_timeout);
  }
  // The body, piece by piece: never more than one buffer of it in memory.
  char buf[16384];
  do {
    if (!in.is_done()) {
      req.body().data = buf;
      req.body().size = sizeof(buf);
      proxy_detail::setClientDeadline(client, client_read_timeout);
      auto [rec, rn] = co_await bhttp::async_read(client, client_buf, in, as_tuple(use_awaitable));
      if (rec && rec != bhttp::error::need_buffer) {
        if (rec == bhttp::error::body_limit) {
          co_return co_await proxy_detail::sendError(client, 413, "request body too large",
                                                     false, client_write_timeout);
        }
        // The client went away or broke the framing mid-body.
        co_return RelayResult{400, 0, false};
      }
      req.body().size = sizeof(buf) - req.body().size;
      req.body().data = buf;
      req.body().more = !in.is_done();
    } else {
      req.body().data = nullptr;
      req.body().size = 0;
    }
    conn->expires_after(upstream.timeout);
    auto [uec, un] = co_await bhttp::async_write(*conn, sr, as_tuple(use_awaitable));
    if (uec && uec != bhttp::error::need_buffer) {
      co_return co_await proxy_detail::upstreamFailed(client, upstream, app, uec, false,
                                                      client_write_timeout);
    }
  } while (!in.is_done() || !sr.is_done());

  beast::flat_buffer ubuf;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  auto [hec, hn] = co_await bhttp::async_read_header(*conn, ubuf, parser, as_tuple(use_awaitable));
  if (hec) {
    co_return co_await proxy_detail::upstreamFailed(client, upstream, app, hec, client_keep_alive,
                                                    client_write_timeout);
  }
  co_return co_await proxy_detail::forwardResponse(client, std::move(conn), ubuf, parser, upstream,
                                                   pool, app, client_keep_alive,
                                                   client_write_timeout);
}

}  // namespace jinn::http
