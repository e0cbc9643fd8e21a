// Template bodies of relay() and relayStreaming() (proxy.h); instantiated for
// plain and TLS clients.
#pragma once

#include <boost/asio/as_tuple.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

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

// Moves body bytes that already sit in `buffer` into the parser's body
// buffer, with no I/O: a small body that arrived with its head can then go
// out in the same write as the head. Returns need_buffer when the body
// buffer filled, or the parser's framing error; need_more (the buffered
// bytes are used up) is success.
template <class Parser>
beast::error_code parseBuffered(Parser& parser, beast::flat_buffer& buffer) {
  beast::error_code ec;
  while (buffer.size() > 0 && !parser.is_done()) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) return {};
    if (ec || used == 0) break;
  }
  return ec;
}

// Reads the next piece of a message's body into `buf` (at most `size`
// bytes): the bytes already in `buffer` once when `from_buffer` (no I/O;
// cleared), else from `stream`. Returns the parser's error (need_buffer is
// not one: `buf` filled) and the bytes got.
template <class Stream, class Parser>
asio::awaitable<std::pair<beast::error_code, size_t>> readPiece(Stream& stream,
                                                                beast::flat_buffer& buffer,
                                                                Parser& parser, char* buf,
                                                                size_t size, bool& from_buffer) {
  auto& body = parser.get().body();
  body.data = buf;
  body.size = size;
  beast::error_code ec;
  if (from_buffer) {
    ec = parseBuffered(parser, buffer);
    from_buffer = false;
  } else {
    std::tie(ec, std::ignore) =
        co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  }
  if (ec == bhttp::error::need_buffer) ec = {};
  co_return std::pair{ec, size - body.size};
}

// Writes one piece of a relayed message in one write: `frame` (the head,
// for the first piece; else empty) and `data`, chunk-framed when the
// message is chunked, with the last chunk after the last piece (trailer
// fields are not relayed). What beast's serializer would write, without
// walking its buffer sequences per field, which cost more than the rest of
// a small relayed exchange. Clears `frame`.
template <class Stream>
asio::awaitable<beast::error_code> writePiece(Stream& stream, std::string& frame, bool chunked,
                                              asio::const_buffer data, bool last) {
  std::string_view suffix;
  if (chunked) {
    if (data.size() > 0) {
      appendHex(frame, data.size());
      frame += "\r\n";
      suffix = last ? std::string_view("\r\n0\r\n\r\n") : std::string_view("\r\n");
    } else if (last) {
      frame += "0\r\n\r\n";
    }
  }
  if (frame.empty() && data.size() == 0 && suffix.empty()) co_return beast::error_code{};
  const std::array<asio::const_buffer, 3> pieces{asio::buffer(frame), data, asio::buffer(suffix)};
  auto [ec, n] = co_await asio::async_write(stream, pieces, asio::as_tuple(asio::use_awaitable));
  frame.clear();
  co_return ec;
}

// Reads the upstream's response head into a new `parser`, passing over
// interim answers (1xx but 101: 103 Early Hints, a stray 100), which are
// not the response and are not relayed.
inline asio::awaitable<beast::error_code> readFinalHead(
    beast::tcp_stream& conn, beast::flat_buffer& ubuf,
    std::optional<bhttp::response_parser<bhttp::buffer_body>>& parser, bool head_request) {
  for (;;) {
    parser.emplace();
    parser->body_limit(boost::none);
    if (head_request) parser->skip(true);
    auto [ec, n] = co_await bhttp::async_read_header(conn, ubuf, *parser,
                                                     asio::as_tuple(asio::use_awaitable));
    if (ec) co_return ec;
    const unsigned code = parser->get().result_int();
    if (code >= 200 || code == 101) co_return beast::error_code{};
  }
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
                                             Application& app, bool head_request,
                                             bool client_keep_alive,
                                             std::chrono::milliseconds write_timeout) {
  auto& res = parser.get();
  const bool upstream_keep_alive = res.keep_alive();
  // A body that ends where the upstream closes ends the client's
  // connection too: nothing else tells the client where it ends.
  if (parser.need_eof()) client_keep_alive = false;
  stripHopByHop(res.base());
  res.keep_alive(client_keep_alive);
  // The answer to HEAD, a 1xx, 204 or 304 has no body at all, so no chunk
  // framing either (not even the last chunk), whatever its head says.
  const bool chunked = res.chunked() && !head_request && statusAllowsBody(res.result_int());
  RelayResult result;
  result.status = res.result_int();

  std::string frame;
  serializeHead(res.base(), frame);
  // When body bytes came with the head (or there is no body), the head goes
  // out with the first of them in one write. Otherwise it goes out at once,
  // so a response whose body comes later (a stream) is not held back.
  bool from_buffer = parser.is_done() || ubuf.size() > 0;
  bool head_out = false;
  if (!from_buffer) {
    setClientDeadline(client, write_timeout);
    if (co_await writePiece(client, frame, false, {}, false)) {
      result.client_ok = false;
      co_return result;
    }
    head_out = true;
  }
  const RelayBuffers::Lease lease = pool.buffers().take();
  char* const buf = lease.data();
  for (;;) {
    size_t got = 0;
    if (!parser.is_done()) {
      beast::error_code bec;
      std::tie(bec, got) =
          co_await readPiece(*conn, ubuf, parser, buf, RelayBuffers::kSize, from_buffer);
      if (bec) {
        if (!head_out) {
          // Bad framing in what came with the head: nothing is out yet.
          co_return co_await upstreamFailed(client, upstream, app, bec, client_keep_alive,
                                            write_timeout);
        }
        // The upstream broke off mid-body: the status line is already out,
        // so the only honest signal left is closing the connection.
        app.upstreamError(upstream, bec == beast::error::timeout ? "timeout" : "protocol");
        result.client_ok = false;
        co_return result;
      }
    }
    const bool last = parser.is_done();
    result.bytes += got;
    setClientDeadline(client, write_timeout);
    if (co_await writePiece(client, frame, chunked, asio::buffer(buf, got), last)) {
      result.client_ok = false;
      co_return result;
    }
    head_out = true;
    if (last) break;
  }

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
  prepareUpstreamRequest(exchange, upstream);
  const bool head_request = exchange.request.method() == bhttp::verb::head;
  const bool may_retry = retryable(exchange.request.method());

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    beast::error_code ec;
    std::unique_ptr<beast::tcp_stream> conn = co_await pool.acquire(upstream, may_retry, &reused, ec);
    if (!conn) {
      co_return co_await proxy_detail::connectFailed(client, upstream, app, ec, client_keep_alive,
                                                     client_write_timeout);
    }
    conn->expires_after(upstream.timeout);
    std::string frame;
    serializeHead(exchange.request.base(), frame);
    const std::string& body = exchange.request.body();
    const beast::error_code wec = co_await proxy_detail::writePiece(
        *conn, frame, exchange.request.chunked(), asio::buffer(body), true);
    beast::flat_buffer ubuf;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    beast::error_code rec = wec;
    if (!wec) rec = co_await proxy_detail::readFinalHead(*conn, ubuf, parser, head_request);
    if (rec) {
      // A kept-alive connection the upstream closed meanwhile fails before
      // any response byte: an idempotent request is retried once on a fresh
      // connection (the whole request is still in hand).
      if (may_retry && reused && attempt == 0 && rec != beast::error::timeout && ubuf.size() == 0) {
        continue;
      }
      co_return co_await proxy_detail::upstreamFailed(client, upstream, app, rec,
                                                      client_keep_alive, client_write_timeout);
    }
    co_return co_await proxy_detail::forwardResponse(client, std::move(conn), ubuf, *parser,
                                                     upstream, pool, app, head_request,
                                                     client_keep_alive, client_write_timeout);
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
  auto& req = in.get();
  prepareUpstreamHeader(req.base(), exchange, upstream);
  const RelayBuffers::Lease lease = pool.buffers().take();
  char* const buf = lease.data();
  // The whole body was already read with the head and fits `buf`: the
  // request is in hand, and an idempotent one whose kept-alive connection
  // turns out closed can be retried once, as relay() does.
  bool in_hand = false;
  size_t in_hand_size = 0;
  const bool may_retry = retryable(req.method());

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    beast::error_code ec;
    std::unique_ptr<beast::tcp_stream> conn = co_await pool.acquire(upstream, may_retry, &reused, ec);
    if (!conn) {
      // Unless it is in hand, the body was never read: the client
      // connection cannot be reused.
      co_return co_await proxy_detail::connectFailed(client, upstream, app, ec,
                                                     in_hand && client_keep_alive,
                                                     client_write_timeout);
    }
    conn->expires_after(upstream.timeout);
    const bool chunked = req.chunked();
    std::string frame;
    serializeHead(req.base(), frame);
    beast::error_code uec;
    if (in_hand) {
      uec = co_await proxy_detail::writePiece(*conn, frame, chunked, asio::buffer(buf, in_hand_size),
                                              true);
    } else {
      // As for responses (forwardResponse): a body already read with the
      // head goes out in the head's write; otherwise the head goes first.
      bool from_buffer = in.is_done() || client_buf.size() > 0;
      bool head_out = false;
      if (!from_buffer) {
        uec = co_await proxy_detail::writePiece(*conn, frame, false, {}, false);
        head_out = true;
      }
      // The body, piece by piece: never more than one buffer of it in memory.
      for (bool first = true, last = false; !uec && !last; first = false) {
        size_t got = 0;
        if (!in.is_done()) {
          if (!from_buffer) proxy_detail::setClientDeadline(client, client_read_timeout);
          beast::error_code rec;
          std::tie(rec, got) = co_await proxy_detail::readPiece(client, client_buf, in, buf,
                                                                RelayBuffers::kSize, from_buffer);
          if (rec) {
            if (rec == bhttp::error::body_limit) {
              co_return co_await proxy_detail::sendError(client, 413, "request body too large",
                                                         false, client_write_timeout);
            }
            if (!head_out) {
              // Bad framing in what came with the head: nothing went
              // upstream yet, so the client can still be told (as
              // server.cc does).
              pool.release(upstream, std::move(conn));
              co_return co_await proxy_detail::sendError(client, 400, "bad request body", false,
                                                         client_write_timeout);
            }
            // The client went away or broke the framing mid-body.
            co_return RelayResult{400, 0, false};
          }
        }
        last = in.is_done();
        if (first && last) {
          in_hand = true;  // the whole body (or none) is in `buf`
          in_hand_size = got;
        }
        conn->expires_after(upstream.timeout);
        uec = co_await proxy_detail::writePiece(*conn, frame, chunked, asio::buffer(buf, got), last);
        head_out = true;
      }
    }

    beast::flat_buffer ubuf;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
    const bool head_request = req.method() == bhttp::verb::head;
    beast::error_code rec = uec;
    if (!uec) rec = co_await proxy_detail::readFinalHead(*conn, ubuf, parser, head_request);
    if (rec) {
      // A kept-alive connection the upstream closed meanwhile fails before
      // any response byte: an idempotent request in hand is retried once on
      // a fresh connection.
      if (may_retry && in_hand && reused && attempt == 0 && rec != beast::error::timeout &&
          ubuf.size() == 0) {
        continue;
      }
      co_return co_await proxy_detail::upstreamFailed(client, upstream, app, rec,
                                                      in_hand && client_keep_alive,
                                                      client_write_timeout);
    }
    co_return co_await proxy_detail::forwardResponse(client, std::move(conn), ubuf, *parser,
                                                     upstream, pool, app, head_request,
                                                     client_keep_alive, client_write_timeout);
  }
}

}  // namespace jinn::http
