// The reverse proxy: per-I/O-thread pools of kept-alive upstream
// connections, and the relay that forwards one request and streams the
// response back in fixed-size pieces (never held whole in memory).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/http_types.h"
#include "http/server.h"

namespace jinn::http {

// Idle connections to upstreams, owned by one I/O thread (no locking).
class UpstreamPool {
 public:
  static constexpr size_t kMaxIdlePerUpstream = 64;

  explicit UpstreamPool(asio::io_context& ctx) : ctx_(ctx) {}

  // A kept-alive idle connection (`*reused` = true) or a fresh one; null
  // with `ec` set on failure (connect timeout: beast::error::timeout).
  asio::awaitable<std::unique_ptr<beast::tcp_stream>> acquire(const Upstream& upstream,
                                                                bool* reused,
                                                                beast::error_code& ec);
  void release(const Upstream& upstream, std::unique_ptr<beast::tcp_stream> conn);
  void clear() { idle_.clear(); }

 private:
  asio::io_context& ctx_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<beast::tcp_stream>>> idle_;
};

// Rewrites a client request for the upstream: hop-by-hop headers (and those
// named by Connection) removed, X-Forwarded-For/-Proto/-Host set, target
// prefixed with the upstream's base path, HTTP/1.1 keep-alive.
void prepareUpstreamRequest(Exchange& exchange, const Upstream& upstream);
// The same rewrite of the head only, for a request whose body is streamed:
// its framing (Content-Length or chunked) is kept as the client sent it.
void prepareUpstreamHeader(bhttp::request_header<>& head, const Exchange& exchange,
                           const Upstream& upstream);

// Removes hop-by-hop headers from an upstream response before relaying it.
void stripHopByHop(bhttp::fields& fields);

struct RelayResult {
  unsigned status = 0;
  uint64_t bytes = 0;     // body bytes sent to the client
  bool client_ok = true;  // false: the client connection must be closed
};

// Forwards `exchange.request` (body already read) and streams the response.
template <class ClientStream>
asio::awaitable<RelayResult> relay(ClientStream& client, Exchange& exchange,
                                   const Upstream& upstream, UpstreamPool& pool, Application& app,
                                   bool client_keep_alive,
                                   std::chrono::milliseconds client_write_timeout);

// Forwards a request whose head is parsed and whose body is still on the
// client connection: the body streams to the upstream as it arrives (bounded
// by `in`'s body limit), then the response streams back. Nothing can be
// retried once the body started to flow; every failure closes the client
// connection, whose framing may be mid-body.
template <class ClientStream>
asio::awaitable<RelayResult> relayStreaming(ClientStream& client, beast::flat_buffer& client_buf,
                                            bhttp::request_parser<bhttp::buffer_body>& in,
                                            Exchange& exchange, const Upstream& upstream,
                                            UpstreamPool& pool, Application& app,
                                            bool client_keep_alive,
                                            std::chrono::milliseconds client_read_timeout,
                                            std::chrono::milliseconds client_write_timeout);

}  // namespace jinn::http

#include "http/proxy_impl.h"
