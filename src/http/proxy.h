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

// Removes hop-by-hop headers from an upstream response before relaying it.
void stripHopByHop(bhttp::fields& fields);

struct RelayResult {
  unsigned status = 0;
  uint64_t bytes = 0;     // body bytes sent to the client
  bool client_ok = true;  // false: the client connection must be closed
};

template <class ClientStream>
asio::awaitable<RelayResult> relay(ClientStream& client, Exchange& exchange,
                                   const Upstream& upstream, UpstreamPool& pool, Application& app,
                                   bool client_keep_alive,
                                   std::chrono::milliseconds client_write_timeout);

}  // namespace jinn::http

#include "http/proxy_impl.h"
